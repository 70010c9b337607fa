"""The downloadable error report (monitoring/importing/report.py)."""

from io import BytesIO

import pytest
from openpyxl import load_workbook

from cases.geography import TOWNSHIPS
from monitoring.importing.engine import validate
from monitoring.importing.report import ERROR_HEADER, write_error_report

from .import_files import SURVEY_HEADER, survey_row, write_table

TOWNSHIP_IDS = {name: index + 1 for index, (name, _) in enumerate(TOWNSHIPS)}


def report_for(path, source="survey"):
    result = validate(source, path, TOWNSHIP_IDS)
    out = BytesIO()
    write_error_report(path, result, out)
    out.seek(0)
    return result, load_workbook(out).active


def is_filled(cell) -> bool:
    return cell.fill is not None and cell.fill.fill_type == "solid"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_report_marks_bad_cells_and_explains_each_row(tmp_path, suffix):
    rows = [survey_row(1), survey_row(2, 残疾等级="九级", 调查日期="2022-02-30"), survey_row(3)]
    path = write_table(tmp_path / f"s{suffix}", SURVEY_HEADER, rows, titles=["霍邱县调查数据"])
    result, sheet = report_for(path)
    assert len(result.errors) == 2
    grid = list(sheet.iter_rows())
    error_column = len(SURVEY_HEADER)
    # same rows as the original: title row 1, header row 2, data rows 3-5
    assert grid[0][0].value == "霍邱县调查数据"
    assert grid[1][error_column].value == ERROR_HEADER
    assert grid[2][error_column].value is None
    bad = grid[3]
    assert bad[1].value == survey_row(2)["公民身份号码"]
    note = bad[error_column].value
    assert "残疾等级：" in note and "九级" in note and "调查日期：" in note
    grade_index = SURVEY_HEADER.index("残疾等级")
    date_index = SURVEY_HEADER.index("调查日期")
    assert is_filled(bad[grade_index]) and is_filled(bad[date_index])
    assert not is_filled(bad[0]) and not is_filled(grid[2][grade_index])
    assert grid[4][error_column].value is None


def test_file_level_error_goes_on_the_header_row(tmp_path):
    header = [name for name in SURVEY_HEADER if name != "残疾类别"]
    path = write_table(tmp_path / "s.xlsx", header, [survey_row(1)])
    _, sheet = report_for(path)
    header_row = next(sheet.iter_rows(min_row=1, max_row=1))
    assert "缺少必填列：残疾类别" in header_row[len(header)].value


def test_unreadable_file_gives_an_error_list(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    _, sheet = report_for(path)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", ERROR_HEADER)
    assert "无法读取" in rows[1][2]


def test_formula_like_text_stays_text(tmp_path):
    rows = [survey_row(1, 姓名="=1+1", 残疾等级="九级")]
    path = write_table(tmp_path / "s.csv", SURVEY_HEADER, rows)
    _, sheet = report_for(path)
    assert sheet.cell(row=2, column=1).value == "=1+1"
    assert sheet.cell(row=2, column=1).data_type == "s"
