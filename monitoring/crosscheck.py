"""The cross-check (docs/RULES.md, docs/CROSSCHECK.md): loader → rules → findings diff → bulk writer → run record.

One service, called the same way by `manage.py crosscheck`, the nightly Celery task
and tests:

    run = run_crosscheck(as_of=date(2026, 6, 30))

Set-based throughout. A handful of queries load the current survey, roster, benefit
and task-area data of a *partition* (one township, the persons without a township, or
the whole county) into plain records (`monitoring.rules.records`); the registered
rules are pure functions over those records; the resulting hits are diffed in memory
against the partition's existing findings and written with bulk_create/bulk_update.
No query per person, and a re-run over unchanged data writes no finding row at all.

Partitions are what the Celery fan-out distributes (one task per township, see
`monitoring.tasks`): a person belongs to the partition of `Person.township`, and a
partition's result depends only on that partition's persons (plus the roster
households they belong to), so evaluating partitions one by one, in any order or on
any worker, gives exactly the findings of one whole-county pass.

Lifecycle of a finding (one per rule and person, docs/CROSSCHECK.md):
- rule fires, no finding yet → created 待处理 (open), event "" → open;
- open and still fires → stays open; the reason, household, township and village are
  refreshed when they changed (an unchanged finding is not written at all);
- handled (已处理) and still fires → stays handled (reason refreshed if changed);
- dismissed (不予处理) → stays dismissed whether or not it still fires;
- open or handled and no longer fires → 已消除 (cleared, cleared_at), event; a handled
  finding that clears has done its job, so it is closed like an open one (its
  action_taken is kept);
- cleared and fires again → reopened: open, decision fields reset, opened_at now,
  event cleared → open (the earlier decision stays in the events).
`last_run` is the last run that wrote the finding. Every run that finishes compares
all findings, so an open finding not written by the latest run was confirmed by it.
"""

import io
import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, TypeAlias

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection, connections, transaction
from django.db.models import Manager, Max, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from psycopg2.extras import execute_values  # type: ignore[import-untyped]

from cases.audit import audit_crosscheck_run
from cases.dbcopy import copy_text
from cases.faults import fault_point
from cases.identity import age_on
from cases.locks import LockBusy, is_locked, process_lock
from cases.models import AssistanceMeasure, Township
from subsidies.models import BenefitType
from subsidies.policy import policy_for_year

from .eligibility import (
    ALIVE_FIELD,
    CIVIL_FIELD,
    CivilTownships,
    civil_townships,
    receipt_field,
    with_receipt,
)
from .models import (
    CrosscheckRun,
    Finding,
    FindingEvent,
    ImportBatch,
    RosterMember,
    Source,
    SurveyRecord,
)
from .populations import (
    MONITORED_FIELD,
    active_pairings,
    education_plans,
    monitored_flag,
    rehab_services,
)
from .rules import Subject, rules
from .rules import evidence as ev
from .rules.records import (
    DECEASED,
    Certified,
    Context,
    Policy,
    RosterHousehold,
    RosterLink,
    RosterOnly,
)
from .visit_findings import household_visits

logger = logging.getLogger(__name__)

ALL = "all"  # partition key: the whole county in one pass
# A partition: a township id, None (persons without a township) or ALL.
PartitionKey: TypeAlias = int | str | None
BATCH_SIZE = 2000
READ_CHUNK = 10000  # rows per fetch of a streamed (server-side cursor) read
COPY_BLOCK = 1000  # new findings per block of the COPY stream (`_CopySource`)
LOCK_KEY = "huoqiu:crosscheck:lock"
LOCK_TIMEOUT = 3600  # seconds; also how long a crashed run blocks the next one at most
RUNNER_LOCK = "crosscheck-runner"  # cases.locks process lock of in-process runs
IN_PROCESS_MARK = "进程内运行 pid "  # message of a RUNNING in-process run (see begin_run)

# (rule, person_id, reason, household_id, township_id, village_id, evidence): plain and
# JSON-safe, so partition results travel through the Celery result backend unchanged.
# Evidence is the finding's evidence list already as JSON text (`monitoring.rules.evidence`,
# docs/CROSSCHECK.md#evidence).
Hit = tuple[str, int, str, int | None, int | None, int | None, str]
COUNT_KEYS = ("new", "still_open", "cleared", "reopened")


class CrosscheckBusy(RuntimeError):
    """Another cross-check holds the lock; `str()` is a one-line Chinese / English reason."""


@dataclass
class Dataset:
    certified: list[Certified]
    roster_only: list[RosterOnly]
    ctx: Context


# --- policy -----------------------------------------------------------------------------


def load_policy(year: int) -> Policy:
    """The as-of year's parameters as a plain record; PolicyMissing when absent."""
    row = policy_for_year(year)
    return Policy(
        year=row.year,
        monitoring_line=row.monitoring_line,
        rigid_threshold=row.rigid_expenditure_threshold,
        care_grade3_mental=row.care_subsidy_includes_grade3_mental,
        pension_tier=row.pension_contribution_tier,
        is_default=row.is_default,
    )


# --- loader -----------------------------------------------------------------------------


def partition_keys() -> list:
    """Every township id, then None (persons with no township)."""
    return [*Township.objects.order_by("code").values_list("id", flat=True), None]


def _in_partition(key: PartitionKey, prefix: str = "person__") -> Q:
    if key == ALL:
        return Q()
    if key is None:
        return Q(**{f"{prefix}township__isnull": True})
    return Q(**{f"{prefix}township_id": key})


def _belongs(township_id: int | None, key: PartitionKey) -> bool:
    return key == ALL or township_id == key


