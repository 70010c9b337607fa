"""Households: the filtered list and the household page (the household, its members with
their survey and roster rows in one joined query).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import django_filters
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Model,
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
    Township,
    Village,
)
from cases.scope import AnyUser, in_scope_exists, scope_for, scoped
from cases.selectors import SEARCH_MAX_LENGTH, normalise_query
from cases.selectors_casework import active_on
from monitoring.models import (
    HouseholdType,
    MonitoringCategory,
    RosterHousehold,
)
from staff.selectors.persons import (
    Compared,
    comparison,
    compiled_instances,
    compiled_record_or_404,
)
from staff.selectors.places import Place, PlaceFilterSet, place_filters
from staff.selectors.timeline import HOUSEHOLD_MARKER, scope_key

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


def _household_detail_query(as_of: date) -> QuerySet[Household]:
    pairing = Pairing.objects.filter(household=OuterRef("pk")).filter(active_on(as_of))
    return Household.objects.select_related("township", "village").annotate(
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


def household_detail(user: AnyUser, pk: int | str) -> Household:
    """One household in scope (404 otherwise), with its open case and active pairing.

    Building the SQL of its seven subqueries cost more CPU than running it; its text depends
    only on the scope and the day (the active pairing's date): compiled once per scope and
    day (`compiled_instances`, docs/PERFORMANCE.md, Pages)."""
    as_of = today()
    return compiled_record_or_404(
        user,
        Household,
        pk,
        ("household_detail", as_of),
        lambda: scoped(user, _household_detail_query(as_of)),
        HOUSEHOLD_MARKER,
    )


@dataclass
class MemberRow:
    member: HouseholdMember | None
    person: Person
    relation: str
    age: int
    compared: list[Compared]
    roster_household: RosterHousehold | None
    html: str = ""  # the member as the household page shows it (set by its view)

    @property
    def differences(self) -> int:
        return sum(1 for row in self.compared if row.differs)


_MEMBER_JOINS = (
    "person__certificate",
    "person__survey",
    "person__roster_member__household",
)

# The places `comparison` names, by (attribute, model, the member's path to the place's id):
# read as scalar subqueries rather than four more joins, which made planning the query ~5 of
# its ~6 ms on PostgreSQL (the joins' order is searched; a subquery is planned alone).
_MEMBER_PLACES = (
    ("person_township", Township, "person__township_id"),
    ("person_village", Village, "person__village_id"),
    ("roster_township", Township, "person__roster_member__household__township_id"),
    ("roster_village", Village, "person__roster_member__household__village_id"),
)


def _members_query(user: AnyUser, household_id: int) -> QuerySet[HouseholdMember]:
    names = {
        f"{attribute}_name": Subquery(model.objects.filter(pk=OuterRef(path)).values("name"))
        for attribute, model, path in _MEMBER_PLACES
    }
    return scoped(
        user,
        HouseholdMember.objects.filter(household_id=household_id)
        .select_related(*_MEMBER_JOINS)
        .annotate(
            roster_in_scope=in_scope_exists(
                user, RosterHousehold.objects.all(), "person__roster_member__household"
            ),
            **names,
        )
        .order_by("id"),
    )


def _set_places(member: HouseholdMember) -> None:
    """Set the places of the member's person and roster household from the names read, as
    `select_related` would have set them for `comparison` (only the id and name loaded)."""
    person = member.person
    roster_member = getattr(person, "roster_member", None)
    owners = {"person": person, "roster": roster_member.household if roster_member else None}
    database = member._state.db or HouseholdMember.objects.db
    for attribute, model, _ in _MEMBER_PLACES:
        owner_name, field_name = attribute.split("_")
        owner = owners[owner_name]
        if owner is None:
            continue
        pk = getattr(owner, f"{field_name}_id")
        name = getattr(member, f"{attribute}_name")
        place = None if pk is None else model.from_db(database, ["id", "name"], [pk, name])
        setattr(owner, field_name, place)


def household_members(user: AnyUser, household: Household) -> list[MemberRow]:
    """Members with certificate, survey and roster rows joined: one query, its SQL compiled
    once per scope (`compiled_instances`, as `household_detail`).

    A member's roster household may be recorded in a township outside the user's scope:
    its values are then neither compared nor listed (`OTHER_HOUSEHOLD`)."""
    rows: Iterable[Model]
    if scope_for(user).sees_nothing:
        rows = _members_query(user, household.pk)
    else:
        database = HouseholdMember.objects.db
        rows = compiled_instances(
            ("household_members", database, scope_key(user)),
            database,
            lambda: _members_query(user, HOUSEHOLD_MARKER),
            {HOUSEHOLD_MARKER: household.pk},
        )
    on = today()
    result = []
    for member in rows:
        assert isinstance(member, HouseholdMember)
        _set_places(member)
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
