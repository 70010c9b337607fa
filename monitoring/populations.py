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
from decimal import Decimal

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


# --- Rehabilitation priority groups (policy 四要; docs/RULES.md#indicators, rehabilitation rate) ---

REHAB_PRIORITY_GROUPS: tuple[tuple[str, str], ...] = (
    ("low_income", "低收入"),
    ("severe", "重度（一、二级）"),
    ("severe_mental", "严重精神障碍"),
    ("multi", "一户多残"),
)


def rehab_priority_groups(monitoring_line: Decimal) -> dict[str, Q]:
    """On SurveyRecord: the policy's rehabilitation priority groups (四要: 农村低收入残疾人、
    重度残疾人、严重精神障碍患者、一户多残家庭的残疾人), keyed as `REHAB_PRIORITY_GROUPS`.

    低收入: income per person below the year's monitoring line; 重度: grade 1–2; 严重精神障碍:
    category 精神, grade 1–2; 一户多残: another certified member of the same survey household
    not recorded 死亡 in the survey — the groups the rehabilitation-rate indicator
    (`staff.selectors.indicators.rehab_service_rate`) counts, stated here once for lists.
    """
    other_certified = (
        SurveyRecord.objects.filter(household=OuterRef("household"))
        .exclude(pk=OuterRef("pk"))
        .exclude(survival_status="deceased")
    )
    return {
        "low_income": Q(income_per_capita__lt=monitoring_line),
        "severe": Q(person__certificate__grade__in=(1, 2)),
        "severe_mental": Q(person__certificate__category=6, person__certificate__grade__in=(1, 2)),
        "multi": Q(household__isnull=False) & Q(Exists(other_certified)),
    }


# --- Children in hardship (困境残疾儿童关爱) ---

# Appended with its own imports so that concurrent additions to this file stay independent.
from django.db.models import F  # noqa: E402

from cases.models import Household, HouseholdMember, Person  # noqa: E402
from subsidies.models import BenefitType  # noqa: E402

from .eligibility import Civil, civil_townships, receipt  # noqa: E402
from .importing.conflicts import HEAD_WORDS  # noqa: E402

HARDSHIP_AGE = (0, 17)
# The reasons a child counts, in the order pages show them; each is an annotation
# `hardship_<key>` (True/False) on the rows of `hardship_children`.
HARDSHIP_REASONS: tuple[tuple[str, str], ...] = (
    ("monitored", "监测户家庭"),
    ("dibao", "家庭享受低保或特困供养"),
    ("disabled_parent", "父母残疾"),
    ("absent_parent", "父母均不在户"),
)

# 与户主关系 is recorded relative to the head of the household, so who a child's parents
# are depends on the child's own relation (values seen in the survey and roster files and
# the demo county: 户主 配偶 子 女 父亲 母亲 孙子 孙女).
CHILD_OF_HEAD = ("子", "女", "儿子", "女儿", "长子", "次子", "长女", "次女", "养子", "养女")
GRANDCHILD_OF_HEAD = ("孙子", "孙女", "外孙子", "外孙女")
HEAD_SPOUSE = ("配偶", "妻", "妻子", "夫", "丈夫")
HEAD_PARENT = ("父亲", "母亲", "父", "母")
HEAD_CHILD_OR_IN_LAW = (*CHILD_OF_HEAD, "儿媳", "女婿")


def reported_dead(ref: str = "pk") -> Q:
    """On a model reaching a person through `ref`: a source says 死亡 — the person's survey
    row fails `alive_condition`, or their current roster row says 死亡 (the roster half of
    the same condition, for persons without a survey row)."""
    survey = SurveyRecord.objects.filter(person=OuterRef(ref)).exclude(alive_condition())
    roster = RosterMember.objects.filter(person=OuterRef(ref), is_current=True, status="deceased")
    return Q(Exists(survey)) | Q(Exists(roster))


def _child_is_head() -> Q:
    return Q(membership__relation__in=HEAD_WORDS) | Q(membership__household__head_id=F("pk"))


def _parent_branches() -> tuple[tuple[Q, Q], ...]:
    """(the child's relation, its parents' rows among the other members) per case."""
    return (
        (
            Q(membership__relation__in=CHILD_OF_HEAD),
            Q(relation__in=(*HEAD_WORDS, *HEAD_SPOUSE)) | Q(person_id=F("household__head_id")),
        ),
        (
            Q(membership__relation__in=GRANDCHILD_OF_HEAD),
            Q(relation__in=HEAD_CHILD_OR_IN_LAW),
        ),
        (_child_is_head(), Q(relation__in=HEAD_PARENT)),
    )


