"""Overdue visits on the pages: the dashboard and the visit list's filter show the households
of `monitoring.visits_due.overdue_households`, in scope."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import TrackingVisit
from cases.scope import scoped
from monitoring.visits_due import overdue_households
from staff.selectors.dashboard import dashboard

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def ago(days: int):
    return today() - timedelta(days=days)


def monitored(name, township="河口镇", village="东风村", identified_days_ago=100):
    record = factories.certified_person(
        township=township, village_name=village, household=True, name=name
    )
    roster = factories.RosterHouseholdFactory(
        township=factories.township(township),
        village=factories.village(township, village),
        identified_on=ago(identified_days_ago),
    )
    factories.RosterMemberFactory(household=roster, person=record.person)
    return record.household


def visit(household, days_ago, next_due_days_ago=None, visitor="走访员"):
    next_due = None if next_due_days_ago is None else ago(next_due_days_ago)
    return TrackingVisit.objects.create(
        household=household, visited_on=ago(days_ago), visitor_name=visitor, next_due=next_due
    )


@pytest.fixture
def households():
    """河口镇: never visited, next visit past due, visited before inclusion only, up to date,
    and identified recently; 城关镇: one overdue household township staff must never see."""
    never = monitored("从未访")
    due = monitored("过期访", village="前进村")
    visit(due, 60, next_due_days_ago=5, visitor="王委员")
    before = monitored("前访户", identified_days_ago=50)
    visit(before, 70)
    fine = monitored("按时访")
    visit(fine, 10, next_due_days_ago=-20)
    monitored("新纳入", identified_days_ago=5)
    factories.PairingFactory(household=never, started_on=ago(200), helper_name="李书记")
    other = monitored("城关户", township="城关镇", village="东关村")
    return {"never": never, "due": due, "before": before, "fine": fine, "other": other}


def expected(user) -> set:
    return set(scoped(user, overdue_households(today())).values_list("pk", flat=True))


def test_dashboard_lists_the_scopes_overdue_households_with_never_visited_marked(
    client, hekou_user, households
):
    wanted = {households[k].pk for k in ("never", "due", "before")}
    assert expected(hekou_user) == wanted
    data = dashboard(hekou_user)
    assert {item.pk for item in data.overdue} == wanted
    assert data.total.overdue_visits == 3
    by_village = {unit.label: unit.overdue_visits for unit in data.units}
    assert by_village == {"东风村": 2, "前进村": 1}
    client.force_login(hekou_user)
    html = client.get(reverse("staff:dashboard")).content.decode()
    listed = {int(pk) for pk in re.findall(r'data-household="(\d+)"', html)}
    assert listed == wanted
    assert html.count('data-testid="never-visited"') == 1
    assert "从未访户" in html and "城关户" not in html
    assert "王委员" in html and "最近走访人" in html and "李书记" in html and "结对帮扶人" in html
    assert "纳入监测后未走访" in html


def test_county_roles_see_counts_per_township_and_responsible_person(viewer_user, households):
    data = dashboard(viewer_user)
    assert data.overdue == []
    assert data.total.overdue_visits == len(expected(viewer_user)) == 4
    townships = {unit.label: unit.overdue_visits for unit in data.units}
    assert townships["河口镇"] == 3 and townships["城关镇"] == 1
    groups = {
        (g.township, g.name, g.role): (g.households, g.never_visited) for g in data.overdue_people
    }
    assert groups == {
        ("河口镇", "李书记", "结对帮扶人"): (1, 1),
        ("河口镇", "王委员", "最近走访人"): (1, 0),
        ("河口镇", "走访员", "最近走访人"): (1, 0),
        ("城关镇", "", "未明确"): (1, 1),
    }


def test_visit_list_filter_shows_the_latest_visit_of_the_same_households(
    client, hekou_user, households
):
    visit(households["due"], 90, next_due_days_ago=70)  # an older visit of the same household
    client.force_login(hekou_user)
    html = client.get(reverse("staff:visit_list"), {"overdue": "on"}).content.decode()
    shown = {int(pk) for pk in re.findall(r"/households/(\d+)/", html)}
    # The households that have a visit to show; "never visited" has none (the dashboard lists it).
    assert shown == expected(hekou_user) - {households["never"].pk}
    assert html.count(f"/households/{households['due'].pk}/") == 1
    assert "城关户" not in html
    everything = client.get(reverse("staff:visit_list")).content.decode()
    assert "按时访户" in everything and "按时访户" not in html


def test_dashboard_overdue_list_costs_one_query_whatever_its_length(
    client, hekou_user, households, django_assert_max_num_queries
):
    client.force_login(hekou_user)
    for index in range(12):
        monitored(f"多{index}", village=f"村{index}")
    with django_assert_max_num_queries(12):  # +1: the audit chain's head (docs/SECURITY.md)
        html = client.get(reverse("staff:dashboard")).content.decode()
    assert html.count('data-testid="never-visited"') == 13
