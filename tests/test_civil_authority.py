"""The civil-affairs roster decides benefit receipt in the townships it contains, only there.

A county is built with survey answers and staff-recorded benefits in three townships; civil
files are then imported through `monitoring.services`, one township at a time. In every
township a file does not contain, the S findings, the coverage table and the gap lists stay
exactly what they were before any civil file; in the file's township they follow the file
(docs/RULES.md, "Sources and which one decides").
"""

import random
from datetime import date
from decimal import Decimal

import pytest

from monitoring import eligibility
from monitoring.crosscheck import (
    ALL,
    evaluate,
    load_dataset,
    load_policy,
    partition_hits,
    run_crosscheck,
)
from monitoring.models import Finding, ImportBatch, SurveyRecord
from monitoring.services import import_civil_file
from staff.selectors.indicators import subsidy_coverage
from subsidies.models import BenefitRecord, BenefitType, PolicyYear

from . import factories as f
from .import_files import CIVIL_HEADER, write_table

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)
TOWNSHIPS = ("城关镇", "河口镇", "周集镇")
S_RULES = ("S01", "S02", "S03")
CIVIL_BENEFITS = (
    BenefitType.CARE_SUBSIDY,
    BenefitType.LIVING_SUBSIDY,
    BenefitType.DIBAO,
)
# The 项目 text of each benefit in a civil file.
ITEM = {
    BenefitType.DIBAO: "城乡低保",
    BenefitType.TEKUN: "特困供养",
    BenefitType.LIVING_SUBSIDY: "困难残疾人生活补贴",
    BenefitType.CARE_SUBSIDY: "重度残疾人护理补贴",
}
ANSWERS = (True, False, False, None)  # "no" twice as often: S03 needs two known "no"


def build_county(rng: random.Random, per_township: int = 50) -> None:
    """Grade 1–2 adults (most of them S03-eligible) with every survey answer, some
    staff-recorded benefits, and a few persons the survey reports dead."""
    for township in TOWNSHIPS:
        for index in range(per_township):
            record = f.certified_person(
                category=rng.choice((4, 5, 6)),
                grade=rng.choice((1, 2, 2, 3)),
                birth=date(1970 + index % 30, 1 + index % 12, 1 + index % 28),
                township=township,
                employment_status=rng.choice(("unemployed", "no_ability", "no_ability", "farming")),
                income_per_capita=rng.choice((Decimal(3000), Decimal(5000), Decimal(9000))),
                survival_status="deceased" if index % 13 == 0 else "alive",
                **{flag: rng.choice(ANSWERS) for flag in eligibility.SURVEY_FLAG.values()},
            )
            for benefit in ITEM:
                if rng.random() < 0.15:  # entered by staff
                    f.BenefitRecordFactory(person=record.person, benefit_type=benefit)


def civil_file(tmp_path, name: str, rows: list[tuple[SurveyRecord, str, str]]):
    """A civil-affairs file with one row per (survey person, benefit, 状态), each listed
    under the person's own township and village."""
    table = [
        {
            "姓名": record.person.name,
            "身份证号": record.person.id_number,
            "乡镇": record.person.township.name,
            "村": record.person.village.name,
            "项目": ITEM[benefit],
            "月标准（元）": "600",
            "起始年月": "202401",
            "状态": status,
        }
        for record, benefit, status in rows
    ]
    return write_table(tmp_path / name, CIVIL_HEADER, table)


def import_civil(tmp_path, name, rows, admin_user) -> ImportBatch:
    batch = import_civil_file(civil_file(tmp_path, name, rows), user=admin_user)
    assert batch.status == ImportBatch.Status.DONE, batch.message
    return batch


