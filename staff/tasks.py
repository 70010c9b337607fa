"""Celery tasks of the staff app: the nightly indicator snapshot (`staff.snapshots`)."""

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cases.casework_base import today

from .snapshots import indicator_snapshot_take


@shared_task(
    name="staff.indicator_snapshot",
    time_limit=1800,
    soft_time_limit=1740,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=60,
    max_retries=3,
)
def indicator_snapshot_task(month_iso: str | None = None) -> dict:
    """Snapshot one month's indicators (`YYYY-MM` or `YYYY-MM-DD`); None = the current month.

    Idempotent: the month's rows are replaced, so a retry or a second run changes nothing
    but the figures' freshness.
    """
    month = today()
    if month_iso:
        month = date.fromisoformat(f"{month_iso}-01" if len(month_iso) == 7 else month_iso)
    result = indicator_snapshot_take(month)
    return {
        "month": result.month.isoformat(),
        "as_of": result.as_of.isoformat(),
        "tables": result.tables,
        "rows": result.rows,
        "replaced": result.replaced,
    }
