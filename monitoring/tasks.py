"""Celery tasks of the monitoring app: thin wrappers around `monitoring.crosscheck`.

`crosscheck_task` is what beat runs at 02:00 Asia/Shanghai (`monitoring.schedule`).
Without a broker (eager mode) it runs the whole cross-check in-process. With a
broker it takes the lock, records the run and fans out one `crosscheck_partition_task`
per township in a chord; each returns plain hits and `crosscheck_merge_task` writes
the findings and finishes the run record, then releases the lock. A failing header
task triggers `crosscheck_failed_task`, which marks the run failed and releases the lock.
All tasks are idempotent: partitions only read, the merge skips a run that is no
longer running, and the findings writer is a diff.
"""

import logging
import threading
from datetime import date

from celery import chord, shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.utils import timezone

from . import crosscheck, whatif
from .import_sweeper import sweep_stale_imports
from .models import CrosscheckRun, ImportBatch, WhatIfRun
from .services import import_batch_counts, import_run

RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 30,
    "retry_jitter": True,
    "max_retries": 3,
    "acks_late": True,
}


def _as_of(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@shared_task(name="monitoring.crosscheck", time_limit=3300, soft_time_limit=3240, **RETRY)
def crosscheck_task(
    as_of: str | None = None,
    user_id: int | None = None,
    fanout: bool | None = None,
    trigger: str | None = None,
) -> dict:
    """The nightly cross-check (also `crosscheck` on demand through a worker).

    `fanout` None = fan out when a broker is configured, in-process otherwise.
    `trigger` labels the run (`CrosscheckRun.Trigger`: "schedule" from beat, "staff"
    with `user_id` from the runs page); None = inferred from `user_id`.
    """

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    if fanout is None:
        fanout = not crosscheck_task.app.conf.task_always_eager
    try:
        if fanout:
            return fan_out(_as_of(as_of), user, trigger)
        return crosscheck.summary(crosscheck.run_crosscheck(_as_of(as_of), user, trigger=trigger))
    except crosscheck.CrosscheckBusy as busy:
        # A run is in progress: this one is skipped, not retried (the lock guarantees
        # two runs never overlap; the next night runs again).
        return {"skipped": True, "reason": str(busy)}


def fan_out(as_of: date | None, user=None, trigger: str | None = None) -> dict:
    """Start a partitioned run: one task per township, merged by a chord callback."""

    as_of = as_of or timezone.localdate()
    run, token, _policy = crosscheck.begin_run(as_of, user, trigger=trigger)
    keys = crosscheck.partition_keys()
    header = [crosscheck_partition_task.s(as_of.isoformat(), key) for key in keys]
    callback = crosscheck_merge_task.s(run.pk, token).on_error(
        crosscheck_failed_task.s(run.pk, token)
    )
    try:
        chord(header)(callback)
    except Exception as error:
        crosscheck.fail_run(run, error)
        crosscheck.release_lock(token)
        raise
    return {"run": run.pk, "as_of": as_of.isoformat(), "partitions": len(keys)}


@shared_task(name="monitoring.crosscheck_partition", time_limit=1200, soft_time_limit=1140, **RETRY)
def crosscheck_partition_task(as_of: str, key: int | None) -> list:
    """Evaluate the rules for one township's persons; returns `[key, hits]` (plain lists)."""
    return [key, [list(hit) for hit in crosscheck.evaluate_partition(_as_of(as_of), key)]]


@shared_task(name="monitoring.crosscheck_merge", time_limit=2400, soft_time_limit=2340, **RETRY)
def crosscheck_merge_task(results: list, run_id: int, token: str) -> dict:
    """Chord callback: write every partition's findings and finish the run record."""
    return crosscheck.summary(crosscheck.merge_partitions(run_id, token, results))


@shared_task(name="monitoring.crosscheck_failed", time_limit=60, soft_time_limit=50, acks_late=True)
def crosscheck_failed_task(request, exc, traceback, run_id: int, token: str) -> None:
    """Chord error callback: record the failure on the run and release the lock."""

    run = CrosscheckRun.objects.filter(pk=run_id).first()
    if run is not None:
        crosscheck.fail_run(run, exc if isinstance(exc, BaseException) else RuntimeError(exc))
    crosscheck.release_lock(token)


# --- imports (docs/IMPORTS.md) ---------------------------------------------------------------

IMPORT_TIME_LIMIT = 1800  # a county-scale roster takes well under a minute (docs/PERFORMANCE.md)


@shared_task(
    name="monitoring.import_batch",
    time_limit=IMPORT_TIME_LIMIT,
    soft_time_limit=IMPORT_TIME_LIMIT - 60,
    acks_late=True,
    bind=True,
)
def import_batch_task(self, batch_id: int) -> dict:
    """Validate and write one pending import batch (`monitoring.services.import_run`).

    Idempotent: `import_run` claims only a pending batch, so a duplicate delivery
    returns the finished batch unchanged. A redelivery after the worker died
    mid-import (acks_late) finds the batch "running": its write transaction was
    rolled back with the connection, so the batch is marked failed instead of
    being left running forever. A soft time limit inside the write raises, the
    transaction rolls back and `import_run` records the batch as failed.
    """

    if (self.request.delivery_info or {}).get("redelivered"):
        _fail_interrupted(batch_id)
    return import_batch_counts(import_run(batch_id))


def _fail_interrupted(batch_id: int) -> None:

    ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.RUNNING).update(
        status=ImportBatch.Status.FAILED,
        message="导入进程意外中断（服务器重启或内存不足），本批次未写入任何数据，请重新上传",
        finished_at=timezone.now(),
    )


