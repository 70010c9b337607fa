"""In Chromium: the dashboard's 12-month trend chart drawn from monthly indicator snapshots,
and the indicator page's workbook export, as township staff; no console errors (CSP).

SCREENSHOTS=1 saves docs/screenshots/dashboard-trend.png and dashboard-trend-phone.png.
"""

import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from cases.casework_base import today
from cases.models import Township
from staff.models import IndicatorSnapshot
from staff.selectors.trends import TREND_SERIES, last_months
from staff.snapshots import indicator_snapshot_take
from tests.staff_app_data import household_with_everything

from .conftest import DESKTOP, PHONE, log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def county():
    """This month's real snapshot, and eleven earlier months of rising rates for 河口镇 and
    the county (committed before the browser starts)."""
    staff()
    household_with_everything()
    household_with_everything("城关镇", "东关村", head_name="郑国强", tag="外")
    indicator_snapshot_take(today())
    hekou = Township.objects.get(name="河口镇")
    earlier = last_months(today())[:-1]
    rows = []
    for step, month in enumerate(earlier):
        for index, (table_key, column_key, _label, _target) in enumerate(TREND_SERIES):
            for township in (hekou, None):
                value = Decimal(min(95, 40 + index * 8 + step * 4)) / 100
                rows.append(
                    IndicatorSnapshot(
                        month=month,
                        table_key=table_key,
                        column_key=column_key,
                        township=township,
                        value=value,
                        numerator=int(value * 200),
                        denominator=200,
                    )
                )
    IndicatorSnapshot.objects.bulk_create(rows)


def see_trend(page):
    page.goto("/dashboard/")
    expect(page.locator("html")).to_have_attribute("data-charts", "ready")
    box = page.locator("#chart-trend").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    drawn = page.evaluate(
        """() => {
            const chart = window.Chart.getChart(document.getElementById("chart-trend"));
            return chart ? [chart.config.type, chart.data.datasets.length,
                            chart.data.labels.length] : null;
        }"""
    )
    assert drawn == ["line", len(TREND_SERIES), 12]
    expect(page.get_by_test_id("trend")).to_contain_text("康复服务率")
    expect(page.get_by_test_id("trend-empty")).to_have_count(0)


def test_trend_chart_and_stats_export_at_desktop_width(browser, county, screenshot):
    page = browser.new_page(viewport=DESKTOP)
    log_in(page)
    see_trend(page)
    page.get_by_test_id("trend").scroll_into_view_if_needed()
    screenshot(page, "dashboard-trend")

    page.goto("/stats/")
    with page.expect_download() as download_info:
        page.get_by_test_id("stats-export").click()
    download = download_info.value
    assert re.fullmatch(r"统计指标_\d{8}\.xlsx", download.suggested_filename)
    with open(download.path(), "rb") as handle:
        book = load_workbook(io.BytesIO(handle.read()))
    assert "动态监测" in book.sheetnames and len(book.sheetnames) >= 4
    text = "\n".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    )
    assert "河口镇" in text and "城关镇" not in text
    assert browser.console_errors == []


def test_trend_chart_at_phone_width(browser, county, screenshot):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page)
    see_trend(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"dashboard is {width}px wide"
    screenshot(page, "dashboard-trend-phone")
    assert browser.console_errors == []
