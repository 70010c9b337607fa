"""Indicators (docs/RULES.md#indicators): per-township rows, county totals, scope, rates and targets."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.models import AccessibilityModification, MonitoringCase
from monitoring.models import Finding
from staff.selectors import indicators

from . import factories

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def row(table, label):
    return next(r for r in table.rows if r.label == label)


def test_certified_by_category_and_grade(admin_user, chengguan_user, hekou_user):
    factories.certified_person(category=1, grade=1)
    factories.certified_person(category=6, grade=2)
    factories.certified_person(category=6, grade=2, township="河口镇")
    factories.certified_person(category=4, grade=4, survival_status="deceased")
    dead_in_roster = factories.certified_person(category=4, grade=3)
    factories.RosterMemberFactory(person=dead_in_roster.person, status="deceased")

    county = indicators.certified_by_category_grade(admin_user)
    assert len(county.rows) == 31
    chengguan = row(county, "城关镇").values
    assert (chengguan["c1"], chengguan["c6"], chengguan["g1"], chengguan["g2"]) == (1, 1, 1, 1)
    assert chengguan["total"] == 2 and chengguan["c4"] == 0
    assert county.total.values["total"] == 3 and county.total.values["c6"] == 2
    assert county.total.cells[-1] == 3

    own = indicators.certified_by_category_grade(hekou_user)
    assert [r.label for r in own.rows] == ["河口镇"] and own.total.values["total"] == 1
    matrix = indicators.certified_matrix(chengguan_user)
    assert row(matrix, "精神").values["g2"] == 1 and matrix.total.values["total"] == 2


def test_monitoring_cases_count_the_latest_case_per_household(chengguan_user):
    from cases import casework

    first = factories.certified_person(household=True).household
    second = factories.certified_person(household=True).household
    today = timezone.localdate()
    old = casework.case_open(chengguan_user, first, reason="x", opened_on=today - timedelta(5))
    casework.case_reject(chengguan_user, old, reason="收入达标")
    new = casework.case_open(chengguan_user, first, reason="再次发现", opened_on=today)
    casework.case_include(
        chengguan_user, new, category="sudden", risk_types=["因灾"], reason="y", on=today
    )
    casework.case_open(chengguan_user, second, reason="z", opened_on=today)

    table = indicators.monitoring_cases_by_type_status(chengguan_user)
    values = table.total.values
    assert (values["pending"], values["included"], values["rejected"], values["total"]) == (
        1,
        1,
        0,
        2,
    )
    assert (values["type_sudden"], values["type_marginal"]) == (1, 0)
    assert MonitoringCase.objects.count() == 3


def test_roster_monitored_households_with_certified_members(admin_user):
    certified = factories.certified_person()
    at_risk = factories.RosterHouseholdFactory(monitoring_category="marginal")
    factories.RosterMemberFactory(household=at_risk, person=certified.person)
    cleared = factories.RosterHouseholdFactory(monitoring_category="sudden", risk_cleared=True)
    factories.RosterMemberFactory(household=cleared, person=factories.certified_person().person)
    without_disabled = factories.RosterHouseholdFactory()
    factories.RosterMemberFactory(household=without_disabled)
    values = indicators.roster_monitored_households(admin_user).total.values
    assert (values["marginal"], values["sudden"], values["at_risk"], values["cleared"]) == (
        1,
        1,
        1,
        1,
    )
    assert values["total"] == 2


def test_findings_by_status_and_days_to_decision(admin_user, hekou_user):
    opened = timezone.now() - timedelta(days=10)

    def finding(rule, status, days=None, township="城关镇"):
        person = factories.certified_person(township=township).person
        return factories.FindingFactory(
            rule=rule,
            person=person,
            status=status,
            opened_at=opened,
            decided_at=opened + timedelta(days=days) if days is not None else None,
        )

    finding("M01", Finding.Status.HANDLED, 2)
    finding("M01", Finding.Status.DISMISSED, 4)
    finding("S05", Finding.Status.OPEN)
    finding("S05", Finding.Status.HANDLED, 9, township="河口镇")

    by_township = indicators.findings_by_township(admin_user)
    chengguan = row(by_township, "城关镇").values
    assert (chengguan["open"], chengguan["handled"], chengguan["dismissed"]) == (1, 1, 1)
    assert chengguan["days"].value == 3.0
    assert by_township.total.values["days"].value == 5.0  # (2 + 4 + 9) / 3
    assert by_township.total.values["total"] == 4

    by_rule = indicators.findings_by_rule(admin_user)
    assert [r.key for r in by_rule.rows] == ["M01", "S05"]
    assert row(by_rule, by_rule.rows[0].label).label.startswith("M01 应纳未纳")
    assert by_rule.rows[1].values["days"].value == 9.0
    assert indicators.findings_by_rule(hekou_user).total.values["total"] == 1


def test_rehab_service_rate_overall_and_priority_groups(chengguan_user):
    household = factories.certified_person(
        household=True, grade=1, rehab_needs=["康复训练"], rehab_received=True
    ).household
    # Same household: a second certified person → both are 一户多残.
    mental = factories.certified_person(
        household=household,
        category=6,
        grade=2,
        rehab_needs=["药物"],
        rehab_received=False,
        income_per_capita=Decimal("5000"),
    )
    served = factories.certified_person(grade=4, rehab_needs=["辅助器具"], rehab_received=False)
    factories.RehabServiceFactory(person=served.person, served_on=date(2026, 3, 1))
    last_year = factories.certified_person(grade=3, rehab_needs=["辅助器具"], rehab_received=False)
    factories.RehabServiceFactory(person=last_year.person, served_on=date(2025, 12, 1))
    staff_need = factories.certified_person(grade=3)
    from cases.models import RehabNeed

    RehabNeed.objects.create(
        person=staff_need.person, kind="device", identified_on=date(2026, 2, 1)
    )
    factories.certified_person(grade=1)  # no need: not counted

    table = indicators.rehab_service_rate(chengguan_user, AS_OF)
    values = table.total.values
    assert (values["all"].numerator, values["all"].denominator) == (2, 5)
    assert values["all"].meets_target is False and values["all"].target == 0.85
    assert (values["severe"].numerator, values["severe"].denominator) == (1, 2)
    assert (values["severe_mental"].numerator, values["severe_mental"].denominator) == (0, 1)
    assert (values["low_income"].numerator, values["low_income"].denominator) == (0, 1)
    assert (values["multi"].numerator, values["multi"].denominator) == (1, 2)
    assert values["all"].percent == "40.0%"
    assert mental.household == household


def test_subsidy_coverage_and_school_age(chengguan_user):
    factories.certified_person(grade=1, receives_care_subsidy=True, medical_insured=True)
    factories.certified_person(grade=2, receives_care_subsidy=False, medical_insured=True)
    coverage = indicators.subsidy_coverage(chengguan_user, AS_OF).total.values
    assert (coverage["care_subsidy"].numerator, coverage["care_subsidy"].denominator) == (1, 2)
    assert coverage["medical_insurance"].value == 1.0

    factories.certified_person(birth=date(2015, 1, 1), in_school="yes")
    planned = factories.certified_person(birth=date(2014, 1, 1), in_school="no")
    factories.EducationPlanFactory(person=planned.person)
    factories.certified_person(birth=date(2012, 1, 1), in_school="no")
    factories.certified_person(birth=date(2009, 1, 1), in_school="no")  # 17: not school age
    school = indicators.school_age_enrolment(chengguan_user, AS_OF).total.values
    assert (school["children"], school["enrolled"], school["planned"]) == (3, 1, 1)
    assert (school["rate"].numerator, school["rate"].denominator) == (2, 3)


def test_employment_accessibility_and_pairing(chengguan_user):
    from cases.models import LabourProfile, Training, WelfarePostPlacement

    a = factories.certified_person(household=True)
    b = factories.certified_person(household=True)
    WelfarePostPlacement.objects.create(
        person=a.person, post="保洁", employer="村委", started_on=date(2026, 1, 1)
    )
    WelfarePostPlacement.objects.create(
        person=b.person,
        post="护林",
        employer="林站",
        started_on=date(2025, 1, 1),
        ended_on=date(2025, 12, 31),
    )
    LabourProfile.objects.create(
        person=b.person, ability="full", willing=True, assessed_on=date(2026, 1, 1)
    )
    Training.objects.create(
        person=b.person,
        kind="vocational",
        course="电商",
        organiser="县人社局",
        started_on=date(2026, 4, 1),
    )
    employment = indicators.employment(chengguan_user, AS_OF).total.values
    assert employment == {
        "posts": 1,
        "base_jobs": 0,
        "employed": 1,
        "employed_survey": 0,
        "able_willing": 1,
        "able_willing_survey": 0,
        "trainings": 1,
    }

    AccessibilityModification.objects.create(
        person=a.person,
        status="accepted",
        applied_on=date(2026, 1, 1),
        accepted_on=date(2026, 5, 1),
        cost=Decimal("3000"),
    )
    AccessibilityModification.objects.create(
        person=b.person, status="construction", applied_on=date(2026, 2, 1)
    )
    done = indicators.accessibility(chengguan_user, AS_OF).total.values
    assert done == {"in_progress": 1, "done_year": 1, "done_all": 1, "cost_year": 3000}

    # Monitored: a via the roster (监测户, risk not cleared). b's own case 已纳入监测 does not
    # make it monitored — the roster decides, as for P01 (docs/RULES.md#terms) — until b
    # is on the roster too.
    factories.RosterMemberFactory(person=a.person)
    MonitoringCase.objects.create(
        household=b.household,
        status="included",
        category="marginal",
        opened_on=date(2026, 1, 1),
        opening_reason="x",
    )
    factories.PairingFactory(household=a.household, started_on=date(2026, 1, 1))
    factories.PairingFactory(
        household=b.household, started_on=date(2025, 1, 1), ended_on=date(2025, 12, 31)
    )
    pairing = indicators.pairing_coverage(chengguan_user, AS_OF).total.values
    assert (pairing["rate"].numerator, pairing["rate"].denominator) == (1, 1)
    factories.RosterMemberFactory(person=b.person)
    pairing = indicators.pairing_coverage(chengguan_user, AS_OF).total.values
    assert pairing["households"] == 2
    assert (pairing["rate"].numerator, pairing["rate"].denominator) == (1, 2)
    assert pairing["rate"].meets_target is False


def test_dashboard_query_count_does_not_grow_with_data(admin_user, django_assert_max_num_queries):
    before_as_of = timezone.make_aware(datetime(2026, 6, 1, 9))

    def add_people(n):
        for i in range(n):
            survey = factories.certified_person(
                household=True, rehab_needs=["康复训练"], grade=1 + i % 4
            )
            # Flagged before AS_OF: a finding counts from the day it was opened.
            factories.FindingFactory(
                person=survey.person, household=survey.household, opened_at=before_as_of
            )

    add_people(2)
    with django_assert_max_num_queries(40) as small:
        indicators.dashboard(admin_user, AS_OF)
    add_people(6)
    with django_assert_max_num_queries(len(small.captured_queries)):
        tables = indicators.dashboard(admin_user, AS_OF)
    assert tables["certified"].total.values["total"] == 8
    assert tables["findings"].total.values["open"] == 8
    assert set(tables) >= {"rehab_rate", "subsidy_coverage", "pairing", "school_age"}
