"""The timeline of a household or person: ONE query, a UNION ALL of every kind of record
(visits, measures, pairings, case steps, findings, benefits, applications, plans,
services), newest first.
"""

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    DateField,
    F,
    IntegerField,
    Model,
    Q,
    QuerySet,
    Value,
)
from django.db.models.enums import Choices
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from cases.models import (
    AssistanceMeasure,
    EducationPlan,
    EvidencePhoto,
    HouseholdMember,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    RehabService,
    TrackingVisit,
)
from cases.scope import AnyUser, scope_for, scoped
from monitoring.models import Finding
from monitoring.rules import REGISTRY
from staff.selectors.unions import TEXT
from staff.selectors.unions import expression as _expression
from staff.selectors.unions import none as _none
from staff.selectors.unions import text_or_empty as _text_or_empty
from staff.templatetags.photos import OWNER_OF_KIND
from subsidies.models import BenefitApplication, BenefitRecord, BenefitType


@dataclass(frozen=True)
class Branch:
    """One kind of record on the timeline: its model, which of its columns (a field name or an
    expression) fill the common ones, and how it reaches the household or the persons.

    `household` is the lookup of the household id (None: the record is found through its
    person only); `by_person` finds it through `person_id`; `only` narrows it further.
    """

    kind: str
    model: type[Model]
    on: Any
    code: Any
    texts: tuple[Any, ...]
    end: Any = None
    household: str | None = None
    by_person: bool = True
    person_columns: bool = True
    only: Q = field(default_factory=Q)

    def reach(self, household_id: int | None, person_ids: Iterable[int] | QuerySet) -> list[Q]:
        """The conditions for this household and persons, each a part of the branch's rows
        that the others do not hold; none when the branch has no way to reach them.

        A kind reached both ways (findings) is two parts, by person and by household without
        those persons, not one `OR`: PostgreSQL cannot use an index for `person_id IN
        (subquery) OR household_id = …`, so the `OR` read every finding of the scope (a
        parallel scan, most of the household page's SQL time, docs/PERFORMANCE.md, Pages)."""
        by_person = Q(person_id__in=person_ids)
        conditions = [by_person & self.only] if self.by_person else []
        if self.household is not None and household_id is not None:
            by_household = Q(**{self.household: household_id})
            if self.by_person:
                by_household &= ~by_person
            conditions.append(by_household & self.only)
        return conditions

    def rows(self, queryset: QuerySet) -> QuerySet:
        """The branch's records as rows of `TIMELINE_COLUMNS`."""
        text1, text2, text3 = (*self.texts, None, None, None)[:3]
        person = self.person_columns
        return (
            queryset.order_by()
            .annotate(
                t_on=_expression(self.on),
                t_kind=Value(self.kind, output_field=TEXT),
                t_pk=F("pk"),
                t_person=Cast(F("person_id"), IntegerField()) if person else _none(IntegerField()),
                t_name=_text_or_empty("person__name" if person else None),
                t_code=_text_or_empty(self.code),
                t_text1=_text_or_empty(text1),
                t_text2=_text_or_empty(text2),
                t_text3=_text_or_empty(text3),
                t_end=_expression(self.end) if self.end is not None else _none(DateField()),
            )
            .values_list(*TIMELINE_COLUMNS)
        )


