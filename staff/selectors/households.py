"""Households: the filtered list and the household page (the household, its members with
their survey and roster rows in one joined query).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
)

from cases.casework_base import today
from cases.identity import age_on
from cases.models import (
    Household,
    HouseholdMember,
    MonitoringCase,
    Pairing,
    Person,
)
from cases.scope import AnyUser, get_in_scope_or_404, in_scope_exists, scoped
from cases.selectors import SEARCH_MAX_LENGTH, normalise_query
from cases.selectors_casework import active_on
from monitoring.models import (
    HouseholdType,
    MonitoringCategory,
    RosterHousehold,
)
from staff.selectors.persons import Compared, comparison
from staff.selectors.places import Place, PlaceFilterSet, place_filters

_ID_FRAGMENT = re.compile(r"^\d{1,17}[\dX]?$")


CASE_FILTER_CHOICES = [
    ("active", "有未结束的监测对象"),
    *[(s.value, str(s.label)) for s in MonitoringCase.Status],
    ("none", "从未建立监测对象"),
]


def _active_case(field_name: str) -> Subquery:
    return Subquery(
        MonitoringCase.objects.filter(
            household=OuterRef("pk"), status__in=MonitoringCase.ACTIVE_STATUSES
        )
        .order_by("-id")
        .values(field_name)[:1]
    )


def _latest_case(field_name: str) -> Subquery:
    return Subquery(
        MonitoringCase.objects.filter(household=OuterRef("pk"))
        .order_by("-id")
        .values(field_name)[:1]
    )


class HouseholdFilter(PlaceFilterSet):
    """Filters of the household list: head's name or ID, township, village, case status."""

    q = django_filters.CharFilter(
        label="户主姓名或身份证号", method="filter_q", max_length=SEARCH_MAX_LENGTH
    )
    township, village = place_filters()
    case = django_filters.ChoiceFilter(
        label="监测对象", choices=CASE_FILTER_CHOICES, method="filter_case", empty_label="全部"
    )

    class Meta:
        model = Household
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A household is found by its head: the full or partial ID number, or the name."""
        text = normalise_query(value)
        if not text:
            return queryset
        if _ID_FRAGMENT.match(text):
            if len(text) == 18:
                return queryset.filter(head_id_number=text)
            return queryset.filter(head_id_number__contains=text)
        return queryset.filter(head_name__contains=text)

    def filter_case(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "active":
            return queryset.filter(
                Exists(
                    MonitoringCase.objects.filter(
                        household=OuterRef("pk"), status__in=MonitoringCase.ACTIVE_STATUSES
                    )
                )
            )
        if value == "none":
            return queryset.filter(~Exists(MonitoringCase.objects.filter(household=OuterRef("pk"))))
        return queryset.annotate(_latest_status=_latest_case("status")).filter(_latest_status=value)


def households(user: AnyUser) -> QuerySet[Household]:
    """Households in the user's scope with their latest monitoring case's status."""
    return (
        scoped(user, Household.objects.select_related("township", "village"))
        .annotate(
            case_status=_latest_case("status"),
            member_count=Subquery(
                HouseholdMember.objects.filter(household=OuterRef("pk"))
                .values("household")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
        )
        .order_by("township__code", "village__name", "head_name", "pk")
    )


def household_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, HouseholdFilter]:
    return HouseholdFilter.for_user(user, data, households(user), place_list)


def household_detail(user: AnyUser, pk: int | str) -> Household:
    """One household in scope (404 otherwise), with its open case and active pairing."""
    as_of = today()
    pairing = Pairing.objects.filter(household=OuterRef("pk")).filter(active_on(as_of))
    queryset = Household.objects.select_related("township", "village").annotate(
        case_id=_active_case("pk"),
        case_status=_active_case("status"),
        case_category=_active_case("category"),
        case_opened_on=_active_case("opened_on"),
        last_case_status=_latest_case("status"),
        pairing_helper=Subquery(pairing.order_by("-started_on").values("helper_name")[:1]),
        pairing_open=Exists(
            Pairing.objects.filter(household=OuterRef("pk"), ended_on__isnull=True)
        ),
    )
    return get_in_scope_or_404(user, queryset, pk=pk)


@dataclass
class MemberRow:
    member: HouseholdMember | None
    person: Person
    relation: str
    age: int
    compared: list[Compared]
    roster_household: RosterHousehold | None

    @property
    def differences(self) -> int:
        return sum(1 for row in self.compared if row.differs)


_MEMBER_JOINS = (
    "person__township",
    "person__village",
    "person__certificate",
    "person__survey",
    "person__roster_member__household__township",
    "person__roster_member__household__village",
)


def household_members(user: AnyUser, household: Household) -> list[MemberRow]:
    """Members with certificate, survey and roster rows joined: one query.

    A member's roster household may be recorded in a township outside the user's scope:
    its values are then neither compared nor listed (`OTHER_HOUSEHOLD`)."""
    rows = scoped(
        user,
        HouseholdMember.objects.filter(household=household)
        .select_related(*_MEMBER_JOINS)
        .annotate(
            roster_in_scope=in_scope_exists(
                user, RosterHousehold.objects.all(), "person__roster_member__household"
            )
        )
        .order_by("id"),
    )
    on = today()
    result = []
    for member in rows:
        person = member.person
        roster_member = getattr(person, "roster_member", None)
        roster_in_scope = bool(getattr(member, "roster_in_scope", False))
        roster_household = (
            roster_member.household if roster_member is not None and roster_in_scope else None
        )
        result.append(
            MemberRow(
                member=member,
                person=person,
                relation=member.relation,
                age=age_on(person.birth_date, on),
                compared=comparison(person, roster_in_scope=roster_in_scope),
                roster_household=roster_household,
            )
        )
    return result


def roster_households(members: list[MemberRow]) -> list:
    """The distinct roster households the members belong to (already loaded)."""
    seen: dict[int, RosterHousehold] = {}
    for row in members:
        if row.roster_household is not None:
            seen.setdefault(row.roster_household.pk, row.roster_household)
    return list(seen.values())


def household_person_ids(household_id: int) -> QuerySet:
    """A subquery of the household's members' person ids (no query of its own)."""
    return HouseholdMember.objects.filter(household_id=household_id).values("person_id")


ROSTER_TYPE_LABELS = dict(HouseholdType.choices)


ROSTER_CATEGORY_LABELS = dict(MonitoringCategory.choices)
