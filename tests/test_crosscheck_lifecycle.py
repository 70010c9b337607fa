"""Findings across runs: new, still open, cleared, reopened, dismissed, handled; run records."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.crosscheck import run_crosscheck
from monitoring.findings import finding_dismiss, finding_handle
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def poor(**answers):
    return f.certified_person(income_per_capita=Decimal(3000), **answers)


def set_income(record, amount):
    record.income_per_capita = Decimal(amount)
    record.save()


def m01(record) -> Finding:
    return Finding.objects.get(rule="M01", person=record.person)


def test_first_run_creates_open_findings_and_counts_them(admin_user):
    record = poor()
    run = run_crosscheck(AS_OF, admin_user)
    assert run.status == CrosscheckRun.Status.DONE
    assert run.triggered_by == admin_user
    assert run.as_of == AS_OF
    assert (run.new, run.still_open, run.cleared, run.reopened) == (1, 0, 0, 0)
    assert run.by_rule["M01"] == {"new": 1, "still_open": 0, "cleared": 0, "reopened": 0}
    assert set(run.by_rule) >= {"M01", "D05", "Q02"}
    assert run.duration_seconds is not None and run.finished_at >= run.started_at
    assert m01(record).status == Finding.Status.OPEN


def test_rerun_with_nothing_changed_writes_nothing():
    record = poor()
    first = run_crosscheck(AS_OF)
    before = m01(record)
    events = FindingEvent.objects.count()
    second = run_crosscheck(AS_OF)
    after = m01(record)
    assert (second.new, second.still_open, second.cleared) == (0, 1, 0)
    assert after.updated_at == before.updated_at
    assert after.last_run == first
    assert FindingEvent.objects.count() == events
    assert Finding.objects.count() == 1


def test_still_true_with_new_numbers_refreshes_the_reason_and_last_run():
    record = poor()
    run_crosscheck(AS_OF)
    set_income(record, 2500)
    second = run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.OPEN
    assert "2,500元" in finding.reason
    assert finding.last_run == second
    assert second.still_open == 1 and second.new == 0


def test_no_longer_true_is_cleared_and_back_again_reopens():
    record = poor()
    first = run_crosscheck(AS_OF)
    set_income(record, 9000)
    second = run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.CLEARED
    assert finding.cleared_at is not None and finding.last_run == second
    assert (second.cleared, second.by_rule["M01"]["cleared"]) == (1, 1)

    # stays cleared while not true, without writes
    third = run_crosscheck(AS_OF)
    assert m01(record).updated_at == finding.updated_at and third.cleared == 0

    set_income(record, 4000)
    fourth = run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.OPEN
    assert finding.cleared_at is None
    assert finding.first_run == first and finding.last_run == fourth
    assert "4,000元" in finding.reason
    assert (fourth.new, fourth.reopened) == (1, 1)
    transitions = list(finding.events.values_list("from_status", "to_status"))
    assert transitions == [("", "open"), ("open", "cleared"), ("cleared", "open")]
    assert Finding.objects.count() == 1


def test_dismissed_stays_dismissed_true_or_not(chengguan_user):
    record = poor()
    run_crosscheck(AS_OF)
    finding_dismiss(m01(record), chengguan_user, "收入数据为调查录入错误，已核实")
    run_crosscheck(AS_OF)
    assert m01(record).status == Finding.Status.DISMISSED
    set_income(record, 9000)
    run = run_crosscheck(AS_OF)
    assert m01(record).status == Finding.Status.DISMISSED and run.cleared == 0
    set_income(record, 3000)
    run = run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.DISMISSED and run.new == 0
    assert finding.dismiss_reason == "收入数据为调查录入错误，已核实"


def test_handled_stays_handled_while_true_and_clears_when_the_condition_goes(chengguan_user):
    record = poor()
    run_crosscheck(AS_OF)
    finding_handle(m01(record), chengguan_user, "已报乡镇纳入监测程序")
    run = run_crosscheck(AS_OF)
    assert m01(record).status == Finding.Status.HANDLED
    assert run.still_open == 0 and run.new == 0
    set_income(record, 9000)
    run = run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.CLEARED and run.cleared == 1
    assert finding.action_taken == "已报乡镇纳入监测程序"
    assert list(finding.events.values_list("to_status", flat=True)) == [
        "open",
        "handled",
        "cleared",
    ]
    # back again: reopened as a fresh open finding, the earlier decision is in the events
    set_income(record, 3000)
    run_crosscheck(AS_OF)
    finding = m01(record)
    assert finding.status == Finding.Status.OPEN
    assert finding.action_taken == "" and finding.decided_by is None
    assert finding.events.filter(note="已报乡镇纳入监测程序").exists()


def test_a_person_who_moved_township_is_diffed_where_they_are_now():
    record = poor()
    run_crosscheck(AS_OF)
    person = record.person
    person.township = f.township("河口镇")
    person.village = f.village("河口镇", "王庄村")
    person.save()
    run = run_crosscheck(AS_OF, partitioned=True)
    finding = m01(record)
    assert finding.status == Finding.Status.OPEN
    assert finding.township.name == "河口镇" and finding.village.name == "王庄村"
    assert (run.new, run.still_open, run.cleared) == (0, 1, 0)


def test_run_records_the_latest_done_batch_of_each_source():
    old_survey = f.ImportBatchFactory(source="survey")
    new_survey = f.ImportBatchFactory(source="survey")
    f.ImportBatchFactory(source="survey", status="rejected")
    roster = f.ImportBatchFactory(source="roster")
    f.ImportBatchFactory(source="roster", status="running")
    run = run_crosscheck(AS_OF)
    assert set(run.batches.all()) == {new_survey, roster}
    assert old_survey not in run.batches.all()


def test_findings_of_the_policy_default_year_note_it_on_the_run():
    poor()
    run = run_crosscheck(AS_OF)
    assert "系统默认值" in run.message
