"""Evidence on every finding (docs/CROSSCHECK.md#evidence): which file, sheet, row and cell
values tripped the rule, kept by the engine and refreshed only when it changed."""

import json
from datetime import date
from decimal import Decimal

import pytest

from cases.models import TrackingVisit
from monitoring.crosscheck import (
    ALL,
    evaluate,
    load_dataset,
    load_policy,
    normalise_hit,
    run_crosscheck,
)
from monitoring.models import Finding, FindingEvent
from monitoring.rules import REGISTRY
from monitoring.rules import evidence as ev

from . import factories as f

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def survey_batch(name="调查2026.xlsx", sheet="Sheet1"):
    return f.ImportBatchFactory(source="survey", original_name=name, sheet_name=sheet)


def roster_batch(name="监测名单.xlsx", sheet="名单"):
    return f.ImportBatchFactory(source="roster", original_name=name, sheet_name=sheet)


def evidence_of(rule: str, record) -> list[dict]:
    return Finding.objects.get(rule=rule, person=record.person).evidence


def item(evidence: list[dict], column: str) -> dict:
    (found,) = [entry for entry in evidence if entry["column"] == column]
    return found


def on_roster(record, batch, *, member_row, household_row, **household):
    roster_household = f.RosterHouseholdFactory(batch=batch, source_row=household_row, **household)
    return f.RosterMemberFactory(
        household=roster_household, person=record.person, batch=batch, source_row=member_row
    )


def test_every_rule_declares_the_facts_it_reads():
    for code, rule in REGISTRY.items():
        assert rule.evidence, f"{code} declares no evidence"
        assert all(isinstance(fact, ev.Fact) for fact in rule.evidence)


def test_m01_names_the_survey_row_the_roster_row_and_the_years_line():
    survey, roster = survey_batch(), roster_batch()
    record = f.certified_person(income_per_capita=Decimal(5200), batch=survey, source_row=128)
    on_roster(record, roster, member_row=3021, household_row=3020, household_type="left_poverty")
    run_crosscheck(AS_OF)
    evidence = evidence_of("M01", record)
    assert evidence[0] == {
        "source": "survey",
        "batch": survey.pk,
        "file": "调查2026.xlsx",
        "sheet": "Sheet1",
        "row": 128,
        "column": "家庭年人均收入",
        "value": "5,200元",
    }
    assert item(evidence, "2026年监测线") == {
        "source": "policy",
        "batch": None,
        "file": "",
        "sheet": "",
        "row": None,
        "column": "2026年监测线",
        "value": "7,000元",
    }
    household_type = item(evidence, "户类型")
    assert household_type["source"] == "roster" and household_type["value"] == "脱贫户"
    assert (household_type["batch"], household_type["file"], household_type["sheet"]) == (
        roster.pk,
        "监测名单.xlsx",
        "名单",
    )
    assert household_type["row"] == 3020  # the row whose household values were kept
    # a 脱贫户 is not monitored whatever its risk says: nothing more about it is shown
    assert [entry["column"] for entry in evidence] == ["家庭年人均收入", "2026年监测线", "户类型"]


def test_m01_for_a_person_on_no_roster_says_so():
    record = f.certified_person(income_per_capita=Decimal(3000), source_row=7)
    run_crosscheck(AS_OF)
    evidence = evidence_of("M01", record)
    assert item(evidence, "防返贫监测") == {
        "source": "roster",
        "batch": None,
        "file": "",
        "sheet": "",
        "row": None,
        "column": "防返贫监测",
        "value": "不在当前监测名单中",
    }
    assert item(evidence, "家庭年人均收入")["row"] == 7


def test_s_rule_names_the_survey_answer_or_the_civil_roster():
    survey = survey_batch()
    record = f.certified_person(
        grade=1, category=6, receives_care_subsidy=False, batch=survey, source_row=40
    )
    run_crosscheck(AS_OF)
    evidence = evidence_of("S01", record)
    assert [(e["source"], e["column"], e["value"], e["row"]) for e in evidence] == [
        ("survey", "残疾类别", "精神", 40),
        ("survey", "残疾等级", "一级", 40),
        ("survey", "重度残疾人护理补贴", "否", 40),
    ]


def test_d_rule_names_both_sides_with_their_rows():
    survey, roster = survey_batch(), roster_batch()
    record = f.certified_person(
        category=4, grade=2, survival_status="alive", batch=survey, source_row=12
    )
    member = on_roster(record, roster, member_row=88, household_row=87)
    member.disability_category, member.disability_grade = 1, 2
    member.save()
    run_crosscheck(AS_OF)
    evidence = evidence_of("D03", record)
    assert [(e["source"], e["row"], e["column"], e["value"]) for e in evidence] == [
        ("survey", 12, "残疾类别", "肢体"),
        ("survey", 12, "残疾等级", "二级"),
        ("roster", 88, "残疾类别", "视力"),
        ("roster", 88, "残疾等级", "二级"),
    ]
    assert {e["file"] for e in evidence} == {"调查2026.xlsx", "监测名单.xlsx"}


