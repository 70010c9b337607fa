"""Exports of the staff lists: valid .xlsx, scope only, IDs masked, formula-safe, audited."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases.identity import mask_id_number
from cases.models import AuditEvent

from . import factories
from .downloads import response_bytes

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def county(home, elsewhere):
    return home, elsewhere


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    assert response["Cache-Control"] == "no-store"
    book = load_workbook(io.BytesIO(response_bytes(response)))
    sheet = book.worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)], sheet


def all_text(rows) -> str:
    return "\n".join(str(cell) for row in rows for cell in row if cell is not None)


EXPORTS = [
    ("staff:person_export", "cases.person"),
    ("staff:household_export", "cases.household"),
    ("staff:visit_export", "cases.trackingvisit"),
    ("staff:finding_export", "monitoring.finding"),
]


@pytest.mark.parametrize("name, label", EXPORTS)
def test_every_export_is_scoped_masked_and_audited(client, hekou_user, county, name, label):
    home, elsewhere = county
    client.force_login(hekou_user)
    rows, _ = workbook(client.get(reverse(name)))
    text = all_text(rows)
    assert len(rows) >= 2
    assert "周明亮" in text
    assert "郑国强" not in text and "配偶乙" not in text and "乙收入低于监测线" not in text
    for person in (home.head, home.spouse, elsewhere.head):
        assert person.id_number not in text
    event = AuditEvent.objects.get(action="export", target_label=label)
    assert event.actor == hekou_user
    assert event.details["rows"] == len(rows) - 1 and event.details["format"] == "xlsx"


def test_person_export_columns_and_masked_ids(client, hekou_user, county):
    home, _ = county
    client.force_login(hekou_user)
    rows, _ = workbook(client.get(reverse("staff:person_export")))
    assert rows[0] == [
        "姓名",
        "公民身份号码（脱敏）",
        "性别",
        "年龄",
        "残疾类别",
        "残疾等级",
        "乡镇",
        "村（社区）",
    ]
    (row,) = [row for row in rows[1:] if row[0] == "周明亮"]
    assert row[1] == mask_id_number(home.head.id_number)
    assert row[4:] == ["肢体", "一级", "河口镇", "东风村"]


def test_queue_export_follows_the_filters(client, hekou_user, county):
    client.force_login(hekou_user)
    rows, _ = workbook(client.get(reverse("staff:finding_export"), {"rule": "M01"}))
    assert [row[0] for row in rows[1:]] == ["M01"]
    rows, _ = workbook(client.get(reverse("staff:finding_export"), {"status": "all"}))
    assert sorted(row[0] for row in rows[1:]) == ["D01", "M01", "R01"]
    event = AuditEvent.objects.filter(action="export").latest("id")
    assert event.details["filters"] == {"status": "all"}


def test_household_and_visit_exports_follow_the_filters(client, hekou_user, county):
    client.force_login(hekou_user)
    rows, _ = workbook(client.get(reverse("staff:household_export"), {"q": "没有这个人"}))
    assert len(rows) == 1  # the header only
    rows, _ = workbook(client.get(reverse("staff:visit_export"), {"kind": "home"}))
    assert len(rows) == 1
    rows, _ = workbook(client.get(reverse("staff:visit_export"), {"kind": "tracking"}))
    assert rows[1][2] == "周明亮" and rows[1][7] == "饮水安全"


def test_formula_looking_text_is_stored_as_text(client, hekou_user):
    person = factories.certified_person(
        township="河口镇", village_name="东风村", name='=HYPERLINK("http://x")'
    ).person
    factories.FindingFactory(rule="S05", person=person, reason="+1+cmd|' /C calc'!A0")
    client.force_login(hekou_user)
    rows, sheet = workbook(client.get(reverse("staff:person_export")))
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names
    for row in sheet.iter_rows(min_row=2):
        assert all(cell.data_type != "f" for cell in row)
    rows, _ = workbook(client.get(reverse("staff:finding_export")))
    assert rows[1][7] == "'+1+cmd|' /C calc'!A0"


def test_county_roles_export_the_whole_county_village_members_their_village(
    client, viewer_user, village_user, county
):
    client.force_login(viewer_user)
    text = all_text(workbook(client.get(reverse("staff:household_export")))[0])
    assert "周明亮" in text and "郑国强" in text
    client.force_login(village_user)
    text = all_text(workbook(client.get(reverse("staff:household_export")))[0])
    assert "郑国强" in text and "周明亮" not in text


def test_exports_need_a_scope_and_are_get_only(client, hekou_user, county):
    nobody = factories.UserFactory(username="nobody")
    client.force_login(nobody)
    for name, _ in EXPORTS:
        assert client.get(reverse(name)).status_code == 403
    client.force_login(hekou_user)
    for name, _ in EXPORTS:
        assert client.post(reverse(name)).status_code == 405


def test_list_pages_link_their_export_with_the_current_filters(client, hekou_user, county):
    client.force_login(hekou_user)
    html = client.get(reverse("staff:finding_list"), {"rule": "M01"}).content.decode()
    assert f'href="{reverse("staff:finding_export")}?rule=M01"' in html
    html = client.get(reverse("staff:household_list")).content.decode()
    assert f'href="{reverse("staff:household_export")}?"' in html
    html = client.get(reverse("staff:person_list"), {"q": "明亮"}).content.decode()
    assert f'href="{reverse("staff:person_export")}?q=%E6%98%8E%E4%BA%AE"' in html
