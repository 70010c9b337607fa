"""Policy what-if (monitoring/whatif.py): trial parameters on the nightly rules, no finding
written; current parameters change nothing; a higher line adds M01 persons."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cases import casework
from cases.models import AuditEvent
from monitoring.crosscheck import run_crosscheck
from monitoring.models import CrosscheckRun, Finding, FindingEvent, WhatIfRun
from monitoring.whatif import WhatIfError, whatif_as_of, whatif_run, whatif_start
from subsidies.models import PolicyYear

from . import factories

pytestmark = pytest.mark.django_db
LINE = Decimal("7000")


def today():
    return timezone.localdate()


@pytest.fixture
def county():
    """Three persons around the line in two townships, a nightly run done."""
    PolicyYear.objects.filter(year=today().year).update(monitoring_line=LINE)
    low = factories.certified_person(
        township="城关镇", household=True, income_per_capita=Decimal("5000")
    )
    low_spouse = factories.certified_person(
        township="城关镇", household=low.household, income_per_capita=Decimal("5000")
    )
    mid = factories.certified_person(
        township="河口镇", village_name="东风村", household=True, income_per_capita=Decimal("8000")
    )
    high = factories.certified_person(
        township="河口镇",
        village_name="东风村",
        household=True,
        income_per_capita=Decimal("30000"),
    )
    run_crosscheck(today())
    return {"low": low, "low_spouse": low_spouse, "mid": mid, "high": high}


def snapshot() -> dict:
    return {
        "findings": sorted(
            Finding.objects.values_list("id", "rule", "person_id", "status", "reason", "updated_at")
        ),
        "events": FindingEvent.objects.count(),
        "runs": CrosscheckRun.objects.count(),
    }


def trial(user, **params) -> WhatIfRun:
    run = whatif_start(user, today().year, params)
    return whatif_run(run.pk)


def test_current_parameters_change_nothing_and_write_no_finding(county, county_admin):
    # A handled finding that still fires is not "added": the nightly job keeps it handled.
    Finding.objects.filter(rule="M01", person=county["low_spouse"].person).update(
        status=Finding.Status.HANDLED
    )
    assert Finding.objects.filter(rule="M01").count() == 2
    before = snapshot()
    run = trial(county_admin)
    assert run.status == WhatIfRun.Status.DONE, run.message
    assert run.progress == 100
    assert run.result["totals"] == {
        "added_persons": 0,
        "added_households": 0,
        "cleared_persons": 0,
        "cleared_households": 0,
    }
    assert run.result["rows"] == [] and run.result["households"] == []
    assert run.result["changed"] == []
    assert run.result["as_of"] == today().isoformat()
    assert snapshot() == before


def test_a_higher_line_adds_m01_persons_per_township(county, county_admin):
    before = snapshot()
    run = trial(county_admin, monitoring_line=Decimal("9000"))
    assert run.status == WhatIfRun.Status.DONE, run.message
    result = run.result
    assert result["changed"] == ["monitoring_line"]
    assert result["trial"]["monitoring_line"] == "9000.00"
    assert result["current"]["monitoring_line"] == "7000.00"
    m01 = [row for row in result["rows"] if row["rule"] == "M01"]
    assert [
        (row["township_name"], row["added_persons"], row["added_households"]) for row in m01
    ] == [("河口镇", 1, 1)]
    assert result["by_rule"]["M01"]["added_persons"] == 1
    assert result["by_rule"]["M01"]["cleared_persons"] == 0
    listed = [item for item in result["households"] if item["rule"] == "M01"]
    assert listed == [
        {
            "household": county["mid"].household_id,
            "township": str(county["mid"].person.township_id),
            "rule": "M01",
            "change": "added",
            "persons": [county["mid"].person_id],
        }
    ]
    assert snapshot() == before


def test_a_lower_line_clears_persons_and_counts_the_household_once(county, county_admin):
    run = trial(county_admin, monitoring_line=Decimal("4000"))
    m01 = run.result["by_rule"]["M01"]
    assert (m01["cleared_persons"], m01["cleared_households"]) == (2, 1)
    assert m01["added_persons"] == 0


def test_v01_measures_a_visit_of_the_trial_year_against_the_trial_line(county, county_admin):
    high = county["high"]
    admin = factories.user_with_role("county_admin", username="visitadmin")
    casework.visit_record(
        admin,
        high.household,
        visited_on=today() - timedelta(days=1),
        income_per_capita="8500",
    )
    run_crosscheck(today())
    assert not Finding.objects.filter(rule="V01").exists()
    run = trial(county_admin, monitoring_line=Decimal("9000"))
    assert run.result["by_rule"]["V01"]["added_persons"] == 1


def test_township_staff_and_viewers_are_refused(county, chengguan_user, viewer_user):
    for user in (chengguan_user, viewer_user):
        with pytest.raises(PermissionDenied):
            whatif_start(user, today().year, {})
    assert not WhatIfRun.objects.exists()


def test_bad_parameters_are_refused_in_chinese(county, county_admin):
    with pytest.raises(WhatIfError) as error:
        whatif_start(county_admin, today().year, {"monitoring_line": "-5"})
    assert error.value.field == "monitoring_line" and "防返贫监测收入线" in str(error.value)
    with pytest.raises(WhatIfError) as error:
        whatif_start(county_admin, 1999, {})
    assert "尚未设置政策参数" in str(error.value)
    assert not WhatIfRun.objects.exists()


def test_one_at_a_time_and_the_run_is_idempotent(county, county_admin):
    run = whatif_start(county_admin, today().year, {})
    with pytest.raises(WhatIfError):
        whatif_start(county_admin, today().year, {})
    done = whatif_run(run.pk)
    finished_at = done.finished_at
    again = whatif_run(run.pk)
    assert again.status == WhatIfRun.Status.DONE and again.finished_at == finished_at


def test_a_dead_run_is_failed_by_the_next_start(county, county_admin):
    run = whatif_start(county_admin, today().year, {})
    WhatIfRun.objects.filter(pk=run.pk).update(
        status=WhatIfRun.Status.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    second = whatif_start(county_admin, today().year, {})
    run.refresh_from_db()
    assert run.status == WhatIfRun.Status.FAILED and "中断" in run.message
    assert second.status == WhatIfRun.Status.PENDING


def test_start_and_finish_are_audited(county, county_admin):
    run = trial(county_admin, monitoring_line=Decimal("9000"))
    events = AuditEvent.objects.filter(target_model="monitoring.whatifrun", target_id=str(run.pk))
    actions = sorted(events.values_list("action", flat=True))
    assert actions == ["create", "crosscheck"]
    finished = events.get(action="crosscheck")
    assert finished.actor == county_admin
    assert finished.details["added_persons"] == run.result["totals"]["added_persons"]


def test_as_of_is_the_latest_nightly_run_of_the_year(county):
    year = today().year
    assert whatif_as_of(year) == today()
    assert whatif_as_of(year - 5).isoformat() == f"{year - 5}-12-31"


def test_township_by_township_gives_the_same_result(county, county_admin, monkeypatch):
    one_pass = trial(county_admin, monitoring_line=Decimal("9000")).result
    monkeypatch.setattr("monitoring.whatif.PARTITION_ABOVE", 0)
    by_township = trial(county_admin, monitoring_line=Decimal("9000")).result
    assert by_township["rows"] == one_pass["rows"]
    assert by_township["households"] == one_pass["households"]
    assert by_township["totals"]["added_persons"] == 1