def test_v01_names_the_visit_record_with_kind_date_and_id():
    record = f.certified_person(household=True, source_row=5)
    visit = TrackingVisit.objects.create(
        household=record.household,
        visited_on=date(2026, 5, 12),
        visitor_name="走访员",
        income_per_capita=Decimal(4100),
        housing=TrackingVisit.Check.PROBLEM,
    )
    run_crosscheck(AS_OF)
    evidence = evidence_of("V01", record)
    reference = {"kind": "visit", "id": visit.pk, "date": "2026-05-12"}
    assert [(e["source"], e["column"], e["value"], e.get("record")) for e in evidence] == [
        ("record", "走访日期", "2026-05-12", reference),
        ("record", "家庭年人均纯收入", "4,100元", reference),
        ("policy", "走访年度监测线", "2026年7,000元", None),
        ("record", "住房安全", "存在问题", reference),
    ]
    shown = ev.shown(evidence)
    assert (
        shown[0].text == f"业务记录 · 走访记录 2026-05-12（编号{visit.pk}） · 走访日期：2026-05-12"
    )


def test_a_rerun_over_unchanged_data_writes_no_row_and_a_reimport_refreshes_the_evidence():
    survey = survey_batch()
    record = f.certified_person(income_per_capita=Decimal(5200), batch=survey, source_row=128)
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01", person=record.person)
    written = finding.updated_at
    events = FindingEvent.objects.count()

    run_crosscheck(AS_OF)
    finding.refresh_from_db()
    assert finding.updated_at == written and FindingEvent.objects.count() == events

    # the same answers imported again from another file and row: only the evidence moves
    again = survey_batch(name="调查2026（复核）.xlsx", sheet="复核")
    record.batch, record.source_row = again, 9
    record.save()
    run = run_crosscheck(AS_OF)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN and run.new == 0
    assert finding.last_run == run and finding.updated_at > written
    income = item(finding.evidence, "家庭年人均收入")
    assert (income["batch"], income["file"], income["sheet"], income["row"]) == (
        again.pk,
        "调查2026（复核）.xlsx",
        "复核",
        9,
    )
    assert FindingEvent.objects.count() == events  # a refresh is not an event


def test_evidence_stored_in_another_spelling_is_not_rewritten():
    record = f.certified_person(income_per_capita=Decimal(5200), source_row=3)
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01", person=record.person)
    # the ORM's spelling of the same list (key order, ASCII escapes)
    Finding.objects.filter(pk=finding.pk).update(evidence=finding.evidence)
    written = Finding.objects.get(pk=finding.pk).updated_at
    run_crosscheck(AS_OF)
    assert Finding.objects.get(pk=finding.pk).updated_at == written


def test_a_reopened_finding_gets_the_evidence_of_the_run_that_reopened_it():
    record = f.certified_person(income_per_capita=Decimal(5200), source_row=3)
    run_crosscheck(AS_OF)
    record.income_per_capita = Decimal(9000)
    record.save()
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01", person=record.person)
    assert finding.status == Finding.Status.CLEARED
    record.income_per_capita, record.source_row = Decimal(4000), 44
    record.save()
    run_crosscheck(AS_OF)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN
    income = item(finding.evidence, "家庭年人均收入")
    assert (income["value"], income["row"]) == ("4,000元", 44)


def test_hits_carry_evidence_as_text_that_survives_a_celery_result():
    record = f.certified_person(income_per_capita=Decimal(5200), source_row=3, name='张"三\\')
    hits = evaluate(load_dataset(AS_OF, load_policy(2026), ALL))
    (hit,) = [hit for hit in hits if hit[0] == "M01" and hit[1] == record.person_id]
    assert json.loads(hit[6])[0]["row"] == 3
    through_json = json.loads(json.dumps([list(hit) for hit in hits]))
    assert [normalise_hit(h) for h in through_json] == hits
    # a hit queued by a worker that predates evidence (six values) has none
    assert normalise_hit(list(hit[:6]))[6] == "[]"


def test_hostile_file_names_stay_valid_json():
    batch = survey_batch(name='a"b\\c\n\x1b[31m\u202eevil.xlsx', sheet="\t")
    record = f.certified_person(income_per_capita=Decimal(5200), batch=batch, source_row=2)
    run_crosscheck(AS_OF)
    income = item(evidence_of("M01", record), "家庭年人均收入")
    assert income["file"] == batch.original_name and income["sheet"] == "\t"
    written = Finding.objects.get(rule="M01").updated_at
    run_crosscheck(AS_OF)
    assert Finding.objects.get(rule="M01").updated_at == written
