"""The visit form computes household income from its parts as the visitor types (no reload),
and the saved visit stores the server's figures (docs/INCOME.md)."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from cases.models import TrackingVisit
from tests import factories

from .conftest import log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_typing_parts_updates_per_person_income_and_the_visit_stores_it(browser):
    staff()
    household = factories.certified_person(
        household=True, township="河口镇", village_name="东风村", name="周明亮"
    ).household
    page = browser.new_page()
    log_in(page)
    page.goto(f"/households/{household.pk}/visits/new/")
    form = page.get_by_test_id("visit-form")
    loads = []
    page.on("load", lambda _page: loads.append(1))
    form.get_by_label("工资性收入（元）").fill("12000")
    form.get_by_label("生产经营性收入（元）").fill("5000")
    form.get_by_label("生产经营性支出（元）").fill("2000")
    form.get_by_label("可扣除的其他支出（元）").fill("1000.5")
    live = page.get_by_test_id("income-live")
    expect(live).to_contain_text("请填写家庭人口数")
    form.get_by_label("家庭人口数").fill("4")
    expect(live).to_contain_text("家庭年人均纯收入 3499.88 元")
    expect(form.get_by_label("家庭年人均纯收入（元）")).to_have_value("3499.88")
    expect(form.get_by_label("家庭年纯收入（元）")).to_have_value("13999.50")
    form.get_by_label("家庭人口数").fill("3")
    expect(form.get_by_label("家庭年人均纯收入（元）")).to_have_value("4666.50")
    assert loads == []  # computed in the page, not by a reload
    form.locator("input[name='housing'][value='ok']").check()
    page.get_by_role("button", name="保存走访记录").click()
    expect(page).to_have_url(f"{browser.base_url}/households/{household.pk}/")
    visit = TrackingVisit.objects.get(household=household)
    assert visit.annual_income == Decimal("13999.50")
    assert visit.income_per_capita == Decimal("4666.50")
    assert visit.household_size == 3
    assert browser.console_errors == []