# One row per kind of record, side by side: the columns that fill `on`, `code`, the texts and
# `end`, then how the kind reaches the household or its persons.
# fmt: off
BRANCHES = (
    Branch("visit", TrackingVisit, "visited_on", "kind", ("visitor_name", "notes"), "next_due",
           household="household_id", by_person=False),
    Branch("assistance", AssistanceMeasure, "started_on", "kind",
           ("responsible_unit", "description", "result"), "ended_on",
           household="household_id", by_person=False, person_columns=False),
    Branch("pairing", Pairing, "started_on", "helper_kind",
           ("helper_name", "helper_unit", "end_reason"), "ended_on",
           household="household_id", by_person=False, person_columns=False),
    Branch("case", MonitoringCaseStep, "acted_on", "to_status",
           ("from_status", "reason", "actor__username"),
           household="case__household_id", by_person=False, person_columns=False),
    Branch("finding", Finding, TruncDate("opened_at"), "rule",
           ("status", "reason", Concat(F("action_taken"), F("dismiss_reason"), output_field=TEXT)),
           household="household_id"),
    Branch("benefit", BenefitRecord, Coalesce(F("start_month"), TruncDate("created_at")),
           "benefit_type", ("status", "monthly_amount", "origin"), "end_month",
           only=Q(is_current=True)),
    Branch("application", BenefitApplication, "applied_on", "benefit_type",
           ("status", "note", "decision_note"), "decided_on"),
    Branch("education", EducationPlan, "verified_on", "placement",
           ("school", "not_enrolled_reason")),
    Branch("rehab", RehabService, "served_on", None, ("service_type", "provider", "note")),
)
# fmt: on


TIMELINE_COLUMNS = (
    "t_on",
    "t_kind",
    "t_pk",
    "t_person",
    "t_name",
    "t_code",
    "t_text1",
    "t_text2",
    "t_text3",
    "t_end",
)


TIMELINE_LIMIT = 300


KIND_LABELS = {
    "visit": "走访",
    "assistance": "帮扶措施",
    "pairing": "结对帮扶",
    "case": "监测对象",
    "finding": "比对发现",
    "benefit": "救助与补贴",
    "application": "救助申请",
    "education": "一人一案",
    "rehab": "康复服务",
}


@dataclass
class Event:
    on: date | None
    kind: str
    pk: int
    person_id: int | None
    person_name: str
    code: str
    text1: str
    text2: str
    text3: str
    end: date | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def title(self) -> str:
        return _event_title(self)

    @property
    def detail(self) -> str:
        return _event_detail(self)

    @property
    def status(self) -> str:
        """A short status word for the badge (findings, benefits, applications)."""
        if self.kind == "finding":
            return _label(Finding.Status, self.text1)
        if self.kind == "benefit":
            return _label(BenefitRecord.Status, self.text1)
        if self.kind == "application":
            return _label(BenefitApplication.Status, self.text1)
        return ""

    @property
    def is_open_finding(self) -> bool:
        return self.kind == "finding" and self.text1 == Finding.Status.OPEN


