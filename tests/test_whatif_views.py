"""Policy what-if pages (staff/views/whatif.py): start, progress JSON, result, export;
county admins only."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import AuditEvent
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding, WhatIfRun
from monitoring.whatif import whatif_start
from subsidies.models import PolicyYear

from . import factories
from .downloads import response_bytes

pytestmark = pytest.mark.django_db


def year() -> int:
    return timezone.localdate().year


@pytest.fixture
def county():
    PolicyYear.objects.filter(year=year()).update(monitoring_line=Decimal("7000"))
    mid = factories.certified_person(
        township="河口镇",
        village_name="东风村",
        household=True,
        name="吴秀英",
        income_per_capita=Decimal("8000"),
    )
    run_crosscheck(timezone.localdate())
    return mid


def start(client, django_capture_on_commit_callbacks, **data):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(reverse("staff:whatif_create"), {"year": str(year()), **data})


def test_policy_page_links_to_the_what_if(admin_client):
    page = admin_client.get(reverse("staff:policy_list"))
    assert reverse("staff:whatif_create") in page.content.decode()
    form = admin_client.get(reverse("staff:whatif_create"))
    assert form.status_code == 200
    assert 'data-testid="whatif-form"' in form.content.decode()


def test_a_run_from_the_form_to_the_table_and_the_export(
    admin_client, county, django_capture_on_commit_callbacks
):
    findings = Finding.objects.count()
    response = start(admin_client, django_capture_on_commit_callbacks, monitoring_line="9000")
    run = WhatIfRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:whatif_detail", args=[run.pk])
    assert run.status == WhatIfRun.Status.DONE, run.message
    assert run.parameters["monitoring_line"] == "9000.00"

    status = admin_client.get(reverse("staff:whatif_status", args=[run.pk])).json()
    assert status["finished"] is True and status["progress"] == 100
    assert status["status_label"] == "已完成"

    page = admin_client.get(reverse("staff:whatif_detail", args=[run.pk])).content.decode()
    assert 'data-testid="whatif-table"' in page
    assert 'data-township="河口镇" data-rule="M01"' in page
    assert "吴秀英" in page  # the affected household's head
    assert 'id="whatif-progress"' not in page  # finished: no progress bar

    export = admin_client.get(reverse("staff:whatif_export", args=[run.pk]))
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(response_bytes(export))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("乡镇", "村（社区）", "户主", "规则", "变化")
    assert any(row[2] == "吴秀英" and row[3].startswith("M01") and row[4] == "新增" for row in rows)
    assert AuditEvent.objects.filter(action="export", target_label="monitoring.whatifrun").exists()
    assert Finding.objects.count() == findings


def test_a_pending_run_shows_the_progress_bar(admin_client, county, county_admin):
    run = whatif_start(county_admin, year(), {})
    page = admin_client.get(reverse("staff:whatif_detail", args=[run.pk])).content.decode()
    assert 'id="whatif-progress"' in page
    assert "js/progress.js" in page
    status = admin_client.get(reverse("staff:whatif_status", args=[run.pk])).json()
    assert status == {
        "status": "pending",
        "status_label": "排队中",
        "progress": 0,
        "message": "",
        "finished": False,
    }


def test_bad_input_stays_on_the_form_in_chinese(
    admin_client, county, django_capture_on_commit_callbacks
):
    response = start(admin_client, django_capture_on_commit_callbacks, monitoring_line="-1")
    assert response.status_code == 400
    assert "不能为负数" in response.content.decode()
    assert not WhatIfRun.objects.exists()


@pytest.mark.parametrize("role_user", ["chengguan_user", "viewer_user"])
def test_other_roles_are_refused_everywhere(client, county, county_admin, role_user, request):
    run = whatif_start(county_admin, year(), {})
    client.force_login(request.getfixturevalue(role_user))
    for name, args in (
        ("whatif_create", []),
        ("whatif_detail", [run.pk]),
        ("whatif_status", [run.pk]),
        ("whatif_export", [run.pk]),
    ):
        assert client.get(reverse(f"staff:{name}", args=args)).status_code == 403, name
    assert client.post(reverse("staff:whatif_create"), {"year": str(year())}).status_code == 403
    assert WhatIfRun.objects.count() == 1
