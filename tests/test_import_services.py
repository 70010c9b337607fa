"""Import services (monitoring/services.py) and the bulk writer: batches, strict vs skip-invalid,
idempotency, snapshots, blank-never-overwrites, history, no partial writes (docs/IMPORTS.md)."""

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from cases.models import Certificate, ChangeRecord, Household, HouseholdMember, Person, Village
from monitoring.importing.bulk import BulkTable
from monitoring.models import ImportBatch, RosterHousehold, RosterMember, SurveyRecord
from monitoring.services import (
    import_civil_file,
    import_create_batch,
    import_roster_file,
    import_run,
    import_survey_file,
    import_validate,
)
from subsidies.models import BenefitRecord

from .import_files import (
    CIVIL_HEADER,
    ROSTER_HEADER,
    SURVEY_HEADER,
    civil_row,
    id_to_15,
    make_id,
    roster_row,
    survey_row,
    write_table,
)
from .samples import SAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def survey_file(tmp_path, rows, name="survey.xlsx", header=SURVEY_HEADER, **layout):
    return write_table(tmp_path / name, header, rows, **layout)


def counts(batch):
    return (batch.status, batch.rows, batch.created, batch.updated, batch.unchanged, batch.skipped)


# --- the shared samples ---------------------------------------------------------------------


def test_samples_import_cleanly_and_reimport_changes_nothing():
    survey = import_survey_file(SAMPLES / "survey-sample.xlsx")
    assert survey.errors == []
    assert counts(survey) == ("done", 50, 50, 0, 0, 0)
    roster = import_roster_file(SAMPLES / "roster-sample.xlsx")
    assert roster.errors == []
    assert counts(roster) == ("done", 69, 69, 0, 0, 0)
    assert SurveyRecord.objects.count() == 50
    assert RosterMember.objects.filter(is_current=True).count() == 69
    # 15-digit roster IDs joined the survey's persons, no duplicate person was made
    for number in ("341522195101202304", "341522198809238787"):
        person = Person.objects.get(id_number=number)
        assert hasattr(person, "survey") and hasattr(person, "roster_member")
    again = import_survey_file(SAMPLES / "survey-sample.xlsx")
    assert counts(again) == ("done", 50, 0, 0, 50, 0)
    assert "没有任何改动" in again.message and f"批次{survey.pk}" in again.message
    history = ChangeRecord.objects.count()
    again_roster = import_roster_file(SAMPLES / "roster-sample.xlsx")
    assert counts(again_roster) == ("done", 69, 0, 0, 69, 0)
    assert ChangeRecord.objects.count() == history


# --- batches -------------------------------------------------------------------------------------


def test_create_batch_keeps_the_file_with_its_sha256(tmp_path, admin_user):
    path = survey_file(tmp_path, [survey_row(1)])
    batch = import_create_batch("survey", path, original_name="调查 2026.xlsx", user=admin_user)
    assert batch.status == "pending" and batch.uploaded_by == admin_user
    assert batch.original_name == "调查 2026.xlsx"
    assert batch.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    with batch.file.open("rb") as stored:
        assert stored.read() == path.read_bytes()
    assert Path(batch.file.path).is_relative_to(Path(batch.file.storage.location))


def test_create_batch_from_an_upload(tmp_path):
    data = survey_file(tmp_path, [survey_row(1)]).read_bytes()
    upload = SimpleUploadedFile("up.xlsx", data)
    batch = import_create_batch("survey", upload, original_name="up.xlsx", skip_invalid=True)
    assert batch.skip_invalid and batch.sha256 == hashlib.sha256(data).hexdigest()
    batch = import_run(batch.pk)
    assert counts(batch) == ("done", 1, 1, 0, 0, 0)


def test_unknown_source_refused(tmp_path):
    with pytest.raises(ValueError):
        import_create_batch("weather", survey_file(tmp_path, [survey_row(1)]), original_name="x")