REHAB_NEEDS_TEXT = "rehab_needs_text"
SURVEY_FIELDS = (
    "person_id",
    "person__id_number",
    "person__name",
    "person__birth_date",
    "person__township_id",
    "person__village_id",
    "household_id",
    "person__certificate__category",
    "person__certificate__grade",
    "income_per_capita",
    "rigid_expenditure",
    "housing_safe",
    "water_safe",
    "in_school",
    "employment_status",
    # As its JSON text, decoded only when not empty (`_certified`): decoding every row's
    # list cost about as much as running the rules (docs/CROSSCHECK.md, "Speed").
    REHAB_NEEDS_TEXT,
    "rehab_received",
    # Receipt and alive are not computed here: `with_receipt` annotates them with the
    # conditions the coverage indicators, gap lists and rosters use, so the S rules and
    # those lists cannot disagree (docs/CROSSCHECK.md, "Benefit receipt").
    receipt_field(BenefitType.MEDICAL_INSURANCE),
    receipt_field(BenefitType.PENSION_INSURANCE),
    receipt_field(BenefitType.DIBAO),
    receipt_field(BenefitType.TEKUN),
    receipt_field(BenefitType.LIVING_SUBSIDY),
    receipt_field(BenefitType.CARE_SUBSIDY),
    "survival_status",
    ALIVE_FIELD,
    CIVIL_FIELD,
    # Where the answers came from, for the findings' evidence (docs/CROSSCHECK.md#evidence).
    "batch_id",
    "source_row",
)
MEMBER_FIELDS = (
    "person_id",
    "person__id_number",
    "name",
    "person__township_id",
    "person__village_id",
    "is_disabled",
    "disability_category",
    "disability_grade",
    "status",
    "batch_id",
    "source_row",
    "household_id",
    "household__household_number",
    "household__township_id",
    "household__village_id",
    "household__household_type",
    "household__risk_cleared",
    "household__identified_on",
    "household__cleared_on",
    MONITORED_FIELD,  # `populations.roster_monitored`, read as RosterHousehold.monitored
    "household__batch_id",
    "household__source_row",
    "person__survey__id",
    "person__survey__survival_status",
    "person__certificate__id",
    "person__certificate__grade",
)


def load_dataset(
    as_of: date,
    policy: Policy,
    key: PartitionKey = ALL,
    *,
    civil: CivilTownships | None = None,
    township_names: dict[int, str] | None = None,
    read_alongside: bool = False,
) -> Dataset:
    """Load one partition's current data into plain records (about ten queries).

    `read_alongside=True` (PostgreSQL, only when the caller has no uncommitted writes this
    read must see: see `_run_in_process`) reads the survey on a second connection while
    this one reads the roster (`_read_in_background`)."""
    # The county's civil townships, not the partition's: a partition's persons then get
    # the receipt the single pass gives them.
    if civil is None:
        civil = civil_townships()
    if township_names is None:
        township_names = dict(Township.objects.values_list("id", "name"))
    in_partition = _in_partition(key)
    survey = SurveyRecord.objects.filter(in_partition)
    survey_query = (
        with_receipt(survey, civil)
        .annotate(**{REHAB_NEEDS_TEXT: Cast("rehab_needs", TextField())})
        .order_by()
        .values_list(*SURVEY_FIELDS)
    )
    # Read when the records are built, after the roster (or meanwhile, alongside).
    survey_rows: Callable[[], Iterable[tuple]] = (
        _read_in_background(survey_query)
        if read_alongside
        else partial(survey_query.iterator, chunk_size=READ_CHUNK)
    )

    # Only the members a rule can read: persons in the survey (their roster row, and their
    # household's aggregates, which count surveyed members only) and members the roster
    # calls disabled (D05's leads). The rest — most of the roster — no rule reads, and
    # skipping them in SQL leaves about a third of the rows (docs/CROSSCHECK.md, "Speed").
    # "In the survey": over the whole county as `person_id IN (survey)`, which the planner
    # checks with one hashed lookup while scanning the members, before the joins (46,296
    # of 149,151 rows at 60k; the query took 0.7 s instead of 1.1 s); for one township as
    # the joined survey row, since hashing the whole survey cost a township's query more
    # than the join of its few households' members (0.3 s against 0.18 s).
    in_survey = (
        Q(person_id__in=SurveyRecord.objects.values("person_id"))
        if key == ALL
        else Q(person__survey__isnull=False)
    )
    members = (
        RosterMember.objects.filter(is_current=True, household__is_current=True)
        .filter(in_survey | Q(is_disabled=True))
        .annotate(**{MONITORED_FIELD: monitored_flag()})
    )
    if key != ALL:
        # The roster households of the partition's persons, with all their members (a
        # household's aggregates need members who live in other townships too).
        members = members.filter(
            household_id__in=RosterMember.objects.filter(in_partition, is_current=True).values(
                "household_id"
            )
        )
    member_rows = members.order_by().values_list(*MEMBER_FIELDS).iterator(chunk_size=READ_CHUNK)
    links, roster_only = _assemble_roster(member_rows, key)

    households = survey.values("household_id")
    ctx = Context(
        as_of=as_of,
        policy=policy,
        education_plans=frozenset(
            education_plans().filter(in_partition).order_by().values_list("person_id", flat=True)
        ),
        rehab_served=frozenset(
            rehab_services(as_of)
            .filter(in_partition)
            .order_by()
            .values_list("person_id", flat=True)
        ),
        paired_households=frozenset(
            _scoped_households(active_pairings(as_of), key, households)
            .order_by()
            .values_list("household_id", flat=True)
        ),
        assisted_households=frozenset(
            _scoped_households(AssistanceMeasure.objects, key, households)
            .filter(started_on__lte=as_of)
            .order_by()
            .values_list("household_id", flat=True)
        ),
        township_names=township_names,
        household_visits=household_visits(as_of, households),
        batches=ev.quoted_batches(batch_names()),
    )
    certified = [_certified(row, as_of, links.get(row[0])) for row in survey_rows()]
    return Dataset(certified, roster_only, ctx)


