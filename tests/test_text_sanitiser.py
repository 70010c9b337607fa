"""One control character must not break an export, and no bidi override may leave the system.

A name, note or username holding \\x01, \\x07 or \\x1b (from an import, a form or a failed
login) made openpyxl raise `IllegalCharacterError`, so every .xlsx export in its scope
answered 500; U+202E and its kin reordered the text wherever it was shown. Every
spreadsheet path goes through `cases.exports.safe_cell` → `cases.text.clean_text`; each
test here drives one path end to end with such text and loads the file it produced.
"""

import io
import os
import re
from datetime import date
from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.template import Context, Template
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

from cases.exports import FORMULA_PREFIXES, safe_cell
from cases.models import AuditEvent, Household, Person, Township, TrackingVisit
from cases.text import MARKER, clean_text
from monitoring.models import Finding
from monitoring.rosters import write_pension_roster

from . import factories
from .downloads import response_bytes
from .import_files import SURVEY_HEADER, survey_row, write_table
from .test_import_report import report_for

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL = "恶\x01意\x07名\x1b字\u202eexe.txt"
# What must never reach a cell: C0 controls but tab/newline/CR, and the bidi controls.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\u202a-\u202e\u2066-\u2069]")


def cells_of(book) -> list[str]:
    return [
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]


def assert_clean(book):
    """No forbidden character anywhere; the evil text is there, marked, not dropped."""
    cells = cells_of(book)
    assert not [cell for cell in cells if FORBIDDEN.search(cell)]
    assert any(clean_text(EVIL) in cell for cell in cells)


def book_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    return load_workbook(io.BytesIO(response_bytes(response)))


# --- the sanitiser ----------------------------------------------------------------------------


def test_clean_text_marks_controls_and_bidi_and_keeps_layout_characters():
    assert clean_text(EVIL) == f"恶{MARKER}意{MARKER}名{MARKER}字{MARKER}exe.txt"
    assert clean_text("第一行\n第二行\t备注\r") == "第一行\n第二行\t备注\r"
    for char in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert clean_text(f"a{char}b") == f"a{MARKER}b"
    assert clean_text("\ud800\ufffe\uffff\x00") == MARKER * 4


def test_safe_cell_cleans_before_it_escapes_formulas():
    assert safe_cell("\x01=1+1") == f"{MARKER}=1+1"
    assert safe_cell("=1+1\u202e") == f"'=1+1{MARKER}"
    assert safe_cell("\t=cmd") == "'\t=cmd"
    assert safe_cell(3) == 3 and safe_cell(None) is None


# --- every export path ------------------------------------------------------------------------

STAFF_EXPORTS = ["staff:person_export", "staff:household_export", "staff:visit_export"]


@pytest.mark.parametrize("name", [*STAFF_EXPORTS, "staff:finding_export"])
def test_staff_exports_survive_control_and_bidi_characters(client, hekou_user, home, name):
    Person.objects.filter(pk=home.head.pk).update(name=EVIL)
    Household.objects.filter(pk=home.household.pk).update(head_name=EVIL)
    TrackingVisit.objects.filter(pk=home.visit.pk).update(notes=EVIL)
    Finding.objects.filter(person=home.head).update(reason=EVIL)
    client.force_login(hekou_user)
    assert_clean(book_of(client.get(reverse(name))))


def test_stats_export_survives_a_township_name_with_control_characters(client, viewer_user):
    Township.objects.filter(name="河口镇").update(name=EVIL)
    client.force_login(viewer_user)
    assert_clean(book_of(client.get(reverse("staff:stats_export"))))


