"""Tracking visits: the filtered list of the user's scope."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from cases.casework_base import today
from cases.models import TrackingVisit
from cases.scope import AnyUser, scoped
from monitoring.visit_findings import v01_notice
from monitoring.visits_due import latest_visit_condition, overdue_households
from staff.selectors.places import Place, PlaceFilterSet, place_filters


class VisitFilter(PlaceFilterSet):
    """Filters of the visit list: kind, township, village, overdue only, month."""

    kind = django_filters.ChoiceFilter(
        label="走访类型", choices=TrackingVisit.Kind.choices, empty_label="全部"
    )
    township, village = place_filters("household__")
    overdue = django_filters.BooleanFilter(
        label="只看逾期未访", method="filter_overdue", widget=forms.CheckboxInput
    )
    since = django_filters.DateFilter(
        label="走访日期起", field_name="visited_on", lookup_expr="gte"
    )

    class Meta:
        model = TrackingVisit
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        """The latest visit of each overdue household (`monitoring.visits_due`, the one
        definition the dashboard counts). A household never visited has no visit to list:
        the dashboard lists those."""
        if not value:
            return queryset
        return overdue_visit_filter(queryset, today())


def overdue_visit_filter(queryset: QuerySet, as_of: date) -> QuerySet:
    """`queryset` (of visits) narrowed to the latest visit of each household overdue on `as_of`."""
    return queryset.filter(latest_visit_condition(as_of)).filter(
        household__in=overdue_households(as_of).order_by().values("pk")
    )


def visit_saved_message(visit: TrackingVisit) -> str:
    """The visit form's success message: what was saved, and the V01 finding the next run
    will raise when the visit found a risk in a household that is not monitored."""
    saved = f"已登记{visit.get_kind_display()}（{visit.visited_on:%Y-%m-%d}）"
    notice = v01_notice(visit, today())
    return f"{saved}。{notice}" if notice else saved


def visit_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, VisitFilter]:
    queryset = scoped(
        user,
        TrackingVisit.objects.select_related(
            "household__township", "household__village", "person"
        ).order_by("-visited_on", "-pk"),
    )
    return VisitFilter.for_user(user, data, queryset, place_list)


def days_since(moment: datetime | date | None) -> int:
    """Whole days from a datetime (local date) or a date to today."""
    if moment is None:
        return 0
    day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
    return max((today() - day).days, 0)
