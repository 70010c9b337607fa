"""Explicit history rows (who, when, what changed, why), written by services.

Services call `record_change` for one object or `change_rows` + `bulk_create`
for many (imports). Never from signals: the service knows the actor and the reason.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.db.models import Model

from .audit import audit_change_record
from .models import ChangeRecord

# Set by an entry point (the Django admin) around a service call, so the rows the service
# writes carry the entry point's source and the reason its user typed, without every
# service taking `source`/`reason` parameters it has no other use for.
_recorded_as: ContextVar[tuple[str, str] | None] = ContextVar("recorded_as", default=None)


@contextmanager
def recorded_as(*, source: str, reason: str = "") -> Iterator[None]:
    """History rows written inside carry `source` and, when given, `reason`."""
    token = _recorded_as.set((source, reason))
    try:
        yield
    finally:
        _recorded_as.reset(token)


def _plain(value):
    """JSON-safe value for the changes field."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal | UUID):  # UUID: a visit's offline key (docs/FIELDWORK.md)
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def diff(old: dict, new: dict) -> dict:
    """{field: [old, new]} for fields whose value differs."""
    return {
        field: [_plain(old.get(field)), _plain(value)]
        for field, value in new.items()
        if _plain(old.get(field)) != _plain(value)
    }


def snapshot(instance: Model, fields: Iterable[str]) -> dict:
    return {field: getattr(instance, field) for field in fields}


def change_row(
    instance: Model,
    action: str,
    changes: dict,
    actor=None,
    reason: str = "",
    source: str = "",
) -> ChangeRecord:
    """An unsaved history row (for bulk_create)."""
    context = _recorded_as.get()
    if context is not None:
        source = source or context[0]
        reason = context[1] or reason
    return ChangeRecord(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        source=source[:64],
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        action=action,
        changes=changes,
        reason=reason[:500],
    )


def record_change(
    instance: Model, action: str, changes: dict, actor=None, reason: str = "", source: str = ""
) -> ChangeRecord:
    row = change_row(instance, action, changes, actor=actor, reason=reason, source=source)
    row.save()
    # Inside a web request the write is also audited (field-level, masked; docs/SECURITY.md).
    audit_change_record(row, instance)
    return row