# Imports started in a background thread of this process (no broker), until they end.
_background: set[threading.Thread] = set()
_background_guard = threading.Lock()


def _run_in_thread(batch_id: int) -> None:
    """The body of a background import: the same task, run eagerly in this thread.

    The thread has its own database connection, closed at the end. A failure the task
    could not record on the batch (the database unreachable at the claim) leaves the
    batch unfinished; it stops beating and the sweeper fails it.
    """
    try:
        import_batch_task.apply(args=[batch_id], throw=True)
    except Exception:
        logging.getLogger(__name__).exception("background import of batch %s failed", batch_id)
    finally:
        connections.close_all()
        with _background_guard:
            _background.discard(threading.current_thread())


def _start_thread(batch_id: int) -> None:
    # A daemon thread: it never holds up a process that is shutting down; an import cut
    # short that way is one the sweeper fails (monitoring/import_sweeper.py).
    thread = threading.Thread(
        target=_run_in_thread, args=(batch_id,), name=f"import-batch-{batch_id}", daemon=True
    )
    with _background_guard:
        _background.add(thread)
    thread.start()


def join_background_imports(timeout: float = 120) -> None:
    """Wait for the background imports of this process to end (tests; `timeout` each)."""
    with _background_guard:
        running = list(_background)
    for thread in running:
        thread.join(timeout)
        if thread.is_alive():
            raise TimeoutError(f"background import {thread.name} still running")


def queue_import(batch_id: int) -> None:
    """Start `import_batch_task` once the surrounding transaction commits.

    With a broker the task is queued for a worker. Without one (no REDIS_URL: Celery in
    eager mode) it never runs inside the request: the same task runs in a background
    thread of this process, the request returns at once and the progress page polls the
    batch as it does with a worker. A thread has its own connection and sees committed
    rows only, so a caller still inside a transaction when this runs (a test's, which
    never commits) gets the task inline instead. If the broker cannot be reached the
    batch is marked failed (nothing was written) rather than left waiting forever.
    """

    def send() -> None:
        try:
            if not import_batch_task.app.conf.task_always_eager:
                import_batch_task.delay(batch_id)
            elif connection.in_atomic_block:
                import_batch_task.delay(batch_id)  # eager: inline, in the caller's transaction
            else:
                _start_thread(batch_id)
        except Exception:
            logging.getLogger(__name__).exception("could not queue import batch %s", batch_id)
            ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
                status=ImportBatch.Status.FAILED,
                message="后台任务队列暂时不可用，本批次未写入任何数据。请稍后重新上传，或联系管理员",
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)


@shared_task(name="monitoring.import_sweep", time_limit=600, soft_time_limit=540, acks_late=True)
def import_sweep_task() -> dict:
    """Nightly (`monitoring.schedule`): fail the import batches whose run died."""
    return {"failed": [batch.pk for batch in sweep_stale_imports()]}


# --- policy what-if (monitoring/whatif.py) --------------------------------------------------

WHATIF_TIME_LIMIT = 1800  # a county-scale what-if takes about a nightly run (docs/PERFORMANCE.md)


@shared_task(
    name="monitoring.whatif",
    time_limit=WHATIF_TIME_LIMIT,
    soft_time_limit=WHATIF_TIME_LIMIT - 60,
    acks_late=True,
)
def whatif_task(run_id: int) -> dict:
    """Evaluate one pending what-if (`monitoring.whatif.whatif_run`). Idempotent: only a
    pending run is claimed; it only reads, so a run cut short writes nothing but its record
    (left running, it stops beating and the next `whatif_start` marks it failed)."""
    run = whatif.whatif_run(run_id)
    return {"run": run.pk, "status": str(run.status)}


def _whatif_in_thread(run_id: int) -> None:
    try:
        whatif_task.apply(args=[run_id], throw=True)
    except Exception:
        logging.getLogger(__name__).exception("background what-if %s failed", run_id)
    finally:
        connections.close_all()
        with _background_guard:
            _background.discard(threading.current_thread())


def queue_whatif(run_id: int) -> None:
    """Start `whatif_task` once the surrounding transaction commits: on a worker with a
    broker, else in a background thread of this process (inline inside a test's
    transaction), as `queue_import` does."""

    def send() -> None:
        try:
            if not whatif_task.app.conf.task_always_eager or connection.in_atomic_block:
                whatif_task.delay(run_id)
                return
            thread = threading.Thread(
                target=_whatif_in_thread, args=(run_id,), name=f"whatif-{run_id}", daemon=True
            )
            with _background_guard:
                _background.add(thread)
            thread.start()
        except Exception:
            logging.getLogger(__name__).exception("could not queue what-if %s", run_id)
            WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.PENDING).update(
                status=WhatIfRun.Status.FAILED,
                message="后台任务队列暂时不可用，请稍后重新发起测算",
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)
