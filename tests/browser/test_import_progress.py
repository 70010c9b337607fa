"""After an upload the batch page shows the import's progress and updates itself.

Without a broker the import runs in a background thread of the server (monitoring/tasks.py
`queue_import`): the upload answers at once with the batch page, whose script polls the
status JSON (static/js/progress.js) and reloads the page when the batch has
finished. The test never reloads by hand. bench/upload_bench.py measures the same at
60,000 rows against gunicorn (docs/PERFORMANCE.md).
"""

import re

import pytest
from django.db import connection
from playwright.sync_api import expect

from monitoring.models import ImportBatch
from tests import factories
from tests.import_files import SURVEY_HEADER, survey_row, write_table

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 1500
WAITING = (ImportBatch.Status.PENDING.label, ImportBatch.Status.RUNNING.label)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def county_admin():
    user = factories.user_with_role("county_admin", username="county_admin_upload")
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_batch_page_shows_progress_at_once_and_finishes_without_a_manual_reload(
    browser, tmp_path
):
    county_admin()
    survey = write_table(
        tmp_path / "survey.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(ROWS)]
    )
    page = browser.new_page()
    page.goto("/login/")
    page.get_by_label("用户名").fill("county_admin_upload")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/(?!login/)"))

    polls: list[str] = []
    page.on("response", lambda r: "/status/" in r.url and polls.append(r.url))
    loads: list[str] = []
    page.on("load", lambda p: loads.append(p.url))

    page.goto("/monitoring/imports/")
    page.get_by_label("数据来源").select_option("survey")
    page.get_by_label("文件", exact=True).set_input_files(str(survey))
    page.get_by_role("button", name="上传并导入").click()

    # The upload answers with the batch page at once: the batch waiting or running, its bar.
    page.wait_for_url(re.compile(r"/monitoring/imports/\d+/$"))
    batch_url = page.url
    status = page.get_by_test_id("batch-status")
    assert status.inner_text() in WAITING
    expect(page.get_by_test_id("batch-progress")).to_be_visible()
    expect(page.locator("#import-progress-bar")).to_be_visible()
    loads_after_upload = len(loads)

    # The page's script polls and reloads it by itself when the batch has finished.
    expect(status).to_have_text(ImportBatch.Status.DONE.label, timeout=90_000)
    assert page.url == batch_url
    assert polls, "the progress was never polled"
    assert len(loads) > loads_after_upload, "the page did not reload itself when the import ended"
    expect(page.get_by_test_id("batch-progress")).to_have_count(0)
    expect(page.get_by_test_id("count-created")).to_have_text(str(ROWS))
    if connection.vendor == "sqlite":
        # The suite's in-memory shared-cache SQLite refuses a read that meets the import's
        # write outright ("table is locked", a 500) where a file or PostgreSQL database
        # waits (tests/test_sqlite_concurrency.py); the page's script polls again.
        unexpected = [e for e in browser.console_errors if "status of 500" not in e]
    else:
        unexpected = browser.console_errors
    assert not unexpected, unexpected
