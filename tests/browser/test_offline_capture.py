"""Offline visit capture in real Chromium with the network switched off and on (Playwright's
offline mode): the pack taken online, the page reloaded from the service worker offline,
two visits typed and queued, synced on reconnect; the same visit sent twice writes one
visit; a refused visit comes back with its Chinese reason; logout clears the phone.
SCREENSHOTS=1 saves docs/screenshots/offline_pick.png and offline_banner.png (docs/FIELDWORK.md).
"""

import pytest
from playwright.sync_api import expect

from cases.models import Household, TrackingVisit
from staff.views.offline import REFUSED_OUT_OF_SCOPE
from tests import factories

from .conftest import PHONE, log_in, staff

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

QUEUE = "() => window.HuoqiuOffline.store.listQueue()"
SHELL_CACHED = "() => caches.match('/visits/offline/').then((r) => !!r)"
STORED = """async () => ({
  databases: (await indexedDB.databases()).map((d) => d.name),
  caches: await caches.keys(),
  workers: (await navigator.serviceWorker.getRegistrations()).length,
})"""


@pytest.fixture
def county():
    """Three households of 河口镇 for hekou_staff; committed before the browser starts."""
    user = staff()
    households = {
        name: factories.certified_person(
            household=True, township="河口镇", village_name="东风村", name=name
        ).household
        for name in ("周明亮", "吴秀英", "郑国强")
    }
    return {"user": user, **households}


def capture(page, household, *, notes, next_due=""):
    """Fill the visit form drawn from the pack and save it to the phone."""
    page.get_by_test_id(f"capture-{household.pk}").click()
    form = page.get_by_test_id("offline-visit-form")
    expect(form).to_be_visible()
    form.locator("input[name='food'][value='ok']").check()
    form.locator("input[name='water'][value='problem']").check()
    form.get_by_label("走访情况及发现问题").fill(notes)
    if next_due:
        form.get_by_label("下次访视日期").fill(next_due)
    page.get_by_test_id("offline-save").click()
    expect(form).to_be_hidden()


def test_offline_capture_sync_and_logout(browser, county, screenshot):
    zhou, wu, zheng = county["周明亮"], county["吴秀英"], county["郑国强"]
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    context = page.context
    log_in(page)

    # Online: choose the households and take the pack.
    page.goto("/visits/offline/pick/")
    for household in (zhou, wu, zheng):
        page.locator(f"input[name='household'][value='{household.pk}']").check()
    expect(page.get_by_test_id("pick-count")).to_contain_text("已选 3 户")
    screenshot(page, "offline_pick")
    page.get_by_test_id("pick-submit").click()
    expect(page).to_have_url(f"{browser.base_url}/visits/offline/")
    app = page.locator("#offline-app[data-ready='1']")
    expect(app).to_be_attached()
    expect(page.locator(".household-card")).to_have_count(3)
    expect(page.get_by_test_id("offline-households")).to_contain_text(
        zhou.head_id_number[:6] + "********"
    )
    expect(page.get_by_test_id("offline-households")).not_to_contain_text(zhou.head_id_number)
    # The service worker registered at login controls the page and keeps it.
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    if not page.evaluate("() => !!navigator.serviceWorker.controller"):
        page.reload()
    page.wait_for_function(SHELL_CACHED)

    # Offline: the page comes from the service worker, filled from the phone's store.
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    expect(page.get_by_test_id("net-state")).to_have_text("离线")
    expect(page.locator(".household-card")).to_have_count(3)
    capture(page, zhou, notes="离线走访：周家饮水待改")
    capture(page, wu, notes="离线走访：吴家一切正常")
    expect(page.get_by_test_id("queue-count")).to_have_text("2 条待同步")
    expect(page.get_by_test_id("queued-visit")).to_have_count(2)
    screenshot(page, "offline_banner")
    assert not TrackingVisit.objects.exists()

    # Back online: the queue is sent by itself, one request per visit.
    context.set_offline(False)
    expect(page.get_by_test_id("net-state")).to_have_text("在线")
    expect(page.get_by_test_id("sync-result")).to_contain_text("已同步 2 条走访")
    expect(page.get_by_test_id("queue-count")).to_have_text("0 条待同步")
    synced = TrackingVisit.objects.filter(visitor=county["user"], offline_key__isnull=False)
    assert sorted(synced.values_list("notes", flat=True)) == [
        "离线走访：吴家一切正常",
        "离线走访：周家饮水待改",
    ]

    # The same visit synced twice (its answer lost, then two requests at once): one visit.
    context.set_offline(True)
    capture(page, zhou, notes="离线走访：重复发送")
    (item,) = page.evaluate(QUEUE)
    context.set_offline(False)
    expect(page.get_by_test_id("sync-result")).to_contain_text("已同步 1 条走访")
    page.evaluate("(item) => window.HuoqiuOffline.store.putVisit(item)", item)
    page.evaluate("() => window.HuoqiuOfflineApp.refresh()")
    expect(page.get_by_test_id("queue-count")).to_have_text("1 条待同步")
    page.get_by_test_id("sync-now").click()
    expect(page.get_by_test_id("sync-result")).to_contain_text("已同步 1 条走访")
    expect(page.get_by_test_id("queue-count")).to_have_text("0 条待同步")
    # Two requests at once. SQLite's in-memory test database refuses a concurrent write
    # outright ("table is locked", a 500) where a file or PostgreSQL database waits; the
    # phone keeps a visit whose answer is not JSON and sends it again, and so does this.
    errors_before = len(browser.console_errors)
    statuses = page.evaluate(
        """(item) => {
          const app = window.HuoqiuOfflineApp;
          const once = () => app.postVisit(item).then((a) => (a.data ? a : app.postVisit(item)));
          return Promise.all([once(), once()]).then((answers) => answers.map((a) => a.data.status));
        }""",
        item,
    )
    assert statuses == ["duplicate", "duplicate"]
    retried = browser.console_errors[errors_before:]
    assert all("status of 500" in error for error in retried), retried
    del browser.console_errors[errors_before:]
    assert TrackingVisit.objects.filter(offline_key=item["key"]).count() == 1
    assert TrackingVisit.objects.filter(notes="离线走访：重复发送").count() == 1

    # Refused: a household moved out of the worker's scope, and a date the form refuses.
    Household.objects.filter(pk=zheng.pk).update(
        township=factories.township("城关镇"), village=factories.village("城关镇", "东关村")
    )
    context.set_offline(True)
    capture(page, zheng, notes="离线走访：郑家")
    visited_on = page.evaluate(QUEUE)[0]["fields"]["visited_on"]
    capture(page, wu, notes="离线走访：日期有误", next_due=visited_on)
    expect(page.get_by_test_id("queue-count")).to_have_text("2 条待同步")
    context.set_offline(False)
    expect(page.get_by_test_id("refused-count")).to_have_text("2 条被退回")
    refusals = page.get_by_test_id("refusal")
    expect(refusals).to_have_count(2)
    expect(refusals.nth(0)).to_have_text(REFUSED_OUT_OF_SCOPE)
    expect(refusals.nth(1)).to_have_text("下次访视日期：下次访视日期应晚于本次走访日期")
    assert not TrackingVisit.objects.filter(
        notes__in=["离线走访：郑家", "离线走访：日期有误"]
    ).exists()

    # The worker corrects the refused date and sends it again; it stays one visit.
    page.get_by_test_id("queued-visit").nth(1).get_by_role("button", name="修改").click()
    form = page.get_by_test_id("offline-visit-form")
    expect(form.locator(".field-error")).to_have_text("下次访视日期应晚于本次走访日期")
    form.get_by_label("下次访视日期").fill("")
    page.get_by_test_id("offline-save").click()
    expect(page.get_by_test_id("sync-result")).to_contain_text("已同步 1 条走访")
    assert TrackingVisit.objects.filter(notes="离线走访：日期有误").count() == 1
    expect(page.get_by_test_id("refused-count")).to_have_text("1 条被退回")

    # Logout: the pack, the refused visit, the cached page and the service worker are gone.
    assert page.evaluate(STORED)["databases"] == ["huoqiu-offline"]
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{browser.base_url}/login/")
    stored = page.evaluate(STORED)
    assert "huoqiu-offline" not in stored["databases"]
    assert stored["caches"] == [] and stored["workers"] == 0
    # Chromium logs every 4xx answer: the two refusals (422), and nothing else.
    unexpected = [error for error in browser.console_errors if "status of 422" not in error]
    assert len(browser.console_errors) == 2 and unexpected == [], browser.console_errors


