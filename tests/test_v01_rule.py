"""V01 走访发现风险: the pure rule, and the cross-check run over real visits."""

from datetime import date
from decimal import Decimal

import pytest

from cases.models import TrackingVisit
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding
from monitoring.rules import REGISTRY, by_urgency
from monitoring.rules.records import HouseholdVisit
from subsidies.models import PolicyYear

from . import factories
from .test_crosscheck_rules import ctx, fires, person

AS_OF = date(2026, 6, 30)
PROBLEM = TrackingVisit.Check.PROBLEM


def seen(**overrides) -> HouseholdVisit:
    values = {
        "household_id": 10,
        "visited_on": date(2026, 5, 12),
        "income": None,
        "housing": "ok",
        "water": "ok",
        "education": "na",
        "monitoring_line": Decimal("7000"),
        "monitored": False,
    }
    values.update(overrides)
    return HouseholdVisit(**values)


def v01(visit: HouseholdVisit, **person_values) -> str | None:
    return fires("V01", person(**person_values), ctx(household_visits={visit.household_id: visit}))


# --- the rule (no database) ---


def test_registered_with_its_metadata_and_place_in_the_queue():
    rule = REGISTRY["V01"]
    assert rule.name == "走访发现风险" and rule.opens_case and not rule.benefit
    order = [r.code for r in by_urgency()]
    assert order.index("M05") < order.index("V01") < order.index("M01")
    assert "monitored_household" in rule.explanation


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"income": Decimal("5000")}, "家庭年人均纯收入5,000元，低于2026年监测线7,000元"),
        ({"housing": PROBLEM}, "住房安全存在问题"),
        ({"water": PROBLEM}, "饮水安全存在问题"),
        ({"education": PROBLEM}, "义务教育存在问题"),
    ],
)
def test_fires_for_each_item_with_the_visit_date(overrides, words):
    reason = v01(seen(**overrides))
    assert reason is not None
    assert reason.startswith("2026-05-12走访发现") and words in reason
    assert reason.endswith("且未纳入防返贫监测")


def test_names_every_item_found():
    reason = v01(seen(income=Decimal("100"), water=PROBLEM, housing=PROBLEM))
    assert reason == (
        "2026-05-12走访发现家庭年人均纯收入100元，低于2026年监测线7,000元；住房安全存在问题；"
        "饮水安全存在问题，且未纳入防返贫监测"
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"income": Decimal("7000")},  # at the line, not below
        {"income": None},  # blank income is unknown
        {"income": Decimal("10"), "monitoring_line": None},  # the year has no parameters
        {"housing": "", "water": "na", "education": ""},  # blank, 不涉及
        {"housing": PROBLEM, "monitored": True},  # a monitored household
    ],
)
def test_does_not_fire(overrides):
    assert v01(seen(**overrides)) is None


def test_needs_the_persons_own_household_visit():
    assert v01(seen(housing=PROBLEM), household_id=11) is None
    assert v01(seen(housing=PROBLEM), household_id=None) is None


# --- the run over the database ---


def household(township="城关镇", **answers):
    return factories.certified_person(township=township, household=True, **answers)


def make_monitored(record):
    roster = factories.RosterHouseholdFactory(township=record.person.township)
    factories.RosterMemberFactory(household=roster, person=record.person)


def visit(record, on, **items):
    return TrackingVisit.objects.create(
        household=record.household, visited_on=on, visitor_name="走访员", **items
    )


def open_v01() -> dict:
    return {
        f.person_id: f.reason
        for f in Finding.objects.filter(rule="V01", status=Finding.Status.OPEN)
    }


@pytest.mark.django_db
def test_run_uses_the_latest_visit_and_the_visit_years_line():
    low = household()
    visit(low, date(2025, 11, 3), income_per_capita=Decimal("6900"))  # 2025's L
    PolicyYear.objects.filter(year=2025).update(monitoring_line=Decimal("6800"))
    run = run_crosscheck(AS_OF)
    assert open_v01() == {}
    PolicyYear.objects.filter(year=2025).update(monitoring_line=Decimal("7200"))
    run = run_crosscheck(AS_OF)
    assert open_v01() == {
        low.person_id: "2025-11-03走访发现家庭年人均纯收入6,900元，低于2025年监测线7,200元，"
        "且未纳入防返贫监测"
    }
    assert run.by_rule["V01"]["new"] == 1
    finding = Finding.objects.get(rule="V01")
    assert finding.household_id == low.household_id
    # A later visit that finds nothing clears it.
    visit(low, date(2026, 6, 1), income_per_capita=Decimal("9000"), housing="ok")
    run = run_crosscheck(AS_OF)
    assert open_v01() == {} and run.by_rule["V01"]["cleared"] == 1
    # A visit after the as-of date does not exist yet on that day.
    visit(low, date(2026, 7, 5), water=PROBLEM)
    run_crosscheck(AS_OF)
    assert open_v01() == {}


@pytest.mark.django_db
def test_run_skips_monitored_households_and_names_every_living_member():
    head = household()
    spouse = factories.certified_person(household=head.household)
    visit(head, date(2026, 6, 2), housing=PROBLEM)
    watched = household()
    make_monitored(watched)
    visit(watched, date(2026, 6, 2), water=PROBLEM, education=PROBLEM)
    run_crosscheck(AS_OF)
    assert set(open_v01()) == {head.person_id, spouse.person_id}
    spouse.survival_status = "deceased"
    spouse.save()
    run_crosscheck(AS_OF)
    assert set(open_v01()) == {head.person_id}
