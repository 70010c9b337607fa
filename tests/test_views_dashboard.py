"""Dashboard (工作台) and indicator page (统计): numbers per scope, charts as JSON, budget."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from cases.models import AuditEvent, MonitoringCase
from staff.selectors import indicators
from staff.selectors.dashboard import dashboard

from . import factories

pytestmark = pytest.mark.django_db

EXECUTABLE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.I)


def chart_data(html: str) -> dict:
    match = re.search(
        r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, "no json_script block"
    return json.loads(match.group(1))


def monitored_household(township, village, name, *, paired=False, need=False, served=False):
    """A certified head in a roster 监测户 (risk not cleared), optionally paired/with a need."""
    record = factories.certified_person(
        township=township,
        village_name=village,
        name=name,
        household=True,
        rehab_needs=["康复训练"] if need else [],
        rehab_received=served if need else None,
    )
    roster = factories.RosterHouseholdFactory(
        township=factories.township(township), village=factories.village(township, village)
    )
    factories.RosterMemberFactory(household=roster, person=record.person)
    household = record.person.membership.household
    if paired:
        factories.PairingFactory(household=household, started_on=date(2025, 1, 1))
    return record


@pytest.fixture
def county():
    """河口镇: two villages; 城关镇: one household that township staff must never count."""
    monitored_household("河口镇", "东风村", "甲一", paired=True, need=True, served=True)
    monitored_household("河口镇", "东风村", "甲二", paired=False, need=True, served=False)
    monitored_household("河口镇", "前进村", "乙一", paired=True, need=True, served=True)
    factories.certified_person(township="河口镇", village_name="前进村", name="乙二", category=1)
    other = monitored_household("城关镇", "东关村", "丙一", paired=False, need=True, served=False)
    hekou_person = factories.certified_person(township="河口镇", village_name="东风村").person
    factories.FindingFactory(rule="M01", person=hekou_person)
    factories.FindingFactory(rule="S05", person=hekou_person)
    factories.FindingFactory(rule="S05", person=other.person)
    return other


def test_township_staff_sees_their_villages_and_never_another_township(client, hekou_user, county):
    client.force_login(hekou_user)
    response = client.get(reverse("staff:dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="count-certified">5<' in html  # 4 heads/persons + the finding person
    assert 'data-testid="count-monitored">3<' in html
    assert 'data-testid="count-findings">2<' in html
    # Rehabilitation: 3 with a need in 河口镇, 2 served → 66.7% (below 85%).
    assert "66.7%<small>（2/3）</small>" in html
    assert 'class="rate rate-below"' in html
    # Pairing: 2 of 3 monitored households paired.
    assert "66.7%<small>（2/3）</small>" in html
    assert "丙一" not in html and "城关镇" not in html.split("<main", 1)[1]
    units = re.findall(r'<tr data-unit="([^"]+)">', html)
    assert units == ["东风村", "前进村"]
    data = chart_data(html)
    assert data["unitKind"] == "村"
    assert data["rehab"] == {"labels": ["东风村", "前进村"], "values": [50.0, 100.0], "target": 85}
    assert data["pairing"] == {
        "labels": ["东风村", "前进村"],
        "values": [50.0, 100.0],
        "target": 100,
    }
    assert data["findings"] == {
        "labels": ["M01 应纳未纳·收入低于监测线", "S05 应保未保·基本医疗保险"],
        "values": [1, 1],
    }
    assert sum(data["categories"]["values"]) == 5
    assert data["categories"]["labels"][0] == "视力" and data["categories"]["values"][0] == 1


def test_county_roles_compare_townships(client, viewer_user, county):
    client.force_login(viewer_user)
    html = client.get(reverse("staff:dashboard")).content.decode()
    units = re.findall(r'<tr data-unit="([^"]+)">', html)
    # Townships in code order (城关镇 before 河口镇), with a county total row.
    assert units == ["城关镇", "河口镇"]
    assert "全县合计" in html
    assert "各乡镇对比" in html
    data = chart_data(html)
    assert data["unitKind"] == "乡镇"
    assert data["rehab"]["labels"] == ["城关镇", "河口镇"]
    assert data["rehab"]["values"] == [0.0, 66.7]
    assert 'data-testid="count-certified">6<' in html
    assert 'data-testid="count-findings">3<' in html


def test_village_member_sees_only_their_village(client, village_user):
    monitored_household("城关镇", "东关村", "本村甲", paired=True, need=True, served=True)
    monitored_household("城关镇", "西关村", "外村乙", paired=False, need=True)
    client.force_login(village_user)
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert re.findall(r'<tr data-unit="([^"]+)">', html) == ["东关村"]
    assert 'data-testid="count-certified">1<' in html
    assert "100.0%<small>（1/1）</small>" in html


def test_dashboard_numbers_agree_with_the_indicator_module(admin_user, county):
    data = dashboard(admin_user)
    rehab = indicators.rehab_service_rate(admin_user).total.values["all"]
    pairing = indicators.pairing_coverage(admin_user).total.values["rate"]
    assert (data.total.rehab_received, data.total.rehab_need) == (
        rehab.numerator,
        rehab.denominator,
    )
    assert (data.total.paired, data.total.monitored) == (pairing.numerator, pairing.denominator)
    assert data.total.rehab_need == 4


def test_an_own_monitoring_case_is_not_monitored_nor_overdue(hekou_user):
    # The roster decides "monitored", for the dashboard as for P01 (docs/RULES.md#terms).
    record = factories.certified_person(township="河口镇", village_name="东风村", household=True)
    household = record.person.membership.household
    MonitoringCase.objects.create(
        household=household,
        status=MonitoringCase.Status.INCLUDED,
        category="marginal",
        opened_on=date(2026, 1, 1),
        opening_reason="测试",
    )
    from cases.models import TrackingVisit

    TrackingVisit.objects.create(
        household=household,
        visited_on=date(2025, 1, 1),
        visitor_name="甲",
        next_due=date(2025, 2, 1),
    )
    data = dashboard(hekou_user)
    # Overdue visits count monitored households only (monitoring/visits_due.py): a next
    # visit date past due in a household the roster does not monitor is not overdue.
    assert (data.total.monitored, data.total.paired, data.total.overdue_visits) == (0, 0, 0)


@pytest.mark.parametrize("user_fixture", ["hekou_user", "admin_user"])
def test_dashboard_stays_within_ten_queries_whatever_the_data(
    client, request, county, user_fixture, django_assert_max_num_queries
):
    user = request.getfixturevalue(user_fixture)
    client.force_login(user)
    county = user_fixture == "admin_user"
    # 12: one query more than the aggregates and trend need, for the overdue households
    # (one query whatever their number; staff/selectors/dashboard.py), and one for the
    # audit chain's head (docs/SECURITY.md). County roles: one more, the data version of
    # the kept figures (staff/selectors/figures.py).
    budget = 13 if county else 12
    with django_assert_max_num_queries(budget):
        assert client.get(reverse("staff:dashboard")).status_code == 200
    for index in range(15):
        monitored_household("河口镇", f"村{index}", f"多{index}", paired=index % 2 == 0, need=True)
    with django_assert_max_num_queries(budget):
        html = client.get(reverse("staff:dashboard") + "?refresh=1").content.decode()
    assert "村14" in html or county
    if county:
        # Kept figures: the session, the user, the data version, the trend and the audit
        # event (chain head and insert, in one transaction) — no aggregate.
        with django_assert_max_num_queries(8):
            assert client.get(reverse("staff:dashboard")).status_code == 200


def test_dashboard_is_csp_safe_and_loads_the_vendored_chart_library(client, hekou_user, county):
    client.force_login(hekou_user)
    response = client.get(reverse("staff:dashboard"))
    html = response.content.decode()
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert not EXECUTABLE_SCRIPT.search(html)
    assert not INLINE_STYLE.search(html)
    assert '<script src="/static/vendor/chartjs/chart.umd.min.js"></script>' in html
    assert '<script src="/static/js/dashboard.js"></script>' in html
    assert 'id="chart-rehab"' in html and 'id="chart-pairing"' in html
    vendor = Path(settings.BASE_DIR) / "static" / "vendor" / "chartjs"
    assert (vendor / "chart.umd.min.js").read_text()[:40].startswith("/*!\n * Chart.js v4")
    assert (
        "MIT" in (vendor / "LICENSE.md").read_text()
        or "Permission is hereby granted" in (vendor / "LICENSE.md").read_text()
    )


def test_dashboard_is_audited_as_a_list(client, hekou_user, county):
    client.force_login(hekou_user)
    client.get(reverse("staff:dashboard"))
    event = AuditEvent.objects.get(action="list", target_label="dashboard")
    assert event.details["rows"] == 2  # two villages shown


def test_user_without_scope_sees_an_explanation(client, county):
    nobody = factories.UserFactory(username="nobody")
    client.force_login(nobody)
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert 'data-testid="no-scope"' in html
    assert "dashboard-data" not in html and "甲一" not in html


def test_dashboard_is_get_only_and_needs_login(client, hekou_user):
    assert client.get(reverse("staff:dashboard")).status_code == 302
    client.force_login(hekou_user)
    assert client.post(reverse("staff:dashboard")).status_code == 405


def test_stats_page_shows_every_indicator_table_in_scope(client, hekou_user, viewer_user, county):
    client.force_login(hekou_user)
    html = client.get(reverse("staff:stats")).content.decode()
    for key in ("certified", "rehab_rate", "subsidy_coverage", "pairing", "findings_by_rule"):
        assert f'data-testid="table-{key}"' in html
    main = html.split("<main", 1)[1]
    assert "河口镇" in main and "城关镇" not in main
    client.force_login(viewer_user)
    main = client.get(reverse("staff:stats")).content.decode().split("<main", 1)[1]
    assert "城关镇" in main and "全县合计" in main
