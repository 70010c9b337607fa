"""Property tests for cases/identity.py (docs/RULES.md#identity): ID numbers and certificate numbers."""

from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from cases.identity import (
    CATEGORY_NAMES,
    CHECK_CHARS,
    WEIGHTS,
    IdentityError,
    age_on,
    check_character,
    convert_15_to_18,
    is_valid_id_number,
    mask_id_number,
    normalise_id_number,
    parse_certificate_number,
    parse_id_number,
)

TODAY = date.today()
DIGITS = "0123456789"
FULL_WIDTH = {c: chr(ord(c) + 0xFEE0) for c in DIGITS + "Xx"}


def reference_check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 written the textbook way: a value 0..10 with (sum + check) ≡ 1 mod 11."""
    total = sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


area_codes = st.one_of(
    st.just("341522"),
    st.from_regex(r"\A[1-9][0-9]{5}\Z", fullmatch=True),
)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def valid_ids(draw, birth_dates=births):
    area, born, sequence = draw(area_codes), draw(birth_dates), draw(sequences)
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + reference_check_character(first17)


@st.composite
def messy_variants(draw, number: str):
    """How an ID really arrives from a sheet: full-width, spaced, apostrophe, lower-case x."""
    text = number
    if draw(st.booleans()):
        text = "".join(FULL_WIDTH[c] if draw(st.booleans()) else c for c in text)
    if draw(st.booleans()):
        text = text.replace("X", "x").replace(FULL_WIDTH["X"], FULL_WIDTH["x"])
    spaces = draw(st.lists(st.sampled_from([" ", "\u3000", "\t", "\u00a0"]), max_size=4))
    for space in spaces:
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + space + text[at:]
    if draw(st.booleans()):
        text = draw(st.sampled_from(["'", "\uff07"])) + text
    return text


def test_weights_and_check_chars_follow_the_standard():
    assert tuple(2 ** (17 - i) % 11 for i in range(17)) == WEIGHTS
    assert (
        "".join("X" if (12 - s) % 11 == 10 else str((12 - s) % 11) for s in range(11))
        == CHECK_CHARS
    )


@given(valid_ids())
def test_check_character_agrees_with_textbook_definition(number):
    assert check_character(number[:17]) == number[17]


@given(st.data(), valid_ids())
def test_valid_id_round_trips_through_normalise_and_parse(data, number):
    messy = data.draw(messy_variants(number))
    assert normalise_id_number(messy) == number
    parsed = parse_id_number(messy)
    assert parsed.number == number
    assert parsed.area_code == number[:6]
    assert parsed.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert not parsed.converted_from_15
    assert is_valid_id_number(messy)


@given(st.data(), valid_ids())
def test_every_single_character_corruption_is_caught(data, number):
    position = data.draw(st.integers(min_value=0, max_value=17), label="position")
    allowed = DIGITS + ("X" if position == 17 else "")
    replacement = data.draw(st.sampled_from([c for c in allowed if c != number[position]]))
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdentityError) as caught:
        parse_id_number(corrupted)
    assert "校验位" in str(caught.value) or "出生日期" in str(caught.value)
    assert not is_valid_id_number(corrupted)


@given(st.data(), valid_ids())
def test_every_corruption_at_every_position_is_caught_exhaustively(data, number):
    """All 17×9 + 10 corruptions of one number, not a sample."""
    for position in range(18):
        allowed = DIGITS + ("X" if position == 17 else "")
        for replacement in allowed:
            if replacement == number[position]:
                continue
            corrupted = number[:position] + replacement + number[position + 1 :]
            assert not is_valid_id_number(corrupted), corrupted


def test_wrong_check_character_message_names_the_expected_character():
    number = "34152219900101001"
    number += check_character(number)
    wrong = "0" if number[17] != "0" else "1"
    with pytest.raises(IdentityError, match=f"最后一位应为{number[17]}"):
        parse_id_number(number[:17] + wrong)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), area_codes, sequences)
def test_15_digit_id_converts_to_18(born, area, sequence):
    id15 = f"{area}{born:%y%m%d}{sequence:03d}"
    id18 = convert_15_to_18(id15)
    assert len(id18) == 18
    assert id18[:6] == area
    assert id18[6:14] == f"{born:%Y%m%d}"
    assert id18[14:17] == f"{sequence:03d}"
    assert id18[17] == reference_check_character(id18[:17])
    parsed = parse_id_number(id15)
    assert parsed.number == id18
    assert parsed.birth_date == born
    assert parsed.converted_from_15
    assert parsed.gender == ("M" if sequence % 2 else "F")


@given(valid_ids(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31))))
def test_18_to_15_to_18_round_trip_for_19xx_births(id18):
    id15 = id18[:6] + id18[8:17]
    assert convert_15_to_18(id15) == id18


@pytest.mark.parametrize("bad", ["34152290010100", "3415229001010a1", "34152290013200A"])
def test_malformed_15_digit_ids_are_refused(bad):
    with pytest.raises(IdentityError):
        parse_id_number(bad)


def test_15_digit_id_with_impossible_date_is_refused():
    with pytest.raises(IdentityError, match="出生日期"):
        parse_id_number("341522900230001")


@given(valid_ids())
def test_gender_comes_from_the_17th_digit(number):
    expected = "M" if int(number[16]) % 2 == 1 else "F"
    assert parse_id_number(number).gender == expected


def test_gender_examples_both_ways():
    male = "34152219900101001"
    female = "34152219900101002"
    assert parse_id_number(male + check_character(male)).gender == "M"
    assert parse_id_number(female + check_character(female)).gender == "F"


@pytest.mark.parametrize(
    "raw", ["", "   ", None, "3415221990010100", "3415221990010100123", "34152219900101001Y"]
)
def test_wrong_length_or_characters_refused(raw):
    with pytest.raises(IdentityError):
        parse_id_number(raw)


def test_future_birth_date_refused():
    future = TODAY + timedelta(days=1)
    first17 = f"341522{future:%Y%m%d}001"
    with pytest.raises(IdentityError, match="出生日期"):
        parse_id_number(first17 + check_character(first17), today=TODAY)


def test_impossible_date_refused_even_with_right_check_character():
    first17 = "34152219900230001"  # 30 Feb
    with pytest.raises(IdentityError, match="出生日期"):
        parse_id_number(first17 + check_character(first17))


# --- age_on ---


def reference_age(born: date, on: date) -> int:
    """Count the birthdays that have passed (29 Feb birthdays fall on 1 Mar in common years)."""
    years = 0
    for year in range(born.year + 1, on.year + 1):
        try:
            birthday = born.replace(year=year)
        except ValueError:
            birthday = date(year, 3, 1)
        if birthday <= on:
            years += 1
    return years


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=120 * 366),
)
def test_age_on_counts_passed_birthdays(born, days_later):
    on = born + timedelta(days=days_later)
    assert age_on(born, on) == reference_age(born, on)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2000, 2, 29), 0),
        (date(2001, 2, 28), 0),
        (date(2001, 3, 1), 1),
        (date(2003, 2, 28), 2),
        (date(2003, 3, 1), 3),
        (date(2004, 2, 28), 3),
        (date(2004, 2, 29), 4),
        (date(2016, 2, 29), 16),
    ],
)
def test_age_on_for_29_february(on, expected):
    assert age_on(date(2000, 2, 29), on) == expected


def test_age_on_is_a_day_exact_boundary():
    born = date(2010, 9, 1)
    assert age_on(born, date(2016, 8, 31)) == 5
    assert age_on(born, date(2016, 9, 1)) == 6


# --- Excel floats ---


@pytest.mark.parametrize(
    "raw",
    [
        3.41522199001011e17,
        341522199001011234,
        "3.41522199001011E+17",
        "3.41522199001011e+17",
        "3.41522199001011E17",
        "3.41522199001011Ｅ+17",
        " 3.41522199001011E+17 ",
        "341522199001011000.0",
    ],
)
def test_float_corrupted_ids_refused_with_excel_message(raw):
    with pytest.raises(IdentityError) as caught:
        parse_id_number(raw)
    message = str(caught.value)
    assert "Excel" in message
    assert "文本" in message
    assert "丢失" in message


@given(st.floats(min_value=1e17, max_value=9.99e17))
def test_any_float_is_refused_never_guessed(value):
    with pytest.raises(IdentityError, match="Excel"):
        normalise_id_number(value)
    with pytest.raises(IdentityError, match="Excel"):
        normalise_id_number(f"{value:E}")


# --- certificates ---

categories = st.integers(min_value=1, max_value=7)
grades = st.integers(min_value=1, max_value=4)
reissues = st.one_of(st.none(), st.integers(min_value=1, max_value=9))


@given(valid_ids(), categories, grades, reissues, st.booleans())
def test_certificate_parses(number, category, grade, reissue, lower_case):
    suffix = f"{'b' if lower_case else 'B'}{reissue}" if reissue else ""
    raw = f"{number}{category}{grade}{suffix}"
    if lower_case:
        raw = raw.replace("X", "x")
    parsed = parse_certificate_number(raw, id_number=number, category=category, grade=grade)
    assert parsed.id_number == number
    assert parsed.category == category
    assert parsed.grade == grade
    assert parsed.reissue == reissue
    assert parsed.number == f"{number}{category}{grade}" + (f"B{reissue}" if reissue else "")
    assert len(parsed.number) == (22 if reissue else 20)


@given(st.data(), valid_ids(), categories, grades)
def test_certificate_normalised_like_an_id(data, number, category, grade):
    messy = data.draw(messy_variants(f"{number}{category}{grade}"))
    assert parse_certificate_number(messy).number == f"{number}{category}{grade}"


@given(valid_ids(), categories, grades, valid_ids())
def test_certificate_of_another_id_is_refused(number, category, grade, other):
    assume(other != number)
    with pytest.raises(IdentityError, match="前18位与身份证号不一致"):
        parse_certificate_number(f"{number}{category}{grade}", id_number=other)


@given(valid_ids(), categories, grades, categories)
def test_certificate_category_mismatch_refused(number, category, grade, stated):
    assume(stated != category)
    with pytest.raises(IdentityError, match="残疾类别") as caught:
        parse_certificate_number(f"{number}{category}{grade}", id_number=number, category=stated)
    assert CATEGORY_NAMES[category] in str(caught.value)
    assert CATEGORY_NAMES[stated] in str(caught.value)


@given(valid_ids(), categories, grades, grades)
def test_certificate_grade_mismatch_refused(number, category, grade, stated):
    assume(stated != grade)
    with pytest.raises(IdentityError, match="残疾等级"):
        parse_certificate_number(f"{number}{category}{grade}", grade=stated)


@given(valid_ids(), st.sampled_from([0, 8, 9]), grades)
def test_certificate_category_out_of_range_refused(number, category, grade):
    with pytest.raises(IdentityError, match="第19位"):
        parse_certificate_number(f"{number}{category}{grade}")


@given(valid_ids(), categories, st.sampled_from([0, 5, 6, 7, 8, 9]))
def test_certificate_grade_out_of_range_refused(number, category, grade):
    with pytest.raises(IdentityError, match="第20位"):
        parse_certificate_number(f"{number}{category}{grade}")


@pytest.mark.parametrize("suffix", ["B0", "B10", "B", "C1", "1", "BB1"])
def test_certificate_bad_suffix_refused(suffix):
    number = "34152219900101001"
    number += check_character(number)
    with pytest.raises(IdentityError, match="格式错误"):
        parse_certificate_number(f"{number}42{suffix}")


def test_certificate_too_short_refused():
    number = "34152219900101001"
    number += check_character(number)
    with pytest.raises(IdentityError, match="格式错误"):
        parse_certificate_number(f"{number}4")
    with pytest.raises(IdentityError, match="格式错误"):
        parse_certificate_number("")


@given(st.data(), valid_ids(), categories, grades)
def test_certificate_with_corrupted_id_part_refused(data, number, category, grade):
    position = data.draw(st.integers(min_value=0, max_value=16))
    replacement = data.draw(st.sampled_from([c for c in DIGITS if c != number[position]]))
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(IdentityError, match="前18位不是有效的身份证号"):
        parse_certificate_number(f"{corrupted}{category}{grade}")


def test_certificate_stored_as_float_refused():
    with pytest.raises(IdentityError, match="Excel"):
        parse_certificate_number("3.4152219900101E+19")


# --- masks ---


@given(valid_ids())
def test_mask_hides_birth_date_and_sequence(number):
    masked = mask_id_number(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]
