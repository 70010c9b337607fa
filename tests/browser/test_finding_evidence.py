"""A finding's 依据 in real Chromium: the evidence lines, and for a county admin the link to
the original import file, which downloads the file as it was uploaded
(docs/CROSSCHECK.md#evidence). Township staff see the lines and no link."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding
from tests import factories

from .conftest import PASSWORD, log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
ORIGINAL = b"the survey file exactly as uploaded"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def finding():
    batch = factories.ImportBatchFactory(
        source="survey", original_name="调查2026.xlsx", sheet_name="Sheet1"
    )
    batch.file.save("upload.xlsx", ContentFile(ORIGINAL))
    record = factories.certified_person(
        township="河口镇", income_per_capita=Decimal(5200), batch=batch, source_row=128
    )
    run_crosscheck(date(2026, 6, 30))
    return Finding.objects.get(rule="M01", person=record.person)


def test_county_admin_sees_the_evidence_and_downloads_the_original(browser, finding, screenshot):
    admin = factories.user_with_role("county_admin", username="county_admin_evidence")
    admin.set_password(PASSWORD)
    admin.save()
    page = browser.new_page()
    page.goto("/login/")
    page.get_by_label("用户名").fill(admin.username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/(?!login/)"))

    page.goto(f"/monitoring/findings/{finding.pk}/")
    items = page.get_by_test_id("evidence-item")
    expect(items.first).to_have_text(
        "调查数据 · 调查2026.xlsx · Sheet1 · 第128行 · 家庭年人均收入：5,200元"
    )
    expect(items.nth(1)).to_have_text("年度政策参数 · 2026年监测线：7,000元")
    link = page.get_by_test_id("evidence-file")
    expect(link).to_be_visible()
    expect(link).to_contain_text("调查2026.xlsx")
    screenshot(page, "finding-evidence")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "调查2026.xlsx"
    with open(download.path(), "rb") as handle:
        assert handle.read() == ORIGINAL


def test_township_staff_see_the_evidence_without_the_file_link(browser, finding):
    staff()
    page = browser.new_page()
    log_in(page)
    page.goto(f"/monitoring/findings/{finding.pk}/")
    expect(page.get_by_test_id("finding-evidence")).to_be_visible()
    expect(page.get_by_test_id("evidence-item").first).to_contain_text("第128行")
    expect(page.get_by_test_id("evidence-file")).to_have_count(0)
