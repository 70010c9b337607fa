"""The validating engine (monitoring/importing/engine.py): typed rows and row errors, no writes."""

from datetime import date
from decimal import Decimal

import pytest

from cases.geography import TOWNSHIPS
from monitoring.importing.engine import validate

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

TOWNSHIP_IDS = {name: index + 1 for index, (name, _) in enumerate(TOWNSHIPS)}
CHENGGUAN = TOWNSHIP_IDS["城关镇"]
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def check(source, path):
    return validate(source, path, TOWNSHIP_IDS)


def messages(result):
    return [(error.row, error.column, error.message) for error in result.errors]


# --- the shared samples ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def samples():
    return (
        check("survey", f"{SAMPLES}/survey-sample.xlsx"),
        check("roster", f"{SAMPLES}/roster-sample.xlsx"),
    )


def test_samples_are_clean(samples):
    survey, roster = samples
    assert survey.errors == [] and roster.errors == []
    assert (survey.data_rows, len(survey.valid_rows)) == (50, 50)
    assert (roster.data_rows, len(roster.valid_rows)) == (69, 69)
    assert survey.header.row_number == 4  # two title rows and a merged group-header row above
    assert roster.header.row_number == 2


def test_sample_roster_15_digit_and_full_width_ids_meet_the_survey(samples):
    survey, roster = samples
    survey_ids = {row.id_number for row in survey.valid_rows}
    roster_ids = {row.id_number for row in roster.valid_rows}
    # 341522510120230 and 341522880923878 are 15-digit IDs in the roster sample.
    assert {"341522195101202304", "341522198809238787"} <= survey_ids & roster_ids
    # full-width ID of 覃华华 in the roster
    assert "341522196810042862" in survey_ids & roster_ids
    assert all(len(number) == 18 for number in roster_ids)


# --- variations that must all be accepted ------------------------------------------------------


def test_messy_survey_is_read_as_intended(tmp_path):
    header = [
        "序号",
        "姓名",
        "身份证号",
        "残疾证号",
        "残疾类别",
        "残疾等级",
        "乡镇",
        "村",
        "是否享受低保",
        "家庭人均年收入",
        "住房是否安全",
        "康复需求",
        "调查日期",
        "备注",
    ]
    n15 = make_id(7)  # born in the 1900s
    rows = [
        {
            "序号": 1,
            "姓名": " 赵 春平 ",
            "身份证号": make_id(1).translate(FULL_WIDTH),
            "残疾证号": make_id(1) + "42",
            "残疾类别": "肢体残疾",
            "残疾等级": "2级",
            "乡镇": "河口",
            "村": " 七里村 ",
            "是否享受低保": "√",
            "家庭人均年收入": "38,930元",
            "住房是否安全": "×",
            "康复需求": "康复训练、辅助器具",
            "调查日期": "2022年3月5日",
        },
        {
            "序号": 2,
            "姓名": "李四",
            "身份证号": id_to_15(n15),
            "残疾类别": "视力",
            "残疾等级": "一级",
            "乡镇": "彭塔乡",
            "村": "新村",
            "是否享受低保": "",
            "家庭人均年收入": "７８８",
            "住房是否安全": "Y",
            "调查日期": "20220305",
        },
        {
            "序号": 3,
            "姓名": "王五",
            "身份证号": make_id(3),
            "残疾类别": 6,
            "残疾等级": 4.0,
            "乡镇": "霍邱县城关镇",
            "村": "东关村",
            "是否享受低保": 0,
            "家庭人均年收入": 2776.0,
            "调查日期": date(2022, 3, 5),
        },
        {
            "序号": 4,
            "姓名": "赵六",
            "身份证号": "'" + make_id(4),
            "残疾类别": "多重",
            "残疾等级": "Ⅲ级",
            "乡镇": "城关",
            "村": "东关村",
            "是否享受低保": "有",
            "调查日期": "2022.3.5",
        },
    ]
    path = write_table(
        tmp_path / "messy.xlsx",
        header,
        rows,
        titles=["霍邱县持证残疾人基本状况调查数据（2022年）", "填报单位：县残联"],
        group_row=["基本信息", None, None, None, None, None, None, None, "保障情况"],
        footer=[["合计", "4人"], ["填表人：张三", None, None, "审核人：李四"]],
        blank_rows_after=(1,),
    )
    result = check("survey", path)
    assert messages(result) == []
    assert result.data_rows == 4
    first, second, third, fourth = result.valid_rows
    assert first.row == 5 and second.row == 6 and third.row == 8  # blank row 7 skipped
    assert first.name == "赵春平" and first.id_number == make_id(1)
    assert (first.category, first.grade, first.cert_number) == (4, 2, make_id(1) + "42")
    assert first.township_id == TOWNSHIP_IDS["河口镇"] and first.village == "七里村"
    assert (first.dibao, first.housing_safe) == (True, False)
    assert first.income == Decimal("38930.00")
    assert first.rehab_needs == ["康复训练", "辅助器具"]
    assert first.surveyed_on == date(2022, 3, 5)
    assert second.id_number == n15 and second.income == Decimal("788.00")
    assert second.dibao is None  # blank = unknown, not "no"
    assert second.township_id == TOWNSHIP_IDS["彭塔乡"]
    assert (third.category, third.grade, third.dibao) == (6, 4, False)
    assert third.surveyed_on == date(2022, 3, 5)
    assert (fourth.grade, fourth.dibao, fourth.surveyed_on) == (3, True, date(2022, 3, 5))
    assert first.gender in ("M", "F") and first.birth_date.year >= 1940