def roster_rows(rng: random.Random, township: str) -> list[tuple[SurveyRecord, str, str]]:
    """Roughly half of the township's persons on the civil roster, each benefit 在保 or
    停保 at random (so the file disagrees with the survey for many of them)."""
    rows = []
    for record in SurveyRecord.objects.filter(person__township__name=township).order_by("pk"):
        for benefit in ITEM:
            if rng.random() < 0.5:
                rows.append((record, benefit, rng.choice(("在保", "在保", "停保"))))
    return rows


def state_of(township: str, admin_user) -> dict:
    """Everything the safety net says about one township: S01–S03 findings (with their
    reasons), its coverage row, and both gap lists of each civil-decided benefit."""
    run_crosscheck(AS_OF)
    findings = {
        code: set(
            Finding.objects.filter(
                rule=code, status=Finding.Status.OPEN, person__township__name=township
            ).values_list("person_id", "reason")
        )
        for code in S_RULES
    }
    coverage = eligibility.coverage_summary(admin_user, AS_OF)
    (row,) = [r for r in coverage.rows if r.township == township]
    cells = {b: (c.eligible, c.receiving, c.unknown) for b, c in row.cells.items()}
    gaps = {
        (b, unknown): set(
            eligibility.coverage_gaps(
                admin_user,
                b,
                as_of=AS_OF,
                township_id=f.township(township).pk,
                include_unknown=unknown,
            ).values_list("person_id", flat=True)
        )
        for b in CIVIL_BENEFITS
        for unknown in (False, True)
    }
    return {"findings": findings, "coverage": cells, "gaps": gaps}


def decided_by(rows: list[tuple[SurveyRecord, str, str]]) -> dict[str, set[int]]:
    """{benefit: person ids the file says are 在保} — the oracle, read from the file."""
    active: dict[str, set[int]] = {b: set() for b in ITEM}
    for record, benefit, status in rows:
        if status == "在保":
            active[benefit].add(record.person_id)
    return active


def check_decided_by_file(township: str, rows, admin_user) -> None:
    """In `township`, S01–S03, coverage and gap lists are what the file says, and the
    survey answers and staff records no longer count for the civil benefits."""
    active = decided_by(rows)
    line = PolicyYear.objects.get(year=AS_OF.year).monitoring_line
    alive = list(
        eligibility.certified_alive(admin_user)
        .filter(person__township__name=township)
        .select_related("person__certificate")
    )
    severe = {r.person_id for r in alive if r.person.certificate.grade in (1, 2)}
    dibao_or_tekun = active[BenefitType.DIBAO] | active[BenefitType.TEKUN]
    s03 = {
        r.person_id
        for r in alive
        if r.person_id in severe
        and r.employment_status in ("unemployed", "no_ability")
        and r.income_per_capita < line
        and r.person_id not in dibao_or_tekun
    }
    expected = {
        "S01": severe - active[BenefitType.CARE_SUBSIDY],
        "S02": (active[BenefitType.DIBAO] - active[BenefitType.LIVING_SUBSIDY])
        & {r.person_id for r in alive},
        "S03": s03,
    }
    state = state_of(township, admin_user)
    for code in S_RULES:
        found = state["findings"][code]
        assert {person for person, _ in found} == expected[code], code
        assert found, f"{code}: the file should leave some persons without the benefit"
        assert all(reason.count("民政名册显示") == 1 for _, reason in found), code
    # Coverage and gap lists: decided by the file, never unknown.
    care = state["coverage"][BenefitType.CARE_SUBSIDY]
    assert care == (len(severe), len(severe & active[BenefitType.CARE_SUBSIDY]), 0)
    for b in CIVIL_BENEFITS:
        assert state["coverage"][b][2] == 0, b
        assert state["gaps"][(b, True)] == state["gaps"][(b, False)], b
    assert state["gaps"][(BenefitType.CARE_SUBSIDY, False)] == expected["S01"]


