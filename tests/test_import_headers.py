"""Header finder and alias map (monitoring/importing/headers.py), docs/IMPORTS.md."""

import pytest

from monitoring.importing.headers import AliasMap, find_header, header_key
from monitoring.importing.sources import CIVIL, ROSTER, SURVEY

SURVEY_MAP = AliasMap(SURVEY.columns)
ROSTER_MAP = AliasMap(ROSTER.columns)


@pytest.mark.parametrize(
    "cell, key",
    [
        ("乡镇（街道）", "township"),
        ("乡镇(街道)", "township"),
        ("乡镇", "township"),
        ("村（社区）", "village"),
        ("村", "village"),
        ("行政村", "village"),
        ("身份证号", "id_number"),
        ("身份证号码", "id_number"),
        ("证件号码", "id_number"),
        (" 公民身份号码 ", "id_number"),
        ("*公民身份号码", "id_number"),
        ("残疾证号", "cert_number"),
        ("家庭年人均收入（元）", "income"),
        ("家庭年人均收入", "income"),
        ("家庭人均年收入", "income"),
        ("人均收入", "income"),
        ("是否享受低保", "dibao"),
        ("享受低保", "dibao"),
        ("是否特困供养", "tekun"),
        ("是否享受困难残疾人生活补贴", "living_subsidy"),
        ("是否参加基本医疗保险", "medical_insured"),
        ("基本医疗保险", "medical_insured"),
        ("是否参加城乡居民养老保险", "pension_insured"),
        ("住房是否安全", "housing_safe"),
        ("是否在校", "in_school"),
        ("大额刚性支出(元)", "rigid_expenditure"),
        ("大额刚性支出", "rigid_expenditure"),
    ],
)
def test_survey_aliases(cell, key):
    assert SURVEY_MAP.lookup(cell)[0] == key


@pytest.mark.parametrize("cell", ["序号", "备注", "县", "", None, "基本信息", "家庭经济"])
def test_extra_columns_are_ignored(cell):
    assert SURVEY_MAP.lookup(cell)[0] is None


def test_roster_aliases_and_is_disabled_kept_exact():
    assert ROSTER_MAP.lookup("是否残疾")[0] == "is_disabled"
    assert ROSTER_MAP.lookup("姓名")[0] == "name"
    assert ROSTER_MAP.lookup("户主姓名")[0] == "head_name"
    assert ROSTER_MAP.lookup("身份证号")[0] == "id_number"
    assert ROSTER_MAP.lookup("风险是否消除")[0] == "risk_cleared"
    assert ROSTER_MAP.lookup("家庭人均纯收入（元）")[0] == "income"


def test_civil_aliases():
    civil = AliasMap(CIVIL.columns)
    assert civil.lookup("月标准（元）")[0] == "monthly_amount"
    assert civil.lookup("公民身份号码")[0] == "id_number"


def test_header_key_ignores_width_spaces_and_brackets():
    assert (
        header_key("家庭年人均收入（元）") == header_key("家庭年人均收入 (元)") == "家庭年人均收入"
    )


def rows(*lines):
    return iter(list(enumerate(lines, start=1)))


def test_header_found_under_titles_and_group_headers():
    header, _, consumed = find_header(
        rows(
            ["霍邱县持证残疾人基本状况调查数据（2022年）", "", ""],
            ["填报单位：霍邱县残联", "", ""],
            ["基本信息", "", "", "家庭经济"],
            ["序号", "姓名", "身份证号码", "残疾类别", "残疾等级", "乡镇", "村"],
            [1, "张三", "x", "肢体", "一级", "城关", "东关村"],
        ),
        SURVEY_MAP,
    )
    assert header.row_number == 4
    assert header.indexes["name"] == 1
    assert header.names["id_number"] == "身份证号码"
    assert header.missing_required == []
    assert len(consumed) == 4


def test_exact_name_wins_over_relaxed_one():
    header = SURVEY_MAP.match_row(1, ["姓名", "是否享受低保", "享受低保", "身份证号", "残疾类别"])
    assert header.indexes["dibao"] == 2


def test_missing_required_columns_are_named():
    header, _, _ = find_header(rows(["姓名", "身份证号", "乡镇", "村"]), SURVEY_MAP)
    assert header.missing_required == ["残疾类别", "残疾等级"]


def test_no_header_in_first_rows():
    header, best, _ = find_header(rows(["标题"], ["姓名", "备注"], ["a", "b"]), SURVEY_MAP)
    assert header is None
    assert best.row_number == 2
