"""Tracking visits: the filtered list of the user's scope."""

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from cases.casework_base import today
from cases.models import TrackingVisit
from cases.scope import AnyUser, scoped
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
        if not value:
            return queryset
        later = TrackingVisit.objects.filter(household=OuterRef("household")).filter(
            Q(visited_on__gt=OuterRef("visited_on"))
            | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
        )
        return queryset.filter(next_due__lt=today()).filter(~Exists(later))


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