def _read_in_background(rows: QuerySet) -> Callable[[], list[tuple]]:
    """Start reading `rows` on a second connection in a thread; the returned function waits
    for the rows (and re-raises the thread's error).

    The survey read is the loader's longest query and the existing findings' read (their
    evidence printed as text) the diff's (about a second and half a second of server time
    at 60,000 persons, docs/CROSSCHECK.md, "Speed"): run beside the roster read and the
    rules they cost the run little, on the second core. The thread's connection (Django's
    are per thread) reads in autocommit, so it sees what is committed — as each statement
    of this connection's read-committed transaction does — and is closed when done. Only
    for callers without uncommitted writes the read must see (`_run_in_process`).
    """
    result: dict[str, Any] = {}

    def read() -> None:
        try:
            result["rows"] = list(rows)
        except BaseException as error:  # handed to the waiting caller
            result["error"] = error
        finally:
            connections.close_all()  # this thread's connections only

    thread = threading.Thread(target=read, name="crosscheck-read", daemon=True)
    thread.start()

    def wait() -> list[tuple]:
        thread.join()
        if "error" in result:
            raise result["error"]
        return result["rows"]

    return wait


def _scoped_households(
    manager: Manager | QuerySet, key: PartitionKey, households: QuerySet
) -> QuerySet:
    return manager.all() if key == ALL else manager.filter(household_id__in=households)


def _assemble_roster(
    rows: Iterable[tuple], key: PartitionKey
) -> tuple[dict[int, RosterLink], list]:
    """Roster links per person, household aggregates, and the partition's roster-only members."""
    households: dict[int, RosterHousehold] = {}
    links: dict[int, RosterLink] = {}
    roster_only: list[RosterOnly] = []
    # The household's columns stand in MEMBER_FIELDS in RosterHousehold's own order.
    for (
        person_id,
        id_number,
        name,
        township_id,
        village_id,
        is_disabled,
        category,
        grade,
        status,
        batch_id,
        source_row,
        *household_values,
        survey_id,
        survival_status,
        certificate_id,
        certificate_grade,
    ) in rows:
        household = households.get(household_values[0])
        if household is None:
            household = RosterHousehold(*household_values)
            households[household.id] = household
        link = RosterLink(
            name, is_disabled, category, grade, status or "", household, batch_id, source_row
        )
        links[person_id] = link
        alive = status != DECEASED and survival_status != DECEASED
        if survey_id is not None:
            if alive:
                household.living_certified += 1
                if certificate_grade in (1, 2):
                    household.living_severe += 1
        elif is_disabled and _belongs(township_id, key):
            roster_only.append(
                RosterOnly(
                    person_id,
                    id_number,
                    name,
                    township_id or household.township_id,
                    village_id if township_id else household.village_id,
                    certificate_id is not None,
                    link,
                    alive,
                )
            )
    return links, roster_only


NO_NEEDS = (None, "", "[]", "null")


@lru_cache(maxsize=4096)
def _rehab_needs(text: str) -> tuple[str, ...]:
    """A survey's 康复需求 list from its JSON text; few distinct lists repeat over the rows."""
    return tuple(json.loads(text))


def _certified(row: tuple, as_of: date, link: RosterLink | None) -> Certified:
    (
        person_id,
        id_number,
        name,
        birth_date,
        township_id,
        village_id,
        household_id,
        category,
        grade,
        income,
        rigid_expenditure,
        housing_safe,
        water_safe,
        in_school,
        employment_status,
        rehab_needs,
        rehab_received,
        medical_insured,
        pension_insured,
        dibao,
        tekun,
        living,
        care,
        survival_status,
        alive,
        from_civil,
        survey_batch_id,
        survey_row,
    ) = row
    # Positional, in Certified's field order: 31 keywords per record cost about a third
    # of building it, 60,000 times a run.
    return Certified(
        person_id,
        id_number,
        name,
        birth_date,
        age_on(birth_date, as_of),
        township_id,
        village_id,
        household_id,
        category,
        grade,
        income,
        rigid_expenditure,
        housing_safe,
        water_safe,
        in_school or "",
        employment_status or "",
        _rehab_needs(rehab_needs) if rehab_needs not in NO_NEEDS else (),
        rehab_received,
        medical_insured,
        pension_insured,
        dibao,
        tekun,
        living,
        care,
        from_civil,
        survival_status or "",
        link,
        alive,
        link is not None and link.household.monitored,
        survey_batch_id,
        survey_row,
    )


# --- rules ------------------------------------------------------------------------------


def evaluate(dataset: Dataset) -> list[Hit]:
    """Run every registered rule over every record of the dataset (pure, no queries)."""
    hits: list[Hit] = []
    _check_records(hits, Subject.CERTIFIED, dataset.certified, dataset.ctx)
    _check_records(hits, Subject.ROSTER_ONLY, dataset.roster_only, dataset.ctx)
    return hits


def _check_records(
    hits: list[Hit],
    subject: Subject,
    records: Iterable[Certified] | Iterable[RosterOnly],
    ctx: Context,
) -> None:
    """Append the hits of the subject's rules over its records; alive-only rules skip the dead."""
    add = hits.append
    collect = ev.collect
    subject_rules = rules(subject)
    # The rules for the living and for the dead, chosen once per record rather than tested
    # once per record and rule (1.2 million tests at 60,000 persons).
    for_alive = [(r.code, r.check, ev.bind(r.evidence, ctx)) for r in subject_rules]
    for_dead = [
        (r.code, r.check, ev.bind(r.evidence, ctx)) for r in subject_rules if not r.alive_only
    ]
    for record in records:
        for code, check, facts in for_alive if record.alive else for_dead:
            reason = check(record, ctx)
            if reason:
                add(
                    (
                        code,
                        record.person_id,
                        reason[:500],
                        record.household_id,
                        record.township_id,
                        record.village_id,
                        collect(facts, record, ctx),
                    )
                )


EVALUATE_CHUNK = 2000  # records per step of `iter_hits`


