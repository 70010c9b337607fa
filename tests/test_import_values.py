"""Value normalisers of the import engine (monitoring/importing/values.py), docs/IMPORTS.md."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitoring.importing import values as v

from .import_files import id_to_15, make_id

FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


# --- numbers ---------------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=999_999_999), st.integers(min_value=0, max_value=99))
def test_amount_spellings_all_mean_the_same_number(whole, cents):
    expected = Decimal(f"{whole}.{cents:02d}")
    plain = f"{whole}.{cents:02d}"
    grouped = f"{whole:,}.{cents:02d}"
    spellings = [plain, grouped, f"{grouped}元", plain.translate(FULL_WIDTH_DIGITS), f" {plain} "]
    for spelling in spellings:
        assert v.decimal_amount(spelling) == expected, spelling


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_amount_from_excel_numbers(number):
    assert v.decimal_amount(float(number)) == Decimal(number)
    assert v.decimal_amount(number) == Decimal(number)


@pytest.mark.parametrize("raw", [None, "", "  ", "-", "—", "/"])
def test_blank_amount_is_unknown(raw):
    assert v.decimal_amount(raw) is None


@pytest.mark.parametrize("raw", ["abc", "12.3.4", "无", "三千", "1e5x"])
def test_bad_amount_is_refused_with_a_chinese_reason(raw):
    with pytest.raises(v.ValueProblem, match="不是有效的数字"):
        v.decimal_amount(raw, label="家庭年人均收入")


def test_negative_expenditure_refused_but_income_allowed():
    assert v.decimal_amount("-100") == Decimal("-100")
    with pytest.raises(v.ValueProblem, match="不能为负数"):
        v.money("大额刚性支出", allow_negative=False)("-100")


def test_whole_number():
    parse = v.whole_number("家庭人口数", 1, 99)
    assert parse("３") == 3
    assert parse(4.0) == 4
    assert parse("5人") == 5
    with pytest.raises(v.ValueProblem, match="不是整数"):
        parse("2.5")
    with pytest.raises(v.ValueProblem, match="超出范围"):
        parse(0)


# --- dates ---------------------------------------------------------------------------------------

dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31))


@given(dates)
def test_every_date_spelling(day):
    spellings = [
        day,
        datetime(day.year, day.month, day.day, 0, 0),
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day:%Y%m%d}",
        float(f"{day:%Y%m%d}"),
        f"{day:%Y-%m-%d} 00:00:00",
        f"{day:%Y%m%d}".translate(FULL_WIDTH_DIGITS),
    ]
    for spelling in spellings:
        assert v.parse_date(spelling) == day, spelling


@given(dates)
def test_excel_serial_numbers(day):
    serial = (day - date(1899, 12, 30)).days
    assert v.parse_date(float(serial)) == day


@given(st.integers(min_value=1950, max_value=2099), st.integers(min_value=1, max_value=12))
def test_months_only_where_allowed(year, month):
    for spelling in (
        f"{year}{month:02d}",
        f"{year}-{month:02d}",
        f"{year}年{month}月",
        float(f"{year}{month:02d}"),
    ):
        assert v.parse_date(spelling, allow_month=True) == date(year, month, 1)
        with pytest.raises(v.ValueProblem, match="只有年月"):
            v.parse_date(spelling)


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("2022-02-30", "不存在"),
        ("2022/13/1", "不存在"),
        ("昨天", "无法识别"),
        ("1800-01-01", "年份"),
    ],
)
def test_bad_dates(raw, reason):
    with pytest.raises(v.ValueProblem, match=reason):
        v.parse_date(raw)


# --- yes / no ------------------------------------------------------------------------------------

YES = ["是", "有", "√", "Y", "y", "1", 1, 1.0, True, "Ｙ"]
NO = ["否", "无", "×", "N", "n", "0", 0, 0.0, False]


@pytest.mark.parametrize("raw", YES)
def test_yes_spellings(raw):
    assert v.yes_no_parser("享受低保")(raw) is True


@pytest.mark.parametrize("raw", NO)
def test_no_spellings(raw):
    assert v.yes_no_parser("享受低保")(raw) is False


@pytest.mark.parametrize("raw", [None, "", " ", "-"])
def test_blank_yes_no_is_unknown_not_no(raw):
    assert v.yes_no_parser("享受低保")(raw) is None


def test_unknown_yes_no_word_is_refused():
    with pytest.raises(v.ValueProblem, match="享受低保“可能”无法识别"):
        v.yes_no_parser("享受低保")("可能")
    with pytest.raises(v.ValueProblem):
        v.yes_no_parser("享受低保")(2)


def test_column_specific_words():
    parse = v.yes_no_parser("住房安全", ("安全",), ("不安全",))
    assert parse("安全") is True
    assert parse("不安全") is False


# --- grades, categories, townships ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("一级", 1),
        ("1级", 1),
        ("1", 1),
        (1, 1),
        (1.0, 1),
        ("二级", 2),
        ("２级", 2),
        ("三", 3),
        ("4级", 4),
        ("Ⅳ级", 4),
        ("四级残疾", 4),
    ],
)
def test_grades(raw, expected):
    assert v.grade(raw) == expected


@pytest.mark.parametrize("raw", ["五级", 5, "0", "重度"])
def test_bad_grade(raw):
    with pytest.raises(v.ValueProblem, match="残疾等级"):
        v.grade(raw)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("视力", 1),
        ("视力残疾", 1),
        ("听力残疾", 2),
        ("言语", 3),
        ("肢体", 4),
        ("智力残疾", 5),
        ("精神", 6),
        ("多重残疾", 7),
        (7.0, 7),
        (" 肢 体 ", 4),
    ],
)
def test_categories(raw, expected):
    assert v.category(raw) == expected


def test_bad_category():
    with pytest.raises(v.ValueProblem, match="残疾类别“脚”无法识别"):
        v.category("脚")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("河口", "河口镇"),
        ("河口镇", "河口镇"),
        ("霍邱县河口镇", "河口镇"),
        ("彭塔", "彭塔乡"),
        ("彭塔乡", "彭塔乡"),
        (" 城 关 镇 ", "城关镇"),
        ("开发区", "霍邱经济开发区"),
    ],
)
def test_townships(raw, expected):
    assert v.township(raw) == expected


def test_unknown_township():
    with pytest.raises(v.ValueProblem, match="不是霍邱县的乡镇"):
        v.township("北京")


# --- IDs, names, lists --------------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=29999))
def test_id_spellings_normalise_to_one_number(n):
    number = make_id(n)
    spellings = [
        number,
        number.translate(FULL_WIDTH_DIGITS),
        f" {number[:6]} {number[6:14]} {number[14:]} ",
        "'" + number,
        number.lower(),
    ]
    if number[6:8] == "19":
        spellings.append(id_to_15(number))
        spellings.append(float(id_to_15(number)))  # a 15-digit number Excel kept exactly
    for spelling in spellings:
        assert v.id_number(spelling).number == number, spelling


def test_float_id_is_refused_with_the_identity_message():
    with pytest.raises(v.ValueProblem, match="存成了数字"):
        v.id_number(3.41522199001011e17)
    with pytest.raises(v.ValueProblem, match="存成了数字"):
        v.id_number("3.41522199001011E+17")


def test_bad_check_character():
    number = make_id(5)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    with pytest.raises(v.ValueProblem, match="校验位错误"):
        v.id_number(wrong)


def test_names_lose_spaces_and_width():
    assert v.person_name(" 赵 春平 ") == "赵春平"
    assert v.person_name("ＡＢＣ") == "ABC"
    assert v.person_name("  ") is None
    with pytest.raises(v.ValueProblem):
        v.person_name(12.0)


def test_lists():
    assert v.split_list("康复训练、辅助器具；药物，护理,手术") == [
        "康复训练",
        "辅助器具",
        "药物",
        "护理",
        "手术",
    ]
    assert v.split_list("药物、药物") == ["药物"]
    parse = v.list_parser("风险类型", ["因病", "因残"])
    assert parse("因病、因残") == ["因病", "因残"]
    assert parse("") is None
    with pytest.raises(v.ValueProblem, match="“因穷”无法识别"):
        parse("因病、因穷")


def test_code_text_keeps_digits_and_refuses_rounded_numbers():
    parse = v.code_text(32, "户编号")
    assert parse(3415221000001.0) == "3415221000001"
    assert parse("'0012") == "0012"
    with pytest.raises(v.ValueProblem, match="存成了数字"):
        parse(3.4152210000012346e19)


def test_choice_parser():
    parse = v.choice_parser("状态", {"在保": "active", "停保": "stopped"})
    assert parse(" 在 保 ") == "active"
    assert parse(None) is None
    with pytest.raises(v.ValueProblem, match="应为：在保、停保"):
        parse("不知道")


def test_excel_serial_date_reads_plausible_range_only():
    assert v.parse_date(45000.0) == date(1899, 12, 30) + timedelta(days=45000)
    with pytest.raises(v.ValueProblem):
        v.parse_date(-5.0)


def test_cached_parser_keeps_types_apart_and_remembers_failures():
    calls = []

    def parse(raw):
        calls.append(raw)
        if raw == "bad":
            raise v.ValueProblem("坏值")
        return [raw] if raw == "list" else type(raw).__name__

    cached = v.cached(parse)
    assert cached(1) == "int" and cached(1.0) == "float" and cached(True) == "bool"
    assert cached(1) == "int"
    for _ in range(2):
        with pytest.raises(v.ValueProblem, match="坏值"):
            cached("bad")
    first = cached("list")
    first.append("changed")
    assert cached("list") == ["list"]  # callers get their own copy of a list
    assert calls == [1, 1.0, True, "bad", "list"]
