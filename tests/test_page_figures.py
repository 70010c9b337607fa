"""Kept figures of the county dashboard and the 统计 page (staff/selectors/figures.py)."""

import re
from datetime import date

import pytest
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent
from cases.scope import Scope
from monitoring.models import CrosscheckRun, ImportBatch
from staff.selectors.figures import cached_figures, figures_key

from . import factories

pytestmark = pytest.mark.django_db

CERTIFIED = re.compile(r'data-testid="count-certified">(\d+)<')


def certified_count(html: str) -> int:
    match = CERTIFIED.search(html)
    assert match, "no certified count on the page"
    return int(match.group(1))


def add_person_without_a_new_import() -> None:
    """A certified person, as case work adds data: no import batch or run changes (the
    factory makes a batch for the survey record; it is dated back to the latest one)."""
    latest = ImportBatch.objects.aggregate(latest=Max("updated_at"))["latest"]
    factories.certified_person(township="河口镇", village_name="东风村")
    ImportBatch.objects.filter(updated_at__gt=latest).update(updated_at=latest)


def dashboard_html(client, query: str = "") -> str:
    response = client.get(reverse("staff:dashboard") + query)
    assert response.status_code == 200
    return response.content.decode()


def test_county_dashboard_keeps_its_figures_and_says_when_they_were_computed(client, admin_user):
    factories.certified_person(township="河口镇", village_name="东风村")
    client.force_login(admin_user)
    first = dashboard_html(client)
    assert certified_count(first) == 1
    assert 'data-testid="figures-at"' in first
    assert "数据截至" in first

    add_person_without_a_new_import()
    kept = dashboard_html(client)
    assert certified_count(kept) == 1  # kept: no import or cross-check since

    refreshed = dashboard_html(client, "?refresh=1")
    assert certified_count(refreshed) == 2


def test_a_cross_check_run_renews_the_county_figures_at_once(client, admin_user):
    factories.certified_person(township="河口镇", village_name="东风村")
    client.force_login(admin_user)
    assert certified_count(dashboard_html(client)) == 1
    factories.certified_person(township="河口镇", village_name="东风村")
    CrosscheckRun.objects.create(as_of=timezone.localdate(), status=CrosscheckRun.Status.DONE)
    assert certified_count(dashboard_html(client)) == 2


def test_figures_are_not_kept_when_the_max_age_is_zero(client, admin_user, settings):
    factories.certified_person(township="河口镇", village_name="东风村")
    client.force_login(admin_user)
    assert certified_count(dashboard_html(client)) == 1  # kept while keeping is on
    settings.FIGURES_CACHE_SECONDS = 0
    add_person_without_a_new_import()
    assert certified_count(dashboard_html(client)) == 2  # what was kept is not served
    add_person_without_a_new_import()
    assert certified_count(dashboard_html(client)) == 3


def test_township_dashboard_is_always_live(client, hekou_user):
    """It lists the township's overdue households by name: never kept."""
    factories.certified_person(township="河口镇", village_name="东风村")
    client.force_login(hekou_user)
    first = dashboard_html(client)
    assert certified_count(first) == 1
    assert 'data-testid="figures-at"' not in first
    factories.certified_person(township="河口镇", village_name="东风村")
    assert certified_count(dashboard_html(client)) == 2


def test_every_view_is_still_audited_when_the_figures_are_kept(client, admin_user):
    client.force_login(admin_user)
    for _ in range(3):
        dashboard_html(client)
        client.get(reverse("staff:stats"))
    labels = list(
        AuditEvent.objects.filter(actor=admin_user, target_label__in=["dashboard", "indicators"])
        .order_by("pk")
        .values_list("target_label", flat=True)
    )
    assert labels == ["dashboard", "indicators"] * 3


def test_stats_figures_are_kept_per_scope(client, admin_user, hekou_user):
    """A township user never gets the county's kept tables, nor the other way round."""
    factories.certified_person(township="河口镇", village_name="东风村", name="河口人")
    factories.certified_person(township="城关镇", village_name="东关村", name="城关人")
    client.force_login(admin_user)
    county_html = client.get(reverse("staff:stats")).content.decode()
    assert "城关镇" in county_html.split("<main", 1)[1]
    assert 'data-testid="figures-at"' in county_html

    client.force_login(hekou_user)
    township_html = client.get(reverse("staff:stats")).content.decode()
    assert "城关镇" not in township_html.split("<main", 1)[1]


def test_stats_figures_are_kept_per_date(client, admin_user):
    client.force_login(admin_user)
    today_html = client.get(reverse("staff:stats")).content.decode()
    earlier = client.get(reverse("staff:stats") + "?as_of=2025-06-30").content.decode()
    assert "统计日期：2025年6月30日" in earlier
    assert "统计日期：" in today_html and "2025年6月30日" not in today_html
    # The refresh link keeps the date it recomputes.
    assert "as_of=2025-06-30&amp;refresh=1" in earlier


def test_the_key_holds_the_whole_scope_and_the_date():
    county = Scope(role="county_admin")
    hekou = Scope(role="township_staff", township_id=2)
    village = Scope(role="village_member", township_id=2, village_id=5)
    day = date(2026, 6, 30)
    keys = {
        figures_key("indicators", scope, on, "v")
        for scope in (county, hekou, village)
        for on in (day, date(2026, 7, 1))
    }
    assert len(keys) == 6
    assert figures_key("indicators", hekou, day, "v1") != figures_key(
        "indicators", hekou, day, "v2"
    )


def test_cached_figures_compute_once_until_refreshed():
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    scope = Scope(role="county_admin")
    day = date(2026, 6, 30)
    assert cached_figures("test", scope, day, compute).value == 1
    assert cached_figures("test", scope, day, compute).value == 1
    assert cached_figures("test", scope, day, compute, refresh=True).value == 2
    assert cached_figures("test", scope, day, compute).value == 2
