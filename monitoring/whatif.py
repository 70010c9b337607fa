"""Policy what-if (政策测算): the cross-check's rules on trial parameters, writing no finding.

`whatif_start` records a pending `WhatIfRun` (county admins only); `whatif_run` (the Celery
task `monitoring.whatif`, or a background thread without a broker: `monitoring.tasks`) loads
the data township by township as the nightly cross-check does (`crosscheck.load_dataset` →
`crosscheck.evaluate`), with the year's `Policy` changed only in the trial parameters, and
compares the hits with the findings in force the way the nightly writer would: a hit with
no finding, or with a cleared one, is *added*; an open or handled finding without a hit is
*cleared* (`crosscheck.write_findings`). Nothing but the run record is written.
docs/WHATIF.zh.md explains it for county staff; docs/CROSSCHECK.md the rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from cases.audit import audit
from cases.models import AuditEvent, Township
from cases.scope import scope_for
from cases.services import ServiceError
from subsidies.models import PolicyYear
from subsidies.policy import PolicyError, clean_value

from . import crosscheck
from .eligibility import civil_townships
from .models import CrosscheckRun, Finding, SurveyRecord, WhatIfRun
from .rules import rules
from .rules.records import HouseholdVisit, Policy

# Trial parameter (PolicyYear field) → (the `Policy` field the rules read, Chinese label).
PARAMETERS: dict[str, tuple[str, str]] = {
    "monitoring_line": ("monitoring_line", "防返贫监测收入线"),
    "rigid_expenditure_threshold": ("rigid_threshold", "大额刚性支出阈值"),
    "care_subsidy_includes_grade3_mental": ("care_grade3_mental", "护理补贴含三级智力/精神残疾"),
}
REFUSAL = "只有县残联管理员可以进行政策测算"
# Affected households kept in the result (the page shows the first ones, the export all kept).
HOUSEHOLD_CAP = 20000
# A run whose heartbeat is older than this died (a worker or the server restarted).
STALE = timedelta(minutes=10)
# Up to this many surveyed persons a what-if loads the county in one pass (about the memory of
# the nightly in-process run); above it, township by township.
PARTITION_ABOVE = 200_000
SLICES = 10  # evaluation steps of a one-pass what-if, for the progress bar
WRITE_ATTEMPTS = 5
NO_TOWNSHIP = "none"  # the result's key for persons without a township
ADDED, CLEARED = "added", "cleared"


class WhatIfError(ServiceError):
    """A what-if that cannot be started; `str()` is the Chinese reason."""


# --- starting a run -----------------------------------------------------------------------


def clean_parameters(year: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """The trial parameters as JSON-safe values (amounts as "7000.00" text, the flag as bool);
    a parameter left out or None keeps the year's value."""
    unknown = set(params) - set(PARAMETERS)
    if unknown:
        raise WhatIfError(f"不能试算的参数：{'、'.join(sorted(unknown))}")
    stored = PolicyYear.objects.filter(year=year).first()
    if stored is None:
        raise WhatIfError(f"{year}年度尚未设置政策参数，请先新建该年度", "year")
    cleaned: dict[str, Any] = {}
    for name in PARAMETERS:
        value = params.get(name)
        if value is None:
            value = getattr(stored, name)
        try:
            value = clean_value(name, value)
        except PolicyError as error:
            raise WhatIfError(str(error), name) from None
        cleaned[name] = value if isinstance(value, bool) else str(value)
    return cleaned


def _fail_stale(now: datetime) -> None:
    WhatIfRun.objects.filter(status=WhatIfRun.Status.RUNNING, heartbeat_at__lt=now - STALE).update(
        status=WhatIfRun.Status.FAILED, message="测算进程意外中断，请重新发起", finished_at=now
    )
    WhatIfRun.objects.filter(status=WhatIfRun.Status.PENDING, created_at__lt=now - STALE).update(
        status=WhatIfRun.Status.FAILED, message="测算任务未能启动，请重新发起", finished_at=now
    )