def test_audit_export_survives_an_anonymous_failed_login(client, county_admin):
    response = client.post(reverse("login"), {"username": EVIL, "password": "wrong-password-1"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="login_failed", username=EVIL).exists()
    client.force_login(county_admin)
    ids = list(AuditEvent.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("admin:cases_auditevent_changelist"),
        {"action": "export_xlsx", "_selected_action": ids},
    )
    assert_clean(book_of(response))


def test_admin_person_export_survives_control_characters(client, county_admin):
    person = factories.PersonFactory(name=EVIL)
    client.force_login(county_admin)
    response = client.post(
        reverse("admin:cases_person_changelist"),
        {"action": "export_xlsx", "_selected_action": [person.pk]},
    )
    assert_clean(book_of(response))


def test_finance_roster_survives_control_characters(admin_user):
    birth = date(1986, 6, 1)
    factories.certified_person(
        grade=1, birth=birth, township="城关镇", pension_insured=True, name=EVIL
    )
    buffer = BytesIO()
    result = write_pension_roster(buffer, 2026, user=admin_user, made_on=date(2026, 7, 2))
    assert result.rows == 1
    buffer.seek(0)
    assert_clean(load_workbook(buffer))


def test_findings_command_survives_control_characters(home, tmp_path):
    Person.objects.filter(pk=home.head.pk).update(name=EVIL)
    path = tmp_path / "findings.xlsx"
    call_command("export_findings", "--format", "xlsx", "--output", str(path), stderr=StringIO())
    assert_clean(load_workbook(path))


def test_import_error_report_cleans_the_users_cells(tmp_path):
    rows = [survey_row(1, 姓名=EVIL, 残疾等级="九级")]
    path = write_table(tmp_path / "s.csv", SURVEY_HEADER, rows)
    _, sheet = report_for(path)
    assert_clean(sheet.parent)


# --- pages ------------------------------------------------------------------------------------


def test_bidi_safe_filter_on_pages():
    rendered = Template("{% load huoqiu_ui %}{{ name|bidi_safe }}").render(
        Context({"name": "<b>\u202e甲</b>"})
    )
    assert rendered == f"&lt;b&gt;{MARKER}甲&lt;/b&gt;"


def test_person_page_neutralises_bidi_in_the_name(client, hekou_user, home):
    Person.objects.filter(pk=home.head.pk).update(name=EVIL)
    client.force_login(hekou_user)
    html = client.get(reverse("staff:person_detail", args=[home.head.pk])).content.decode()
    assert "\u202e" not in html and f"字{MARKER}exe.txt" in html


# --- fuzz -------------------------------------------------------------------------------------

_HOSTILE = st.sampled_from(
    [chr(code) for code in range(32)]
    + [chr(code) for code in range(0x202A, 0x202F)]
    + [chr(code) for code in range(0x2066, 0x206A)]
    + list(FORMULA_PREFIXES)
    + ["\ud800", "\udfff", "\ufffe", "\uffff", "\u200e", "\u200f", "\u061c", "\x7f", "\x85"]
)
_CHARS = st.one_of(_HOSTILE, st.characters(), st.sampled_from("张三霍邱县=+-@'\"<>&"))
_TEXT = st.one_of(
    st.text(_CHARS, max_size=40),
    # very long: a short hostile pattern repeated, past Excel's 32,767 characters a cell
    st.builds(
        lambda text, times: text * times,
        st.text(_CHARS, min_size=1, max_size=12),
        st.integers(1, 4000),
    ),
    st.builds(
        lambda prefix, tail: prefix + tail, st.sampled_from(FORMULA_PREFIXES), st.text(_CHARS)
    ),
)
STRINGS_PER_EXAMPLE = 25
# 10,000 strings and a margin: hypothesis may end a run a few examples short.
EXAMPLES = int(os.environ.get("HUOQIU_FUZZ_EXAMPLES", "0")) or 10_000 // STRINGS_PER_EXAMPLE + 20


def test_fuzz_sanitised_text_always_makes_a_workbook():
    """≥ 10,000 generated strings through `safe_cell` into a write-only workbook, read back."""
    seen = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(_TEXT, min_size=STRINGS_PER_EXAMPLE, max_size=STRINGS_PER_EXAMPLE))
    def write_and_read(values):
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("数据")
        for value in values:
            text = safe_cell(value)
            assert not FORBIDDEN.search(text) and not text.startswith(FORMULA_PREFIXES)
            cell = WriteOnlyCell(sheet, value=text)
            cell.data_type = "s"
            sheet.append([cell, len(text)])
        out = BytesIO()
        workbook.save(out)
        out.seek(0)
        read = list(load_workbook(out, read_only=True).active.values)
        assert [length for _text, length in read] == [len(safe_cell(v)) for v in values]
        seen.append(len(values))

    write_and_read()
    assert sum(seen) >= min(10_000, EXAMPLES * STRINGS_PER_EXAMPLE)
