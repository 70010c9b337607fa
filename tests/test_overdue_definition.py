"""The one definition of an overdue visit (monitoring/visits_due.py, docs/RULES.md#overdue)."""

from datetime import date, timedelta

import pytest

from cases.models import TrackingVisit
from cases.scope import scoped
from monitoring.models import SurveyRecord
from monitoring.visits_due import overdue_households, responsible
from subsidies.models import PolicyYear

from . import factories

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)


def monitored(
    identified_on: date | None = date(2026, 3, 1), township="城关镇", village="东关村", **hh
):
    """A certified head whose roster household is a 监测户 identified on `identified_on`."""
    record = factories.certified_person(township=township, village_name=village, household=True)
    roster = factories.RosterHouseholdFactory(
        township=factories.township(township),
        village=factories.village(township, village),
        identified_on=identified_on,
        **hh,
    )
    factories.RosterMemberFactory(household=roster, person=record.person)
    return record.household


def visit(household, on: date, next_due: date | None = None, visitor="走访员") -> TrackingVisit:
    return TrackingVisit.objects.create(
        household=household, visited_on=on, visitor_name=visitor, next_due=next_due
    )


def overdue(as_of=AS_OF) -> set:
    return set(overdue_households(as_of).values_list("pk", flat=True))


def test_never_visited_after_n_days_is_overdue_and_within_n_days_is_not():
    late = monitored(identified_on=AS_OF - timedelta(days=31))
    on_time = monitored(identified_on=AS_OF - timedelta(days=30))  # day 30: still in time
    assert overdue() == {late.pk}
    row = overdue_households(AS_OF).get()
    assert row.never_visited and row.first_visit_missing and row.last_visited_on is None
    assert on_time.pk in overdue(AS_OF + timedelta(days=1))


def test_a_visit_since_identification_ends_the_first_visit_clock():
    household = monitored(identified_on=date(2026, 3, 1))
    visit(household, date(2026, 2, 20))  # before identification: not the first visit
    assert overdue() == {household.pk}
    row = overdue_households(AS_OF).get()
    assert not row.never_visited and row.first_visit_missing
    visit(household, date(2026, 4, 20))  # late, but visited: no longer overdue
    assert overdue() == set()
    # As of a day before that visit, it was overdue.
    assert overdue(date(2026, 4, 19)) == {household.pk}


def test_next_due_past_is_overdue_only_for_the_latest_visit():
    household = monitored()
    visit(household, date(2026, 3, 5), next_due=date(2026, 6, 1))
    assert overdue() == {household.pk}
    assert overdue(date(2026, 6, 1)) == set()  # due today is not yet overdue
    visit(household, date(2026, 6, 10), next_due=date(2026, 9, 10))
    assert overdue() == set()
    visit(household, date(2026, 6, 12))  # a later visit naming no date: nothing due
    assert overdue(date(2026, 12, 31)) == set()


def test_n_is_the_identification_years_parameter():
    household = monitored(identified_on=date(2026, 6, 1))  # 29 days before AS_OF
    assert overdue() == set()
    PolicyYear.objects.filter(year=2026).update(visit_due_days=10)
    assert overdue() == {household.pk}
    PolicyYear.objects.filter(year=2026).delete()  # no row: the default 30 days
    assert overdue() == set()


def test_only_monitored_households_and_a_blank_identification_date_starts_no_clock():
    cleared = monitored(risk_cleared=True)
    not_monitored = factories.certified_person(household=True).household
    visit(cleared, date(2026, 3, 5), next_due=date(2026, 4, 1))
    visit(not_monitored, date(2026, 3, 5), next_due=date(2026, 4, 1))
    blank = monitored(identified_on=None)
    assert overdue() == set()
    visit(blank, date(2026, 3, 5), next_due=date(2026, 4, 1))
    assert overdue() == {blank.pk}


def test_a_dead_members_roster_household_does_not_count():
    household = monitored(identified_on=date(2026, 1, 1))
    SurveyRecord.objects.filter(household=household).update(survival_status="deceased")
    assert overdue() == set()


def test_responsible_is_the_last_visitor_then_the_pairing_helper(chengguan_user, hekou_user):
    visited = monitored()
    visit(visited, date(2026, 3, 5), next_due=date(2026, 4, 1), visitor="王走访")
    paired = monitored()
    factories.PairingFactory(household=paired, started_on=date(2026, 1, 1), helper_name="李帮扶")
    nobody = monitored()
    rows = {
        row.pk: responsible(row.last_visitor, row.helper_name) for row in overdue_households(AS_OF)
    }
    assert rows == {
        visited.pk: ("王走访", "最近走访人"),
        paired.pk: ("李帮扶", "结对帮扶人"),
        nobody.pk: ("", "未明确"),
    }
    hekou = monitored(township="河口镇", village="东风村")
    assert set(scoped(hekou_user, overdue_households(AS_OF)).values_list("pk", flat=True)) == {
        hekou.pk
    }
    assert hekou.pk not in set(
        scoped(chengguan_user, overdue_households(AS_OF)).values_list("pk", flat=True)
    )
