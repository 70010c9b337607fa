"""What the printable forms show (docs/PRINTING.md), read in the user's scope.

Each sheet is loaded with the one access helper (`cases.scope.get_in_scope_or_404`) or a
selector built on `scoped()`, like the page it is printed from; the due-visit list takes the
one overdue definition (`monitoring.visits_due`) and narrows it to one township.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404

from cases.casework import CHILD_CARE_AGE, EDUCATION_PLAN_AGE
from cases.casework_base import today
from cases.identity import age_on
from cases.models import (
    AssistanceMeasure,
    EducationPlan,
    Household,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    Person,
    Township,
    TrackingVisit,
)
from cases.scope import AnyUser, Scope, get_in_scope_or_404, scope_for, scoped
from cases.selectors_casework import active_on
from monitoring.models import RosterHousehold
from monitoring.visits_due import overdue_households, responsible
from staff.selectors.households import MemberRow, household_members, roster_households
from staff.selectors.person_care import hardship_of
from staff.selectors.person_records import PersonRecords, is_child, person_records
from staff.selectors.persons import membership_of, person_page
from staff.selectors.places import place_condition

# --- 入户走访记录表 ---


@dataclass(frozen=True)
class CheckRow:
    """One line of the 两不愁三保障 checklist as printed: which box is ticked."""

    label: str
    value: str  # TrackingVisit.Check value, or "" when the visit left it blank


@dataclass
class VisitSheet:
    visit: TrackingVisit
    members: list[MemberRow]
    checks: list[CheckRow]
    incomes: list[tuple[str, Decimal | None]]

    @property
    def income_rows(self) -> list[list[tuple[str, Decimal | None]]]:
        """The income lines two to a printed row (label, amount, label, amount)."""
        return [self.incomes[i : i + 2] for i in range(0, len(self.incomes), 2)]


# The income lines of the visit form, in its order (labels are the fields' own).
VISIT_INCOME_FIELDS = (
    "wage_income",
    "business_income",
    "business_costs",
    "property_income",
    "transfer_income",
    "deductible_expenses",
    "annual_income",
    "household_size",
    "income_per_capita",
    "annual_expenditure",
    "rigid_expenditure",
)


def _visit_label(name: str) -> str:
    """The visit form's own label of a field (its verbose name)."""
    return str(getattr(TrackingVisit._meta.get_field(name), "verbose_name", name))


def visit_sheet(user: AnyUser, pk: int) -> VisitSheet:
    """One visit in the user's scope (404 otherwise) with the household's members."""
    visit = get_in_scope_or_404(
        user,
        TrackingVisit.objects.select_related(
            "household__township", "household__village", "person", "case"
        ),
        pk=pk,
    )
    checks = [
        CheckRow(label, getattr(visit, name)) for name, label in TrackingVisit.CHECK_FIELDS.items()
    ]
    incomes = [(_visit_label(name), getattr(visit, name)) for name in VISIT_INCOME_FIELDS]
    return VisitSheet(visit, household_members(user, visit.household), checks, incomes)


# --- 监测对象识别表 (the household's monitoring cases with their history) ---


@dataclass
class CaseSheet:
    household: Household
    case: MonitoringCase  # the latest case: the active one, else the most recent
    cases: list[MonitoringCase]  # every case of the household, newest first, steps prefetched
    members: list[MemberRow]
    roster_households: list[RosterHousehold]
    measures: list[AssistanceMeasure]
    latest_visit: TrackingVisit | None
    helper: Pairing | None


def case_sheet(user: AnyUser, household_pk: int) -> CaseSheet:
    """A household in scope with its monitoring cases; 404 outside scope or without a case."""
    household = get_in_scope_or_404(
        user, Household.objects.select_related("township", "village"), pk=household_pk
    )
    steps = scoped(user, MonitoringCaseStep.objects.select_related("actor")).order_by(
        "acted_on", "created_at", "pk"
    )
    cases = list(
        scoped(user, MonitoringCase.objects.filter(household=household))
        .select_related("person", "opened_by")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("-opened_on", "-pk")
    )
    if not cases:
        raise Http404("该家庭没有监测对象记录")
    current = next((case for case in cases if case.is_active), cases[0])
    members = household_members(user, household)
    measures = list(
        scoped(user, AssistanceMeasure.objects.filter(household=household)).order_by(
            "-started_on", "-pk"
        )
    )
    latest_visit = (
        scoped(user, TrackingVisit.objects.filter(household=household))
        .order_by("-visited_on", "-pk")
        .first()
    )
    helper = (
        scoped(user, Pairing.objects.filter(household=household))
        .filter(active_on(today()))
        .order_by("-started_on", "-pk")
        .first()
    )
    return CaseSheet(
        household=household,
        case=current,
        cases=cases,
        members=members,
        roster_households=roster_households(members),
        measures=measures,
        latest_visit=latest_visit,
        helper=helper,
    )


