"""Recording a risky visit for a household that is not monitored says that V01 will be raised
at the next run — and the run does raise it; no finding is written by the page itself."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import TrackingVisit
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding

from . import factories

pytestmark = pytest.mark.django_db

NOTICE = "下次比对运行时将生成“V01 走访发现风险”比对发现"


def today():
    return timezone.localdate()


def household(monitored=False):
    record = factories.certified_person(township="河口镇", village_name="东风村", household=True)
    if monitored:
        roster = factories.RosterHouseholdFactory(
            township=factories.township("河口镇"), village=factories.village("河口镇", "东风村")
        )
        factories.RosterMemberFactory(household=roster, person=record.person)
    return record


def record_visit(client, record, **items):
    data = {
        "visited_on": today().isoformat(),
        "kind": "tracking",
        "visitor_name": "走访员",
        **items,
    }
    url = reverse("staff:visit_create", args=[record.household_id])
    return client.post(url, data, follow=True)


def test_a_risky_visit_says_v01_comes_and_the_run_raises_it(client, hekou_user):
    record = household()
    client.force_login(hekou_user)
    page = record_visit(client, record, housing="problem", water="ok").content.decode()
    assert "已登记跟踪访视" in page and NOTICE in page and "住房安全存在问题" in page
    assert not Finding.objects.filter(rule="V01").exists()
    run_crosscheck(today())
    finding = Finding.objects.get(rule="V01", person=record.person)
    assert "住房安全存在问题" in finding.reason and f"{today():%Y-%m-%d}走访发现" in finding.reason


def test_income_below_the_years_line_says_so_too(client, hekou_user):
    record = household()
    client.force_login(hekou_user)
    page = record_visit(client, record, income_per_capita="3000").content.decode()
    assert NOTICE in page and "家庭年人均纯收入3,000元" in page


@pytest.mark.parametrize(
    "monitored, items",
    [
        (True, {"housing": "problem"}),  # monitored already
        (False, {"housing": "ok", "water": "na", "income_per_capita": "9000"}),  # nothing found
    ],
)
def test_no_notice_when_nothing_will_be_raised(client, hekou_user, monitored, items):
    record = household(monitored=monitored)
    client.force_login(hekou_user)
    page = record_visit(client, record, **items).content.decode()
    assert "已登记跟踪访视" in page and NOTICE not in page
    run_crosscheck(today())
    assert not Finding.objects.filter(rule="V01").exists()


def test_a_back_dated_visit_behind_a_later_clean_one_says_nothing(client, hekou_user):
    record = household()
    TrackingVisit.objects.create(
        household=record.household, visited_on=today(), visitor_name="甲", housing="ok"
    )
    client.force_login(hekou_user)
    data = {"visited_on": (today() - timedelta(days=20)).isoformat(), "housing": "problem"}
    page = record_visit(client, record, **data).content.decode()
    assert "已登记跟踪访视" in page and NOTICE not in page


def test_bad_input_and_refusals_write_nothing(client, hekou_user, viewer_user, chengguan_user):
    record = household()
    client.force_login(hekou_user)
    response = record_visit(client, record, housing="problem", income_per_capita="很多")
    assert response.status_code == 400 and "应为金额" in response.content.decode()
    client.force_login(viewer_user)
    assert record_visit(client, record, housing="problem").status_code == 403
    client.force_login(chengguan_user)
    assert record_visit(client, record, housing="problem").status_code == 404
    assert not TrackingVisit.objects.exists()
