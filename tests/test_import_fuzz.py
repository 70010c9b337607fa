"""Bad input at scale: property-based fuzzing of the import engine.

Hypothesis builds sheets of every source with random headers (known names, aliases,
junk), random cells of every type a spreadsheet can hold (text with any characters,
full-width digits, formula-like text, IDs valid and broken, huge and negative numbers,
floats, dates, booleans, blanks), random title rows, and writes them as .xlsx, .xls or
.csv in random encodings — or as random bytes under a spreadsheet name. Whatever it
builds, `engine.validate` never raises: every problem comes back as a row error (row,
column, Chinese message) or a file-level error, and the counts stay consistent.
"""

import codecs
import os
import string
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.geography import TOWNSHIPS
from monitoring.importing import engine
from monitoring.importing.engine import RowError, ValidationResult
from monitoring.models import Source

from .import_files import (
    CIVIL_HEADER,
    ROSTER_HEADER,
    SURVEY_HEADER,
    make_id,
    survey_row,
    write_csv,
    write_xls,
    write_xlsx,
)

HEADERS = {Source.SURVEY: SURVEY_HEADER, Source.ROSTER: ROSTER_HEADER, Source.CIVIL: CIVIL_HEADER}
# The engine's only outside knowledge: full township name → id (ids are arbitrary here).
TOWNSHIP_IDS = {name: index for index, (name, _kind) in enumerate(TOWNSHIPS, start=1)}

FUZZ = settings(
    max_examples=int(
        os.environ.get("HUOQIU_FUZZ_EXAMPLES", "60")
    ),  # more: HUOQIU_FUZZ_EXAMPLES=2000
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=False,
)

# Characters an Excel XML cell can hold (no C0 controls but tab/newline/CR).
_XML_SAFE = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters=[chr(c) for c in range(32) if chr(c) not in "\t\n\r"]
    + ["\ufffe", "\uffff"],
)
_ANY_CHAR = st.characters(blacklist_categories=("Cs",))

_interesting_text = st.sampled_from(
    [
        "是",
        "否",
        "√",
        "×",
        "Y",
        "n",
        "1",
        "0",
        "一级",
        "4级",
        "五级",
        "肢体残疾",
        "视力",
        "精神病",
        "城关",
        "城关镇",
        "不存在镇",
        "合计",
        "填表人：张三",
        "12,000元",
        "１２０００",
        "-5",
        "1e309",
        "NaN",
        "2022年3月5日",
        "2022.13.45",
        "20220230",
        "202203",
        "=1+1",
        "@SUM(A1)",
        "'341522199001011234",
        "3.41522199001011E+17",
        "34152219900101123X",
        "341522900101123",
        make_id(7),
        make_id(8) + "42",
        make_id(9) + "42B1",
        "康复训练、辅助器具；护理",
        "正常",
        "死亡",
        "迁出",
        "监测户",
        "脱贫户",
        "一般户",
        "边缘易致贫户",
        "因病、因残、外星人",
        "在保",
        "停保",
        "城乡低保",
        "临时救助",
        " ",
        "\u3000",
        "",
    ]
)


def cell_strategy(text_chars):
    return st.one_of(
        st.none(),
        _interesting_text,
        st.text(text_chars, max_size=40),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.booleans(),
        st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)),
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
        st.decimals(
            allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9
        ),
    )


@st.composite
def sheets(draw, text_chars):
    """(source, cells) — a header somewhere, rows of random cells, maybe title rows."""
    source = draw(st.sampled_from(list(HEADERS)))
    known = HEADERS[source]
    header = draw(
        st.lists(
            st.one_of(st.sampled_from(known), st.text(text_chars, min_size=1, max_size=12)),
            min_size=1,
            max_size=len(known) + 3,
        )
    )
    if draw(st.booleans()):
        header = list(known)  # often the real header, so the rows get parsed
    width = len(header)
    cell = cell_strategy(text_chars)
    rows = draw(st.lists(st.lists(cell, min_size=0, max_size=width + 2), min_size=0, max_size=12))
    titles = draw(st.lists(st.lists(cell, max_size=3), max_size=3))
    if draw(st.booleans()) and source == Source.SURVEY:
        # A valid row among the garbage: it must come through.
        rows.append([survey_row(3).get(name) for name in header])
    return source, [*titles, header, *rows]


