"""Monthly indicator snapshots (staff.snapshots): replace-not-double, equal to the live
tables, the task, the command, the beat entry and the dashboard's trend built on them."""

from datetime import date
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse

from cases.casework_base import today
from cases.models import ChangeRecord, Role, StaffProfile, Township
from cases.scope import scope_for
from staff import snapshots
from staff.models import IndicatorSnapshot
from staff.selectors import indicators
from staff.selectors.indicators import Rate
from staff.selectors.trends import last_months, trend
from staff.tasks import indicator_snapshot_task

from .test_views_dashboard import chart_data, monitored_household

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    monitored_household("河口镇", "东风村", "甲一", paired=True, need=True, served=True)
    monitored_household("河口镇", "东风村", "甲二", paired=False, need=True, served=False)
    monitored_household("城关镇", "东关村", "丙一", paired=False, need=True, served=False)


def snapshot_map(month: date) -> dict:
    return {
        (s.table_key, s.column_key, s.township_id): (s.value, s.numerator, s.denominator)
        for s in IndicatorSnapshot.objects.filter(month=month)
    }


def test_taking_a_month_twice_replaces_its_rows(data):
    month = today().replace(day=1)
    first = snapshots.indicator_snapshot_take(month)
    before = snapshot_map(month)
    ids_before = set(IndicatorSnapshot.objects.values_list("pk", flat=True))
    second = snapshots.indicator_snapshot_take(month)
    assert first.rows == second.rows == len(before) > 0
    assert second.replaced == first.rows
    assert IndicatorSnapshot.objects.filter(month=month).count() == first.rows
    assert snapshot_map(month) == before
    assert not ids_before & set(IndicatorSnapshot.objects.values_list("pk", flat=True))


def test_other_months_are_left_alone(data):
    snapshots.indicator_snapshot_take(date(2026, 1, 15))
    count = IndicatorSnapshot.objects.filter(month=date(2026, 1, 1)).count()
    snapshots.indicator_snapshot_take(date(2026, 2, 1))
    assert IndicatorSnapshot.objects.filter(month=date(2026, 1, 1)).count() == count
    assert not IndicatorSnapshot.objects.exclude(month__in=[date(2026, 1, 1), date(2026, 2, 1)])


def test_values_equal_the_live_county_tables(data, viewer_user):
    month = today().replace(day=1)
    snapshots.indicator_snapshot_take(month)
    stored = snapshot_map(month)
    tables = indicators.dashboard(viewer_user, today())
    townships = dict(Township.objects.values_list("pk", "name"))
    checked = 0
    for table in tables.values():
        rows = list(table.rows) if snapshots.township_rowed(table, townships) else []
        for row in [*rows, table.total]:
            township_id = row.key if row is not table.total else None
            for key, _label in table.columns:
                value = row.values[key]
                if isinstance(value, Rate):
                    expected = (
                        None if value.value is None else Decimal(str(round(value.value, 6))),
                        value.numerator,
                        value.denominator,
                    )
                elif isinstance(value, int):
                    expected = (Decimal(value), None, None)
                else:
                    continue
                assert stored[(table.key, key, township_id)] == expected, (table.key, key, row)
                checked += 1
    assert checked > 100
    hekou = Township.objects.get(name="河口镇").pk
    assert stored[("pairing", "rate", hekou)][1:] == (1, 2)
    assert stored[("pairing", "rate", None)][1:] == (1, 3)
    # A table whose rows are not townships keeps its total only.
    assert not IndicatorSnapshot.objects.filter(
        table_key="certified_matrix", township__isnull=False
    ).exists()
    assert IndicatorSnapshot.objects.filter(table_key="certified_matrix").exists()


def test_the_system_reader_is_a_county_viewer_nobody_can_log_in_as(data):
    snapshots.indicator_snapshot_take(date(2026, 3, 1))
    snapshots.indicator_snapshot_take(date(2026, 3, 1))
    user = User.objects.get(username=snapshots.SYSTEM_READER)
    assert not user.has_usable_password()
    assert StaffProfile.objects.get(user=user).role == Role.COUNTY_VIEWER
    assert ChangeRecord.objects.filter(source=snapshots.SNAPSHOT_SOURCE).count() == 1


def test_the_task_calls_the_service_for_the_month():
    with mock.patch("staff.tasks.indicator_snapshot_take") as take:
        take.return_value = snapshots.SnapshotResult(date(2026, 7, 1), date(2026, 7, 31), 3, 9, 0)
        result = indicator_snapshot_task("2026-07")
    take.assert_called_once_with(date(2026, 7, 1))
    assert result["month"] == "2026-07-01" and result["rows"] == 9


def test_the_task_runs_in_process_and_defaults_to_this_month(data):
    result = indicator_snapshot_task.delay().get()
    assert result["month"] == today().replace(day=1).isoformat()
    assert (
        IndicatorSnapshot.objects.filter(month=today().replace(day=1)).count() == (result["rows"])
    )


def test_the_command_calls_the_service():
    with mock.patch("staff.management.commands.indicator_snapshot.indicator_snapshot_take") as take:
        take.return_value = snapshots.SnapshotResult(date(2026, 7, 1), date(2026, 7, 31), 3, 9, 0)
        call_command("indicator_snapshot", "--month", "2026-07")
    take.assert_called_once_with(date(2026, 7, 1))
    with pytest.raises(CommandError):
        call_command("indicator_snapshot", "--month", "七月")


def test_the_snapshot_is_scheduled_nightly_after_the_crosscheck():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-indicator-snapshot"]
    crosscheck = settings.CELERY_BEAT_SCHEDULE["nightly-crosscheck"]
    assert entry["task"] == indicator_snapshot_task.name
    assert min(entry["schedule"].hour) > max(crosscheck["schedule"].hour)


# --- the dashboard's trend ---


def test_trend_reads_the_scope_place(data, viewer_user, hekou_user, village_user):
    on = today()
    snapshots.indicator_snapshot_take(on)
    month_index = len(last_months(on)) - 1
    county = trend(scope_for(viewer_user), on)
    pairing = next(s for s in county.series if s["key"] == "pairing.rate")
    assert pairing["values"][month_index] == round(100 / 3, 1)
    assert pairing["values"][0] is None
    hekou = trend(scope_for(hekou_user), on)
    assert next(s for s in hekou.series if s["key"] == "pairing.rate")["values"][-1] == 50.0
    assert not trend(scope_for(village_user), on).available


def test_dashboard_shows_the_trend_or_says_there_is_none(
    client, data, hekou_user, django_assert_max_num_queries
):
    client.force_login(hekou_user)
    html = client.get(reverse("staff:dashboard")).content.decode()
    assert 'data-testid="trend-empty"' in html and "还没有指标月度快照" in html
    assert 'id="chart-trend"' not in html
    snapshots.indicator_snapshot_take(today())
    # The dashboard's budget (tests/test_views_dashboard.py): 11 with the overdue list.
    with django_assert_max_num_queries(11):
        html = client.get(reverse("staff:dashboard")).content.decode()
    assert 'id="chart-trend"' in html
    data_block = chart_data(html)["trend"]
    assert len(data_block["labels"]) == 12
    rehab = next(s for s in data_block["series"] if s["key"] == "rehab_rate.all")
    assert rehab["values"][-1] == 50.0 and rehab["target"] == 85
