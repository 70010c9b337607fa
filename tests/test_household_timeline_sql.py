"""`household_timeline`: the household page's timeline from SQL compiled once per scope must
give exactly the rows of `timeline` (built on every call), for every kind of user, and each
household its own rows although the SQL is reused (docs/PERFORMANCE.md, Pages)."""

import pytest

from cases.scope import scope_for
from staff.selectors.households import household_person_ids
from staff.selectors.timeline import household_timeline, timeline

from . import factories
from .staff_app_data import household_with_everything, user_of_each_scope

pytestmark = pytest.mark.django_db


def built_each_time(user, household_id):
    return timeline(user, household_id=household_id, person_ids=household_person_ids(household_id))


@pytest.mark.parametrize("who", ["hekou", "county", "village", "other_township", "no_scope"])
def test_same_rows_as_the_timeline_built_each_time(who, home, elsewhere, county_admin):
    user = user_of_each_scope(home, county_admin)[who]
    for data in (home, elsewhere):
        # Twice: the second call runs the SQL compiled by the first.
        for _ in range(2):
            expected = built_each_time(user, data.household.pk)
            assert household_timeline(user, data.household.pk) == expected
    sees_home = bool(household_timeline(user, home.household.pk))
    assert sees_home == (who in ("hekou", "county", "village"))


def test_each_household_gets_its_own_rows_from_the_reused_sql(hekou_user, home):
    other = household_with_everything("河口镇", "东风村", head_name="李四海", tag="丙")
    first = household_timeline(hekou_user, home.household.pk)
    second = household_timeline(hekou_user, other.household.pk)
    assert first and second
    assert {e.pk for e in first if e.kind == "visit"} == {home.visit.pk}
    assert {e.pk for e in second if e.kind == "visit"} == {other.visit.pk}
    assert household_timeline(hekou_user, home.household.pk) == first


def test_one_query_and_dates_typed(hekou_user, home, django_assert_num_queries):
    scope_for(hekou_user)
    household_timeline(hekou_user, home.household.pk)  # compiled here
    with django_assert_num_queries(1):
        events = household_timeline(hekou_user, home.household.pk)
    dates = [event.on for event in events]
    assert dates == sorted(dates, reverse=True)
    visit = next(event for event in events if event.kind == "visit")
    assert f"下次访视：{home.visit.next_due:%Y-%m-%d}" in visit.detail


def records_built_each_time(user, person, household_id):
    from cases.casework_base import today
    from staff.selectors.person_records import KINDS, _query

    return sorted(
        (row[1], row[2], row[0])
        for row in _query(user, person, household_id, list(KINDS), today(), hardship=False)
    )


@pytest.mark.parametrize("who", ["hekou", "county", "village"])
def test_person_records_from_reused_sql_are_the_rows_built_each_time(who, home, county_admin):
    from staff.selectors.person_records import person_records

    users = {
        "hekou": factories.user_with_role("township_staff", township="河口镇"),
        "county": county_admin,
        "village": factories.user_with_role("village_member", village=home.household.village),
    }
    user = users[who]
    factories.BenefitRecordFactory(person=home.spouse)
    for person, household_id in (
        (home.head, home.household.pk),
        (home.spouse, home.household.pk),
        (home.spouse, None),
    ):
        for _ in range(2):  # the second call runs the SQL compiled by the first
            records = person_records(user, person, household_id=household_id)
            got = sorted(
                [(event.kind, event.pk, event.on) for event in records.events]
                + [(key, item.pk, None) for key, items in records.by_kind.items() for item in items]
            )
            expected = records_built_each_time(user, person, household_id)
            assert [row[:2] for row in got] == [row[:2] for row in expected]
            assert got, "the fixture gives every person some rows"


def test_compiling_costs_no_query_of_its_own(hekou_user, home, django_assert_num_queries):
    """A cold cache (a new worker) reads nothing more than a warm one: the SQL is compiled
    from markers, never from a record loaded for them."""
    from staff.selectors import timeline as timeline_module
    from staff.selectors.person_records import person_records

    scope_for(hekou_user)
    person = type(home.head).objects.select_related("certificate").get(pk=home.head.pk)
    timeline_module._compiled.clear()
    with django_assert_num_queries(1):
        person_records(hekou_user, person, household_id=home.household.pk)
    timeline_module._compiled.clear()
    with django_assert_num_queries(1):
        household_timeline(hekou_user, home.household.pk)


def test_each_finding_once_whether_reached_by_member_by_household_or_both(hekou_user, home):
    """The finding kind is two parts of the union (by member, by household without those
    members; staff.selectors.timeline `Branch.reach`): a finding about a member recorded on
    the household, one about a member recorded elsewhere and one about a non-member recorded
    on the household each appear exactly once; a stranger's elsewhere never."""
    other = household_with_everything("河口镇", "东风村", head_name="李四海", tag="丙")
    member_elsewhere = factories.FindingFactory(
        rule="E01", person=home.spouse, household=other.household
    )
    stranger_here = factories.FindingFactory(
        rule="E02", person=other.head, household=home.household
    )
    stranger_elsewhere = factories.FindingFactory(
        rule="E03", person=other.spouse, household=other.household
    )
    expected = {finding.pk for finding in home.findings.values()}
    expected |= {member_elsewhere.pk, stranger_here.pk}
    for events in (
        household_timeline(hekou_user, home.household.pk),
        built_each_time(hekou_user, home.household.pk),
    ):
        found = [event.pk for event in events if event.kind == "finding"]
        assert sorted(found) == sorted(expected)
        assert stranger_elsewhere.pk not in found