def iter_hits(dataset: Dataset) -> Iterator[Hit]:
    """`evaluate`'s hits in the same order, computed a chunk of records at a time as they are
    consumed: the single pass streams new findings to the database while the rules still
    run (`write_findings`)."""
    for subject, records in (
        (Subject.CERTIFIED, dataset.certified),
        (Subject.ROSTER_ONLY, dataset.roster_only),
    ):
        for start in range(0, len(records), EVALUATE_CHUNK):
            part: list[Hit] = []
            _check_records(part, subject, records[start : start + EVALUATE_CHUNK], dataset.ctx)
            yield from part


def normalise_hit(hit: Iterable) -> Hit:
    """A hit that went through JSON (a partition task's result) as the tuple `evaluate` makes
    (a hit queued before findings kept evidence has none)."""
    code, person_id, reason, household_id, township_id, village_id, *rest = hit
    evidence = rest[0] if rest else ev.EMPTY
    return (code, person_id, reason, household_id, township_id, village_id, evidence)


def evaluate_partition(as_of: date, key: PartitionKey, policy: Policy | None = None) -> list[Hit]:
    """Load and evaluate one partition: what each township task of the fan-out does."""
    policy = policy or load_policy(as_of.year)
    return evaluate(load_dataset(as_of, policy, key))


def hits_for_policy(as_of: date, policy: Policy, key: PartitionKey = ALL) -> list[Hit]:
    """The hits the nightly job would find on `as_of` under `policy` (any parameters, e.g. a
    proposed line), over the same loader and rules, writing nothing: what a policy trial
    run compares with today's findings. Each hit's evidence names the parameters it used."""
    return evaluate_partition(as_of, key, policy)


# --- findings diff and bulk writer --------------------------------------------------------


def empty_counts() -> dict[str, Counter]:
    return {r.code: Counter(dict.fromkeys(COUNT_KEYS, 0)) for r in rules()}


def batch_names() -> dict[int, tuple[str, str]]:
    """{batch id: (file name, sheet)} of every import batch: the evidence's file and sheet
    (one small query; batches are never edited, so a stored name never goes stale)."""
    return {
        pk: (name or "", sheet or "")
        for pk, name, sheet in ImportBatch.objects.order_by().values_list(
            "id", "original_name", "sheet_name"
        )
    }


def existing_findings(key: PartitionKey = ALL) -> QuerySet:
    """The partition's findings as `write_findings` compares them: those of its persons (by
    the person's current township, so a person who moved is diffed where they are now),
    with the evidence as text."""
    return (
        Finding.objects.filter(_in_partition(key), rule__in=[r.code for r in rules()])
        .order_by()
        .annotate(evidence_text=Cast("evidence", TextField()))
        .values_list(
            "id",
            "rule",
            "person_id",
            "status",
            "reason",
            "household_id",
            "township_id",
            "village_id",
            "evidence_text",
        )
    )


@transaction.atomic
def write_findings(
    run: CrosscheckRun,
    hits: Iterable[Hit],
    key: PartitionKey = ALL,
    existing: Callable[[], Iterable[tuple]] | None = None,
) -> dict[str, Counter]:
    """Diff one partition's hits against its existing findings and write the difference.

    `existing` returns the rows of `existing_findings(key)` when the caller read them
    already (`_run_in_process` reads them alongside the rules); else they are read here.
    Unchanged findings (reason, places and evidence) are not written; the evidence is
    compared as text (`monitoring.rules.evidence.same_as_stored`), decoded only when the
    texts differ.
    """
    counts = empty_counts()
    now = timezone.now()
    desired: dict[tuple[str, int], Hit]
    if existing is not None and connection.vendor == "postgresql":
        # The findings were read already: a hit no finding has is new, and goes to the
        # database at once (`_NewFindingPipe`) while the next hits are computed.
        rows = existing()
        desired = _stream_new_findings(run, hits, rows, now, counts)
    else:
        desired = {(hit[0], hit[1]): hit for hit in hits}
        rows = existing() if existing is not None else existing_findings(key).iterator(READ_CHUNK)
    refreshed: list[tuple] = []
    # (finding id, rule, status read, the hit that reopens it or None to clear it)
    status_changes: list[tuple[int, str, str, Hit | None]] = []
    for (
        fid,
        code,
        person_id,
        status,
        reason,
        household_id,
        township_id,
        village_id,
        stored_evidence,
    ) in rows:
        hit = desired.pop((code, person_id), None)
        if hit is None:
            if status in (Finding.Status.OPEN, Finding.Status.HANDLED):
                status_changes.append((fid, code, status, None))
            continue
        if status == Finding.Status.CLEARED:
            status_changes.append((fid, code, status, hit))
            continue
        if status == Finding.Status.OPEN:
            counts[code]["still_open"] += 1
        text = hit[6]
        if (reason, household_id, township_id, village_id) != hit[2:6] or not (
            stored_evidence == text or ev.same_as_stored(text, stored_evidence)
        ):
            refreshed.append((fid, *hit[2:]))
    cleared: list[Finding] = []
    reopened: list[Finding] = []
    events: list[FindingEvent] = []
    for fid, code, status, hit in unchanged_since_read(status_changes):
        if hit is None:
            cleared.append(
                Finding(id=fid, status=Finding.Status.CLEARED, cleared_at=now, last_run=run)
            )
            events.append(_event(fid, run, status, Finding.Status.CLEARED, "比对条件已不成立"))
            counts[code]["cleared"] += 1
        else:
            reopened.append(_reopened(fid, hit, run, now))
            events.append(_event(fid, run, status, Finding.Status.OPEN, "比对条件再次成立"))
            counts[code]["new"] += 1
            counts[code]["reopened"] += 1
    for code, *_ in desired.values():
        counts[code]["new"] += 1
    insert_new_findings(run, desired.values(), now)
    refresh_findings(run, refreshed, now)
    for objects, fields in (
        (cleared, ["status", "cleared_at", "last_run"]),
        (reopened, [*REOPEN_FIELDS]),
    ):
        if objects:
            for finding in objects:
                finding.updated_at = now
            Finding.objects.bulk_update(objects, [*fields, "updated_at"], batch_size=BATCH_SIZE)
    FindingEvent.objects.bulk_create(events, batch_size=BATCH_SIZE)
    return counts


