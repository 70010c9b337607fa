"""Where each imported record came from: `ImportBatch.sheet_name` and `source_row` on
SurveyRecord, RosterHousehold and RosterMember, numbered as the spreadsheet shows rows (the
header and any title rows counted) — the same numbers the batch's errors use."""

import pytest

from monitoring.models import ImportBatch, RosterHousehold, RosterMember, SurveyRecord
from monitoring.services import import_create_batch, import_roster_file, import_run

from .import_files import (
    ROSTER_HEADER,
    SURVEY_HEADER,
    make_id,
    roster_row,
    survey_row,
    table_rows,
    write_csv,
    write_table,
    write_xlsx,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def run(source, path, *, skip_invalid=True):
    batch = import_create_batch(source, path, original_name=path.name, skip_invalid=skip_invalid)
    return import_run(batch.pk)


def survey_rows_by_id():
    return {
        record.person.id_number: (record.source_row, record.batch_id)
        for record in SurveyRecord.objects.select_related("person")
    }


def sheet_lines(cells):
    """{ID: spreadsheet row number} for every line of `cells` holding a survey or roster ID."""
    return {
        cell: number
        for number, line in enumerate(cells, start=1)
        for cell in line
        if isinstance(cell, str) and len(cell) == 18 and cell[:6] == "341522"
    }


def test_survey_rows_are_numbered_as_the_sheet_shows_them(tmp_path):
    rows = [survey_row(1), survey_row(2, 公民身份号码="123"), survey_row(3), survey_row(4)]
    layout = {"titles": ["某县残疾人基本状况调查表", "填报单位：城关镇"], "blank_rows_after": (0,)}
    cells = table_rows(SURVEY_HEADER, rows, **layout)
    path = write_xlsx(tmp_path / "survey.xlsx", cells, sheet_title="调查数据")
    batch = run("survey", path)

    assert batch.status == ImportBatch.Status.DONE and batch.skipped == 1
    assert batch.sheet_name == "调查数据"
    # two title rows, the header on row 3, a blank row after the first data row
    lines = sheet_lines(cells)
    assert lines[make_id(1)] == 4 and lines[make_id(3)] == 7
    invalid = {error["row"] for error in batch.errors}
    assert invalid == {6}  # the error report's "第6行": the same numbering
    assert survey_rows_by_id() == {make_id(n): (lines[make_id(n)], batch.pk) for n in (1, 3, 4)}


def test_survey_update_refreshes_row_and_batch_unchanged_rows_keep_theirs(tmp_path):
    first = run(
        "survey", write_table(tmp_path / "a.xlsx", SURVEY_HEADER, [survey_row(1), survey_row(2)])
    )
    assert survey_rows_by_id() == {make_id(1): (2, first.pk), make_id(2): (3, first.pk)}

    # person 2 moves up and changes an answer; person 1 moves down, unchanged
    rows = [survey_row(2, 享受低保="是"), survey_row(5), survey_row(1)]
    second = run("survey", write_table(tmp_path / "b.xlsx", SURVEY_HEADER, rows, titles=["标题"]))
    assert (second.created, second.updated, second.unchanged) == (1, 1, 1)
    assert survey_rows_by_id() == {
        make_id(2): (3, second.pk),  # changed: row and batch of the new file
        make_id(5): (4, second.pk),  # new
        make_id(1): (2, first.pk),  # unchanged: still where its values came from
    }


def test_records_imported_before_rows_were_kept_get_them_without_counting_as_changed(tmp_path):
    path = write_table(tmp_path / "a.xlsx", SURVEY_HEADER, [survey_row(1), survey_row(2)])
    run("survey", path)
    SurveyRecord.objects.filter(person__id_number=make_id(2)).update(source_row=None)
    again = run(
        "survey", write_table(tmp_path / "b.xlsx", SURVEY_HEADER, [survey_row(2), survey_row(1)])
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    # filled in from the file that was just read, so row and batch agree
    assert survey_rows_by_id()[make_id(2)] == (2, again.pk)
    assert survey_rows_by_id()[make_id(1)][0] == 2  # kept: from the first file


def test_csv_has_no_sheet_name(tmp_path):
    cells = table_rows(SURVEY_HEADER, [survey_row(1)], titles=["调查表"])
    batch = run("survey", write_csv(tmp_path / "survey.csv", cells))
    assert batch.status == ImportBatch.Status.DONE
    assert batch.sheet_name == ""
    assert survey_rows_by_id() == {make_id(1): (3, batch.pk)}


def roster_rows_by_id():
    return {
        member.person.id_number: (member.source_row, member.batch_id)
        for member in RosterMember.objects.select_related("person")
    }


def test_roster_members_and_households_name_their_rows(tmp_path):
    rows = [
        roster_row(11, "H1", 与户主关系="配偶", 户主姓名="户主甲"),
        roster_row(10, "H1", 成员姓名="户主甲", 户主姓名="户主甲"),
        roster_row(12, "H2", 证件号码="34152219"),  # invalid ID: skipped
        roster_row(13, "H2", 与户主关系="子"),
        roster_row(14, "H2", 与户主关系="女"),
        roster_row(15, "H3", 户主姓名="户主丙"),
    ]
    cells = table_rows(ROSTER_HEADER, rows, titles=["监测对象名单"])
    path = write_xlsx(tmp_path / "roster.xlsx", cells, sheet_title="名单")
    batch = run("roster", path)

    assert batch.status == ImportBatch.Status.DONE and batch.skipped == 1
    assert batch.sheet_name == "名单"
    assert {error["row"] for error in batch.errors} == {5}
    lines = sheet_lines(cells)
    assert roster_rows_by_id() == {
        make_id(n): (lines[make_id(n)], batch.pk) for n in (10, 11, 13, 14, 15)
    }
    households = {
        household.household_number: (household.source_row, household.batch_id)
        for household in RosterHousehold.objects.all()
    }
    assert households == {
        "H1": (lines[make_id(10)], batch.pk),  # the head's row, though it comes second
        "H2": (lines[make_id(13)], batch.pk),  # no head row: the first valid row
        "H3": (lines[make_id(15)], batch.pk),
    }


def test_roster_update_refreshes_changed_rows(tmp_path):
    rows = [roster_row(20, "H9"), roster_row(21, "H9", 与户主关系="配偶")]
    first = import_roster_file(write_table(tmp_path / "a.xlsx", ROSTER_HEADER, rows))
    assert roster_rows_by_id() == {make_id(20): (2, first.pk), make_id(21): (3, first.pk)}

    rows = [roster_row(21, "H9", 与户主关系="配偶", 人员状态="死亡"), roster_row(20, "H9")]
    second = import_roster_file(write_table(tmp_path / "b.xlsx", ROSTER_HEADER, rows))
    assert second.updated == 1
    members = roster_rows_by_id()
    assert members[make_id(21)] == (2, second.pk)
    assert members[make_id(20)] == (2, first.pk)  # unchanged: the first file's row 2
    household = RosterHousehold.objects.get(household_number="H9")
    assert (household.source_row, household.batch_id) == (2, first.pk)  # household unchanged