@pytest.mark.parametrize(
    "suffix, encoding", [(".xlsx", None), (".xls", None), (".csv", "gbk"), (".csv", "utf-8-sig")]
)
def test_same_rows_from_every_format(tmp_path, suffix, encoding):
    rows = [survey_row(n) for n in range(5)]
    path = write_table(
        tmp_path / f"s{suffix}",
        SURVEY_HEADER,
        rows,
        titles=["霍邱县持证残疾人基本状况调查数据"],
        encoding=encoding or "utf-8",
    )
    result = check("survey", path)
    assert messages(result) == []
    assert [row.id_number for row in result.valid_rows] == [make_id(n) for n in range(5)]
    assert [row.row for row in result.valid_rows] == [3, 4, 5, 6, 7]
    assert result.valid_rows[0].income == Decimal("12000.00")
    assert result.valid_rows[0].surveyed_on == date(2026, 3, 5)


def test_repeated_header_rows_are_skipped(tmp_path):
    rows = [survey_row(0), dict(zip(SURVEY_HEADER, SURVEY_HEADER, strict=True)), survey_row(1)]
    result = check("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows))
    assert messages(result) == []
    assert result.data_rows == 2


def test_roster_months_and_dates(tmp_path):
    rows = [
        roster_row(1, "H1", 识别监测时间="202203"),
        roster_row(
            2,
            "H2",
            识别监测时间="2022/3/5",
            风险是否消除="是",
            风险消除时间="2022年9月",
            风险消除方式="帮扶消除",
        ),
        roster_row(
            3,
            "H3",
            户类型="脱贫户",
            监测对象类别=None,
            识别监测时间=None,
            是否残疾="是",
            残疾类别="肢体残疾",
            残疾等级="二级",
        ),
    ]
    result = check("roster", write_table(tmp_path / "r.xlsx", ROSTER_HEADER, rows))
    assert messages(result) == []
    one, two, three = result.valid_rows
    assert one.identified_on == date(2022, 3, 1)
    assert (two.identified_on, two.risk_cleared, two.cleared_on) == (
        date(2022, 3, 5),
        True,
        date(2022, 9, 1),
    )
    assert two.clear_method == "assistance"
    assert (three.household_type, three.is_disabled, three.category, three.grade) == (
        "left_poverty",
        True,
        4,
        2,
    )
    assert one.risk_types == ["因病", "因残"] and one.monitoring_category == "marginal"


# --- refusals ---------------------------------------------------------------------------------


def test_error_row_numbers_count_title_rows_and_columns_are_named_as_in_the_file(tmp_path):
    header = [name if name != "公民身份号码" else "身份证号码" for name in SURVEY_HEADER]
    bad = survey_row(2)
    bad["身份证号码"] = bad.pop("公民身份号码")[:17] + "Y"
    rows = [{**survey_row(1), "身份证号码": make_id(1)}, bad]
    path = write_table(tmp_path / "s.xlsx", header, rows, titles=["标题一", "标题二"])
    result = check("survey", path)
    assert [(error.row, error.column) for error in result.errors] == [(5, "身份证号码")]
    assert result.invalid_rows == {5}
    assert [row.row for row in result.valid_rows] == [4]


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("公民身份号码", 3.41522199001011e17, "存成了数字"),
        ("公民身份号码", "3.41522199001011E+17", "存成了数字"),
        ("公民身份号码", make_id(9)[:17] + ("1" if make_id(9)[17] != "1" else "2"), "校验位错误"),
        ("公民身份号码", "34152219900101", "应为18位"),
        ("公民身份号码", None, "不能为空"),
        ("姓名", "", "不能为空"),
        ("乡镇（街道）", "北京镇", "不是霍邱县的乡镇"),
        ("残疾等级", "五级", "残疾等级“五级”无法识别"),
        ("残疾类别", "脚部", "残疾类别“脚部”无法识别"),
        ("调查日期", "2022-02-30", "不存在"),
        ("调查日期", "上个月", "无法识别"),
        ("家庭年人均收入（元）", "很多", "不是有效的数字"),
        ("享受低保", "也许", "无法识别"),
        ("就业状况", "退休", "无法识别"),
        ("家庭人口数", "2.5", "不是整数"),
    ],
)
def test_survey_row_refusals(tmp_path, column, value, expected):
    rows = [survey_row(0), survey_row(9, **{column: value})]
    result = check("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows))
    assert len(result.errors) == 1, messages(result)
    error = result.errors[0]
    assert (error.row, error.column) == (3, column)
    assert expected in error.message
    assert result.invalid_rows == {3}
    assert [row.row for row in result.valid_rows] == [2]


def test_certificate_contradicting_the_id_category_or_grade(tmp_path):
    other = make_id(50)
    rows = [
        survey_row(1, 残疾人证号=other + "11"),
        survey_row(2, 残疾类别="视力", 残疾等级="一级", 残疾人证号=make_id(2) + "41"),
        survey_row(3, 残疾类别="视力", 残疾等级="一级", 残疾人证号=make_id(3) + "12"),
        survey_row(4, 残疾人证号="ABC"),
    ]
    result = check("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows))
    found = {error.row: error.message for error in result.errors}
    assert set(found) == {2, 3, 4, 5}
    assert "与身份证号不一致" in found[2]
    assert "残疾类别为肢体" in found[3] and "视力" in found[3]
    assert "残疾等级为二级" in found[4]
    assert "格式错误" in found[5]
    assert {error.column for error in result.errors} == {"残疾人证号"}


def test_reissued_certificate_accepted(tmp_path):
    number = make_id(1)
    row = survey_row(1, 残疾类别="视力", 残疾等级="一级", 残疾人证号=f"{number}11B2")
    result = check("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [row]))
    assert messages(result) == []
    assert (result.valid_rows[0].cert_number, result.valid_rows[0].cert_reissue) == (
        f"{number}11B2",
        2,
    )


def test_duplicate_id_in_a_survey_reports_both_rows(tmp_path):
    rows = [survey_row(1), survey_row(2), survey_row(1, 姓名="另一个")]
    # the 15-digit form of the same person is the same person
    if make_id(2)[6:8] == "19":
        rows.append(survey_row(2, 公民身份号码=id_to_15(make_id(2))))
    result = check("survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows))
    rows_with_errors = {error.row for error in result.errors}
    assert {2, 4} <= rows_with_errors
    assert any("与第4行重复" in error.message for error in result.errors if error.row == 2)
    assert any("与第2行重复" in error.message for error in result.errors if error.row == 4)
    if len(rows) == 4:
        assert {3, 5} <= rows_with_errors
    assert result.valid_rows == []


def test_one_id_in_two_roster_households(tmp_path):
    rows = [
        roster_row(1, "H1"),
        roster_row(2, "H2"),
        roster_row(1, "H2", 与户主关系="子"),
        roster_row(3, "H3"),
        roster_row(3, "H3"),
    ]
    result = check("roster", write_table(tmp_path / "r.xlsx", ROSTER_HEADER, rows))
    found = {}
    for error in result.errors:
        found.setdefault(error.row, []).append(error.message)
    assert set(found) == {2, 4, 5, 6}
    assert "两个户" in found[2][0] and "H1" in found[2][0] and "H2" in found[2][0]
    assert "两个户" in found[4][0]
    assert "同一户" in found[5][0] and "同一户" in found[6][0]
    assert [row.row for row in result.valid_rows] == [3]
    # every ID named by the file is remembered, even on invalid rows (snapshot safety)
    assert {make_id(1), make_id(2), make_id(3)} <= result.seen_ids


def test_civil_duplicate_benefit_and_bad_status(tmp_path):
    rows = [
        civil_row(1, "城乡低保"),
        civil_row(1, "低保"),
        civil_row(1, "重度残疾人护理补贴"),
        civil_row(2, "特困供养", 状态="不知道"),
        civil_row(3, "节日慰问"),
    ]
    result = check("civil", write_table(tmp_path / "c.xlsx", CIVIL_HEADER, rows))
    found = {(error.row, error.column): error.message for error in result.errors}
    assert "重复" in found[(2, "身份证号")] and "重复" in found[(3, "身份证号")]
    assert "在保、停保" in found[(5, "状态")]
    assert "项目“节日慰问”无法识别" in found[(6, "项目")]
    assert [row.row for row in result.valid_rows] == [4]
    assert result.valid_rows[0].monthly_amount == Decimal("560.00")
    assert result.valid_rows[0].start_month == date(2023, 1, 1)


def test_missing_required_columns_is_a_file_error(tmp_path):
    header = [name for name in SURVEY_HEADER if name not in ("残疾类别", "残疾等级")]
    result = check(
        "survey", write_table(tmp_path / "s.xlsx", header, [survey_row(1)], titles=["标题"])
    )
    assert result.file_error is not None
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.row == 2 and error.column == "残疾类别、残疾等级"
    assert "缺少必填列：残疾类别、残疾等级" in error.message
    assert result.valid_rows == []


def test_file_without_a_header(tmp_path):
    path = write_table(tmp_path / "s.xlsx", ["甲", "乙", "丙"], [{"甲": 1, "乙": 2, "丙": 3}])
    result = check("survey", path)
    assert "找不到表头行" in result.file_error
    assert result.errors[0].row is None


def test_roster_file_given_as_a_survey_is_refused_by_its_columns(tmp_path):
    path = write_table(tmp_path / "r.xlsx", ROSTER_HEADER, [roster_row(1, "H1")])
    result = check("survey", path)
    assert "缺少必填列" in result.file_error
    assert "残疾人证号" not in result.file_error.split("列名可写")[0]


def test_empty_and_unreadable_files(tmp_path):
    empty = tmp_path / "e.xlsx"
    empty.write_bytes(b"")
    assert "文件是空的" in check("survey", empty).file_error
    blank_sheet = write_table(tmp_path / "b.xlsx", [], [])
    assert "没有数据" in check("survey", blank_sheet).file_error
    broken = tmp_path / "x.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    result = check("survey", broken)
    assert "无法读取" in result.file_error
    assert result.errors[0].as_dict() == {"row": None, "column": "", "message": result.file_error}


def test_footer_only_when_the_id_cell_is_blank(tmp_path):
    rows = [survey_row(1), survey_row(2, 姓名="合计")]
    result = check(
        "survey", write_table(tmp_path / "s.xlsx", SURVEY_HEADER, rows, footer=[["合计", "2人"]])
    )
    assert messages(result) == []
    assert result.data_rows == 2  # a person called 合计 with an ID is data


def test_progress_is_reported(tmp_path):
    seen = []
    rows = [survey_row(n) for n in range(4100)]
    path = write_table(tmp_path / "s.csv", SURVEY_HEADER, rows)
    validate("survey", path, TOWNSHIP_IDS, progress=seen.append, progress_span=50)
    assert seen and seen[-1] == 50
    assert seen == sorted(seen)
    assert len(seen) <= 5  # now and then, not per row


def test_the_sheet_with_the_header_is_used(tmp_path):
    from openpyxl import Workbook

    from .import_files import table_rows

    workbook = Workbook()
    workbook.active.title = "说明"
    workbook.active.append(["本表为2026年调查数据，填写说明见下页"])
    data = workbook.create_sheet("数据")
    for line in table_rows(SURVEY_HEADER, [survey_row(1)]):
        data.append(line)
    workbook.save(tmp_path / "two.xlsx")
    result = check("survey", tmp_path / "two.xlsx")
    assert messages(result) == []
    assert result.sheet_name == "数据" and result.sheet_index == 1
    assert [row.id_number for row in result.valid_rows] == [make_id(1)]