def test_one_township_file_decides_there_and_nowhere_else(tmp_path, admin_user):
    rng = random.Random(2026)
    build_county(rng)
    before = {t: state_of(t, admin_user) for t in TOWNSHIPS}
    assert eligibility.civil_townships() == frozenset()
    for t in TOWNSHIPS:  # the mix gives unknowns to verify and findings everywhere
        assert all(before[t]["findings"].values()), t
        assert (
            before[t]["gaps"][(BenefitType.CARE_SUBSIDY, True)]
            - before[t]["gaps"][(BenefitType.CARE_SUBSIDY, False)]
        )

    # 1. A civil file for 河口镇 only.
    hekou_rows = roster_rows(rng, "河口镇")
    import_civil(tmp_path, "hekou.xlsx", hekou_rows, admin_user)
    assert eligibility.civil_townships() == {f.township("河口镇").pk}
    check_decided_by_file("河口镇", hekou_rows, admin_user)
    for t in ("城关镇", "周集镇"):
        assert state_of(t, admin_user) == before[t], t
    after_hekou = state_of("河口镇", admin_user)

    # 2. A file for 周集镇 adds to the picture: 河口镇 keeps its file, 城关镇 its survey.
    zhouji_rows = roster_rows(rng, "周集镇")
    import_civil(tmp_path, "zhouji.xlsx", zhouji_rows, admin_user)
    assert eligibility.civil_townships() == {f.township(t).pk for t in ("河口镇", "周集镇")}
    check_decided_by_file("周集镇", zhouji_rows, admin_user)
    assert state_of("河口镇", admin_user) == after_hekou
    assert state_of("城关镇", admin_user) == before["城关镇"]
    after_zhouji = state_of("周集镇", admin_user)

    # 3. A new file for 河口镇 replaces the first: persons it no longer lists are known
    # not to receive (their rows stop being current), the others follow the new file.
    new_hekou_rows = roster_rows(random.Random(7), "河口镇")
    dropped = {r.person_id for r, _, _ in hekou_rows} - {r.person_id for r, _, _ in new_hekou_rows}
    import_civil(tmp_path, "hekou-2.xlsx", new_hekou_rows, admin_user)
    assert dropped
    assert not BenefitRecord.objects.filter(
        origin=BenefitRecord.Origin.CIVIL, is_current=True, person_id__in=dropped
    ).exists()
    check_decided_by_file("河口镇", new_hekou_rows, admin_user)
    assert state_of("周集镇", admin_user) == after_zhouji
    assert state_of("城关镇", admin_user) == before["城关镇"]
    assert eligibility.civil_townships() == {f.township(t).pk for t in ("河口镇", "周集镇")}


def test_partitions_give_the_single_pass_answer(tmp_path, admin_user):
    """The per-township fan-out reads the county's civil townships in every partition."""
    rng = random.Random(3)
    build_county(rng, per_township=20)
    import_civil(tmp_path, "hekou.xlsx", roster_rows(rng, "河口镇"), admin_user)
    whole = evaluate(load_dataset(AS_OF, load_policy(AS_OF.year), ALL))
    parts = [hit for hits in partition_hits(AS_OF).values() for hit in hits]
    assert sorted(parts) == sorted(whole)
    reasons = {hit[2] for hit in whole if hit[0] in S_RULES}
    assert any("民政名册显示" in r for r in reasons) and any("调查显示" in r for r in reasons)


