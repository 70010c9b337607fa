"""The populations a rule and its indicator both count, each defined once.

An indicator's gap (eligible − covered) and its rule's findings describe the same
people, so they must be built from the same definition; written twice, the two drift
apart (pairing coverage once counted the federation's own monitoring cases as
monitored while P01 did not, so a household could be unpaired without a finding).
Every definition here is a queryset or a condition that both sides read:

| population | rule side (`monitoring.crosscheck` loader) | indicator side |
|---|---|---|
| monitored (`roster_monitored`, `monitored_members`) | annotates each roster member row with `MONITORED_FIELD`, which `RosterHousehold.monitored` carries (M01–M05, P01, Q01) | `monitored_person`, `monitored_household` (pairing coverage, 工作台) |
| actively paired (`active_pairings`) | `Context.paired_households` (P01) | pairing coverage, 工作台 |
| rehabilitation service this year (`rehab_services`) | `Context.rehab_served` (R01) | `rehab_received` (rehabilitation service rate, 工作台) |
| education plan (`education_plans`) | `Context.education_plans` (E01) | `has_plan` (school-age enrolment) |
| school age (`SCHOOL_AGE`, in `monitoring.rules.records`) | `school_age()` over the whole-year age (E01, M02) | `school_age` (the same range, `age_between`, which agrees with `age_on`) |

Benefit eligibility and receipt (S01–S05 ↔ `coverage_summary`) are defined once in
`monitoring.eligibility`, and "alive" there too (`alive_condition`). How each
indicator's gap relates to its rule's findings: docs/RULES.md#indicators.
"""

from datetime import date

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, QuerySet, Value, When

from cases.models import EducationPlan, Pairing, RehabNeed, RehabService
from cases.selectors_casework import active_on, age_between

from .eligibility import BIRTH, alive_condition
from .models import HouseholdType, RosterMember, SurveyRecord
from .rules.records import SCHOOL_AGE

# --- Monitored (docs/RULES.md#terms) ---

# The annotation the loader gives each roster member row: its household is monitored.
MONITORED_FIELD = "household_monitored"


def roster_monitored(prefix: str = "") -> Q:
    """On a roster household (through `prefix`): 户类型 监测户 and 风险是否消除 not 是.

    A blank 风险是否消除 counts as not cleared (the negation keeps NULL). The roster
    alone decides: the federation's own monitoring case (监测对象) does not count, see
    docs/RULES.md#terms.
    """
    return Q(**{f"{prefix}household_type": HouseholdType.MONITORED}) & ~Q(
        **{f"{prefix}risk_cleared": True}
    )


def monitored_flag() -> Case:
    """`roster_monitored` of the row's household as a value on RosterMember (True/False)."""
    return Case(
        When(roster_monitored("household__"), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def monitored_members() -> QuerySet[RosterMember]:
    """Current roster rows of current households that are monitored."""
    return RosterMember.objects.filter(is_current=True, household__is_current=True).filter(
        roster_monitored("household__")
    )


def monitored_person(here: Q | None = None) -> Q:
    """On SurveyRecord: the person's current roster row is in a monitored household.

    `here` narrows the subquery to a place (a speed-up only, see `place_condition`)."""
    members = monitored_members().filter(person=OuterRef("person"))
    if here is not None:
        members = members.filter(here)
    return Q(Exists(members))


def monitored_household(here: Q | None = None) -> Q:
    """On cases.Household: a living certified member (survey household) is monitored.

    The household-level view of P01's persons: P01 names each such member whose
    household has no active pairing. `here` narrows the subqueries to a place
    (conditions on `household__…`, see `place_condition`)."""
    members = SurveyRecord.objects.filter(household=OuterRef("pk"))
    if here is not None:
        members = members.filter(here)
    return Q(Exists(members.filter(alive_condition()).filter(monitored_person())))


# --- Pairing (P01) ---


def active_pairings(as_of: date) -> QuerySet[Pairing]:
    """One-to-one pairings active on `as_of`: started on or before it, not ended before it."""
    return Pairing.objects.filter(active_on(as_of))


def paired_household(as_of: date, here: Q | None = None) -> Q:
    """On cases.Household: it has an active pairing on `as_of`."""
    pairings = active_pairings(as_of).filter(household=OuterRef("pk"))
    if here is not None:
        pairings = pairings.filter(here)
    return Q(Exists(pairings))


# --- Rehabilitation (R01) ---


def rehab_services(as_of: date) -> QuerySet[RehabService]:
    """Rehabilitation services recorded in the as-of year, on or before the as-of date."""
    return RehabService.objects.filter(served_on__gte=date(as_of.year, 1, 1), served_on__lte=as_of)


def open_rehab_needs(as_of: date) -> QuerySet[RehabNeed]:
    """Needs recorded by staff, identified on or before `as_of` and not closed by then."""
    return RehabNeed.objects.filter(identified_on__lte=as_of).filter(
        Q(closed_on__isnull=True) | Q(closed_on__gt=as_of)
    )


def survey_rehab_need() -> Q:
    """On SurveyRecord: the survey lists a rehabilitation need (R01's need)."""
    return ~Q(rehab_needs=[])


def staff_rehab_need(as_of: date, here: Q | None = None) -> Q:
    """On SurveyRecord: an open need recorded by staff (`open_rehab_needs`)."""
    needs = open_rehab_needs(as_of).filter(person=OuterRef("person"))
    if here is not None:
        needs = needs.filter(here)
    return Q(Exists(needs))


def served_this_year(as_of: date, here: Q | None = None) -> Q:
    """On SurveyRecord: a service recorded this year (`rehab_services`), which clears R01."""
    services = rehab_services(as_of).filter(person=OuterRef("person"))
    if here is not None:
        services = services.filter(here)
    return Q(Exists(services))


def rehab_need(as_of: date, here: Q | None = None) -> Q:
    """The rate's denominator: the survey lists a need, or staff recorded an open one."""
    return survey_rehab_need() | staff_rehab_need(as_of, here)


def rehab_received(as_of: date, here: Q | None = None) -> Q:
    """The rate's numerator condition: the survey says served, or a service this year."""
    return Q(rehab_received=True) | served_this_year(as_of, here)


# --- School age (E01) ---


def education_plans() -> QuerySet[EducationPlan]:
    """Education plans (一人一案): any recorded plan covers the child (E01)."""
    return EducationPlan.objects.all()


def has_plan() -> Q:
    """On SurveyRecord: an education plan is recorded for the person."""
    return Q(Exists(education_plans().filter(person=OuterRef("person"))))


def school_age(as_of: date) -> Q:
    """On SurveyRecord: compulsory-education age (`SCHOOL_AGE`, whole years on `as_of`)."""
    return age_between(as_of, *SCHOOL_AGE, BIRTH)
