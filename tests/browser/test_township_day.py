"""A township worker's day on the demo county, in real Chromium at phone width (375 px):
the work queue → an R01 answered by recording the rehabilitation service → an accessibility
modification through 申请, 评估, 施工, 验收 → a person placed on a public-welfare post → a
visit that finds risk in a household that is not monitored, and after the night's run its
V01 finding → the township's pension-contribution roster downloaded and opened.

SCREENSHOTS=1 saves each new page to docs/screenshots/ (desktop ones come from
test_task_area_pages.py).
"""

from datetime import date
from pathlib import Path

import pytest
from django.db.models import Exists, OuterRef
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from cases.identity import age_on
from cases.models import Household, Person, RehabService
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding
from monitoring.populations import monitored_household
from staff.demo import build_demo_county

from .conftest import PASSWORD, PHONE, log_in
from .test_staff_app import no_sideways_scroll

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOWNSHIP = "城关镇"


def _working_age_person(exclude: set[int]) -> Person:
    on = timezone.localdate()
    for person in Person.objects.filter(
        township__name=TOWNSHIP, certificate__isnull=False
    ).order_by("pk"):
        if person.pk not in exclude and 18 <= age_on(person.birth_date, on) <= 55:
            return person
    raise AssertionError("the demo county has no working-age person in 城关镇")


@pytest.fixture
def day():
    """The demo county (small), the night's cross-check already run; rows committed before
    the browser starts (tests/browser/conftest.py)."""
    build_demo_county(persons=600, password=PASSWORD)
    run_crosscheck()
    r01 = (
        Finding.objects.filter(rule="R01", status=Finding.Status.OPEN, township__name=TOWNSHIP)
        .select_related("person")
        .order_by("pk")
        .first()
    )
    assert r01 is not None, "the demo county's run should leave an open R01 in 城关镇"
    person = _working_age_person({r01.person_id})
    open_v01 = Finding.objects.filter(rule="V01", household=OuterRef("pk"))
    household = (
        Household.objects.filter(township__name=TOWNSHIP)
        .exclude(monitored_household())
        .exclude(Exists(open_v01))
        .order_by("pk")
        .first()
    )
    assert household is not None
    return {"r01": r01, "person": person, "household": household}


def fill_date(page, label: str, value: date) -> None:
    page.get_by_label(label).fill(value.isoformat())


def submit(page, testid: str, button: str) -> None:
    page.get_by_test_id(testid).get_by_role("button", name=button).click()


def test_a_township_workers_day_at_phone_width(browser, day, screenshot, tmp_path):
    today = timezone.localdate()
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page, username="chengguan", township=TOWNSHIP)

    # 1. The queue, then the R01 answered by recording the service delivered.
    r01 = day["r01"]
    page.goto("/monitoring/findings/?rule=R01")
    expect(page.get_by_test_id("finding-row").first).to_be_visible()
    no_sideways_scroll(page, PHONE)
    page.goto(f"/monitoring/findings/{r01.pk}/")
    page.get_by_test_id("act-rehab-service").click()
    page.get_by_label("服务内容").fill("康复训练")
    page.get_by_label("服务机构").fill("霍邱县残疾人康复中心")
    fill_date(page, "服务日期", today)
    no_sideways_scroll(page, PHONE)
    screenshot(page, "finding-act-phone")
    submit(page, "rehab-form", "保存康复服务")
    expect(page.get_by_test_id("finding-status")).to_have_text("已处理")
    assert RehabService.objects.filter(person_id=r01.person_id, provider__contains="康复中心")

    # 2. An accessibility modification through all four steps, one form per step.
    person = day["person"]
    page.goto(f"/persons/{person.pk}/")
    page.get_by_test_id("accessibility-apply").click()
    fill_date(page, "申请日期", today)
    page.get_by_label("申请改造内容").fill("卫生间扶手、坡道")
    submit(page, "accessibility-apply-form", "提交申请")
    page.get_by_test_id("accessibility-next-assessed").click()
    fill_date(page, "评估日期", today)
    page.get_by_label("评估意见").fill("需加装扶手并改造门槛")
    submit(page, "accessibility-assess-form", "保存评估")
    page.get_by_test_id("accessibility-next-construction").click()
    fill_date(page, "开工日期", today)
    page.get_by_label("施工单位").fill("霍邱县安居建筑队")
    submit(page, "accessibility-construction-form", "登记开工")
    page.get_by_test_id("accessibility-next-accepted").click()
    fill_date(page, "验收日期", today)
    page.get_by_label("改造费用（元）").fill("3800")
    no_sideways_scroll(page, PHONE)
    submit(page, "accessibility-accept-form", "登记验收")
    expect(page.get_by_test_id("step-accepted")).to_contain_text(today.isoformat())
    expect(page.get_by_test_id("step-accepted")).to_contain_text("chengguan")

    # 3. The same person placed on a public-welfare post.
    page.get_by_test_id("add-welfare-post").click()
    page.get_by_label("岗位名称").fill("村级保洁员")
    page.get_by_label("设岗单位").fill("城关镇人民政府")
    fill_date(page, "上岗日期", today)
    submit(page, "welfare-post-form", "保存安置")
    expect(page.get_by_test_id("welfare-posts")).to_contain_text("村级保洁员")
    no_sideways_scroll(page, PHONE)
    screenshot(page, "person-task-areas-phone")

    # 4. A visit that finds risk in a household not monitored …
    household = day["household"]
    page.goto(f"/households/{household.pk}/visits/new/")
    fill_date(page, "走访日期", today)
    page.get_by_label("走访人").fill("李娟")
    page.locator('[data-field="housing"]').get_by_label("存在问题").check()
    page.get_by_label("家庭年人均纯收入（元）").fill("3200")
    submit(page, "visit-form", "保存走访记录")
    expect(page.locator(".messages, [role=status]").first).to_contain_text("V01")

    # … and after the night's run, its V01 finding in the queue.
    run_crosscheck()
    page.goto("/monitoring/findings/?rule=V01")
    v01 = Finding.objects.get(rule="V01", household=household, status=Finding.Status.OPEN)
    page.goto(f"/monitoring/findings/{v01.pk}/")
    expect(page.get_by_test_id("finding-reason")).to_contain_text("住房安全")
    expect(page.get_by_test_id("open-case-form")).to_be_visible()

    # 5. The township's pension-contribution roster, downloaded and opened.
    page.goto("/tasks/rosters/")
    no_sideways_scroll(page, PHONE)
    screenshot(page, "rosters-phone")
    with page.expect_download() as download_info:
        submit(page, "pension-roster", "下载Excel")
    target = Path(tmp_path) / "pension.xlsx"
    download_info.value.save_as(target)
    sheet = load_workbook(target).active
    assert TOWNSHIP in sheet["A1"].value and sheet["A1"].value.endswith("代缴花名册")
    assert browser.console_errors == []
