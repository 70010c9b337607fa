"""The monthly indicator snapshot: every numeric cell of the 统计 tables, county-wide.

`indicator_snapshot_take(month)` computes `staff.selectors.indicators.dashboard` as a
county reader sees it (all 31 townships and the county total) and stores one
`IndicatorSnapshot` per (table, column, township) — replacing the month's rows in one
transaction, so running a month twice leaves the same rows, not twice as many. The nightly
task (`staff.tasks.indicator_snapshot_task`) takes the current month, so the month's last
run wins; `manage.py indicator_snapshot --month YYYY-MM` takes any month on demand.

The tables are read generically (tables → rows → columns), so a table added to
`dashboard()` is snapshotted without a change here. Tables whose rows are not townships
(category × grade, findings by rule) keep only their total row.

Why a system user: every indicator selector takes a user and derives its scope with
`cases.scope.scope_for(user)`, which reads the user's `StaffProfile`; no selector accepts
a `Scope`. Rather than hand an unsaved user object with a planted scope to code that
trusts `request.user`, the job reads as a dedicated, real county viewer
(`SYSTEM_READER`), created on first use through `cases.services.staff_profile_set` (with
its history row), like the demo and staff commands create users. It has no usable
password, so nobody can log in as it.
"""

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from cases.casework_base import today
from cases.models import Role, StaffProfile, Township
from cases.services import staff_profile_set
from staff.models import IndicatorSnapshot
from staff.selectors.indicators import Rate, Table, dashboard

SYSTEM_READER = "system-indicator-snapshot"
SNAPSHOT_SOURCE = "指标月度快照"


@dataclass
class SnapshotResult:
    month: date
    as_of: date
    tables: int
    rows: int
    replaced: int


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_as_of(month: date, on: date | None = None) -> date:
    """The date a month's figures are read at: its last day, or today for the current month."""
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    return min(last, on or today())


def system_reader() -> User:
    """The county-viewer account the snapshot job reads as (see the module docstring)."""
    user, created = User.objects.get_or_create(username=SYSTEM_READER)
    if created or user.has_usable_password() or not user.is_active:
        user.set_unusable_password()
        user.is_active = True  # scope_for() gives an inactive user no scope at all
        user.first_name = "指标快照（系统）"
        user.save()
    profile = StaffProfile.objects.filter(user=user).first()
    if profile is None or profile.role != Role.COUNTY_VIEWER:
        staff_profile_set(
            user,
            role=Role.COUNTY_VIEWER,
            reason="系统账号：按全县范围生成指标月度快照",
            source=SNAPSHOT_SOURCE,
        )
    return user


def _numbers(value: object) -> tuple[Decimal | None, int | None, int | None] | None:
    """(value, numerator, denominator) of a cell; None for a cell that is not a number."""
    if isinstance(value, Rate):
        rate = value.value
        return (
            None if rate is None else Decimal(str(round(rate, 6))),
            value.numerator,
            value.denominator,
        )
    if isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        return Decimal(value), None, None
    if isinstance(value, float):
        return Decimal(str(round(value, 6))), None, None
    inner = getattr(value, "value", None)  # AverageDays and other measures with a value
    if isinstance(inner, int | float | Decimal) and not isinstance(inner, bool):
        return Decimal(str(round(inner, 6))), None, None
    if hasattr(value, "value") and inner is None:
        return None, None, None  # a measure with nothing to measure yet
    return None


def township_rowed(table: Table, townships: dict[int, str]) -> bool:
    """True when the table's rows are townships (keyed by township id, labelled by name)."""
    return bool(table.rows) and all(
        isinstance(row.key, int) and townships.get(row.key) == row.label for row in table.rows
    )


def snapshot_rows(
    tables: dict[str, Table], month: date, townships: dict[int, str]
) -> list[IndicatorSnapshot]:
    """Unsaved snapshot rows of every numeric cell of the township rows and total rows."""
    result = []
    for table in tables.values():
        rows = [(row.key, row) for row in table.rows] if township_rowed(table, townships) else []
        rows.append((None, table.total))
        for township_id, row in rows:
            for column_key, _label in table.columns:
                numbers = _numbers(row.values.get(column_key))
                if numbers is None:
                    continue
                value, numerator, denominator = numbers
                result.append(
                    IndicatorSnapshot(
                        month=month,
                        table_key=table.key,
                        column_key=column_key,
                        township_id=township_id,
                        value=value,
                        numerator=numerator,
                        denominator=denominator,
                    )
                )
    return result


def indicator_snapshot_take(month: date) -> SnapshotResult:
    """Compute the county-wide tables for `month` and replace that month's snapshot rows."""
    month = first_of_month(month)
    as_of = month_as_of(month)
    tables = dashboard(system_reader(), as_of)
    townships = dict(Township.objects.values_list("pk", "name"))
    rows = snapshot_rows(tables, month, townships)
    with transaction.atomic():
        replaced, _ = IndicatorSnapshot.objects.filter(month=month).delete()
        IndicatorSnapshot.objects.bulk_create(rows, batch_size=2000)
    return SnapshotResult(month, as_of, len(tables), len(rows), replaced)