def test_the_persons_own_township_decides_not_the_row_township(tmp_path, admin_user):
    """A 河口镇 file that lists a 城关镇 resident pays them under 河口镇 (their 在保 row
    counts as receiving), but does not make it the judge of their other benefits: those
    stay with the survey, as for every 城关镇 resident."""
    resident = f.certified_person(
        grade=2,
        township="城关镇",
        receives_care_subsidy=False,
        receives_dibao=True,
        receives_living_subsidy=True,
    )
    hekou = f.certified_person(grade=2, township="河口镇", receives_care_subsidy=True)
    rows = [
        {
            "姓名": resident.person.name,
            "身份证号": resident.person.id_number,
            "乡镇": "河口镇",
            "村": "西湖村",
            "项目": ITEM[BenefitType.CARE_SUBSIDY],
            "月标准（元）": "80",
            "起始年月": "202401",
            "状态": "在保",
        }
    ]
    batch = import_civil_file(write_table(tmp_path / "c.xlsx", CIVIL_HEADER, rows))
    assert batch.status == ImportBatch.Status.DONE, batch.message
    assert eligibility.civil_townships() == {f.township("河口镇").pk}

    states = {
        row["person_id"]: row
        for row in eligibility.with_receipt(
            SurveyRecord.objects.all(), eligibility.civil_townships()
        ).values(
            "person_id",
            eligibility.CIVIL_FIELD,
            *(eligibility.receipt_field(b) for b in ITEM),
        )
    }
    mine = states[resident.person_id]
    assert mine[eligibility.CIVIL_FIELD] is False
    assert mine[eligibility.receipt_field(BenefitType.CARE_SUBSIDY)] is True  # the 在保 row
    assert mine[eligibility.receipt_field(BenefitType.LIVING_SUBSIDY)] is True  # the survey
    assert mine[eligibility.receipt_field(BenefitType.TEKUN)] is None  # survey blank
    # The 河口镇 resident is decided by the file, which does not list them.
    theirs = states[hekou.person_id]
    assert theirs[eligibility.CIVIL_FIELD] is True
    assert theirs[eligibility.receipt_field(BenefitType.CARE_SUBSIDY)] is False

    run_crosscheck(AS_OF)
    s01 = set(Finding.objects.filter(rule="S01").values_list("person_id", "reason"))
    assert s01 == {(hekou.person_id, "肢体二级残疾，民政名册显示未享受重度残疾人护理补贴")}
    # Paid under the township the roster lists.
    _, _, paid = eligibility.payment_rows(BenefitType.CARE_SUBSIDY, AS_OF)
    assert [(row.id_number, row.township) for row in paid] == [
        (resident.person.id_number, "河口镇")
    ]


def test_staff_records_count_only_outside_the_civil_townships(tmp_path, admin_user):
    """A care subsidy entered by staff is receipt (and paid) in a township without a civil
    roster; in one with a civil roster only the roster's rows count."""
    outside = f.certified_person(grade=1, township="城关镇", receives_care_subsidy=False)
    inside = f.certified_person(grade=1, township="河口镇", receives_care_subsidy=False)
    listed = f.certified_person(grade=1, township="河口镇")
    for record in (outside, inside):
        f.BenefitRecordFactory(person=record.person, benefit_type=BenefitType.CARE_SUBSIDY)
    import_civil(tmp_path, "c.xlsx", [(listed, BenefitType.CARE_SUBSIDY, "在保")], admin_user)

    run_crosscheck(AS_OF)
    assert set(Finding.objects.filter(rule="S01").values_list("person_id", flat=True)) == {
        inside.person_id
    }
    gaps = eligibility.coverage_gaps(admin_user, BenefitType.CARE_SUBSIDY, as_of=AS_OF)
    assert {r.person_id for r in gaps} == {inside.person_id}
    _, _, paid = eligibility.payment_rows(BenefitType.CARE_SUBSIDY, AS_OF)
    assert {row.id_number for row in paid} == {
        outside.person.id_number,
        listed.person.id_number,
    }
    coverage = eligibility.coverage_summary(admin_user, AS_OF)
    assert coverage.civil_townships == {f.township("河口镇").pk}
    assert eligibility.civil_township_names(coverage.civil_townships) == ["河口镇"]
    # The 统计 page says where the civil roster decides.
    note = subsidy_coverage(admin_user, AS_OF).note
    assert "河口镇以已导入的民政名册为准，其余乡镇以调查和工作人员录入为准" in note


def test_coverage_note_without_civil_roster(admin_user):
    f.certified_person(grade=1)
    assert "尚未导入民政名册" in subsidy_coverage(admin_user, AS_OF).note
