"""The indicator page's export (/stats/export.xlsx): one sheet per task area, rows per
township as on the page, scoped to the user, audited, formula-safe, honouring ?as_of=."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import AuditEvent, Township
from staff.selectors import indicators

from .test_views_dashboard import monitored_household

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def data():
    monitored_household("河口镇", "东风村", "甲一", paired=True, need=True, served=True)
    monitored_household("城关镇", "东关村", "丙一", paired=False, need=True, served=False)


def book_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    return load_workbook(io.BytesIO(response.content))


def text_of(book) -> str:
    return "\n".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )


def test_one_sheet_per_task_area_with_every_table(client, viewer_user, data):
    client.force_login(viewer_user)
    book = book_of(client.get(reverse("staff:stats_export")))
    tables = indicators.dashboard(viewer_user)
    assert book.sheetnames == list(dict.fromkeys(t.area for t in tables.values()))
    assert "动态监测" in book.sheetnames and "兜底保障" in book.sheetnames
    text = text_of(book)
    for table in tables.values():
        assert table.title in text
    pairing = tables["pairing"]
    sheet = book[pairing.area]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    start = next(i for i, row in enumerate(rows) if row[0] == pairing.title)
    assert rows[start + 1][1 : 1 + len(pairing.columns)] == [label for _, label in pairing.columns]
    township_rows = rows[start + 2 : start + 2 + len(pairing.rows)]
    assert [row[0] for row in township_rows] == [row.label for row in pairing.rows]
    assert len(pairing.rows) == 31
    hekou = next(row for row in township_rows if row[0] == "河口镇")
    # Counts stay numbers; rates read as on the page.
    assert hekou[1] == 1 and hekou[2] == "100.0%（1/1）"


def test_a_township_users_file_has_only_their_township(client, hekou_user, data):
    client.force_login(hekou_user)
    text = text_of(book_of(client.get(reverse("staff:stats_export"))))
    assert "河口镇" in text
    assert "城关镇" not in text and "全县合计" not in text
    event = AuditEvent.objects.get(action="export", target_label="indicators")
    assert event.actor == hekou_user
    assert event.details["format"] == "xlsx" and event.details["rows"] > 0


def test_no_scope_no_file(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x-Unused-2026")
    client.force_login(user)
    assert client.get(reverse("staff:stats_export")).status_code == 403


def test_as_of_is_honoured_and_recorded(client, viewer_user, data):
    client.force_login(viewer_user)
    response = client.get(reverse("staff:stats_export"), {"as_of": "2025-06-30"})
    book = book_of(response)
    assert "20250630" in response["Content-Disposition"]
    assert "康复服务率（2025年" in text_of(book)
    event = AuditEvent.objects.get(action="export", target_label="indicators")
    assert event.details["filters"]["as_of"] == "2025-06-30"
    # A malformed or future date reads as today rather than failing the download.
    assert client.get(reverse("staff:stats_export"), {"as_of": "soon"}).status_code == 200
    future = client.get(reverse("staff:stats_export"), {"as_of": "2999-01-01"})
    assert "2999" not in future["Content-Disposition"]


def test_a_formula_looking_place_name_is_neutralised(client, viewer_user, data):
    # Township names are the text cells that come from the database.
    Township.objects.filter(name="河口镇").update(name='=HYPERLINK("http://evil","x")')
    client.force_login(viewer_user)
    book = book_of(client.get(reverse("staff:stats_export")))
    cells = [
        cell
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert cells
    for cell in cells:
        assert cell.value.startswith("'=") and cell.data_type == "s"


def test_the_stats_page_links_to_the_export(client, viewer_user):
    client.force_login(viewer_user)
    html = client.get(reverse("staff:stats")).content.decode()
    assert reverse("staff:stats_export") in html
