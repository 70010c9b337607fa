"""SQLite (development): imports take turns with page views and with each other instead of
failing with "database is locked" (huoqiu/settings.py: transaction_mode IMMEDIATE and a
timeout; monitoring/services.py: one import lock on SQLite).

The test database of the suite is an in-memory shared-cache database, whose locking is not
the file database's, so each scenario runs in a subprocess against a migrated SQLite file
in WAL mode, as `make run` does. Run directly, this file is that subprocess:
`python tests/test_sqlite_concurrency.py SCENARIO DB_PATH WORK_DIR [deferred]`.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


# --- the subprocess ---------------------------------------------------------------------------


def _page_view_write() -> None:
    """What every page view writes: its session (after the audit event)."""
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store["seen"] = time.time()
    store.save()


def page_during_write(work: Path) -> dict:
    """A page view commits a write after the import's write transaction has begun and read.

    With a deferred transaction the import's first write then finds its snapshot stale and
    SQLite refuses at once ("database is locked", no waiting); with BEGIN IMMEDIATE the
    page view waits for the import's commit instead.
    """
    from django.db import connections

    from monitoring import services
    from monitoring.models import ImportBatch
    from tests.import_files import SURVEY_HEADER, survey_row, write_table

    path = write_table(work / "s.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(40)])
    batch = services.import_create_batch("survey", path, original_name="s.xlsx")
    inside, page_done, page_errors = threading.Event(), threading.Event(), []

    def page() -> None:
        inside.wait(60)
        try:
            _page_view_write()
        except Exception as error:
            page_errors.append(repr(error))
        finally:
            page_done.set()
            connections.close_all()

    original = services._write

    def write_with_a_visitor(batch, result, tracker):
        ImportBatch.objects.filter(pk=batch.pk).count()  # the transaction has read
        inside.set()
        page_done.wait(2)  # the page view commits now, or waits for this transaction
        return original(batch, result, tracker)

    services._write = write_with_a_visitor
    visitor = threading.Thread(target=page)
    visitor.start()
    batch = services.import_run(batch.pk)
    visitor.join(120)
    return {
        "statuses": [batch.status],
        "messages": [batch.message],
        "page_errors": page_errors,
        "page_done": page_done.is_set(),
    }


def two_imports(work: Path) -> dict:
    """Two imports (different sources) started together while pages keep writing."""
    from django.db import connections

    from monitoring import services
    from tests.import_files import (
        CIVIL_HEADER,
        SURVEY_HEADER,
        civil_row,
        survey_row,
        write_table,
    )

    files = [
        ("survey", write_table(work / "s.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(60)])),
        ("civil", write_table(work / "c.xlsx", CIVIL_HEADER, [civil_row(n) for n in range(60)])),
    ]
    batches = [
        services.import_create_batch(source, path, original_name=path.name)
        for source, path in files
    ]
    spans: list[tuple[float, float]] = []
    original = services._run

    def timed(batch, path, tracker):
        started = time.monotonic()
        time.sleep(0.5)  # long enough that the two would overlap without the lock
        original(batch, path, tracker)
        spans.append((started, time.monotonic()))

    services._run = timed
    results, errors, page_errors = [], [], []
    finished = threading.Event()

    def run(batch_id: int) -> None:
        try:
            results.append(services.import_run(batch_id))
        except Exception as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    def pages() -> None:
        try:
            while not finished.is_set():
                try:
                    _page_view_write()
                except Exception as error:
                    page_errors.append(repr(error))
                time.sleep(0.02)
        finally:
            connections.close_all()

    visitor = threading.Thread(target=pages)
    visitor.start()
    runners = [threading.Thread(target=run, args=(batch.pk,)) for batch in batches]
    for runner in runners:
        runner.start()
    for runner in runners:
        runner.join(300)
    finished.set()
    visitor.join(120)
    spans.sort()
    return {
        "statuses": [batch.status for batch in results],
        "messages": [batch.message for batch in results],
        "errors": errors,
        "page_errors": page_errors,
        "overlap": len(spans) == 2 and spans[1][0] < spans[0][1],
    }


SCENARIOS = {"page_during_write": page_during_write, "two_imports": two_imports}


def main(scenario: str, db_path: str, work: str, *mode: str) -> None:
    sys.path.insert(0, str(REPO))
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["MEDIA_ROOT"] = str(Path(work) / "media")
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoqiu.settings")
    import django
    from django.conf import settings

    if "deferred" in mode:  # the settings before this change, to show the failure
        settings.DATABASES["default"]["OPTIONS"].pop("transaction_mode", None)
    django.setup()
    if scenario == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return
    print(json.dumps(SCENARIOS[scenario](Path(work)), ensure_ascii=False))


# --- the tests --------------------------------------------------------------------------------


def run_scenario(name: str, db_path: Path, work: Path, *mode: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, name, str(db_path), str(work), *mode],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={key: value for key, value in os.environ.items() if key != "DATABASE_URL"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-migrated")
    run = subprocess.run(
        [sys.executable, __file__, "migrate", str(folder / "db.sqlite3"), str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return folder / "db.sqlite3"


@pytest.fixture
def database(migrated, tmp_path) -> Path:
    copy = tmp_path / "db.sqlite3"
    shutil.copy(migrated, copy)
    return copy


def test_settings_begin_sqlite_writes_immediately_and_wait(settings):
    options = settings.DATABASES["default"].get("OPTIONS", {})
    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        pytest.skip("SQLite settings only")
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 30


def test_a_page_view_during_the_write_phase_waits_and_the_import_succeeds(database, tmp_path):
    outcome = run_scenario("page_during_write", database, tmp_path)
    assert outcome["statuses"] == ["done"], outcome["messages"]
    assert outcome["page_errors"] == [] and outcome["page_done"]


def test_without_immediate_transactions_the_page_view_breaks_the_import(database, tmp_path):
    # The attack as it was: the same scenario on the old settings fails the import.
    outcome = run_scenario("page_during_write", database, tmp_path, "deferred")
    assert outcome["statuses"] == ["failed"]
    assert "locked" in outcome["messages"][0]


def test_two_imports_at_once_take_turns_and_both_finish(database, tmp_path):
    outcome = run_scenario("two_imports", database, tmp_path)
    assert outcome["errors"] == []
    assert outcome["statuses"] == ["done", "done"], outcome["messages"]
    assert not any("locked" in message for message in outcome["messages"])
    assert outcome["overlap"] is False  # the second waited for the first
    assert outcome["page_errors"] == []


if __name__ == "__main__":
    main(*sys.argv[1:])