def whatif_start(user: User, year: int, params: Mapping[str, Any]) -> WhatIfRun:
    """Record a pending what-if for `year` with trial `params` (county admins only; audited).

    One what-if runs at a time in the county (the machine's cores are shared with the
    nightly job); the caller queues it (`monitoring.tasks.queue_whatif`) after this returns.
    """
    if not scope_for(user).is_county_admin:
        raise PermissionDenied(REFUSAL)
    if isinstance(year, bool) or not isinstance(year, int):
        raise WhatIfError("请选择测算年度", "year")
    cleaned = clean_parameters(year, params)
    now = timezone.now()
    with transaction.atomic():
        _fail_stale(now)
        busy = WhatIfRun.objects.select_for_update().filter(
            status__in=(WhatIfRun.Status.PENDING, WhatIfRun.Status.RUNNING)
        )
        if busy.exists():
            raise WhatIfError("已有一次政策测算正在进行，请等它完成后再发起")
        run = WhatIfRun.objects.create(year=year, parameters=cleaned, requested_by=user)
        audit(
            user,
            AuditEvent.Action.CREATE,
            target=(run._meta.label_lower, run.pk, f"政策测算#{run.pk}（{year}年度）"),
            details={"year": year, "parameters": cleaned},
        )
    return run


# --- running it ---------------------------------------------------------------------------


def trial_policy(year: int, parameters: Mapping[str, Any]) -> Policy:
    """The year's `Policy` with the trial parameters put in (`dataclasses.replace`)."""
    current = crosscheck.load_policy(year)
    changes: dict[str, Any] = {
        PARAMETERS[name][0]: clean_value(name, value)
        for name, value in parameters.items()
        if name in PARAMETERS
    }
    return dataclasses.replace(current, **changes)


def whatif_as_of(year: int) -> date:
    """The date the trial is evaluated on: the latest finished cross-check's as-of date when it
    falls in `year` (so the comparison with its findings differs in the parameters only),
    else today for the current or a later year, else 31 December of a past year."""
    latest = (
        CrosscheckRun.objects.filter(status=CrosscheckRun.Status.DONE, as_of__year=year)
        .order_by("-as_of", "-id")
        .values_list("as_of", flat=True)
        .first()
    )
    if latest is not None:
        return latest
    today = timezone.localdate()
    return today if year >= today.year else date(year, 12, 31)


def _trial_visits(visits: dict[int, HouseholdVisit], policy: Policy) -> dict[int, HouseholdVisit]:
    """V01 measures a visit against the line of the visit's year: a visit in the trial year is
    measured against the trial line."""
    return {
        household_id: (
            dataclasses.replace(visit, monitoring_line=policy.monitoring_line)
            if visit.visited_on.year == policy.year
            else visit
        )
        for household_id, visit in visits.items()
    }


Fired = dict[tuple[str, int], tuple[int | None, int | None]]