def _label(choices: type[Choices], value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _event_title(event: Event) -> str:

    kind, code = event.kind, event.code
    if kind == "visit":
        return _label(TrackingVisit.Kind, code)
    if kind == "assistance":
        return f"{_label(AssistanceMeasure.Kind, code)} · {event.text1}"
    if kind == "pairing":
        known = code in Pairing.HelperKind.values
        kind_label = Pairing.HelperKind(code).label if known else "未注明身份"
        return f"结对帮扶人：{event.text1}（{kind_label}）"
    if kind == "case":
        before = _label(MonitoringCase.Status, event.text1) if event.text1 else "新建"
        return f"监测对象：{before} → {_label(MonitoringCase.Status, code)}"
    if kind == "finding":
        rule = REGISTRY.get(code)
        return f"{code} {rule.name if rule else ''}".strip()
    if kind == "benefit":
        return _label(BenefitType, code)
    if kind == "application":
        return f"申请{_label(BenefitType, code)}"
    if kind == "education":
        return f"一人一案：{_label(EducationPlan.Placement, code)}"
    if kind == "rehab":
        return f"康复服务：{event.text1}"
    return code


def _event_detail(event: Event) -> str:
    kind = event.kind
    if kind == "visit":
        parts = [f"走访人：{event.text1}"] if event.text1 else []
        if event.text2:
            parts.append(event.text2)
        if event.end:
            parts.append(f"下次访视：{event.end:%Y-%m-%d}")
        return "；".join(parts)
    if kind == "assistance":
        parts = [event.text2, f"成效：{event.text3}" if event.text3 else ""]
        if event.end:
            parts.append(f"结束：{event.end:%Y-%m-%d}")
        return "；".join(part for part in parts if part)
    if kind == "pairing":
        parts = [event.text2]
        if event.end:
            parts.append(f"已于{event.end:%Y-%m-%d}结束（{event.text3 or '未填原因'}）")
        return "；".join(part for part in parts if part)
    if kind == "case":
        return "；".join(
            part for part in (event.text2, event.text3 and f"办理人：{event.text3}") if part
        )
    if kind == "finding":
        return "；".join(
            part for part in (event.text2, event.text3 and f"处理：{event.text3}") if part
        )
    if kind == "benefit":
        amount = f"月标准{event.text2}元" if event.text2 else ""
        origin = _label(BenefitRecord.Origin, event.text3)
        ended = f"终止：{event.end:%Y-%m}" if event.end else ""
        return "；".join(part for part in (amount, origin, ended) if part)
    if kind == "application":
        return "；".join(part for part in (event.text2, event.text3) if part)
    if kind == "education":
        return event.text1 or event.text2
    if kind == "rehab":
        return "；".join(part for part in (event.text2, event.text3) if part)
    return event.text1


def timeline(
    user: AnyUser,
    *,
    household_id: int | None,
    person_ids: Iterable[int] | QuerySet,
    limit: int = TIMELINE_LIMIT,
) -> list[Event]:
    """Everything recorded about a household and/or persons, newest first: one query.

    `person_ids` may be a list or a subquery of person ids. Each branch is scoped.
    """
    first, *rest = timeline_branches(user, household_id=household_id, person_ids=person_ids)
    combined = first.union(*rest, all=True).order_by(*TIMELINE_ORDER)[:limit]
    return [Event(*row) for row in combined]


TIMELINE_ORDER = ("-t_on", "t_kind", "-t_pk")


def household_timeline(user: AnyUser, household_id: int) -> list[Event]:
    """`timeline` of a household and its members, the same rows, one query.

    Building the SQL of the nine scoped branches is most of the page's Python time
    (docs/PERFORMANCE.md, Pages); its text depends only on the user's scope, so it is compiled
    once per process and scope with a marker in place of the household id, and each request
    runs it with its own id. The scope filter is the one `scoped()` puts in the SQL.
    """
    scope = scope_for(user)
    if scope.sees_nothing:
        return []
    database = HouseholdMember.objects.db

    def build() -> QuerySet:
        marker = HOUSEHOLD_MARKER
        person_ids = HouseholdMember.objects.filter(household_id=marker).values("person_id")
        first, *rest = timeline_branches(user, household_id=marker, person_ids=person_ids)
        return first.union(*rest, all=True).order_by(*TIMELINE_ORDER)[:TIMELINE_LIMIT]

    compiled = compiled_query(("household_timeline", database, scope_key(user)), database, build)
    rows = run_compiled(compiled, database, {HOUSEHOLD_MARKER: household_id})
    return [Event(*row) for row in rows]


def household_photos(
    user: AnyUser, household_id: int, events: list[Event]
) -> dict[tuple[str, int], list[EvidencePhoto]]:
    """The photos of the household timeline's visits and measures, as `cases.photos.
    photos_by_owner` gives them for `events`, in one query
    whose SQL is compiled once per scope (reading them by the events' ids built the query on
    every view). A photo has exactly one owner, so it is in scope when its visit or measure
    is (`scoped_photos`): the timeline's visits and measures are the household's in scope,
    kept here to the events shown (the timeline's limit)."""
    owners = {
        (OWNER_OF_KIND[event.kind], event.pk) for event in events if event.kind in OWNER_OF_KIND
    }
    if not owners or scope_for(user).sees_nothing:
        return {}
    database = EvidencePhoto.objects.db

    def build() -> QuerySet:
        marker = HOUSEHOLD_MARKER
        visits = TrackingVisit.objects.filter(household_id=marker)
        measures = AssistanceMeasure.objects.filter(household_id=marker)
        by_visit = EvidencePhoto.objects.filter(visit__in=scoped(user, visits).values("pk"))
        by_measure = EvidencePhoto.objects.filter(measure__in=scoped(user, measures).values("pk"))
        columns = ("created_at", *PHOTO_FIELDS)
        return (
            by_visit.order_by()
            .values_list(*columns)
            .union(by_measure.order_by().values_list(*columns), all=True)
            .order_by("created_at", "id")  # EvidencePhoto.Meta.ordering, as photos_by_owner
        )

    compiled = compiled_query(("household_photos", database, scope_key(user)), database, build)
    found: dict[tuple[str, int], list[EvidencePhoto]] = {}
    for _, *values in run_compiled(compiled, database, {HOUSEHOLD_MARKER: household_id}):
        row = dict(zip(PHOTO_FIELDS, values, strict=True))
        visit_id = row["visit_id"]
        key = ("visit", visit_id) if visit_id is not None else ("measure", row["measure_id"])
        if key in owners:
            photo = EvidencePhoto.from_db(database, list(PHOTO_FIELDS), values)
            found.setdefault(key, []).append(photo)
    return found


# The fields the thumbnails read (as `photos_by_owner` loads them), in the model's order, the
# order `Model.from_db` expects them in.
PHOTO_FIELDS = tuple(
    field.attname
    for field in EvidencePhoto._meta.concrete_fields
    if field.attname in ("id", "visit_id", "measure_id", "original_name", "stage")
)


# Stand for a record's id in SQL compiled once (`compiled_query`): no record has a negative key.
HOUSEHOLD_MARKER = -739184261
PERSON_MARKER = -739184262

Compiled = tuple[str, tuple[Any, ...], dict[int, tuple[list[Any], Any]]]
_compiled: dict[tuple[Any, ...], Compiled] = {}


def scope_key(user: AnyUser) -> tuple[Any, ...]:
    """What `scoped()` puts in the SQL depends on these only."""
    scope = scope_for(user)
    return (scope.role, scope.township_id, scope.village_id)


def _is_marker(param: Any, markers: Mapping[int, Any]) -> bool:
    return type(param) is int and param in markers


def compiled_query(key: tuple[Any, ...], database: str, build: Callable[[], QuerySet]) -> Compiled:
    """(SQL, parameters with markers, converters of the columns) of the values_list queryset
    `build()`, compiled once per process and `key`; `key` must hold everything the SQL text
    depends on besides the markers (the scope: `scope_key`)."""
    compiled = _compiled.get(key)
    if compiled is not None:
        return compiled
    compiler = build().query.get_compiler(using=database)
    sql, params = compiler.as_sql()
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    compiled = (sql, tuple(params), compiler.get_converters(columns))
    if len(_compiled) >= 512:  # scopes are few (townships, villages); never grow unbounded
        _compiled.clear()
    _compiled[key] = compiled
    return compiled


def run_compiled(compiled: Compiled, database: str, values: Mapping[int, Any]) -> list[tuple]:
    """Run SQL of `compiled_query`, each marker replaced by its value; the rows as the
    values_list queryset would give them (the database's values converted)."""
    sql, params, converters = compiled
    if not all(any(param == marker for param in params) for marker in values):
        raise ValueError("a marker is missing from the compiled query's parameters")
    arguments = [values[param] if _is_marker(param, values) else param for param in params]
    connection = connections[database]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and settings.PREPARED_PAGE_QUERIES:
            execute_prepared(connection, cursor, sql, arguments)
        else:
            cursor.execute(sql, arguments)
        rows = cursor.fetchall()
    if not converters:
        return [tuple(row) for row in rows]
    converted = []
    for row in rows:
        fields = list(row)
        for position, (functions, expression) in converters.items():
            value = fields[position]
            for function in functions:
                value = function(value, expression, connection)
            fields[position] = value
        converted.append(tuple(fields))
    return converted


# psycopg2's placeholders: `%s` a parameter, `%%` a literal percent sign.
_PLACEHOLDER = re.compile(r"%([s%])")
# SQL that PostgreSQL would not PREPARE (a parameter whose type it cannot infer): run plainly.
_unpreparable: set[str] = set()


def _numbered(sql: str, arguments: list[Any]) -> str:
    """`sql` with psycopg2's placeholders as PREPARE's `$1`, `$2`, … A boolean is typed:
    psycopg2 writes it as the literal `true`, PREPARE would infer `text` where nothing else
    types it (a `CASE … THEN %s` of a filter, as the hardship row's)."""
    numbers = itertools.count(1)

    def placeholder(match: re.Match) -> str:
        if match.group(1) == "%":
            return "%"
        number = next(numbers)
        return f"${number}::boolean" if type(arguments[number - 1]) is bool else f"${number}"

    return _PLACEHOLDER.sub(placeholder, sql)


def execute_prepared(connection: Any, cursor: Any, sql: str, arguments: list[Any]) -> None:
    """Run `sql` as a statement PREPAREd once per database connection (the server plans it
    once; settings.PREPARED_PAGE_QUERIES says why). The names prepared are kept with the
    driver's connection they belong to, so a reconnect prepares again. PREPARE goes through
    the driver's own cursor: it is bookkeeping of the connection, not one of the page's
    queries (their count is budgeted per page), and it outlives a rolled-back transaction.
    Inside a transaction it runs in a savepoint, so a refusal leaves the transaction usable
    and the SQL runs plainly."""
    if sql in _unpreparable:
        cursor.execute(sql, arguments)
        return
    raw = connection.connection
    known = connection.__dict__.get("_prepared_statements")
    if known is None or known[0] is not raw:
        known = (raw, set())
        connection.__dict__["_prepared_statements"] = known
    name = "page_" + hashlib.sha1(sql.encode(), usedforsecurity=False).hexdigest()[:20]
    if name not in known[1]:
        if not _prepare(connection, name, _numbered(sql, arguments)):
            _unpreparable.add(sql)
            cursor.execute(sql, arguments)
            return
        known[1].add(name)
    if arguments:
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(arguments))})", arguments)
    else:
        cursor.execute(f"EXECUTE {name}")