def _stream_new_findings(
    run: CrosscheckRun,
    hits: Iterable[Hit],
    rows: Iterable[tuple],
    now: datetime,
    counts: dict[str, Counter],
) -> dict[tuple[str, int], Hit]:
    """Send the hits no existing finding (`rows`, as `existing_findings` reads them) has to
    the database as new findings while `hits` is consumed; return the other hits by key,
    for the diff."""
    known = {(row[1], row[2]) for row in rows}
    desired: dict[tuple[str, int], Hit] = {}
    new: dict[tuple[str, int], Hit] = {}
    with _NewFindingPipe(run, now) as pipe:
        for hit in hits:
            hit_key = (hit[0], hit[1])
            if hit_key in known:
                desired[hit_key] = hit
            elif hit_key not in new:  # one finding per rule and person; never repeated
                new[hit_key] = hit
                counts[hit[0]]["new"] += 1
                pipe.add(hit)
    return desired


class _NewFindingPipe:
    """New findings and their creation events written by a second thread on the run's
    connection (PostgreSQL), a block at a time, while this thread computes the next hits.

    Same rows as `insert_new_findings`; the difference is when the server does the work.
    Each block takes its ids from the findings' sequence, then is one COPY of findings and
    one of their events, and the foreign keys are checked IMMEDIATE, as each COPY ends, in
    that thread: inserting a county's findings costs the server several seconds, most of it
    the six key checks per finding and two per event, which otherwise ran at commit after
    the rules, with nothing else to do. The rules make no query, so the two threads never
    use the connection at once; leaving the block waits for the last block (and raises the
    thread's error) before anything else runs on it, and puts the constraints back to the
    schema's setting (initially deferred). Like the imports' `bulk.CopyPipe`."""

    def __init__(self, run: CrosscheckRun, now: datetime) -> None:
        meta, event_meta = Finding._meta, FindingEvent._meta
        quote = connection.ops.quote_name
        columns = ", ".join(
            quote(meta.get_field(name).column)  # type: ignore[union-attr,arg-type]  # concrete fields
            for name in ("id", *NEW_FINDING_FIELDS)
        )
        event_columns = ", ".join(
            quote(event_meta.get_field(name).column)  # type: ignore[union-attr,arg-type]  # concrete fields
            for name in ("finding", "created_at", "run", "from_status", "to_status", "note")
        )
        self.copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        self.events_sql = f"COPY {quote(event_meta.db_table)} ({event_columns}) FROM STDIN"
        stamp = connection.ops.adapt_datetimefield_value(now)
        fixed = (Finding.Status.OPEN.value, "", "", run.pk, run.pk, stamp, stamp, stamp)
        self.suffix = "\t" + "\t".join(copy_text(value) for value in fixed) + "\n"
        event = (stamp, run.pk, "", Finding.Status.OPEN.value, "比对发现")
        self.event_suffix = "\t" + "\t".join(copy_text(value) for value in event) + "\n"
        self.block: list[str] = []
        self.error: BaseException | None = None
        self.queue: queue.Queue[list[str] | None] = queue.Queue(maxsize=2)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
            self.sequence = cursor.fetchone()[0]
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self.cursor = connection.connection.cursor()
        self.thread = threading.Thread(target=self._work, name="crosscheck-copy", daemon=True)
        self.thread.start()

    def __enter__(self) -> "_NewFindingPipe":
        return self

    def add(self, hit: Hit) -> None:
        self.block.append(
            f"{hit[0]}\t{hit[1]}\t{copy_text(hit[2])}\t{copy_text(hit[3])}"
            f"\t{copy_text(hit[4])}\t{copy_text(hit[5])}\t{copy_text(hit[6])}{self.suffix}"
        )
        if len(self.block) >= COPY_BLOCK:
            self._send()

    def _send(self) -> None:
        if self.error is not None:
            raise self.error
        if self.block:
            self.queue.put(self.block)
            self.block = []

    def _work(self) -> None:
        while (rows := self.queue.get()) is not None:
            if self.error is not None:
                continue  # after a failure the rest is dropped; the run rolls back
            try:
                # Errors as Django's (IntegrityError, …), as the one-thread write raises them.
                with connection.wrap_database_errors:
                    self._write(rows)
            except BaseException as error:  # handed to the computing thread
                self.error = error

    def _write(self, rows: list[str]) -> None:
        cursor = self.cursor
        cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequence, len(rows)])
        ids = [row[0] for row in cursor.fetchall()]
        findings = "".join(f"{fid}\t{row}" for fid, row in zip(ids, rows, strict=True))
        # One read per COPY: psycopg2 takes the GIL for each piece it reads, and waits up to
        # a switch interval for it while the rules run.
        cursor.copy_expert(self.copy_sql, io.StringIO(findings), size=len(findings) + 1)
        suffix = self.event_suffix
        events = "".join(f"{fid}{suffix}" for fid in ids)
        cursor.copy_expert(self.events_sql, io.StringIO(events), size=len(events) + 1)

    def __exit__(self, kind: type | None, error: BaseException | None, trace: Any) -> None:
        try:
            if kind is None:
                self._send()
        finally:
            self.queue.put(None)
            self.thread.join()
            self.cursor.close()
        if kind is not None:
            return  # the caller's error; the transaction rolls back
        if self.error is not None:
            raise self.error
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def unchanged_since_read(
    changes: list[tuple[int, str, str, Hit | None]],
) -> list[tuple[int, str, str, Hit | None]]:
    """The status changes whose finding still has the status the run read, those rows locked
    until the run commits. The run reads the findings while its rules run, without a lock: a
    staff decision made meanwhile (不予处理, 已处理, docs/CROSSCHECK.md) wins over the run's
    clearing or reopening, which the next run reconsiders from the decided status."""
    if not changes:
        return []
    ids = [change[0] for change in changes]
    current: dict[int, str] = {}
    for start in range(0, len(ids), BATCH_SIZE):
        current.update(
            Finding.objects.select_for_update()
            .filter(id__in=ids[start : start + BATCH_SIZE])
            .order_by("id")
            .values_list("id", "status")
        )
    return [change for change in changes if current.get(change[0]) == change[2]]


