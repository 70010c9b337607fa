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
from datetime import date

from celery import chord, shared_task
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from . import crosscheck
from .models import CrosscheckRun, ImportBatch
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


def queue_import(batch_id: int) -> None:
    """Queue `import_batch_task` once the surrounding transaction commits.

    Without a broker (no REDIS_URL) Celery runs eagerly: the import runs in-process.
    If the broker cannot be reached the batch is marked failed (nothing was written)
    rather than left waiting forever.
    """

    def send() -> None:
        try:
            import_batch_task.delay(batch_id)
        except Exception:
            logging.getLogger(__name__).exception("could not queue import batch %s", batch_id)
            ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
                status=ImportBatch.Status.FAILED,
                message="后台任务队列暂时不可用，本批次未写入任何数据。请稍后重新上传，或联系管理员",
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)
