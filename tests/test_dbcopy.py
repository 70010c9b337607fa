"""The one COPY text-format encoder (cases/dbcopy.py) used by imports, the cross-check, the
demo county and the benchmarks."""

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from cases.dbcopy import NULL, copy_escape, copy_line, copy_text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "\\N"),
        (True, "t"),
        (False, "f"),
        (0, "0"),
        (42, "42"),
        (Decimal("1234.50"), "1234.50"),
        (Decimal("-0.01"), "-0.01"),
        (date(2026, 3, 5), "2026-03-05"),
        (datetime(2026, 3, 5, 8, 30, 1, 5, tzinfo=UTC), "2026-03-05T08:30:01.000005+00:00"),
        ("", ""),
        ("霍邱县城关镇", "霍邱县城关镇"),
        ("a\\b", "a\\\\b"),
        ("a\tb", "a\\tb"),
        ("line\nbreak", "line\\nbreak"),
        ("cr\rlf\n", "cr\\rlf\\n"),
        ("\\N", "\\\\N"),  # the text "\N" is not NULL
        (json.dumps(["康复训练", "辅\t具"], ensure_ascii=False), '["康复训练", "辅\\\\t具"]'),
    ],
)
def test_copy_text(value, expected):
    assert copy_text(value) == expected


def test_copy_escape_is_the_text_path_of_copy_text():
    for text in ("", "plain", "a\\b\tc\nd\re", "姓名"):
        assert copy_escape(text) == copy_text(text)
    assert copy_escape(7) == "7"
    assert NULL == "\\N"


def test_copy_line():
    assert copy_line([1, None, "a\tb", True, date(2026, 1, 2)]) == "1\t\\N\ta\\tb\tt\t2026-01-02\n"
    assert copy_line([]) == "\n"


@pytest.mark.services
def test_values_round_trip_through_postgresql_copy(postgres, db):
    values = [
        None,
        True,
        False,
        42,
        Decimal("1234.50"),
        date(2026, 3, 5),
        datetime(2026, 3, 5, 8, 30, 1, tzinfo=UTC),
        "back\\slash\ttab\nnewline\rreturn",
        "\\N",
        json.dumps({"需求": ["康复训练"]}, ensure_ascii=False),
    ]
    types = [
        "text",
        "boolean",
        "boolean",
        "integer",
        "numeric(12, 2)",
        "date",
        "timestamptz",
        "text",
        "text",
        "jsonb",
    ]
    columns = ", ".join(f"c{i} {kind}" for i, kind in enumerate(types))
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE dbcopy_check ({columns})")
        cursor.copy_expert("COPY dbcopy_check FROM STDIN", io.StringIO(copy_line(values)))
        cursor.execute("SELECT * FROM dbcopy_check")
        row = list(cursor.fetchone())
    assert row[:9] == values[:9]
    assert json.loads(row[9]) == {"需求": ["康复训练"]}  # Django reads jsonb as text