def trial_hits(
    as_of: date, policy: Policy, progress: Callable[[int, int], None] | None = None
) -> Fired:
    """{(rule, person): (household, township)} of every hit on `policy`.

    Up to PARTITION_ABOVE persons the county is loaded in one pass, as the nightly in-process
    run does, and evaluated in slices for the progress bar; above it township by township
    (bounded memory, as the nightly fan-out's partitions)."""
    civil = civil_townships()
    names = dict(Township.objects.values_list("id", "name"))
    if SurveyRecord.objects.count() > PARTITION_ABOVE:
        keys = crosscheck.partition_keys()
        fired: Fired = {}
        for done, key in enumerate(keys, start=1):
            dataset = crosscheck.load_dataset(as_of, policy, key, civil=civil, township_names=names)
            _collect(fired, _trial_dataset(dataset, policy))
            if progress is not None:
                progress(done, len(keys))
        return fired
    dataset = _trial_dataset(
        crosscheck.load_dataset(as_of, policy, crosscheck.ALL, civil=civil, township_names=names),
        policy,
    )
    # Loading is about half the work; the other half is evaluating, slice by slice.
    total = 2 * SLICES
    if progress is not None:
        progress(SLICES, total)
    fired = {}
    size = -(-len(dataset.certified) // SLICES) or 1
    for step in range(SLICES):
        piece = dataclasses.replace(
            dataset,
            certified=dataset.certified[step * size : (step + 1) * size],
            roster_only=dataset.roster_only if step == SLICES - 1 else [],
        )
        _collect(fired, piece)
        if progress is not None:
            progress(SLICES + step + 1, total)
    return fired


def _trial_dataset(dataset: crosscheck.Dataset, policy: Policy) -> crosscheck.Dataset:
    ctx = dataclasses.replace(
        dataset.ctx, household_visits=_trial_visits(dataset.ctx.household_visits, policy)
    )
    return dataclasses.replace(dataset, ctx=ctx)


def _collect(fired: Fired, dataset: crosscheck.Dataset) -> None:
    for hit in crosscheck.evaluate(dataset):
        fired[(hit[0], hit[1])] = (hit[3], hit[4])


Change = tuple[
    str, str, int, int | None, int | None
]  # (added/cleared, rule, person, household, township)


def compare(fired: Fired) -> list[Change]:
    """What the nightly writer would do with these hits: added (no finding, or a cleared one)
    and cleared (an open or handled finding without a hit). Dismissed findings stay."""
    codes = [r.code for r in rules()]
    changes: list[Change] = []
    seen: set[tuple[str, int]] = set()
    existing = (
        Finding.objects.filter(rule__in=codes)
        .order_by()
        .values_list("rule", "person_id", "status", "household_id", "township_id")
    )
    for code, person_id, status, household_id, township_id in existing.iterator(chunk_size=10000):
        key = (code, person_id)
        seen.add(key)
        hit = fired.get(key)
        if hit is None:
            if status in (Finding.Status.OPEN, Finding.Status.HANDLED):
                changes.append((CLEARED, code, person_id, household_id, township_id))
        elif status == Finding.Status.CLEARED:
            changes.append((ADDED, code, person_id, *hit))
    for key, hit in fired.items():
        if key not in seen:
            changes.append((ADDED, *key, *hit))
    return changes


def summarise(changes: Iterable[Change], townships: Mapping[int, str]) -> dict[str, Any]:
    """Persons and households added and cleared per township × rule, totals, and the affected
    households (a person without a survey household counts as a household of one)."""
    persons: dict[tuple[str, str, str], set] = defaultdict(set)
    households: dict[tuple[str, str, str], set] = defaultdict(set)
    affected: dict[tuple, list[int]] = defaultdict(list)
    for change, code, person_id, household_id, township_id in changes:
        place = str(township_id) if township_id is not None else NO_TOWNSHIP
        unit = household_id if household_id is not None else f"p{person_id}"
        for scope in ((place, code), ("all", code), (place, "all"), ("all", "all")):
            persons[(*scope, change)].add(person_id)
            households[(*scope, change)].add(unit)
        affected[(household_id, unit, place, code, change)].append(person_id)

    def counts(place: str, code: str) -> dict[str, int]:
        return {
            f"{change}_{kind}": len(table.get((place, code, change), ()))
            for change in (ADDED, CLEARED)
            for kind, table in (("persons", persons), ("households", households))
        }

    codes = sorted({code for _place, code, _c in persons if code != "all"})
    places = sorted(
        {place for place, _code, _c in persons if place != "all"},
        key=lambda p: (p == NO_TOWNSHIP, row_name(p, townships)),
    )
    rows = [
        {
            "township": place,
            "township_name": row_name(place, townships),
            "rule": code,
            **counts(place, code),
        }
        for place in places
        for code in codes
        if any(counts(place, code).values())
    ]
    # By township name, rule, change, then household: the order of the page and the export.
    listed = sorted(
        affected.items(),
        key=lambda item: (
            item[0][2] == NO_TOWNSHIP,
            row_name(item[0][2], townships),
            item[0][3],
            item[0][4],
            str(item[0][1]),
        ),
    )
    return {
        "rows": rows,
        "by_township": [
            {"township": place, "township_name": row_name(place, townships), **counts(place, "all")}
            for place in places
        ],
        "by_rule": {code: counts("all", code) for code in codes},
        "totals": counts("all", "all"),
        "households": [
            {
                "household": household_id,
                "township": place,
                "rule": code,
                "change": change,
                "persons": ids,
            }
            for (household_id, _unit, place, code, change), ids in listed[:HOUSEHOLD_CAP]
        ],
        "households_total": len(listed),
    }


def row_name(place: str, townships: Mapping[int, str]) -> str:
    """A result's township key as its name ("none": persons without a township)."""
    return townships.get(int(place), "") if place != NO_TOWNSHIP else "未分乡镇"


def _update(runs: QuerySet[WhatIfRun], **fields: Any) -> int:
    """An UPDATE of run records, retried a few times on a transient OperationalError (a lock
    a reader holds for a moment; tests/test_sqlite_concurrency.py)."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            return runs.update(**fields)
        except OperationalError:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    return 0


def _write(run_id: int, **fields: Any) -> int:
    return _update(WhatIfRun.objects.filter(pk=run_id), **fields)


def _beat(run_id: int, **fields: Any) -> None:
    # A missed progress step is not worth failing the run for: the next one writes.
    with contextlib.suppress(OperationalError):
        _write(run_id, heartbeat_at=timezone.now(), **fields)


def _claim(run_id: int) -> bool:
    """Mark a pending run running; False when it is not pending (claimed, done or failed)."""
    now = timezone.now()
    pending = WhatIfRun.objects.filter(pk=run_id, status=WhatIfRun.Status.PENDING)
    claimed = _update(
        pending, status=WhatIfRun.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0
    )
    return claimed == 1


def whatif_run(run_id: int) -> WhatIfRun:
    """Evaluate a pending what-if and store its result. Idempotent: a run that is not pending
    (already claimed, done or failed) is returned untouched. Writes no finding."""
    if not _claim(run_id):
        return WhatIfRun.objects.get(pk=run_id)
    run = WhatIfRun.objects.get(pk=run_id)
    try:
        result = _evaluate(run)
    except Exception as error:
        _write(
            run.pk,
            status=WhatIfRun.Status.FAILED,
            message=(str(error) or type(error).__name__)[:500],
            finished_at=timezone.now(),
        )
        run.refresh_from_db()
        _audit_finished(run)
        raise
    now = timezone.now()
    _write(
        run.pk,
        status=WhatIfRun.Status.DONE,
        progress=100,
        result=result,
        finished_at=now,
        heartbeat_at=now,
    )
    run.refresh_from_db()
    _audit_finished(run)
    return run


def _evaluate(run: WhatIfRun) -> dict[str, Any]:
    policy = trial_policy(run.year, run.parameters)
    current = crosscheck.load_policy(run.year)
    as_of = whatif_as_of(run.year)

    def progress(done: int, total: int) -> None:
        # Loading and evaluating is nearly all the work; the comparison is the last 5%.
        _beat(run.pk, progress=min(95, done * 95 // total))

    fired = trial_hits(as_of, policy, progress)
    townships = dict(Township.objects.values_list("id", "name"))
    result = summarise(compare(fired), townships)
    changed = [
        name
        for name, (field, _label) in PARAMETERS.items()
        if getattr(policy, field) != getattr(current, field)
    ]
    return {
        "as_of": as_of.isoformat(),
        "current": {
            name: _plain(getattr(current, field)) for name, (field, _label) in PARAMETERS.items()
        },
        "trial": {
            name: _plain(getattr(policy, field)) for name, (field, _label) in PARAMETERS.items()
        },
        "changed": changed,
        "rule_names": {r.code: r.name for r in rules()},
        **result,
    }


def _plain(value: object) -> object:
    return value if isinstance(value, bool) or value is None else str(value)


def _audit_finished(run: WhatIfRun) -> None:
    totals = (run.result or {}).get("totals", {})
    audit(
        run.requested_by,
        AuditEvent.Action.CROSSCHECK,
        target=(run._meta.label_lower, run.pk, f"政策测算#{run.pk}（{run.year}年度）"),
        details={
            "what_if": True,
            "year": run.year,
            "status": str(run.status),
            "parameters": run.parameters,
            **totals,
            "message": run.message,
        },
        result=AuditEvent.Result.OK
        if run.status == WhatIfRun.Status.DONE
        else AuditEvent.Result.ERROR,
        path="",
    )
