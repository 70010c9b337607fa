"""Fail import batches whose run died (docs/IMPORTS.md, "Interrupted imports").

A run beats while it waits for its turn and while it reads (`services.import_heartbeat`).
A worker or web process killed mid-import (out of memory, a restart, a recycled gunicorn
worker running a background import) stops beating and leaves its batch 导入中 or 排队中
for ever; nothing of it was written (the write is one transaction). `sweep_stale_imports`
marks such a batch failed with "导入中断，请重新导入" and records the failure as every
failed batch is recorded: one import audit event.

Stale means no beat (or, before the first one, no start; before that, no upload) for
`settings.IMPORT_STALE_MINUTES`. A run inside its write transaction cannot beat (the row
would only be seen at commit), so a running batch whose import lock is held and which is
the newest running batch under that lock is alive whatever its last beat: a dead process
has lost the lock (`cases.locks`). The nightly beat task, `manage.py import_sweep` and
the imports page's "清理中断的导入" all call `sweep_stale_imports`.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db.models import DateTimeField
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.audit import audit_import_batch
from cases.locks import is_locked

from .models import ImportBatch
from .services import import_lock_name

logger = logging.getLogger(__name__)

INTERRUPTED = "导入中断，请重新导入"
UNFINISHED = (ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING)


def _alive_under_lock() -> set[int]:
    """Running batches held alive by their lock: the newest running batch of each lock
    that is held right now (at most one run holds a lock; older ones under it are dead)."""
    newest: dict[str, int] = {}
    running = ImportBatch.objects.filter(status=ImportBatch.Status.RUNNING).order_by("pk")
    for pk, source in running.values_list("pk", "source"):
        newest[import_lock_name(source)] = pk
    return {pk for name, pk in newest.items() if is_locked(name)}


def stale_imports(now: datetime | None = None) -> list[ImportBatch]:
    """The unfinished batches with no sign of life within the threshold."""
    now = now or timezone.now()
    cutoff = now - settings.IMPORT_STALE_MINUTES
    candidates = list(
        ImportBatch.objects.filter(status__in=UNFINISHED)
        .annotate(
            last_sign=Coalesce(
                "heartbeat_at", "started_at", "created_at", output_field=DateTimeField()
            )
        )
        .filter(last_sign__lt=cutoff)
        .order_by("pk")
    )
    if not candidates:
        return []
    alive = _alive_under_lock()
    return [batch for batch in candidates if batch.pk not in alive]


def sweep_stale_imports(now: datetime | None = None) -> list[ImportBatch]:
    """Mark every stale batch failed ("导入中断，请重新导入") and audit each; returns them.

    The update is conditional on the status and the beat read a moment before, so a run
    that beats (or finishes) in between is left alone.
    """
    swept = []
    for batch in stale_imports(now):
        finished = timezone.now()
        updated = ImportBatch.objects.filter(
            pk=batch.pk, status=batch.status, heartbeat_at=batch.heartbeat_at
        ).update(
            status=ImportBatch.Status.FAILED,
            message=INTERRUPTED,
            skipped=batch.rows,
            created=0,
            updated=0,
            unchanged=0,
            finished_at=finished,
        )
        if not updated:
            continue
        batch.refresh_from_db()
        logger.warning(
            "import batch %s had stopped (last sign of life %s): failed",
            batch.pk,
            batch.heartbeat_at or batch.started_at or batch.created_at,
        )
        audit_import_batch(batch)
        swept.append(batch)
    return swept
