"""A finding's evidence on its page, in the export, and the original file behind it
(docs/CROSSCHECK.md#evidence): county admins download it, audited; nobody else does."""

import re
from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import AuditEvent
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding

from . import factories as f
from .downloads import response_bytes

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)
ORIGINAL = b"PK\x03\x04 the survey file as uploaded"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(name: str, sheet: str = "Sheet1", source: str = "survey"):
    batch = f.ImportBatchFactory(source=source, original_name=name, sheet_name=sheet)
    batch.file.save("upload.xlsx", ContentFile(ORIGINAL))
    return batch


@pytest.fixture
def m01():
    """An M01 in 河口镇 with evidence from 调查2026.xlsx row 128 and the roster's row 3,021."""
    survey = upload("调查2026.xlsx")
    roster = upload("监测名单.xlsx", "名单", source="roster")
    record = f.certified_person(
        township="河口镇",
        village_name="东风村",
        income_per_capita=Decimal(5200),
        batch=survey,
        source_row=128,
    )
    household = f.RosterHouseholdFactory(
        household_type="left_poverty", batch=roster, source_row=3021
    )
    f.RosterMemberFactory(household=household, person=record.person, batch=roster, source_row=3021)
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01", person=record.person)
    finding.survey_batch, finding.roster_batch = survey, roster
    return finding


def page(client, user, finding):
    client.force_login(user)
    response = client.get(reverse("staff:finding_detail", args=[finding.pk]))
    assert response.status_code == 200
    return response.content.decode()


def file_url(finding, batch):
    return reverse("staff:finding_evidence_file", args=[finding.pk, batch.pk])


def downloads(batch):
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.DOWNLOAD,
        target_model="monitoring.importbatch",
        target_id=batch.pk,
    )


def test_finding_page_shows_the_evidence_in_chinese(client, hekou_user, m01):
    html = page(client, hekou_user, m01)
    assert 'data-testid="finding-evidence"' in html
    text = re.sub(r"<[^>]+>", "", html)
    assert "调查数据 · 调查2026.xlsx · Sheet1 · 第128行 · 家庭年人均收入：5,200元" in text
    assert "年度政策参数 · 2026年监测线：7,000元" in text
    assert "监测名单 · 监测名单.xlsx · 名单 · 第3,021行 · 户类型：脱贫户" in text
    # township staff see where the values came from, not a link to the file itself
    assert 'data-testid="evidence-file"' not in html


def test_county_admin_sees_a_link_to_each_original_file(client, admin_user, m01):
    html = page(client, admin_user, m01)
    assert html.count('data-testid="evidence-file"') == 2
    assert file_url(m01, m01.survey_batch) in html and file_url(m01, m01.roster_batch) in html


def test_file_names_on_the_page_are_cleaned(client, admin_user):
    batch = upload("\u202eslx.exe\x1b.xlsx")
    record = f.certified_person(township="河口镇", income_per_capita=Decimal(10), batch=batch)
    run_crosscheck(AS_OF)
    html = page(client, admin_user, Finding.objects.get(rule="M01", person=record.person))
    assert "\u202e" not in html and "\x1b" not in html
    assert "\ufffdslx.exe\ufffd.xlsx" in html


def test_county_admin_downloads_the_original_and_the_download_is_audited(client, admin_user, m01):
    client.force_login(admin_user)
    response = client.get(file_url(m01, m01.survey_batch))
    assert response.status_code == 200
    assert response_bytes(response) == ORIGINAL
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and "%E8%B0%83%E6%9F%A52026.xlsx" in disposition
    assert response["Cache-Control"] == "no-store"
    event = downloads(m01.survey_batch).get()
    assert event.actor == admin_user and event.result == AuditEvent.Result.OK
    assert event.details["finding"] == m01.pk and event.details["file"] == "调查2026.xlsx"


def test_hostile_file_name_gives_a_safe_header(client, admin_user):
    batch = upload('a"b\\c/\r\nSet-Cookie: x=1.xlsx')
    record = f.certified_person(township="河口镇", income_per_capita=Decimal(10), batch=batch)
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01", person=record.person)
    client.force_login(admin_user)
    response = client.get(file_url(finding, batch))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "\r" not in disposition and "\n" not in disposition and "%0D" not in disposition
    assert 'abcSet-Cookie: x=1.xlsx"' in disposition  # no quote, backslash or slash left
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("who", ["hekou_user", "viewer_user"])
def test_other_roles_are_refused_and_the_refusal_is_audited(client, request, m01, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    url = file_url(m01, m01.survey_batch)
    response = client.get(url)
    assert response.status_code == 403
    assert not downloads(m01.survey_batch).filter(result=AuditEvent.Result.OK).exists()
    assert AuditEvent.objects.filter(actor=user, result=AuditEvent.Result.DENIED, path=url).exists()


def test_out_of_scope_finding_is_404(client, chengguan_user, m01):
    client.force_login(chengguan_user)
    assert client.get(file_url(m01, m01.survey_batch)).status_code == 404


def test_a_batch_the_finding_does_not_cite_is_404_even_for_a_county_admin(client, admin_user, m01):
    other = upload("别的文件.xlsx")
    client.force_login(admin_user)
    assert client.get(file_url(m01, other)).status_code == 404
    assert not downloads(other).exists()


def test_export_carries_the_evidence_in_columns(client, hekou_user, m01):
    client.force_login(hekou_user)
    response = client.get(reverse("staff:finding_export"), {"rule": "M01"})
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response_bytes(response))).active
    header, row = [cell.value for cell in sheet[1]], [cell.value for cell in sheet[2]]
    values = dict(zip(header, row, strict=True))
    assert values["依据·数据来源"].split("\n") == ["调查数据", "年度政策参数", "监测名单"]
    assert values["依据·文件与行号"].split("\n") == [
        "调查2026.xlsx · Sheet1 · 第128行",
        "—",
        "监测名单.xlsx · 名单 · 第3,021行",
    ]
    assert values["依据·字段与取值"].split("\n") == [
        "家庭年人均收入：5,200元",
        "2026年监测线：7,000元",
        "户类型：脱贫户",
    ]