def _prepare(connection: Any, name: str, statement: str) -> bool:
    """PREPARE `statement` (`$n` placeholders) as `name` on the driver's connection; False
    when PostgreSQL refuses."""
    in_transaction = connection.in_atomic_block
    with connection.connection.cursor() as raw_cursor:
        if in_transaction:
            raw_cursor.execute("SAVEPOINT page_prepare")
        try:
            raw_cursor.execute(f"PREPARE {name} AS {statement}")
        except connection.Database.Error:
            if in_transaction:
                raw_cursor.execute("ROLLBACK TO SAVEPOINT page_prepare")
                raw_cursor.execute("RELEASE SAVEPOINT page_prepare")
            return False
        if in_transaction:
            raw_cursor.execute("RELEASE SAVEPOINT page_prepare")
    return True


def timeline_branches(
    user: AnyUser, *, household_id: int | None, person_ids: Iterable[int] | QuerySet
) -> list[QuerySet]:
    """The scoped branches of `timeline` as rows of `TIMELINE_COLUMNS`, not yet united (the
    person page unites them with its own records: `staff.selectors.person_records`)."""
    return [
        branch.rows(scoped(user, branch.model._default_manager.filter(condition)))
        for branch in BRANCHES
        for condition in branch.reach(household_id, person_ids)
    ]