REFRESH_COLUMNS = ("reason", "household_id", "township_id", "village_id", "evidence")


def refresh_findings(run: CrosscheckRun, rows: list[tuple], now: datetime) -> None:
    """Write the refreshed values of still-firing findings: `rows` of (id, reason,
    household_id, township_id, village_id, evidence text).

    PostgreSQL: one `UPDATE … FROM (VALUES …)` per chunk of 5,000; elsewhere one UPDATE
    per finding (executemany). Evidence goes in as the hit's text, so the next
    run compares it as text.
    """
    if not rows:
        return
    table = connection.ops.quote_name(Finding._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            execute_values(
                cursor.cursor,  # the driver's cursor: execute_values builds the VALUES list
                f"UPDATE {table} AS f SET reason = v.reason, "  # noqa: S608 (identifiers from _meta)
                "household_id = v.household_id::bigint, township_id = v.township_id::bigint, "
                "village_id = v.village_id::bigint, evidence = v.evidence::jsonb, "
                "last_run_id = v.last_run_id::bigint, updated_at = v.updated_at::timestamptz "
                "FROM (VALUES %s) AS v (id, reason, household_id, township_id, village_id, "
                "evidence, last_run_id, updated_at) WHERE f.id = v.id",
                [(*row, run.pk, now) for row in rows],
                page_size=5000,
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET reason = %s, household_id = %s, township_id = %s, "  # noqa: S608
                "village_id = %s, evidence = %s, last_run_id = %s, updated_at = %s WHERE id = %s",
                [(*row[1:], run.pk, stamp, row[0]) for row in rows],
            )


NEW_FINDING_FIELDS = (
    "rule",
    "person",
    "reason",
    "household",
    "township",
    "village",
    "evidence",
    "status",
    "action_taken",
    "dismiss_reason",
    "first_run",
    "last_run",
    "opened_at",
    "created_at",
    "updated_at",
)


def insert_new_findings(run: CrosscheckRun, hits: Iterable[Hit], now: datetime) -> None:
    """Insert new findings and their creation events, set-based.

    Tens of thousands of new findings are normal on a first run, so this skips model
    instances: COPY on PostgreSQL (psycopg2), one executemany elsewhere; the events
    are one INSERT … SELECT over the findings this call inserted (ids above the
    largest id before it; the run lock means no one else inserts meanwhile).

    The events deliberately avoid a NOT EXISTS anti-join against the events table:
    freshly filled tables have no statistics, and the planner's nested loop then
    re-scans the rows the same statement is inserting — quadratic at a million findings.
    """
    stamp = connection.ops.adapt_datetimefield_value(now)
    fixed = (Finding.Status.OPEN.value, "", "", run.pk, run.pk, stamp, stamp, stamp)
    hits = list(hits)
    if not hits:
        return
    meta, event_meta = Finding._meta, FindingEvent._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    id_before = Finding.objects.aggregate(top=Max("pk"))["top"] or 0
    columns = ", ".join(quote(meta.get_field(name).column) for name in NEW_FINDING_FIELDS)  # type: ignore[union-attr,arg-type]  # concrete fields
    with connection.cursor() as cursor:
        raw = getattr(cursor, "cursor", None)
        if connection.vendor == "postgresql" and hasattr(raw, "copy_expert"):
            suffix = "\t" + "\t".join(copy_text(value) for value in fixed) + "\n"
            blocks = (
                "".join(
                    f"{hit[0]}\t{hit[1]}\t{copy_text(hit[2])}\t{copy_text(hit[3])}"
                    f"\t{copy_text(hit[4])}\t{copy_text(hit[5])}\t{copy_text(hit[6])}{suffix}"
                    for hit in hits[start : start + COPY_BLOCK]
                )
                for start in range(0, len(hits), COPY_BLOCK)
            )
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", _CopySource(blocks))
        else:
            marks = ", ".join(["%s"] * len(NEW_FINDING_FIELDS))
            for start in range(0, len(hits), BATCH_SIZE):
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    [(*hit, *fixed) for hit in hits[start : start + BATCH_SIZE]],
                )
        events = quote(event_meta.db_table)
        event_columns = ", ".join(
            quote(event_meta.get_field(name).column)  # type: ignore[union-attr,arg-type]  # concrete fields
            for name in ("finding", "created_at", "run", "from_status", "to_status", "note")
        )
        cursor.execute(
            f"INSERT INTO {events} ({event_columns}) "  # noqa: S608 (identifiers from _meta)
            f"SELECT f.id, %s, %s, '', %s, %s FROM {table} f "
            f"WHERE f.id > %s AND f.{quote(meta.get_field('first_run').column)} = %s",
            [stamp, run.pk, Finding.Status.OPEN.value, "比对发现", id_before, run.pk],
        )


class _CopySource:
    """The file psycopg2 reads a COPY from, built one block of rows per `read`.

    One COPY streamed this way keeps the server busy parsing, checking and indexing the
    rows already sent while Python builds the next block (building the whole text first
    left the server idle meanwhile, and the other way round); a block (evidence included,
    ~1 KB a finding) is the only copy of its rows in memory besides the hits."""

    def __init__(self, blocks: Iterator[str]) -> None:
        self.blocks = blocks

    def read(self, size: int = -1) -> str:
        return next(self.blocks, "")


REOPEN_FIELDS = (
    "status",
    "reason",
    "household_id",
    "township_id",
    "village_id",
    "evidence",
    "cleared_at",
    "opened_at",
    "action_taken",
    "dismiss_reason",
    "decided_by",
    "decided_at",
    "last_run",
)


