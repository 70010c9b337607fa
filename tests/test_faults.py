"""Faults (docs/SECURITY.md): killed cross-checks, retried and concurrent imports, database errors.

- A `manage.py crosscheck` killed with SIGKILL in the middle of its write transaction
  (held there by the `crosscheck.written` fault point) leaves the findings exactly as
  they were; run again, it gives the same findings, events and counts as one
  uninterrupted run (computed first inside a rolled-back transaction).
- Two imports of the same source at once are serialised (`cases.locks.process_lock`
  around `import_run`), never interleaved.
- A database error in the middle of an import's write leaves nothing half-written and
  a clear message on the batch; retries of a finished batch or a re-import change nothing.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from django.db import OperationalError, connection, transaction

from cases.locks import LockBusy, process_lock
from cases.models import AuditEvent, Person
from monitoring import services
from monitoring.crosscheck import run_crosscheck
from monitoring.models import CrosscheckRun, Finding, FindingEvent, ImportBatch

from .conftest import database_url_for_subprocess
from .import_files import SURVEY_HEADER, survey_row, write_table

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 6, 30)


# --- the cross-check killed mid-write -----------------------------------------------------------


def survey(tmp_path, name, incomes: dict[int, int], uninsured=()):
    rows = [
        survey_row(
            n, **{"家庭年人均收入（元）": income, "基本医疗保险": "否" if n in uninsured else "是"}
        )
        for n, income in incomes.items()
    ]
    return write_table(tmp_path / name, SURVEY_HEADER, rows)


def state() -> dict:
    """The cross-check's visible result, by natural keys (ids differ between runs)."""
    findings = sorted(
        (rule, id_number, status, reason, cleared is not None)
        for rule, id_number, status, reason, cleared in Finding.objects.values_list(
            "rule", "person__id_number", "status", "reason", "cleared_at"
        )
    )
    last = CrosscheckRun.objects.filter(status="done").order_by("-id").first()
    events = sorted(
        FindingEvent.objects.filter(run=last).values_list(
            "finding__rule", "finding__person__id_number", "from_status", "to_status", "note"
        )
    )
    counts = (last.new, last.still_open, last.cleared, last.reopened, last.by_rule)
    return {"findings": findings, "events": events, "counts": counts}


