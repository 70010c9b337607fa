"""Tracking visits: the filtered list of the user's scope."""

from datetime import datetime

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
from cases.scope import Scope, scope_for, scoped
from staff.selectors.places import Place, township_choices, village_choices


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

    def __init__(self, *args, places: list[Place] = (), scope: Scope | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        place_list = list(places)
        if scope is not None and scope.is_county:
            self.filters["township"].extra["choices"] = township_choices(place_list)
        else:
            del self.filters["township"]
        if scope is not None and scope.village_id is not None:
            del self.filters["village"]
        else:
            township = (self.data or {}).get("township") if scope and scope.is_county else None
            self.filters["village"].extra["choices"] = village_choices(place_list, township)

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        later = TrackingVisit.objects.filter(household=OuterRef("household")).filter(
            Q(visited_on__gt=OuterRef("visited_on"))
            | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
        )
        return queryset.filter(next_due__lt=today()).filter(~Exists(later))


def visit_list(user, data, place_list: list[Place]) -> tuple[QuerySet, VisitFilter]:
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


def days_since(moment) -> int:
    """Whole days from a datetime (local date) or a date to today."""
    if moment is None:
        return 0
    day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
    return max((today() - day).days, 0)
