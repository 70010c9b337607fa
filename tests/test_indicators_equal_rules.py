"""Each indicator with a rule counts the rule's population: on the same day and in the same
scope, the indicator's gap equals the rule's open findings (docs/RULES.md#indicators).

The demo county (with a civil-affairs roster and without) is cross-checked, then every
indicator that has a rule is compared with that rule's findings, county-wide and for one
township's staff. Where the indicator's definition is legitimately wider than the rule's
(unknown answers count as "not covered" in a rate but never fire a rule), the difference
is counted with the same population definitions (`monitoring.populations`) and asserted
exactly.
"""

from collections import Counter
from datetime import date

import pytest
from django.db.models import Count

from cases.models import Household, MonitoringCase, RehabNeed, Township
from cases.scope import scoped
from monitoring import populations
from monitoring.crosscheck import run_crosscheck
from monitoring.eligibility import alive_condition, certified_alive, coverage_summary
from monitoring.models import Finding, SurveyRecord
from staff.demo import CountyOptions, build_demo_county
from staff.selectors import dashboard as workbench
from staff.selectors import indicators
from subsidies.models import BenefitType
from tests import factories

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)

# Indicator tables (`indicators.dashboard` keys) that have a rule, and the rule.
WITH_RULE = {
    "pairing": "P01",
    "rehab_rate": "R01",
    "school_age": "E01",
    "subsidy_coverage": "S01–S05",
}
# Indicator tables without a rule, and why.
WITHOUT_RULE = {
    "certified": "a count of the population itself (persons by category and grade)",
    "certified_matrix": "the same count, category × grade",
    "monitoring_cases": (
        "the federation's own case workflow (监测对象); no rule reads cases — the roster "
        "decides monitored — and M01–M05 are handled by opening one"
    ),
    "roster_monitored": (
        "roster 监测户 with a certified member, by category and risk: the monitored "
        "population, not a gap; M01–M05 name persons who are not monitored, which no "
        "indicator counts (there is no 'should be monitored' coverage indicator)"
    ),
    "findings": "the rules' own output, by status",
    "findings_by_rule": "the rules' own output, by rule",
    "employment": "no rule reads labour ability, willingness, public-welfare posts or training",
    "accessibility": "no rule reads home modifications",
    "family_doctor": "no rule reads family-doctor contracts or the survey's 家庭医生签约",
    "custodial_care": "no rule reads custodial care or the survey's 托养照护需求",
    "tekun_relief": (
        "特困 and 临时救助 have no eligibility rule: receiving rates over a population, not "
        "coverage; S03 reads 特困 receipt only as 'known to receive neither'"
    ),
}
# The S rules and the benefit whose coverage each one's findings are the known gap of.
S_RULES = {
    "S01": BenefitType.CARE_SUBSIDY,
    "S02": BenefitType.LIVING_SUBSIDY,
    "S03": BenefitType.DIBAO,
    "S04": BenefitType.PENSION_INSURANCE,
    "S05": BenefitType.MEDICAL_INSURANCE,
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(params=[0.0, 0.3], ids=["survey-decides", "civil-roster"])
def county(request) -> str:
    """The demo county, cross-checked; returns the township the township user works in."""
    build_demo_county(
        persons=300,
        seed=5,
        as_of=AS_OF,
        options=CountyOptions(
            civil_roster_share=request.param, rehab_service_share=0.3, users=False
        ),
    )
    township = _busiest_township()
    _add_definition_edges(township)
    run_crosscheck(AS_OF)
    return township


def _busiest_township() -> str:
    busiest = (
        SurveyRecord.objects.values("person__township__name")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    assert busiest is not None
    return busiest["person__township__name"]


def _add_definition_edges(township: str) -> None:
    """Records the demo county does not draw (or draws rarely) where the definitions
    could part, in the township whose staff the test compares too."""

    def child(age: int, in_school: str | None) -> SurveyRecord:
        born = date(AS_OF.year - age, 3, 1)
        return factories.certified_person(
            township=township, birth=born, household=True, in_school=in_school
        )

    child(9, "no")  # E01 (and M02)
    child(10, "na")  # 不适用: uncovered in the indicator, never E01
    child(12, "")  # unknown: likewise
    child(15, "no")  # last school-age year: E01
    child(16, "no")  # past school age: neither
    # Monitored and unpaired: P01 — unless no longer alive, then neither side counts it.
    roster = factories.RosterHouseholdFactory(
        township=Township.objects.get(name=township), household_type="monitored"
    )
    for status in ("alive", "deceased"):
        record = factories.certified_person(
            township=township, household=True, survival_status=status
        )
        factories.RosterMemberFactory(person=record.person, household=roster)
    alive = SurveyRecord.objects.filter(alive_condition())
    # A federation case 已纳入监测 for a household the roster does not monitor: not
    # monitored on either side (docs/RULES.md#terms).
    outside = alive.exclude(populations.monitored_person()).filter(household__isnull=False)
    for record in outside.order_by("pk")[:3]:
        if MonitoringCase.objects.filter(household=record.household_id).exists():
            continue
        MonitoringCase.objects.create(
            household_id=record.household_id,
            status=MonitoringCase.Status.INCLUDED,
            category=MonitoringCase.Category.MARGINAL,
            opened_on=date(2026, 3, 1),
            included_on=date(2026, 3, 2),
            opening_reason="测试",
        )
    # A need recorded by staff for persons whose survey lists none: in the rate's
    # denominator, never an R01 finding (R01 reads the survey's need).
    for record in alive.filter(rehab_needs=[]).order_by("pk")[:2]:
        RehabNeed.objects.create(
            person_id=record.person_id, kind=RehabNeed.Kind.TRAINING, identified_on=date(2026, 2, 1)
        )


def _open(user, code: str) -> list[Finding]:
    return list(scoped(user, Finding.objects.filter(rule=code, status=Finding.Status.OPEN)))


def _check_pairing(user) -> int:
    rate = indicators.pairing_coverage(user, AS_OF).total.values["rate"]
    p01 = _open(user, "P01")
    households = {f.household_id for f in p01 if f.household_id is not None}
    unpaired = set(
        indicators.monitored_households(user, AS_OF)
        .exclude(populations.paired_household(AS_OF))
        .values_list("pk", flat=True)
    )
    # P01 names persons; the indicator counts their survey households.
    assert unpaired == households
    assert rate.denominator - rate.numerator == len(households)
    # A monitored person without a survey household has no pairing: a P01 finding the
    # household indicator cannot show.
    no_household = (
        certified_alive(user).filter(populations.monitored_person(), household__isnull=True).count()
    )
    assert sum(f.household_id is None for f in p01) == no_household
    # The 工作台 counts the same households.
    board = workbench.dashboard(user, AS_OF).total
    assert (board.monitored, board.paired) == (rate.denominator, rate.numerator)
    return len(p01)


def _case_only_households(user) -> int:
    """Households whose own case is 已纳入监测/帮扶中 but which the roster does not monitor."""
    with_case = Household.objects.filter(
        monitoring_cases__status__in=MonitoringCase.MONITORED_STATUSES
    )
    return scoped(user, with_case).exclude(populations.monitored_household()).count()


def _check_rehab(user) -> int:
    rate = indicators.rehab_service_rate(user, AS_OF).total.values["all"]
    r01 = _open(user, "R01")
    alive = certified_alive(user)
    served = populations.served_this_year(AS_OF)
    # In the rate's gap but never an R01 finding: 已获康复服务 blank (unknown is never
    # "no"), and needs recorded by staff only (R01 reads the survey's need).
    unknown = (
        alive.filter(populations.survey_rehab_need(), rehab_received__isnull=True)
        .exclude(served)
        .count()
    )
    staff_only = (
        alive.exclude(populations.survey_rehab_need())
        .filter(populations.staff_rehab_need(AS_OF))
        .exclude(rehab_received=True)
        .exclude(served)
        .count()
    )
    assert rate.denominator - rate.numerator == len(r01) + unknown + staff_only
    board = workbench.dashboard(user, AS_OF).total
    assert (board.rehab_need, board.rehab_received) == (rate.denominator, rate.numerator)
    return len(r01)


def _check_school_age(user) -> int:
    rate = indicators.school_age_enrolment(user, AS_OF).total.values["rate"]
    e01 = _open(user, "E01")
    # In the gap but never an E01 finding: 在校情况 不适用 or blank, without a plan.
    not_no = (
        certified_alive(user)
        .filter(populations.school_age(AS_OF))
        .exclude(in_school__in=("yes", "no"))
        .exclude(populations.has_plan())
        .count()
    )
    assert rate.denominator - rate.numerator == len(e01) + not_no
    return len(e01)


def _check_benefits(user) -> Counter:
    coverage = coverage_summary(user, AS_OF)
    table = indicators.subsidy_coverage(user, AS_OF)
    found: Counter = Counter()
    for code, benefit in S_RULES.items():
        cell = coverage.total.cells[benefit]
        found[code] = len(_open(user, code))
        # Unknown receipt counts as "not receiving" in the rate, never as a finding.
        assert cell.gap - cell.unknown == found[code], code
        shown = table.total.values[benefit]
        assert shown.denominator - shown.numerator == cell.gap, code
    return found


def test_every_indicator_table_is_paired_with_a_rule_or_says_why_not(admin_user):
    tables = indicators.dashboard(admin_user, AS_OF)
    assert set(tables) == set(WITH_RULE) | set(WITHOUT_RULE)


def test_indicator_gaps_equal_the_rules_open_findings(county, admin_user):
    township_user = factories.user_with_role("township_staff", township=county, username="t")
    counts: dict[str, Counter] = {}
    for label, user in (("county", admin_user), ("township", township_user)):
        found = _check_benefits(user)
        found["P01"] = _check_pairing(user)
        found["R01"] = _check_rehab(user)
        found["E01"] = _check_school_age(user)
        counts[label] = found
    # The comparison is not vacuous: the county has findings of the paired rules, and the
    # township's are a part of them.
    county_counts = counts["county"]
    assert county_counts["P01"] and county_counts["R01"] and county_counts["S05"]
    assert _case_only_households(admin_user) > 0  # and none of them counted as monitored
    assert counts["township"] <= county_counts
    assert counts["township"]["P01"] and counts["township"]["E01"] == 2