def test_run_is_idempotent(tmp_path):
    batch = import_create_batch(
        "survey", survey_file(tmp_path, [survey_row(1)]), original_name="s.xlsx"
    )
    first = import_run(batch.pk)
    history = ChangeRecord.objects.count()
    second = import_run(batch.pk)
    assert counts(second) == counts(first) == ("done", 1, 1, 0, 0, 0)
    assert second.finished_at == first.finished_at
    assert ChangeRecord.objects.count() == history
    assert Person.objects.count() == 1


def test_progress_callback_and_batch_progress(tmp_path):
    seen = []
    batch = import_survey_file(
        survey_file(tmp_path, [survey_row(n) for n in range(3)]), progress=seen.append
    )
    assert seen[-1] == 100 and seen == sorted(seen) and len(seen) >= 3
    batch.refresh_from_db()
    assert batch.progress == 100 and batch.started_at and batch.finished_at


def test_validate_writes_nothing(tmp_path):
    result = import_validate(
        "survey", survey_file(tmp_path, [survey_row(1), survey_row(2, 残疾等级="九级")])
    )
    assert len(result.valid_rows) == 1 and result.errors[0].row == 3
    assert Person.objects.count() == 0 and ImportBatch.objects.count() == 0


# --- strict, skip-invalid, failures ---------------------------------------------------------------


def test_strict_import_writes_nothing_when_a_row_is_bad(tmp_path):
    rows = [survey_row(1), survey_row(2, **{"乡镇（街道）": "火星镇"}), survey_row(3)]
    batch = import_survey_file(survey_file(tmp_path, rows))
    assert counts(batch) == ("rejected", 3, 0, 0, 0, 3)
    assert batch.errors == [
        {"row": 3, "column": "乡镇（街道）", "message": batch.errors[0]["message"]}
    ]
    assert "不是霍邱县的乡镇" in batch.errors[0]["message"]
    assert "未写入任何数据" in batch.message
    assert Person.objects.count() == 0 and SurveyRecord.objects.count() == 0
    assert batch.error_report.name.endswith(".xlsx")


def test_skip_invalid_writes_the_valid_rows(tmp_path):
    rows = [survey_row(1), survey_row(2, 调查日期="2022-13-01"), survey_row(3)]
    batch = import_survey_file(survey_file(tmp_path, rows), skip_invalid=True)
    assert counts(batch) == ("done", 3, 2, 0, 0, 1)
    assert [error["row"] for error in batch.errors] == [3]
    assert set(Person.objects.values_list("id_number", flat=True)) == {make_id(1), make_id(3)}
    assert batch.error_report


def test_file_level_refusal_is_a_rejected_batch(tmp_path):
    header = [name for name in SURVEY_HEADER if name != "残疾等级"]
    batch = import_survey_file(survey_file(tmp_path, [survey_row(1)], header=header))
    assert batch.status == "rejected"
    assert "缺少必填列：残疾等级" in batch.message
    assert batch.errors[0]["column"] == "残疾等级"


