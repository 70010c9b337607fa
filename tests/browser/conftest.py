"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live_server.

Never downloads a browser: it uses /usr/bin/chromium (`apt-get install -y chromium`).
Without it the tests skip with a reason, unless REQUIRE_SERVICES=1 (CI), where they fail.
Set SCREENSHOTS=1 to save page screenshots to docs/screenshots/.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests import factories

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
# test itself (creating users and persons) would otherwise be refused as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 812}
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "Hekou-staff-2026!"


def staff(username="hekou_staff", township="河口镇"):
    """Township staff 李娟 who logs in with PASSWORD (the row must be committed: call it before
    the browser starts, in a `transaction=True` test)."""
    user = factories.user_with_role("township_staff", township=township, username=username)
    user.last_name, user.first_name = "李", "娟"
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(page, username="hekou_staff", township="河口镇"):
    """Sign in through the login page and wait for the header to show the user's scope."""
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("scope-label")).to_have_text(township)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: browser tests need Debian's chromium (apt-get install -y chromium)"
        if settings.REQUIRE_SERVICES:
            pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


class Browser:
    """Opens pages in fresh Chromium profiles; records console errors (e.g. CSP violations).

    Playwright starts at the first `new_page()` and stops when the test ends. While it
    runs, an asyncio loop counts as running in this thread, and Django then keeps a
    separate set of database connections for the thread (asgiref's Local). So: create
    the test's rows *before* the first `new_page()`; Django's own per-test set-up and
    flush then run, as usual, outside Playwright.
    """

    def __init__(self, executable: Path, tmp_path: Path, base_url: str):
        self.executable = executable
        self.tmp_path = tmp_path
        self.base_url = base_url
        self.driver = None
        self.contexts = []
        self.console_errors: list[str] = []

    def new_page(self, viewport=DESKTOP, is_mobile=False):
        if self.driver is None:
            from playwright.sync_api import sync_playwright

            self.driver = sync_playwright().start()
        profile = self.tmp_path / f"chromium-profile-{len(self.contexts)}"
        context = self.driver.chromium.launch_persistent_context(
            user_data_dir=str(profile),
            executable_path=str(self.executable),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=viewport,
            is_mobile=is_mobile,
            has_touch=is_mobile,
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            base_url=self.base_url,
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.on(
            "console",
            lambda message: message.type == "error" and self.console_errors.append(message.text),
        )
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        return page

    def close(self):
        try:
            for context in self.contexts:
                context.close()
        finally:
            if self.driver is not None:
                self.driver.stop()
                self.driver = None


@pytest.fixture
def browser(chromium_path, live_server, tmp_path):
    # Cookies stay Secure as in production: Chromium accepts them from http://localhost.
    opened = Browser(chromium_path, tmp_path, live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def screenshot():
    """Save a full-page screenshot to docs/screenshots/NAME.png when SCREENSHOTS=1."""

    def save(page, name: str):
        if os.environ.get("SCREENSHOTS") != "1":
            return None
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        target = SCREENSHOT_DIR / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return save
