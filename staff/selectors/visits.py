"""Tracking visits: the filtered list of the user's scope."""

from collections.abc import Mapping, Sequence
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
from cases.scope import AnyUser, Scope, scope_for, scoped
from staff.selectors.places import Place, fit_place_filters


class VisitFilter(django_filters.FilterSet):
    """Filters of the visit list: kind, township, village, overdue only, month."""

    kind = django_filters.ChoiceFilter(
        label="走访类型", choices=TrackingVisit.Kind.choices, empty_label="全部"
    )
    township = django_filters.ChoiceFilter(
        label="乡镇", field_name="household__township_id", empty_label="全部乡镇"
    )
    village = django_filters.ChoiceFilter(
        label="村（社区）", field_name="household__village_id", empty_label="全部村"
    )
    overdue = django_filters.BooleanFilter(
        label="只看逾期未访", method="filter_overdue", widget=forms.CheckboxInput
    )
    since = django_filters.DateFilter(
        label="走访日期起", field_name="visited_on", lookup_expr="gte"
    )

    class Meta:
        model = TrackingVisit
        fields: list[str] = []

    def __init__(
        self,
        *args: Any,
        places: Sequence[Place] = (),
        scope: Scope | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        fit_place_filters(self, list(places), scope, (self.data or {}).get("township"))

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
    filterset = VisitFilter(
        data=data if data is not None else {},
        queryset=queryset,
        places=place_list,
        scope=scope_for(user),
    )
    if not filterset.is_valid():
        return queryset.none(), filterset
    return filterset.qs, filterset


def days_since(moment: datetime | date | None) -> int:
    """Whole days from a datetime (local date) or a date to today."""
    if moment is None:
        return 0
    day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
    return max((today() - day).days, 0)