def _parents(parent: Q, extra: Q) -> Q:
    """Other living members of the child's registry household matching `parent` and `extra`."""
    return Q(
        Exists(
            HouseholdMember.objects.filter(household=OuterRef("membership__household"))
            .exclude(person=OuterRef("pk"))
            .filter(parent & extra)
            .exclude(reported_dead("person"))
        )
    )


def hardship_reasons(civil: Civil) -> dict[str, Q]:
    """On Person: each reason of `HARDSHIP_REASONS` as a condition (see `hardship_children`)."""
    own_roster = monitored_members().filter(person=OuterRef("pk"))
    household = Household.objects.filter(pk=OuterRef("membership__household")).filter(
        monitored_household()
    )
    dibao, tekun = receipt(BenefitType.DIBAO, civil), receipt(BenefitType.TEKUN, civil)
    receipts = SurveyRecord.objects.filter(dibao.yes | tekun.yes)
    # Two EXISTS rather than one over "the child or a household member": with the OR inside,
    # PostgreSQL cannot use either side's index and scans the survey for every child.
    receiving_self = receipts.filter(person=OuterRef("pk"))
    receiving_household = receipts.filter(
        person__membership__household=OuterRef("membership__household")
    )
    disabled = Q()
    absent = Q()
    for child, parent in _parent_branches():
        disabled |= child & _parents(parent, Q(person__certificate__isnull=False))
        absent |= child & ~_parents(parent, Q())
    return {
        "monitored": Q(Exists(own_roster)) | Q(Exists(household)),
        "dibao": Q(Exists(receiving_self)) | Q(Exists(receiving_household)),
        "disabled_parent": disabled,
        "absent_parent": absent,
    }


def hardship_field(key: str) -> str:
    """The annotation `hardship_children` gives reason `key`."""
    return f"hardship_{key}"


def hardship_children(as_of: date, civil: Civil | None = None) -> QuerySet[Person]:
    """困境残疾儿童: the certified children the care work (关爱) is for, on `as_of` (unscoped).

    A person counts when all of:
    - they hold a disability certificate, and are aged 0–17 in whole years on `as_of`
      (`age_between`, which agrees with `cases.identity.age_on`);
    - no source reports them dead (`reported_dead`: survey `alive_condition`, roster 死亡);
    and at least one reason holds (each an annotation `hardship_<key>`, True/False):
    - `monitored` 监测户家庭: their own current roster row is in a monitored roster household
      (`monitored_members`, the rows `monitored_person` reads), or their registry household
      (`HouseholdMember`) is `monitored_household` (a living certified member is monitored);
    - `dibao` 低保/特困: the child, or any certified member of their registry household, is
      known to receive 城乡低保 or 特困供养 by `monitoring.eligibility.receipt` (the one
      receipt rule: in the civil roster's townships a current 在保 civil row, elsewhere any
      current active record or the survey answer). Receipt is the current state, not as of
      `as_of`; members without a survey row (not certified) have no receipt to read;
    - `disabled_parent` 父母残疾: a parent of the child (below) holds a certificate;
    - `absent_parent` 父母均不在户: the child's parents are known by relation and none of them
      is an other member of the household, or every one is reported dead.
    Parents, from 与户主关系 (recorded relative to the head): for a child recorded as
    子/女 (`CHILD_OF_HEAD`) the head (户主/本人, or the household's `head`) and 配偶; for a
    孙子/孙女 (`GRANDCHILD_OF_HEAD`) the members recorded 子/女/儿媳/女婿 (an uncle or aunt
    recorded 子/女 cannot be told apart, so they count as parents); for a child who is the
    head, the members recorded 父亲/母亲/父/母. A member reported dead is not a parent in
    the household. A child with any other or a blank relation, or not in a registry
    household, is judged on the first two reasons only.
    """
    if civil is None:
        civil = civil_townships()
    reasons = hardship_reasons(civil)
    flags = {
        hardship_field(key): Case(
            When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for key, condition in reasons.items()
    }
    any_reason = Q()
    for name in flags:
        any_reason |= Q(**{name: True})
    return (
        Person.objects.filter(certificate__isnull=False)
        .filter(age_between(as_of, *HARDSHIP_AGE))
        .exclude(reported_dead())
        .annotate(**flags)
        .filter(any_reason)
    )
