"""The person page's 就业 and 康复 sections on a 375 px phone: every table filled, no
sideways scroll of the page, no console error; then one form filled on the phone."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases import casework
from cases.models import EmploymentBase, FamilyDoctorContract
from tests.staff_app_data import household_with_everything

from .conftest import PHONE, log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def person():
    """Rows are committed before the browser starts (see tests/browser/conftest.py)."""
    user = staff()
    home = household_with_everything()
    head, on = home.head, timezone.localdate() - timedelta(days=30)
    casework.labour_profile_save(
        user,
        head,
        ability="partial",
        willing=True,
        assessed_on=on,
        wanted_work="手工编织、电商客服",
    )
    casework.welfare_post_place(
        user, head, post="村级公益性保洁岗位", employer="河口镇东风村民委员会", started_on=on
    )
    casework.training_add(
        user,
        head,
        kind="practical",
        course="特色种植实用技术培训（茶叶）",
        organiser="河口镇农业综合服务中心",
        started_on=on,
        ended_on=on + timedelta(days=3),
        certificate_obtained=True,
        result="掌握茶园管理基本技术",
    )
    base = EmploymentBase.objects.create(
        name="东风村茶叶种植专业合作社",
        kind="cooperative",
        township=head.township,
        leader_name="钱",
    )
    casework.base_employment_add(user, base, head, job="茶园管护", started_on=on)
    casework.rehab_need_add(
        user, head, kind="device", identified_on=on, detail="需要适配轮椅和坐便椅"
    )
    casework.family_doctor_sign(
        user, head, institution="河口镇中心卫生院", doctor="全科医生团队一组", signed_on=on
    )
    return head


def test_sections_fit_a_phone(browser, person, screenshot):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page)
    page.goto(f"/persons/{person.pk}/")
    for testid in ("employment", "rehab"):
        expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.get_by_test_id("labour-source")).to_contain_text("工作人员登记")
    expect(page.get_by_test_id("family-doctor")).to_contain_text("河口镇中心卫生院")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide"
    screenshot(page, "person-work-phone")

    page.get_by_test_id("end-family-doctor").click()
    page.get_by_label("终止原因").fill("迁居外县")
    page.get_by_role("button", name="终止签约").click()
    expect(page.get_by_test_id("rehab")).to_be_visible()
    assert FamilyDoctorContract.objects.get().expires_on == timezone.localdate()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert not browser.console_errors, browser.console_errors