def crosscheck_process(env_extra: dict) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_subprocess(),
        DJANGO_SETTINGS_MODULE="huoqiu.settings",
        **env_extra,
    )
    return subprocess.Popen(
        [sys.executable, "manage.py", "crosscheck", "--as-of", AS_OF.isoformat(), "--json"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.services
def test_a_killed_crosscheck_changes_nothing_and_a_rerun_equals_an_uninterrupted_run(
    postgres, transactional_db, tmp_path
):
    # Yesterday's data and run: persons 1–6, incomes below the line for 1–3.
    services.import_survey_file(
        survey(tmp_path, "a.xlsx", {n: 3000 if n <= 3 else 20000 for n in range(1, 7)})
    )
    run_crosscheck(AS_OF)
    # Today's data: 1 recovered, 4 fell below, 7 new and uninsured.
    services.import_survey_file(
        survey(
            tmp_path,
            "b.xlsx",
            {1: 20000, 2: 3000, 3: 3000, 4: 3000, 5: 20000, 6: 20000, 7: 20000},
            uninsured={7},
        )
    )
    before = state()

    # What one uninterrupted run gives, computed and rolled back.
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        run_crosscheck(AS_OF)
        expected = state()
        raise Rollback
    assert state() == before
    assert expected != before  # the run has something to write

    # A run killed with SIGKILL while its write transaction is open.
    marker = tmp_path / "at-fault-point"
    killed = crosscheck_process(
        {"HUOQIU_FAULT_POINT": "crosscheck.written", "HUOQIU_FAULT_MARKER": str(marker)}
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert killed.poll() is None, killed.communicate()
        assert time.monotonic() < deadline, "the cross-check never reached the fault point"
        time.sleep(0.1)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    assert state() == before  # nothing of the killed run's write is visible
    orphan = CrosscheckRun.objects.order_by("-id").first()
    assert orphan.status == CrosscheckRun.Status.RUNNING

    # Run again, at once: the leftover run is recognised as dead, the result is the same.
    rerun = crosscheck_process({})
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert state() == expected
    orphan.refresh_from_db()
    assert orphan.status == CrosscheckRun.Status.FAILED and "中断" in orphan.message
    assert Finding.objects.count() == len(expected["findings"])  # no duplicates
    assert AuditEvent.objects.filter(action="crosscheck", result="ok").exists()


def test_the_fault_point_is_inert_without_the_variable(monkeypatch):
    from cases.faults import fault_point

    monkeypatch.delenv("HUOQIU_FAULT_POINT", raising=False)
    started = time.monotonic()
    fault_point("crosscheck.written")
    assert time.monotonic() - started < 0.5


# --- the process lock ----------------------------------------------------------------------


def test_process_lock_excludes_a_second_holder(db):
    with process_lock("faults-test"):
        errors = []

        def other():
            try:
                with process_lock("faults-test", wait=False):
                    errors.append("acquired while held")
            except LockBusy:
                errors.append("busy")
            finally:
                connection.close()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert errors == ["busy"]
    with process_lock("faults-test", wait=False):
        pass  # free again


def test_process_lock_times_out(db):
    held = threading.Event()
    release = threading.Event()

    def holder():
        try:
            with process_lock("faults-timeout"):
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(10)
    try:
        started = time.monotonic()
        with (
            pytest.raises(LockBusy, match="faults-timeout"),
            process_lock("faults-timeout", timeout=0.5),
        ):
            pass
        assert 0.4 < time.monotonic() - started < 5
    finally:
        release.set()
        thread.join()


# --- imports: serialised, retried, failing -----------------------------------------------------


@pytest.mark.services
def test_two_imports_of_the_same_source_never_interleave(
    postgres, transactional_db, tmp_path, monkeypatch
):
    first = survey(tmp_path, "one.xlsx", dict.fromkeys(range(1, 6), 20000))
    second = survey(tmp_path, "two.xlsx", dict.fromkeys(range(4, 9), 15000))
    spans: list[tuple[str, float, float]] = []
    original = services._run

    def slow_run(batch, path, tracker):
        started = time.monotonic()
        time.sleep(0.8)  # long enough that the two would overlap without the lock
        original(batch, path, tracker)
        spans.append((batch.original_name, started, time.monotonic()))

    monkeypatch.setattr(services, "_run", slow_run)
    results, errors = {}, []

    def run(path):
        try:
            results[path.name] = services.import_survey_file(path)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(path,)) for path in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(spans) == 2
    (_, _start_a, end_a), (_, start_b, _end_b) = sorted(spans, key=lambda span: span[1])
    assert end_a <= start_b, "the two imports interleaved"
    assert {batch.status for batch in results.values()} == {ImportBatch.Status.DONE}
    assert Person.objects.count() == 8  # persons 1–8, none lost or doubled


def test_retrying_a_finished_batch_or_reimporting_changes_nothing(db, tmp_path):
    path = survey(tmp_path, "s.xlsx", dict.fromkeys(range(1, 4), 9000))
    batch = services.import_survey_file(path)
    assert (batch.status, batch.created) == (ImportBatch.Status.DONE, 3)
    events = AuditEvent.objects.filter(action="import").count()
    again = services.import_run(batch.pk)  # a retried task
    assert again.status == ImportBatch.Status.DONE and again.finished_at == batch.finished_at
    assert AuditEvent.objects.filter(action="import").count() == events  # nothing re-ran
    reimport = services.import_survey_file(path)
    assert (reimport.created, reimport.updated, reimport.unchanged) == (0, 0, 3)
    assert Person.objects.count() == 3


def test_a_database_error_mid_write_leaves_nothing_and_says_so(db, tmp_path, monkeypatch):
    path = survey(tmp_path, "s.xlsx", dict.fromkeys(range(1, 6), 9000))
    original = services.writer.write_survey

    def fail_after_writing(rows, out):
        original(rows, out)  # every row written inside the transaction…
        assert Person.objects.count() == 5
        raise OperationalError(
            "server closed the connection unexpectedly"
        )  # …then the database fails

    monkeypatch.setattr(services.writer, "write_survey", fail_after_writing)
    batch = services.import_survey_file(path)
    assert batch.status == ImportBatch.Status.FAILED
    assert "未写入任何数据" in batch.message and "OperationalError" in batch.message
    assert Person.objects.count() == 0
    assert (batch.created, batch.updated, batch.unchanged) == (0, 0, 0)
    event = AuditEvent.objects.get(action="import")
    assert event.result == "error" and event.details["status"] == "failed"


# --- database errors in the commands: one clear line, not a traceback -------------------------


def test_crosscheck_command_reports_a_database_error_in_one_line(db, monkeypatch):
    from django.core.management import CommandError, call_command

    from monitoring.management.commands import crosscheck as command

    def broken(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(command, "run_crosscheck", broken)
    with pytest.raises(CommandError) as raised:
        call_command("crosscheck", "--as-of", AS_OF.isoformat())
    message = str(raised.value)
    assert "数据库错误" in message and "未改动任何比对结果" in message
    assert "Connection refused" in message and "\n" not in message


def test_import_command_reports_a_database_error_in_one_line(db, tmp_path, monkeypatch):
    from django.core.management import CommandError, call_command

    from monitoring.management.commands import _import

    def broken(*args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(_import, "import_run", broken)
    path = survey(tmp_path, "s.xlsx", {1: 9000})
    with pytest.raises(CommandError, match="数据库错误，本次导入未写入任何数据"):
        call_command("import_survey", str(path))
    assert Person.objects.count() == 0