def test_data_older_than_a_day_is_deleted(browser, county):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page)
    page.goto("/visits/offline/")
    expect(page.locator("#offline-app[data-ready='1']")).to_be_attached()
    day = 24 * 3600 * 1000
    page.evaluate(
        """(day) => Promise.all([
          window.HuoqiuOffline.store.savePack({households: [], form: {fields: []}}),
          window.HuoqiuOffline.store.putVisit({key: 'old', user: 'hekou_staff', household: 1,
            household_label: '旧户', fields: {}, saved_at: Date.now() - day - 1000, state: 'pending'}),
          window.HuoqiuOffline.store.putVisit({key: 'new', user: 'hekou_staff', household: 1,
            household_label: '新户', fields: {}, saved_at: Date.now() - day + 60000, state: 'pending'}),
          window.HuoqiuOffline.store.putVisit({key: 'other', user: 'somebody_else', household: 1,
            household_label: '他人', fields: {}, saved_at: Date.now(), state: 'pending'}),
        ])""",
        day,
    )
    page.goto("/")
    page.wait_for_function("() => window.HuoqiuOffline && window.HuoqiuOffline.ready")
    page.evaluate("() => window.HuoqiuOffline.ready")
    keys = [row["key"] for row in page.evaluate(QUEUE)]
    assert keys == ["new"]
    assert page.evaluate("() => window.HuoqiuOffline.store.getPack().then((p) => !!p)")


def test_logout_warns_of_unsent_visits_before_clearing(browser, county):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page)
    page.goto("/visits/offline/")
    expect(page.locator("#offline-app[data-ready='1']")).to_be_attached()
    page.evaluate(
        """() => window.HuoqiuOffline.store.putVisit({key: 'unsent', user: 'hekou_staff',
             household: 1, household_label: '某户', fields: {}, saved_at: Date.now(),
             state: 'pending'})"""
    )
    messages = []

    def dismiss(dialog):
        messages.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="退出").click()
    page.wait_for_function("() => true")
    expect(page).to_have_url(f"{browser.base_url}/visits/offline/")
    assert messages == ["手机上还有 1 条走访没有同步，退出后将被删除。确定退出吗？"]
    assert [row["key"] for row in page.evaluate(QUEUE)] == ["unsent"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="退出").click()
    expect(page).to_have_url(f"{browser.base_url}/login/")
    assert "huoqiu-offline" not in page.evaluate(STORED)["databases"]
