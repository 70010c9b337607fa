"""In a real browser (Debian Chromium), as township staff, at desktop and phone width:
dashboard with charts, filtering the work queue, a household page, recording a visit,
handling a finding, exporting a list, and another township's household being a 404.

SCREENSHOTS=1 saves the main pages to docs/screenshots/ (shown in the README).
"""

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from cases.identity import mask_id_number
from cases.models import TrackingVisit
from monitoring.models import Finding
from tests.staff_app_data import household_with_everything

from .conftest import DESKTOP, PHONE, log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def county():
    """Rows are committed before the browser starts (see tests/browser/conftest.py)."""
    staff()
    home = household_with_everything()
    neighbour = household_with_everything("河口镇", "前进村", head_name="吴秀英", tag="邻")
    elsewhere = household_with_everything("城关镇", "东关村", head_name="郑国强", tag="外")
    return {"home": home, "neighbour": neighbour, "elsewhere": elsewhere}


# The elements that reach past the right edge, outside any scroll box of their own.
WIDE_ELEMENTS = """(limit) => {
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.right <= limit + 1 || box.width === 0) continue;
    let parent = el.parentElement, scrolls = false;
    while (parent) {
      const overflow = getComputedStyle(parent).overflowX;
      if (overflow === "auto" || overflow === "scroll") { scrolls = true; break; }
      parent = parent.parentElement;
    }
    if (!scrolls) wide.push(`${el.tagName}.${el.className} (${Math.round(box.right)}px): ` +
      (el.textContent || "").trim().slice(0, 30));
  }
  return wide.slice(0, 8);
}"""


def no_sideways_scroll(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        wide = page.evaluate(WIDE_ELEMENTS, viewport["width"])
        raise AssertionError(f"{page.url}: page is {width}px wide; widest: {wide}")


def run_flows(browser, county, screenshot, *, viewport, suffix, is_mobile):
    home, elsewhere = county["home"], county["elsewhere"]
    page = browser.new_page(viewport=viewport, is_mobile=is_mobile)
    log_in(page)

    # 1. Dashboard: key counts, charts drawn by the vendored Chart.js, no CSP violation.
    page.get_by_role("link", name="工作台", exact=True).click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_test_id("count-findings")).to_have_text("4")
    expect(page.locator("html")).to_have_attribute("data-charts", "ready")
    for chart in ("chart-rehab", "chart-pairing", "chart-findings", "chart-categories"):
        box = page.locator(f"#{chart}").bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, chart
    expect(page.get_by_test_id("unit-table")).to_contain_text("东风村")
    expect(page.get_by_test_id("unit-table")).to_contain_text("前进村")
    expect(page.get_by_test_id("unit-table")).not_to_contain_text("东关村")
    if viewport == PHONE:
        no_sideways_scroll(page, viewport)
    screenshot(page, f"dashboard{suffix}")

    # 2. Work queue, filtered by rule.
    page.get_by_role("link", name="比对发现", exact=True).click()
    rows = page.get_by_test_id("finding-row")
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("finding-table")).not_to_contain_text("郑国强")
    page.get_by_label("规则", exact=True).select_option("R01")
    page.get_by_role("button", name="筛选").click()
    expect(page).to_have_url(re.compile(r"rule=R01"))
    expect(rows).to_have_count(2)
    for index in range(2):
        expect(rows.nth(index)).to_have_attribute("data-rule", "R01")
    if viewport == PHONE:
        no_sideways_scroll(page, viewport)
    screenshot(page, f"queue{suffix}")

    # 3. Export the filtered list: a download, a valid workbook, masked IDs.
    with page.expect_download() as download_info:
        page.get_by_test_id("export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).worksheets[0]
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert cells[0][:3] == ["规则编号", "规则名称", "姓名"]
    assert sorted(row[2] for row in cells[1:]) == ["吴秀英", "周明亮"]
    assert mask_id_number(home.head.id_number) in [row[3] for row in cells[1:]]
    assert home.head.id_number not in str(cells)

    # 4. The household page: members side by side, timeline.
    page.goto(f"/households/{home.household.pk}/")
    detail = page.get_by_test_id("household-detail")
    expect(detail).to_contain_text("周明亮户")
    expect(page.get_by_test_id("head-id")).to_have_text(mask_id_number(home.head.id_number))
    expect(page.locator("[data-differs='1']")).to_have_count(3)
    expect(page.get_by_test_id("timeline")).to_contain_text("甲饮用井水，水质待检")
    if viewport == PHONE:
        no_sideways_scroll(page, viewport)
    screenshot(page, f"household{suffix}")

    # 5. Record a visit.
    page.get_by_test_id("add-visit").click()
    form = page.get_by_test_id("visit-form")
    expect(form).to_be_visible()
    page.locator("input[name='water'][value='problem']").check()
    page.locator("input[name='housing'][value='ok']").check()
    page.get_by_label("家庭年人均纯收入（元）").fill("6200")
    notes = f"自来水已入户，待验收（{suffix or '桌面'}）"
    page.get_by_label("走访情况及发现问题").fill(notes)
    if viewport == PHONE:
        no_sideways_scroll(page, viewport)
    screenshot(page, f"visit-form{suffix}")
    page.get_by_role("button", name="保存走访记录").click()
    expect(page).to_have_url(re.compile(rf"/households/{home.household.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("已登记跟踪访视")
    expect(page.get_by_test_id("timeline")).to_contain_text(notes)

    # 6. Handle a finding from the household page; back on the household page afterwards.
    open_links = page.get_by_test_id("finding-link")
    before = open_links.count()
    open_links.first.click()
    expect(page.get_by_test_id("finding-detail")).to_be_visible()
    page.get_by_label("处理措施").fill("已联系镇卫生院安排上门康复训练")
    page.get_by_test_id("handle-submit").click()
    expect(page).to_have_url(re.compile(rf"/households/{home.household.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("已处理")
    expect(page.get_by_test_id("finding-link")).to_have_count(before - 1)

    # 7. Another township's household: 404, nothing shown.
    assert browser.console_errors == [], browser.console_errors
    response = page.goto(f"/households/{elsewhere.household.pk}/")
    assert response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("不在您的数据范围内")
    expect(page.locator("main")).not_to_contain_text("郑国强")
    assert len(browser.console_errors) == 1 and "404" in browser.console_errors[0]
    browser.console_errors.clear()
    return page


def test_staff_app_at_desktop_width(browser, county, screenshot):
    run_flows(browser, county, screenshot, viewport=DESKTOP, suffix="", is_mobile=False)
    home = county["home"]
    assert TrackingVisit.objects.filter(
        household=home.household, visitor__username="hekou_staff"
    ).exists()
    handled = Finding.objects.filter(household=home.household, status="handled").get()
    assert handled.action_taken == "已联系镇卫生院安排上门康复训练"


def test_staff_app_at_phone_width(browser, county, screenshot):
    run_flows(browser, county, screenshot, viewport=PHONE, suffix="-phone", is_mobile=True)
    assert TrackingVisit.objects.filter(notes__contains="-phone").count() == 1
