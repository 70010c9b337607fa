"""Explicit history rows (who, when, what changed, why), written by services.

Services call `record_change` for one object or `change_rows` + `bulk_create`
for many (imports). Never from signals: the service knows the actor and the reason.
"""

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Model

from .audit import audit_change_record
from .models import ChangeRecord


def _plain(value):
    """JSON-safe value for the changes field."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal):
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
    # Inside a web request the write is also audited (field-level, masked); issue 7.
    audit_change_record(row, instance)
    return row