def test_unreadable_file_is_rejected_with_a_message(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    batch = import_survey_file(path)
    assert batch.status == "rejected" and "无法读取" in batch.message
    assert batch.errors[0]["row"] is None


def test_database_error_rolls_back_everything(tmp_path, monkeypatch):
    original = BulkTable.insert

    def failing_insert(self, rows, *args, **kwargs):
        if self.model is SurveyRecord:
            raise IntegrityError("simulated failure")
        return original(self, rows, *args, **kwargs)

    monkeypatch.setattr(BulkTable, "insert", failing_insert)
    batch = import_survey_file(survey_file(tmp_path, [survey_row(1), survey_row(2)]))
    assert batch.status == "failed"
    assert "未写入任何数据" in batch.message and "simulated failure" in batch.message
    assert (batch.created, batch.updated, batch.unchanged) == (0, 0, 0)
    # persons, certificates and households were bulk-created before the failure: rolled back
    assert Person.objects.count() == 0
    assert Certificate.objects.count() == Household.objects.count() == 0
    assert ChangeRecord.objects.count() == 0


# --- survey upserts ------------------------------------------------------------------------------


def test_survey_builds_the_registry(tmp_path, admin_user):
    head = survey_row(1, 家庭人口数=3, **{"村（社区）": "新建村"})
    child = survey_row(
        2,
        户主姓名=head["姓名"],
        户主身份证号=make_id(1),
        与户主关系="子",
        家庭人口数=3,
        **{"村（社区）": "新建村"},
        在校情况="是",
        享受低保="",
    )
    batch = import_survey_file(survey_file(tmp_path, [head, child]), user=admin_user)
    assert counts(batch) == ("done", 2, 2, 0, 0, 0)
    person = Person.objects.get(id_number=make_id(2))
    assert person.name == child["姓名"]
    assert person.birth_date == date(
        int(make_id(2)[6:10]), int(make_id(2)[10:12]), int(make_id(2)[12:14])
    )
    assert person.gender == ("M" if int(make_id(2)[16]) % 2 else "F")
    assert person.township.name == "城关镇" and person.village.name == "新建村"
    assert Village.objects.filter(name="新建村").count() == 1
    household = Household.objects.get(head_id_number=make_id(1))
    assert household.head.id_number == make_id(1) and household.size == 3
    assert set(household.members.values_list("person__id_number", "relation")) == {
        (make_id(1), "户主"),
        (make_id(2), "子"),
    }
    record = person.survey
    assert record.batch == batch and record.household == household
    assert record.in_school == "yes" and record.receives_dibao is None
    assert record.income_per_capita == Decimal("12002.00")
    assert record.rehab_needs == ["康复训练"]
    assert person.certificate.number == child["残疾人证号"]
    history = ChangeRecord.objects.filter(source=f"导入批次 {batch.pk}")
    assert history.filter(model="cases.person", action="create").count() == 2
    assert history.filter(model="cases.certificate", action="create").count() == 2
    assert history.filter(model="cases.household", action="create").count() == 1
    assert history.filter(model="cases.householdmember", action="create").count() == 2
    # source-data rows carry their batch; only their changes get history rows
    assert not history.filter(model="monitoring.surveyrecord").exists()
    created = history.get(model="cases.person", object_id=str(person.pk)).changes
    assert created["name"] == [None, child["姓名"]] and created["id_number"] == [None, make_id(2)]
    assert history.filter(actor=admin_user).count() == history.count() > 0


def test_changed_value_counts_as_updated_with_history(tmp_path):
    rows = [survey_row(n) for n in range(4)]
    import_survey_file(survey_file(tmp_path, rows, name="a.xlsx"))
    rows[2]["家庭年人均收入（元）"] = "6,500元"
    rows[3]["残疾等级"] = "一级" if rows[3]["残疾等级"] != "一级" else "二级"
    rows[3]["残疾人证号"] = None  # the certificate number follows the new grade
    batch = import_survey_file(survey_file(tmp_path, rows, name="b.xlsx"))
    assert counts(batch) == ("done", 4, 0, 2, 2, 0)
    record = SurveyRecord.objects.get(person__id_number=make_id(2))
    assert record.income_per_capita == Decimal("6500.00") and record.batch == batch
    change = ChangeRecord.objects.get(
        source=f"导入批次 {batch.pk}", model="monitoring.surveyrecord"
    )
    assert change.action == "update" and change.changes["income_per_capita"] == [
        "12002.00",
        "6500.00",
    ]
    certificate = Certificate.objects.get(person__id_number=make_id(3))
    assert certificate.number.endswith(f"{certificate.category}{certificate.grade}")
    assert certificate.grade == (1 if rows[3]["残疾等级"] == "一级" else 2)


def test_blank_cells_and_missing_columns_never_overwrite(tmp_path):
    import_survey_file(survey_file(tmp_path, [survey_row(1)], name="a.xlsx"))
    blanked = survey_row(
        1, **{"家庭年人均收入（元）": None, "享受低保": "", "康复需求": None, "调查日期": None}
    )
    batch = import_survey_file(survey_file(tmp_path, [blanked], name="b.xlsx"))
    assert counts(batch) == ("done", 1, 0, 0, 1, 0)
    minimal_header = ["姓名", "公民身份号码", "残疾类别", "残疾等级", "乡镇（街道）", "村（社区）"]
    batch = import_survey_file(
        survey_file(tmp_path, [survey_row(1)], name="c.xlsx", header=minimal_header)
    )
    assert counts(batch) == ("done", 1, 0, 0, 1, 0)
    record = SurveyRecord.objects.get()
    assert record.income_per_capita == Decimal("12001.00")
    assert record.receives_dibao is False and record.rehab_needs == ["康复训练"]
    assert record.surveyed_on == date(2026, 3, 5)
    assert Certificate.objects.get().number == survey_row(1)["残疾人证号"]


def test_survey_is_the_baseline_for_names_and_places(tmp_path):
    roster = [roster_row(1, "H1", 成员姓名="站里的名字", 乡镇="河口镇", 村="七里村")]
    import_roster_file(write_table(tmp_path / "r1.xlsx", ROSTER_HEADER, roster))
    person = Person.objects.get(id_number=make_id(1))
    assert (person.name, person.township.name) == ("站里的名字", "河口镇")
    import_survey_file(survey_file(tmp_path, [survey_row(1)]))
    person.refresh_from_db()
    assert (person.name, person.township.name, person.village.name) == (
        survey_row(1)["姓名"],
        "城关镇",
        "东关村",
    )
    roster[0]["风险类型"] = "因病"
    import_roster_file(write_table(tmp_path / "r2.xlsx", ROSTER_HEADER, roster))
    person.refresh_from_db()
    assert person.name == survey_row(1)["姓名"]  # the roster does not overwrite the survey
    member = RosterMember.objects.get(person=person)
    assert member.name == "站里的名字" and member.household.village.name == "七里村"


def test_household_head_linked_when_the_roster_brings_the_head(tmp_path):
    child = survey_row(2, 户主姓名="不在调查中", 户主身份证号=make_id(900), 与户主关系="子")
    import_survey_file(survey_file(tmp_path, [child]))
    household = Household.objects.get(head_id_number=make_id(900))
    assert household.head is None and household.head_name == "不在调查中"
    import_roster_file(write_table(tmp_path / "r.xlsx", ROSTER_HEADER, [roster_row(900, "H9")]))
    household.refresh_from_db()
    assert household.head.id_number == make_id(900)


def test_member_moving_households(tmp_path):
    rows = [survey_row(1), survey_row(2), survey_row(3, 户主身份证号=make_id(1), 与户主关系="子")]
    import_survey_file(survey_file(tmp_path, rows, name="a.xlsx"))
    rows[2] = survey_row(3, 户主身份证号=make_id(2), 与户主关系="配偶")
    batch = import_survey_file(survey_file(tmp_path, rows, name="b.xlsx"))
    assert (batch.updated, batch.unchanged) == (1, 2)
    member = HouseholdMember.objects.get(person__id_number=make_id(3))
    assert (member.household.head_id_number, member.relation) == (make_id(2), "配偶")


def test_fifteen_digit_id_matches_the_stored_person(tmp_path):
    n = next(n for n in range(100) if make_id(n)[6:8] == "19")
    import_survey_file(survey_file(tmp_path, [survey_row(n)], name="a.xlsx"))
    row = survey_row(n, 公民身份号码=id_to_15(make_id(n)), 户主身份证号=id_to_15(make_id(n)))
    batch = import_survey_file(survey_file(tmp_path, [row], name="b.csv"))
    assert counts(batch) == ("done", 1, 0, 0, 1, 0)
    assert Person.objects.count() == 1


def test_writes_are_set_based(tmp_path):
    """The number of queries does not grow with the number of rows."""

    def queries_for(count, name):
        path = survey_file(
            tmp_path, [survey_row(1000 * count + n) for n in range(count)], name=name
        )
        with CaptureQueriesContext(connection) as context:
            batch = import_survey_file(path)
        assert batch.status == "done"
        return len(context.captured_queries)

    small, large = queries_for(5, "small.xlsx"), queries_for(60, "large.xlsx")
    assert large <= small + 2, (small, large)


# --- roster ------------------------------------------------------------------------------------------


def test_roster_snapshot_of_its_townships(tmp_path):
    first = [
        roster_row(1, "H1"),
        roster_row(2, "H1", 与户主关系="配偶"),
        roster_row(3, "H2", 乡镇="河口镇", 村="七里村"),
        roster_row(4, "H3"),
    ]
    batch = import_roster_file(write_table(tmp_path / "r1.xlsx", ROSTER_HEADER, first))
    assert counts(batch) == ("done", 4, 4, 0, 0, 0)
    assert set(batch.townships.values_list("name", flat=True)) == {"城关镇", "河口镇"}
    # 城关镇 again, without member 2 and household H3: they stop being current
    second = [roster_row(1, "H1")]
    batch = import_roster_file(write_table(tmp_path / "r2.xlsx", ROSTER_HEADER, second))
    assert counts(batch) == ("done", 1, 0, 0, 1, 0)
    assert "2名成员、1户不在新名单中" in batch.message
    current = set(
        RosterMember.objects.filter(is_current=True).values_list("person__id_number", flat=True)
    )
    assert current == {make_id(1), make_id(3)}  # 河口镇 untouched
    assert not RosterHousehold.objects.get(household_number="H3").is_current
    assert RosterHousehold.objects.get(household_number="H2").is_current
    assert Person.objects.count() == 4  # nobody deleted
    # member 2 comes back: current again, counted as updated
    batch = import_roster_file(write_table(tmp_path / "r3.xlsx", ROSTER_HEADER, first[:2]))
    assert counts(batch) == ("done", 2, 0, 1, 1, 0)
    assert RosterMember.objects.get(person__id_number=make_id(2)).is_current


def test_roster_invalid_row_does_not_drop_a_member_in_skip_invalid_mode(tmp_path):
    rows = [roster_row(1, "H1"), roster_row(2, "H1", 与户主关系="子")]
    import_roster_file(write_table(tmp_path / "r1.xlsx", ROSTER_HEADER, rows))
    rows[1]["识别监测时间"] = "去年"
    batch = import_roster_file(
        write_table(tmp_path / "r2.xlsx", ROSTER_HEADER, rows), skip_invalid=True
    )
    assert counts(batch) == ("done", 2, 0, 0, 1, 1)
    assert RosterMember.objects.get(person__id_number=make_id(2)).is_current


def test_roster_household_values_come_from_the_head_row(tmp_path):
    rows = [
        roster_row(
            2, "H1", 与户主关系="子", 识别监测时间="2024-01-06", **{"家庭人均纯收入（元）": None}
        ),
        roster_row(1, "H1", 识别监测时间="202401", **{"家庭人均纯收入（元）": "6,500"}),
    ]
    import_roster_file(write_table(tmp_path / "r.xlsx", ROSTER_HEADER, rows))
    household = RosterHousehold.objects.get()
    assert household.identified_on == date(2024, 1, 1)
    assert household.income_per_capita == Decimal("6500.00")
    assert household.household_type == "monitored" and household.monitoring_category == "marginal"
    assert household.risk_types == ["因病", "因残"]


def test_roster_type_change_clears_the_monitoring_category(tmp_path):
    import_roster_file(write_table(tmp_path / "r1.xlsx", ROSTER_HEADER, [roster_row(1, "H1")]))
    row = roster_row(1, "H1", 户类型="脱贫户", 监测对象类别=None)
    batch = import_roster_file(write_table(tmp_path / "r2.xlsx", ROSTER_HEADER, [row]))
    assert (batch.updated, batch.unchanged) == (1, 0)
    household = RosterHousehold.objects.get()
    assert household.household_type == "left_poverty" and household.monitoring_category == ""


# --- civil-affairs roster ------------------------------------------------------------------------


def test_civil_roster_upserts_benefits_as_a_snapshot(tmp_path):
    import_survey_file(survey_file(tmp_path, [survey_row(1)]))
    rows = [
        civil_row(1, "城乡低保"),
        civil_row(1, "困难残疾人生活补贴", **{"月标准（元）": "90"}),
        civil_row(5, "特困供养"),
    ]
    batch = import_civil_file(write_table(tmp_path / "c1.xlsx", CIVIL_HEADER, rows))
    assert counts(batch) == ("done", 3, 3, 0, 0, 0)
    assert Person.objects.filter(id_number=make_id(5)).exists()  # created from the civil roster
    dibao = BenefitRecord.objects.get(person__id_number=make_id(1), benefit_type="dibao")
    assert (dibao.origin, dibao.status, dibao.monthly_amount, dibao.start_month) == (
        "civil",
        "active",
        Decimal("560.00"),
        date(2023, 1, 1),
    )
    again = import_civil_file(write_table(tmp_path / "c2.xlsx", CIVIL_HEADER, rows))
    assert counts(again) == ("done", 3, 0, 0, 3, 0)
    rows = [civil_row(1, "城乡低保", 状态="停保"), civil_row(5, "特困供养")]
    batch = import_civil_file(write_table(tmp_path / "c3.xlsx", CIVIL_HEADER, rows))
    assert counts(batch) == ("done", 2, 0, 1, 1, 0)
    living = BenefitRecord.objects.get(person__id_number=make_id(1), benefit_type="living_subsidy")
    assert not living.is_current
    assert (
        BenefitRecord.objects.get(person__id_number=make_id(1), benefit_type="dibao").status
        == "stopped"
    )
    # another township's roster leaves 城关镇's records alone
    other = [civil_row(7, "临时救助", 乡镇="河口镇", 村="七里村")]
    import_civil_file(write_table(tmp_path / "c4.xlsx", CIVIL_HEADER, other))
    assert BenefitRecord.objects.filter(is_current=True, township__name="城关镇").count() == 2


def test_full_table_loads_give_the_same_results(tmp_path, monkeypatch):
    """Big files read stored rows in one pass instead of `in` lists: same outcome."""
    from monitoring.importing import writer

    monkeypatch.setattr(writer, "FULL_SCAN_KEYS", 1)
    rows = [survey_row(n) for n in range(4)]
    assert counts(import_survey_file(survey_file(tmp_path, rows, name="a.xlsx")))[2] == 4
    rows[1]["家庭年人均收入（元）"] = 99
    batch = import_survey_file(survey_file(tmp_path, rows, name="b.xlsx"))
    assert counts(batch) == ("done", 4, 0, 1, 3, 0)
    roster = [roster_row(n, f"H{n}") for n in range(4)]
    assert import_roster_file(write_table(tmp_path / "r.xlsx", ROSTER_HEADER, roster)).created == 4
    civil = [civil_row(1), civil_row(8, "特困供养")]
    batch = import_civil_file(write_table(tmp_path / "c.xlsx", CIVIL_HEADER, civil))
    assert counts(batch) == ("done", 2, 2, 0, 0, 0)
    again = import_civil_file(write_table(tmp_path / "c2.xlsx", CIVIL_HEADER, civil))
    assert counts(again) == ("done", 2, 0, 0, 2, 0)


def test_text_with_backslashes_quotes_and_tabs_round_trips(tmp_path):
    """Values travel through COPY (PostgreSQL) or executemany (SQLite) unchanged."""
    row = survey_row(
        1,
        **{
            "村（社区）": "东\\关\"村'",
            "康复需求": '康复\\训练、"辅助"器具',
            "与户主关系": "户\\主",
        },
    )
    import_survey_file(survey_file(tmp_path, [row], name="a.xlsx"))
    person = Person.objects.get()
    assert person.village.name == "东\\关\"村'"
    assert person.survey.rehab_needs == ["康复\\训练", '"辅助"器具']
    assert person.survey.relation == "户\\主"
    batch = import_survey_file(survey_file(tmp_path, [row], name="b.xlsx"))
    assert counts(batch) == ("done", 1, 0, 0, 1, 0)