def _reopened(fid: int, hit: Hit, run: CrosscheckRun, now: datetime) -> Finding:
    _, _, reason, household_id, township_id, village_id, evidence = hit
    return Finding(
        id=fid,
        status=Finding.Status.OPEN,
        reason=reason,
        household_id=household_id,
        township_id=township_id,
        village_id=village_id,
        evidence=json.loads(evidence),
        cleared_at=None,
        opened_at=now,
        action_taken="",
        dismiss_reason="",
        decided_by=None,
        decided_at=None,
        last_run=run,
    )


def _event(
    finding_id: int, run: CrosscheckRun, from_status: str, to_status: str, note: str
) -> FindingEvent:
    return FindingEvent(
        finding_id=finding_id, run=run, from_status=from_status, to_status=to_status, note=note
    )


def add_counts(total: dict[str, Counter], part: dict[str, Counter]) -> dict[str, Counter]:
    for code, counter in part.items():
        total.setdefault(code, Counter(dict.fromkeys(COUNT_KEYS, 0))).update(counter)
    return total


# --- lock and run record ----------------------------------------------------------------


def acquire_lock(kind: str = "fanout") -> str:
    """Take the cross-check lock (cache `add`: atomic in Redis) or raise CrosscheckBusy.

    With REDIS_URL the lock is shared by every process and worker; without a broker the
    cache is in-process and a RUNNING run row (younger than the lock timeout) guards
    against a second process as well (see `begin_run`).

    `kind="process"` is an in-process run (`run_crosscheck`), which also holds the
    process lock `RUNNER_LOCK` (released by the database when the process dies). A
    cache lock left by a killed in-process run is taken over at once instead of
    blocking every run until it expires (a killed run can be run again at once).
    """
    token = f"{kind}:{uuid.uuid4().hex}"
    if not cache.add(LOCK_KEY, token, timeout=LOCK_TIMEOUT):
        holder = cache.get(LOCK_KEY) or ""
        holder_dead = holder.startswith("process:") and (
            kind == "process" or not is_locked(RUNNER_LOCK)
        )
        if not holder_dead:
            raise CrosscheckBusy(
                "另一次比对正在运行，本次未执行，请稍后再试 / another cross-check is running; "
                "this one was not started"
            )
        logger.warning("cross-check lock of a killed run taken over (%s)", holder)
        cache.set(LOCK_KEY, token, timeout=LOCK_TIMEOUT)
    return token


def release_lock(token: str) -> None:
    """Release the lock only if it is still ours (it may have expired and been retaken)."""
    if cache.get(LOCK_KEY) == token:
        cache.delete(LOCK_KEY)


def latest_batches() -> list[ImportBatch]:
    """The latest finished (done) import batch of each source: the data the run uses."""
    batches = []
    for source in Source.values:
        batch = (
            ImportBatch.objects.filter(source=source, status=ImportBatch.Status.DONE)
            .order_by("-id")
            .first()
        )
        if batch:
            batches.append(batch)
    return batches


def run_trigger(user: User | None, trigger: str | None) -> str:
    """How a run started: the caller says so; a caller that does not (older queued tasks,
    benchmarks) is a staff member's run when it names a user, else the schedule's."""
    if trigger:
        return CrosscheckRun.Trigger(trigger)  # an unknown value fails loudly
    if getattr(user, "is_authenticated", False):
        return CrosscheckRun.Trigger.STAFF
    return CrosscheckRun.Trigger.SCHEDULE


def begin_run(
    as_of: date,
    user: User | None = None,
    *,
    in_process: bool = False,
    trigger: str | None = None,
    os_user: str = "",
) -> tuple[CrosscheckRun, str, Policy]:
    """Take the lock, create the RUNNING run record with its batches, load the policy.

    `trigger` (a `CrosscheckRun.Trigger` value) and `os_user` label how the run started
    (see `run_trigger`); `os_user` is kept only for a command-line run.

    Raises CrosscheckBusy (nothing recorded) or PolicyMissing (the run is recorded as
    failed with the reason, so the nightly job's failure shows in the admin).

    `in_process=True` (from `run_crosscheck`, holding `RUNNER_LOCK`): a RUNNING run
    that an in-process run left behind is one whose process died (a live one would hold
    the runner lock): it is marked failed at once, so the run can simply be started again.
    """
    trigger = run_trigger(user, trigger)
    # 64 = the field's max_length; an OS user name is far shorter.
    os_user = os_user.strip()[:64] if trigger == CrosscheckRun.Trigger.COMMAND else ""
    token = acquire_lock("process" if in_process else "fanout")
    try:
        now = timezone.now()
        if in_process:
            CrosscheckRun.objects.filter(
                status=CrosscheckRun.Status.RUNNING, message__startswith=IN_PROCESS_MARK
            ).update(
                status=CrosscheckRun.Status.FAILED,
                finished_at=now,
                message="运行中断（进程被终止），本次未改动任何比对结果",
            )
        stale_before = now - timedelta(seconds=LOCK_TIMEOUT)
        CrosscheckRun.objects.filter(
            status=CrosscheckRun.Status.RUNNING, started_at__lt=stale_before
        ).update(status=CrosscheckRun.Status.FAILED, message="运行超时或中断，未完成")
        running = CrosscheckRun.objects.filter(status=CrosscheckRun.Status.RUNNING).first()
        if running is not None:
            raise CrosscheckBusy(
                f"比对#{running.pk}（{timezone.localtime(running.started_at):%Y-%m-%d %H:%M}开始）"
                f"正在运行，本次未执行 / cross-check run {running.pk} is still running"
            )
        run = CrosscheckRun.objects.create(
            as_of=as_of,
            status=CrosscheckRun.Status.RUNNING,
            trigger=trigger,
            triggered_by=user if getattr(user, "is_authenticated", False) else None,
            os_user=os_user,
            started_at=now,
            message=f"{IN_PROCESS_MARK}{os.getpid()}@{socket.gethostname()}"[:500]
            if in_process
            else "",
        )
        run.batches.set(latest_batches())
        try:
            policy = load_policy(as_of.year)
        except Exception as error:
            fail_run(run, error)
            raise
    except BaseException:
        release_lock(token)
        raise
    return run, token, policy


