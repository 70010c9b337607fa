"""In a real browser: log in as township staff, see the scope, search, hit a 404, on a phone."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from cases.identity import mask_id_number
from tests import factories

from .conftest import PASSWORD, PHONE, staff

pytestmark = [
    pytest.mark.browser,
    # Committed rows for the live server; townships (loaded by a migration) restored each test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def certified(name, township, village, birth):
    person = factories.PersonFactory(
        name=name,
        birth=birth,
        township=factories.township(township),
        village=factories.village(township, village),
    )
    factories.CertificateFactory(person=person, category=1, grade=2)
    return person


@pytest.fixture
def county():
    return {
        "own": certified("周明亮", "河口镇", "东风村", date(1968, 4, 12)),
        "own2": certified("吴秀英", "河口镇", "前进村", date(1990, 8, 1)),
        "other": certified("郑国强", "城关镇", "东关村", date(1972, 1, 20)),
    }


def log_in(page, username, password):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def test_township_staff_logs_in_sees_scope_searches_and_gets_404_elsewhere(
    browser, county, screenshot
):
    staff()
    page = browser.new_page()
    page.goto("/login/")
    screenshot(page, "login")
    log_in(page, "hekou_staff", PASSWORD)

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("home-scope")).to_have_text("河口镇")
    expect(page.get_by_test_id("scope-label")).to_have_text("河口镇")
    expect(page.get_by_test_id("who")).to_contain_text("李娟")
    expect(page.get_by_test_id("who")).to_contain_text("乡镇工作人员")
    table = page.get_by_test_id("person-table")
    expect(table).to_contain_text("周明亮")
    expect(table).to_contain_text("吴秀英")
    expect(table).to_contain_text(mask_id_number(county["own"].id_number))
    expect(table).not_to_contain_text("郑国强")
    assert county["own"].id_number not in page.content()
    screenshot(page, "home")

    page.get_by_role("searchbox").fill("秀英")
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"\?q=%E7%A7%80%E8%8B%B1$"))
    expect(table).to_contain_text("吴秀英")
    expect(table).not_to_contain_text("周明亮")

    page.get_by_role("searchbox").fill(county["own"].id_number[6:14])
    page.get_by_role("button", name="查询").click()
    expect(table).to_contain_text("周明亮")
    expect(table).not_to_contain_text("吴秀英")

    page.get_by_role("link", name="周明亮").click()
    expect(page.get_by_test_id("person-id")).to_have_text(mask_id_number(county["own"].id_number))

    assert browser.console_errors == []  # no CSP violation, no missing asset so far
    response = page.goto(f"/persons/{county['other'].pk}/")
    assert response.status == 404
    expect(page.get_by_test_id("not-found")).to_contain_text("不在您的数据范围内")
    expect(page.locator("main")).not_to_contain_text("郑国强")

    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    # The only console error is the 404 document itself.
    assert len(browser.console_errors) == 1
    assert "404" in browser.console_errors[0]


def test_login_flow_at_phone_width(browser, county, screenshot):
    staff()
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    page.goto("/login/")
    screenshot(page, "login-phone")
    log_in(page, "hekou_staff", PASSWORD)
    expect(page.get_by_test_id("home-scope")).to_have_text("河口镇")
    expect(page.get_by_role("link", name="周明亮")).to_be_visible()
    expect(page.get_by_role("link", name="人员")).to_be_visible()
    # Nothing wider than the phone: no sideways scrolling of the page.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    # Rows are cards: the masked ID is visible with its label.
    expect(page.get_by_test_id("person-table").locator("tr").first).to_be_visible()
    screenshot(page, "home-phone")
    assert browser.console_errors == []


def test_wrong_password_shows_a_chinese_error(browser):
    staff()
    page = browser.new_page()
    log_in(page, "hekou_staff", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_contain_text("用户名或密码不正确")
    expect(page).to_have_url(re.compile(r"/login/"))
    assert browser.console_errors == []
