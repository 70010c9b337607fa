"""The audit trail in the admin: county admins search, filter and export it; nobody edits it."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from cases import audit as audit_api
from cases.models import AuditEvent

from .downloads import response_bytes

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:cases_auditevent_changelist"


@pytest.fixture
def trail(hekou_user, chengguan_user):
    audit_api.audit(hekou_user, "view", target=("cases.person", 1, "河口甲"))
    audit_api.audit(chengguan_user, "export", target="cases.person", details={"rows": 3})
    audit_api.audit(
        chengguan_user, "reveal", target=("cases.person", 2, "=cmd|calc"), result="denied"
    )
    return AuditEvent.objects.count()


def changelist(client, **params):
    response = client.get(reverse(CHANGELIST), params)
    assert response.status_code == 200
    return response.content.decode()


def test_county_admin_searches_and_filters(client, county_admin, trail):
    client.force_login(county_admin)
    html = changelist(client, q="hekou")
    assert "河口甲" in html and "=cmd|calc" not in html
    html = changelist(client, action__exact="reveal")
    assert "=cmd|calc" in html and "河口甲" not in html
    html = changelist(client, result__exact="denied")
    assert "=cmd|calc" in html
    # Opening the list is itself audited (the middleware records the admin page view).
    assert AuditEvent.objects.filter(username="countyadmin", path=reverse(CHANGELIST)).exists()


def test_nobody_adds_changes_or_deletes_events_in_the_admin(client, county_admin, trail):
    client.force_login(county_admin)
    event = AuditEvent.objects.filter(action="view").first()
    assert client.get(reverse("admin:cases_auditevent_add")).status_code == 403
    change_url = reverse("admin:cases_auditevent_change", args=[event.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.post(change_url, {"username": "forged"}).status_code == 403
    assert client.post(reverse("admin:cases_auditevent_delete", args=[event.pk])).status_code == 403
    assert "delete_selected" not in changelist(client)
    assert AuditEvent.objects.get(pk=event.pk).username == "hekou"


def test_township_staff_cannot_reach_the_audit_admin(client, hekou_user, trail):
    hekou_user.is_staff = True  # even with the staff flag: the role decides
    hekou_user.save()
    client.force_login(hekou_user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def _export(client, action):
    ids = list(AuditEvent.objects.values_list("pk", flat=True))
    return client.post(
        reverse(CHANGELIST) + "?action__exact=reveal",
        {"action": action, "_selected_action": ids},
    )


def test_xlsx_export_is_formula_safe_and_audited(client, county_admin, trail):
    client.force_login(county_admin)
    before = AuditEvent.objects.count()
    response = _export(client, "export_xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response_bytes(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "时间"
    labels = [row[7] for row in rows[1:]]
    assert "'=cmd|calc" in labels
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    export = AuditEvent.objects.filter(action="export", username="countyadmin").latest("id")
    assert export.target_label == "cases.auditevent"
    assert export.details["format"] == "xlsx"
    assert export.details["rows"] == len(rows) - 1
    assert export.details["filters"]["action__exact"] == "reveal"
    assert AuditEvent.objects.count() > before


def test_csv_export(client, county_admin, trail):
    client.force_login(county_admin)
    response = _export(client, "export_csv")
    assert response.content.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert parsed[0][1] == "用户名"
    assert any(row[7] == "'=cmd|calc" for row in parsed[1:])
    assert AuditEvent.objects.filter(action="export", details__format="csv").exists()