def finish_run(run: CrosscheckRun, counts: dict[str, Counter], policy: Policy) -> CrosscheckRun:
    run.status = CrosscheckRun.Status.DONE
    run.finished_at = timezone.now()
    run.duration_seconds = round((run.finished_at - run.started_at).total_seconds(), 3)  # type: ignore[operator]  # a running run has started
    run.by_rule = {code: dict(counts[code]) for code in sorted(counts)}
    for name in COUNT_KEYS:
        setattr(run, name, sum(counter[name] for counter in counts.values()))
    run.message = (
        f"{policy.year}年度政策参数为系统默认值，尚待县残联确认" if policy.is_default else ""
    )
    run.save()
    audit_crosscheck_run(run)
    return run


def fail_run(run: CrosscheckRun, error: BaseException) -> None:
    failed = CrosscheckRun.objects.filter(pk=run.pk, status=CrosscheckRun.Status.RUNNING).update(
        status=CrosscheckRun.Status.FAILED,
        finished_at=timezone.now(),
        message=(str(error) or type(error).__name__)[:500],
    )
    if failed:
        audit_crosscheck_run(CrosscheckRun.objects.get(pk=run.pk))


def run_crosscheck(
    as_of: date | None = None,
    user: User | None = None,
    *,
    partitioned: bool = False,
    trigger: str | None = None,
    os_user: str = "",
) -> CrosscheckRun:
    """Run the whole cross-check in this process and return the finished run record.

    `partitioned=True` evaluates and writes township by township (bounded memory, the
    same findings); the default loads the county in one pass. `trigger` and `os_user`
    label how the run started (`begin_run`).
    """
    as_of = as_of or timezone.localdate()
    # One in-process run at a time, across processes; the database drops this lock when
    # the process dies, which is how a killed run's leftovers are recognised (begin_run).
    try:
        with process_lock(RUNNER_LOCK, wait=False):
            return _run_in_process(as_of, user, partitioned, trigger, os_user)
    except LockBusy:
        raise CrosscheckBusy(
            "另一次比对正在运行，本次未执行，请稍后再试 / another cross-check is running; "
            "this one was not started"
        ) from None


def _run_in_process(
    as_of: date, user: User | None, partitioned: bool, trigger: str | None, os_user: str
) -> CrosscheckRun:
    run, token, policy = begin_run(as_of, user, in_process=True, trigger=trigger, os_user=os_user)
    started = time.monotonic()
    try:
        counts = empty_counts()
        civil = civil_townships()
        names = dict(Township.objects.values_list("id", "name"))
        # A second connection sees only committed rows: read alongside only when no caller's
        # transaction holds rows this run must see (a test's, or a caller's atomic block).
        alongside = connection.vendor == "postgresql" and not connection.in_atomic_block
        with transaction.atomic():  # a run that fails changes no finding
            for key in partition_keys() if partitioned else [ALL]:
                dataset = load_dataset(
                    as_of, policy, key, civil=civil, township_names=names, read_alongside=alongside
                )
                # The findings are read while the rules run, in the single pass only: a
                # partition's read follows earlier partitions' uncommitted writes.
                existing = (
                    _read_in_background(existing_findings(key))
                    if alongside and key == ALL
                    else None
                )
                # With the findings read alongside, hits are computed as the writer takes
                # them, so new findings reach the database while the rules run.
                hits = iter_hits(dataset) if existing is not None else evaluate(dataset)
                add_counts(counts, write_findings(run, hits, key, existing))
                fault_point("crosscheck.written")  # fault tests kill the process here
            finish_run(run, counts, policy)
    except BaseException as error:
        fail_run(run, error)
        raise
    finally:
        release_lock(token)
    logger.info("cross-check run %s done in %.1f s", run.pk, time.monotonic() - started)
    return run


def merge_partitions(run_id: int, token: str, results: list) -> CrosscheckRun:
    """The fan-out's callback: write each partition's hits, then finish the run record.

    `results` is a list of `[key, hits]` pairs (one per township task). Idempotent: a run
    that is no longer RUNNING is returned untouched.
    """
    run = CrosscheckRun.objects.get(pk=run_id)
    if run.status != CrosscheckRun.Status.RUNNING:
        return run
    try:
        policy = load_policy(run.as_of.year)
        counts = empty_counts()
        with transaction.atomic():  # all partitions or none: a retry starts clean
            for key, hits in results:
                add_counts(counts, write_findings(run, [normalise_hit(hit) for hit in hits], key))
            finish_run(run, counts, policy)
    except (OperationalError, InterfaceError):
        # Transient database trouble: the task retries; the run stays RUNNING under the
        # lock, and each partition's write is atomic and a diff, so a retry is safe.
        raise
    except BaseException as error:
        fail_run(run, error)
        release_lock(token)
        raise
    release_lock(token)
    return run


def summary(run: CrosscheckRun) -> dict:
    """The JSON shape `crosscheck --json` prints (docs/CROSSCHECK.md)."""
    return {
        "run": run.pk,
        "as_of": run.as_of.isoformat(),
        "new": run.new,
        "still_open": run.still_open,
        "cleared": run.cleared,
        "by_rule": run.by_rule,
    }


def partition_hits(as_of: date, keys: Iterable | None = None) -> dict:
    """Hits per partition, evaluated one by one in this process (the fan-out's header,
    without Celery): used to show that fan-out and single pass agree."""
    policy = load_policy(as_of.year)
    return {
        key: evaluate_partition(as_of, key, policy)
        for key in (partition_keys() if keys is None else keys)
    }


def group_hits(hits: Iterable[Hit]) -> dict[str, set]:
    """{rule: {person_id, ...}} for comparing results."""
    grouped: dict[str, set] = defaultdict(set)
    for hit in hits:
        grouped[hit[0]].add(hit[1])
    return dict(grouped)