# --- 一人一案 (a child's plan, care records and services) ---


@dataclass
class ChildSheet:
    person: Person
    age: int
    members: list[MemberRow]
    records: PersonRecords
    education_age: bool
    plan: EducationPlan | None
    hardship_reasons: list[str] = field(default_factory=list)
    counts_as_hardship: bool = False


def child_sheet(user: AnyUser, pk: int) -> ChildSheet:
    """A child (0–17 today) in scope with the plan, care records, rehabilitation needs and
    services, benefits; 404 outside scope and for anyone who is not a child."""
    person = person_page(user, pk)
    on = today()
    if not is_child(person, on, CHILD_CARE_AGE):
        raise Http404("一人一案仅适用于未满18周岁的儿童少年")
    membership = membership_of(person)
    in_scope = bool(getattr(person, "household_in_scope", False))
    members = (
        household_members(user, membership.household) if membership is not None and in_scope else []
    )
    records = person_records(user, person, household_id=None, on=on)
    plans = records.of("p_education")
    hardship = hardship_of(records, person, on)
    return ChildSheet(
        person=person,
        age=age_on(person.birth_date, on),
        members=members,
        records=records,
        education_age=is_child(person, on, EDUCATION_PLAN_AGE),
        plan=plans[0] if plans else None,
        hardship_reasons=hardship.reasons if hardship else [],
        counts_as_hardship=bool(hardship and hardship.counts),
    )


# --- 应走访监测户名单 (a township's overdue households) ---


@dataclass(frozen=True)
class DueRow:
    number: int
    pk: int
    head_name: str
    head_id_number: str
    village: str
    never_visited: bool
    first_visit_missing: bool
    last_visited_on: date | None
    last_next_due: date | None
    responsible: str
    responsible_role: str


@dataclass
class DueList:
    scope: Scope
    as_of: date
    place: str  # the township (and village for a village member) the list is of
    township: Township | None
    rows: list[DueRow]


def print_townships() -> list[Township]:
    """The townships a county user may choose from (place names, no personal data)."""
    return list(Township.objects.order_by("code"))


def due_list(user: AnyUser, township_id: int | None, as_of: date | None = None) -> DueList:
    """The households overdue for a visit (`monitoring.visits_due`) of one township.

    Township staff and village members get their own place whatever `township_id` says;
    a county user must name a township (`township_id`), an unknown one is a 404.
    """
    as_of = as_of or today()
    scope = scope_for(user)
    if scope.is_county:
        if township_id is None:
            raise ValueError("county users choose a township")
        township = Township.objects.filter(pk=township_id).first()
        if township is None:
            raise Http404("没有这个乡镇")
        here = Q(household__township_id=township.pk)
        queryset = overdue_households(as_of, here).filter(township_id=township.pk)
        place = township.name
    else:
        township = (
            Township.objects.filter(pk=scope.township_id).first()
            if scope.township_id is not None
            else None
        )
        queryset = overdue_households(as_of, place_condition(scope, "household__"))
        place = scope.label
    # By village, so a village's households are printed together; within a village the
    # definition's own order (never visited first, then by the date the visit was due).
    ordered: QuerySet = scoped(user, queryset).order_by(
        "village__name", F("last_next_due").asc(nulls_first=True), "pk"
    )
    rows = ordered.values(
        "pk",
        "head_name",
        "head_id_number",
        "village__name",
        "never_visited",
        "first_visit_missing",
        "last_visited_on",
        "last_next_due",
        "last_visitor",
        "helper_name",
    )
    listed = []
    for number, row in enumerate(rows, start=1):
        name, role = responsible(row["last_visitor"], row["helper_name"])
        listed.append(
            DueRow(
                number=number,
                pk=row["pk"],
                head_name=row["head_name"],
                head_id_number=row["head_id_number"],
                village=row["village__name"] or "",
                never_visited=row["never_visited"],
                first_visit_missing=row["first_visit_missing"],
                last_visited_on=row["last_visited_on"],
                last_next_due=row["last_next_due"],
                responsible=name,
                responsible_role=role,
            )
        )
    return DueList(scope, as_of, place, township, listed)
