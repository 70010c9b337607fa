"""The list of children in hardship (困境残疾儿童关爱) of the user's scope: the one definition
(`monitoring.populations.hardship_children`) on today's date, scoped, with filters by
place, reason and whether any care is recorded, and the counts of the filtered list."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import django_filters
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Subquery

from cases.casework_base import today
from cases.models import ChildCareRecord, Person
from cases.scope import AnyUser, scoped
from monitoring.populations import HARDSHIP_REASONS, hardship_children, hardship_field
from staff.selectors.places import Place, PlaceFilterSet, place_filters

YES_NO = (("yes", "有"), ("no", "无"))


class HardshipFilter(PlaceFilterSet):
    """Filters of the list: township, village, reason, care recorded or not."""

    township, village = place_filters()
    reason = django_filters.ChoiceFilter(
        label="困境情形", choices=HARDSHIP_REASONS, empty_label="全部", method="filter_reason"
    )
    has_care = django_filters.ChoiceFilter(
        label="关爱记录", choices=YES_NO, empty_label="全部", method="filter_has_care"
    )

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_reason(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(**{hardship_field(value): True}) if value else queryset

    def filter_has_care(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        return queryset.filter(has_care=value == "yes")


def hardship_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place], on: date | None = None
) -> tuple[QuerySet, HardshipFilter]:
    """(the user's children in hardship on `on`, filtered; the FilterSet)."""
    on = on or today()
    records = ChildCareRecord.objects.filter(person=OuterRef("pk"))
    last = records.order_by().values("person").annotate(last=Max("cared_on")).values("last")
    queryset = scoped(
        user,
        hardship_children(on)
        .annotate(has_care=Exists(records), last_care_on=Subquery(last[:1]))
        .select_related("township", "village", "certificate")
        .order_by("township__code", "village__name", "birth_date", "pk"),
    )
    return HardshipFilter.for_user(user, data, queryset, place_list)


def reason_labels(person: Person) -> list[str]:
    """The labels of the reasons a row of `hardship_children` counts for."""
    return [label for key, label in HARDSHIP_REASONS if getattr(person, hardship_field(key), False)]


@dataclass(frozen=True)
class HardshipCounts:
    total: int
    with_care: int
    by_reason: list[tuple[str, str, int]]  # (key, label, count)

    @property
    def without_care(self) -> int:
        return self.total - self.with_care


def hardship_counts(queryset: QuerySet) -> HardshipCounts:
    """The counts of a filtered list, in one query."""
    aggregates = {
        key: Count("pk", filter=Q(**{hardship_field(key): True})) for key, _ in HARDSHIP_REASONS
    }
    row = queryset.order_by().aggregate(
        total=Count("pk"), with_care=Count("pk", filter=Q(has_care=True)), **aggregates
    )
    return HardshipCounts(
        total=row["total"],
        with_care=row["with_care"],
        by_reason=[(key, label, row[key]) for key, label in HARDSHIP_REASONS],
    )