def check(result: ValidationResult) -> None:
    """What every result must look like, whatever the input."""
    assert isinstance(result, ValidationResult)
    for error in result.errors:
        assert isinstance(error, RowError)
        assert isinstance(error.message, str) and error.message.strip()
        assert error.row is None or error.row >= 1
        assert isinstance(error.column, str)
    if result.file_error is not None:
        assert result.errors and not result.rows and not result.invalid_rows
    row_numbers = {row.row for row in result.rows}
    error_rows = {error.row for error in result.errors if error.row is not None}
    assert result.invalid_rows <= error_rows
    assert len(row_numbers) == len(result.rows)
    assert result.invalid_count <= result.data_rows
    assert len(result.rows) <= result.data_rows
    assert all(row.row not in result.invalid_rows for row in result.valid_rows)


def validate(source, path) -> ValidationResult:
    return engine.validate(source, path, TOWNSHIP_IDS)


@FUZZ
@given(data=sheets(_XML_SAFE))
def test_xlsx_never_raises(tmp_path_factory, data):
    source, cells = data
    path = tmp_path_factory.mktemp("fuzz") / "f.xlsx"
    write_xlsx(path, [[_xlsx_safe(value) for value in row] for row in cells])
    check(validate(source, path))


def _xlsx_safe(value):
    if isinstance(value, Decimal):
        return float(value)
    return value


@FUZZ
@given(data=sheets(_XML_SAFE))
def test_xls_never_raises(tmp_path_factory, data):
    source, cells = data
    cleaned = [[_xls_safe(value) for value in row][:255] for row in cells]
    path = tmp_path_factory.mktemp("fuzz") / "f.xls"
    write_xls(path, cleaned)
    check(validate(source, path))


def _xls_safe(value):
    """xlwt writes text ≤ 32,767 chars, floats, dates ≥ 1900 and booleans."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value if value.year >= 1900 else str(value)
    return value


@FUZZ
@given(
    data=sheets(_ANY_CHAR),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "latin-1", "big5"]),
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
)
def test_csv_in_any_encoding_never_raises(tmp_path_factory, data, encoding, delimiter):
    source, cells = data
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    text_rows = [["" if value is None else str(value) for value in row] for row in cells]
    # Characters the encoding cannot hold are dropped, as a real export would lose them.
    encoded_rows = [
        [codecs.decode(codecs.encode(cell, encoding, "ignore"), encoding, "ignore") for cell in row]
        for row in text_rows
    ]
    write_csv(path, encoded_rows, encoding=encoding, delimiter=delimiter)
    check(validate(source, path))


@FUZZ
@given(
    blob=st.one_of(
        st.binary(max_size=4096),
        st.binary(max_size=2048).map(lambda tail: b"PK\x03\x04" + tail),
        st.binary(max_size=2048).map(lambda tail: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + tail),
        st.text(string.printable + "，。姓名公民身份号码", max_size=500).map(str.encode),
    ),
    suffix=st.sampled_from([".xlsx", ".xls", ".csv", ".txt"]),
    source=st.sampled_from(list(HEADERS)),
)
def test_random_bytes_never_raise(tmp_path_factory, blob, suffix, source):
    path = tmp_path_factory.mktemp("fuzz") / f"f{suffix}"
    path.write_bytes(blob)
    result = validate(source, path)
    check(result)
    assert result.file_error is not None or result.data_rows >= 0


def test_a_valid_row_among_garbage_comes_through(tmp_path):
    """The fuzz oracle is not vacuous: a clean row next to broken ones is accepted."""
    header = list(SURVEY_HEADER)
    good = survey_row(3)
    bad = dict(good, **{"公民身份号码": "3.41522199001011E+17", "姓名": None})
    cells = [header, [bad.get(name) for name in header], [good.get(name) for name in header]]
    path = write_xlsx(tmp_path / "mixed.xlsx", cells)
    result = validate(Source.SURVEY, path)
    check(result)
    assert result.data_rows == 2
    assert result.invalid_rows == {2}
    assert [row.row for row in result.valid_rows] == [3]
    assert any("Excel" in error.message for error in result.errors if error.row == 2)


@pytest.mark.parametrize("source", list(HEADERS))
def test_empty_and_header_only_files_are_file_errors(tmp_path, source):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert validate(source, empty).file_error
    header_only = write_xlsx(tmp_path / "header.xlsx", [HEADERS[source]])
    result = validate(source, header_only)
    check(result)
    assert result.data_rows == 0 and not result.rows
