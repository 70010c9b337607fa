"""Reads for the work queue of findings and the cross-check run pages of the staff app.

The queue is the scoped findings (`cases.scope.scoped`), filtered by a django-filter
FilterSet (rule, township, village, status, age) and sorted by urgency:

    urgency = the rule's rank (its `urgency` in the registry), then the age (oldest first).

The order (docs/RULES.md#urgency) reads the policy as a township worker would: someone who
should be monitored and is not (a sudden hardship first, then income below the line, unsafe housing or
water, doubtful clearance, unstable households), monitoring without help or pairing,
then the safety net (低保 of the severely disabled before subsidies and insurance),
school, rehabilitation, and last the data-quality discrepancies (a death conflict
before names and townships). Paging is `queue_page` (like `cases.selectors.page_of`: no COUNT(*)), which sorts
the findings alone and joins only the page's rows.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

import django_filters
from django.db.models import Count, F, Func, IntegerField, QuerySet
from django.utils import timezone

from cases.scope import AnyUser, scope_for, scoped
from cases.selectors import Page
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from monitoring.rules import REGISTRY, by_urgency
from staff.selectors.persons import compiled_instances, compiled_record_or_404
from staff.selectors.places import Place, PlaceFilterSet, place_filters
from staff.selectors.timeline import Compiled, run_compiled, scope_key

# The rules, most urgent first: each rule carries its urgency in the registry.
URGENCY = tuple(r.code for r in by_urgency())
URGENCY_RANK = {code: rank for rank, code in enumerate(URGENCY)}

STATUS_CHOICES = [*Finding.Status.choices, ("all", "全部状态")]
# (value, label, min days, max days) since the finding was opened.
AGE_BUCKETS = [
    ("week", "7天以内", 0, 7),
    ("month", "8～30天", 8, 30),
    ("quarter", "31～90天", 31, 90),
    ("old", "90天以上", 91, None),
]


class UrgencyRank(Func):
    """A finding's rank in `URGENCY` as SQL: `CASE rule WHEN 'M05' THEN 0 … ELSE n END`.

    The same value as `Case(When(rule=code, then=Value(rank)), …)`, built as one column
    with its parameters: the ORM resolved that `Case` as one filter per rule, ~2.3 ms of
    CPU on every queue view (docs/PERFORMANCE.md, Pages).
    """

    output_field = IntegerField()

    def __init__(self) -> None:
        super().__init__(F("rule"))

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        rule_sql, rule_params = compiler.compile(self.get_source_expressions()[0])
        # The ranks are written as integers, not parameters: as a prepared statement
        # (`run_compiled`) PostgreSQL would type untyped `THEN $n` parameters as text and
        # sort 10 before 2. The codes stay parameters (typed by the column they meet).
        whens = "".join(f" WHEN %s THEN {int(rank)}" for rank in URGENCY_RANK.values())
        params = (*rule_params, *URGENCY_RANK)
        return f"CASE {rule_sql}{whens} ELSE {len(URGENCY)} END", params


def urgency_expression() -> UrgencyRank:
    return UrgencyRank()


def rule_choices() -> list[tuple[str, str]]:
    codes = sorted(REGISTRY, key=lambda code: (URGENCY_RANK.get(code, 99), code))
    return [(code, f"{code} {REGISTRY[code].name}") for code in codes]


def age_range(value: str, now: datetime | None = None) -> tuple[datetime | None, datetime] | None:
    """(opened after, opened on or before) datetimes for an age bucket, or None."""
    now = now or timezone.now()
    for key, _, low, high in AGE_BUCKETS:
        if key == value:
            newest = now - timedelta(days=low)
            oldest = now - timedelta(days=high + 1) if high is not None else None
            return oldest, newest
    return None


class FindingQueueFilter(PlaceFilterSet):
    """Work-queue filters. Status defaults to 待处理 (open); `all` means every status."""

    rule = django_filters.ChoiceFilter(label="规则", empty_label="全部规则")
    township, village = place_filters()
    status = django_filters.ChoiceFilter(
        label="状态", choices=STATUS_CHOICES, method="filter_status", empty_label=None
    )
    age = django_filters.ChoiceFilter(
        label="发现时长",
        choices=[(key, label) for key, label, _, _ in AGE_BUCKETS],
        method="filter_age",
        empty_label="不限",
    )

    class Meta:
        model = Finding
        fields: list[str] = []

    defaults = {"status": Finding.Status.OPEN}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["rule"].extra["choices"] = rule_choices()

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "all":
            return queryset
        return queryset.filter(status=value)

    def filter_age(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        bounds = age_range(value)
        if bounds is None:
            return queryset
        oldest, newest = bounds
        queryset = queryset.filter(opened_at__lte=newest)
        return queryset.filter(opened_at__gt=oldest) if oldest is not None else queryset


def queue_base(user: AnyUser) -> QuerySet[Finding]:
    """Scoped findings with what a queue row shows (one joined query per page)."""
    return scoped(
        user,
        Finding.objects.select_related("person", "household", "township", "village"),
    )


def finding_queue(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, QuerySet, "FindingQueueFilter"]:
    """(rows queryset sorted by urgency, rule counts queryset, the FilterSet).

    An invalid filter gives no rows rather than the unfiltered queue. The counts are
    the filtered findings per rule *without* the rule filter, so the chips show how many
    each rule would list.
    """
    filterset = FindingQueueFilter(
        data, queryset=queue_base(user), places=place_list, scope=scope_for(user)
    )
    if not filterset.is_valid():
        empty = filterset.queryset.none()
        return empty, empty.values("rule").annotate(n=Count("*")), filterset
    return _sorted_rows(filterset), _counts(user, filterset), filterset


def _sorted_rows(filterset: "FindingQueueFilter") -> QuerySet:
    """The filtered findings of a valid FilterSet in urgency order."""
    return filterset.qs.annotate(urgency=urgency_expression()).order_by(
        "urgency", "opened_at", "pk"
    )


def _counts(user: AnyUser, filterset: "FindingQueueFilter") -> QuerySet:
    """Findings per rule of a valid FilterSet's filters without the rule filter."""
    without_rule = dict(filterset.form.cleaned_data)
    without_rule.pop("rule", None)
    counts_qs = scoped(user, Finding.objects.all())
    for name, value in without_rule.items():
        if name in filterset.filters and value not in (None, ""):
            counts_qs = filterset.filters[name].filter(counts_qs, value)
    # COUNT(*), not COUNT(id): PostgreSQL can then count from finding_queue_idx (township,
    # status, rule) alone, without reading the findings themselves.
    return counts_qs.values("rule").annotate(n=Count("*")).order_by()


# What a queue row shows (`staff.templatetags.list_html.queue_rows`), as plain values.
QUEUE_ROW_FIELDS = (
    "pk",
    "rule",
    "status",
    "reason",
    "opened_at",
    "person_id",
    "person__name",
    "household_id",
    "township__name",
    "village__name",
)


def urgency_key(row: Mapping[str, Any]) -> tuple[int, datetime, int]:
    """A row's place in the queue: `urgency_expression()`, then the age, then the id."""
    return (URGENCY_RANK.get(row["rule"], len(URGENCY)), row["opened_at"], row["pk"])


def queue_page(user: AnyUser, rows: QuerySet, number: int, per_page: int) -> Page:
    """One page of the sorted queue in one query, sorted before it is joined.

    `page_of(rows)` would join person, household, township and village to every open
    finding of the scope and then sort (a county admin: tens of thousands of rows). Here
    the findings alone are sorted and cut to the page in a subquery (a top-N sort over
    one narrow table), and only the page's rows are joined. Same rows, same order: the
    page's at most 51 rows are put back in urgency order in Python (`urgency_key`).

    The rows are dicts of `QUEUE_ROW_FIELDS`, not model instances: building a finding with
    its person, household, township and village for each row cost more than the query.
    """
    page_rows = sorted(_page_rows(user, rows, (number - 1) * per_page, per_page), key=urgency_key)
    return _page(page_rows, number, per_page)


def _page_rows(user: AnyUser, rows: QuerySet, offset: int, per_page: int) -> QuerySet:
    ids = rows.values("pk")[offset : offset + per_page + 1]
    return (
        scoped(user, Finding.objects.all()).filter(pk__in=ids).order_by().values(*QUEUE_ROW_FIELDS)
    )


def _page(page_rows: list[dict[str, Any]], number: int, per_page: int) -> Page:
    return Page(
        rows=page_rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(page_rows) > per_page,
    )


# The queue's SQL compiled once per scope and shape (`queue_view`), kept apart from the
# record pages' (`staff.selectors.timeline.compiled_query`).
_compiled_queue: dict[tuple[Any, ...], tuple[Compiled, tuple[str, ...]]] = {}

# Stand in the compiled SQL for a filter's value and the page's offset, replaced by the
# request's before it runs: no rule code or status looks like these, no place has a
# negative key, and no page reaches this offset.
FILTER_STANDINS = {
    "rule": "(rule of the queue)",
    "status": "(status of the queue)",
    "township": "-739184264",
    "village": "-739184265",
}
OFFSET_MARKER = 739184266
_PLACEHOLDER = re.compile(r"%([s%])")


def _with_offset_parameter(sql: str, params: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """`OFFSET 739184266` (`OFFSET_MARKER`, which Django writes into the text) as a
    parameter holding the marker, so that one statement serves every page."""
    literal = f" OFFSET {OFFSET_MARKER}"
    position = sql.find(literal)
    if position < 0 or sql.find(literal, position + 1) >= 0:
        raise ValueError("the queue's page offset is not in its SQL exactly once")
    before = sum(1 for match in _PLACEHOLDER.finditer(sql[:position]) if match.group(1) == "s")
    return (
        f"{sql[:position]} OFFSET %s{sql[position + len(literal) :]}",
        (*params[:before], OFFSET_MARKER, *params[before:]),
    )


def _compiled_values(
    key: tuple[Any, ...],
    database: str,
    build: Callable[[], QuerySet],
    standins: Mapping[Any, Any],
    markers: Mapping[int, Any],
    *,
    offset: bool = False,
) -> list[dict[str, Any]]:
    """The rows of the values() queryset `build()` as dicts, its SQL compiled once per
    process and `key` and run as a prepared statement (`run_compiled`) with each stand-in
    parameter (`standins`: stand-in → value) and marker replaced by the request's value."""
    found = _compiled_queue.get(key)
    if found is None:
        compiler = build().query.get_compiler(using=database)
        sql, params = compiler.as_sql()
        if offset:
            sql, params = _with_offset_parameter(sql, tuple(params))
        selected = compiler.select[: compiler.col_count]
        converters = compiler.get_converters([column[0] for column in selected])
        found = ((sql, tuple(params), converters), tuple(column[2] for column in selected))
        if len(_compiled_queue) >= 256:  # scopes × shapes; never grow unbounded
            _compiled_queue.clear()
        _compiled_queue[key] = found
    (sql, params, converters), names = found
    if standins:
        missing = set(standins) - {param for param in params if type(param) in (str, int)}
        if missing:
            raise ValueError("a filter's stand-in is missing from the compiled query")
        params = tuple(
            standins[param] if type(param) in (str, int) and param in standins else param
            for param in params
        )
    rows = run_compiled((sql, params, converters), database, markers)
    return [dict(zip(names, row, strict=True)) for row in rows]


# The query parameters `FindingQueueFilter` reads: its filters' (and the status default's).
QUEUE_FILTER_NAMES = tuple(FindingQueueFilter.base_filters)
_queue_filters: dict[tuple[Any, ...], "FindingQueueFilter"] = {}


def queue_filter(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> "FindingQueueFilter":
    """The work queue's FilterSet for these filter values, validated.

    Building and validating it (the filters and form fields deep-copied, the rule and
    village choices normalized) cost ~1.2 ms of CPU per view, and its result depends on
    nothing but the scope (`scope_key`, which is all `scoped()` and the place filters
    read), the places offered and the filter parameters: one is kept per process for each
    and shared, read-only, by the views with the same ones (its form is rendered the same
    for all: `list_html.filter_form`). Its `qs` is not for reuse: the age filter's bounds
    move with the clock (`queue_view` builds that case afresh)."""
    getlist = getattr(data, "getlist", None)
    values = (
        tuple(
            (name, tuple(getlist(name)) if getlist is not None else (data.get(name),))
            for name in QUEUE_FILTER_NAMES
        )
        if data is not None
        else None
    )
    key = (scope_key(user), tuple(place_list), values)
    filterset = _queue_filters.get(key)
    if filterset is None:
        filterset = FindingQueueFilter(
            data, queryset=queue_base(user), places=place_list, scope=scope_for(user)
        )
        filterset.is_valid()
        if len(_queue_filters) >= 256:  # scopes × filter values in use; never unbounded
            _queue_filters.clear()
        _queue_filters[key] = filterset
    return filterset


def queue_view(
    user: AnyUser,
    data: Mapping[str, Any] | None,
    place_list: list[Place],
    number: int,
    per_page: int,
) -> tuple[Page, list[tuple[str, str, int]], "FindingQueueFilter"]:
    """(the page, `rule_counts`, the FilterSet) of the work queue: what `finding_queue`,
    `queue_page` and `rule_counts` give, with the two queries' SQL compiled once.

    Building those querysets (the filters, the urgency order, the page's subquery, the
    counts) cost ~4 ms of CPU per view, more than running them. Their SQL text depends
    only on the scope and on which filters are set (its shape), so it is compiled once per
    process for each with stand-ins for the filter values and the page's offset
    (`FILTER_STANDINS`, `OFFSET_MARKER`), and run as a prepared statement with the
    request's values. The age filter's bounds move with the clock: with an age, or an
    invalid filter, the querysets are built as before."""
    filterset = queue_filter(user, data, place_list)
    valid = filterset.is_valid()
    cleaned = filterset.form.cleaned_data if valid else {}

    def built() -> tuple[Page, list[tuple[str, str, int]], FindingQueueFilter]:
        rows, counts, _ = finding_queue(user, data, place_list)
        return queue_page(user, rows, number, per_page), rule_counts(counts), filterset

    if not valid or cleaned.get("age") or not 0 < number < 2**31:
        return built()
    # What the FilterSet filters by (`FilterSet.filter_queryset`: each cleaned value, in
    # the form's order), with a stand-in for each value that puts a condition in the SQL.
    shape: dict[str, Any] = {}
    standins: dict[Any, Any] = {}
    for name, value in cleaned.items():
        if value in (None, "") or (name == "status" and value == "all"):
            shape[name] = value
        elif name in ("rule", "status") and type(value) is str:
            shape[name] = FILTER_STANDINS[name]
            standins[FILTER_STANDINS[name]] = value
        elif name in ("township", "village") and type(value) is str and value.isdigit():
            # A place's id reaches the SQL as an integer (the field's own conversion).
            shape[name] = FILTER_STANDINS[name]
            standins[int(FILTER_STANDINS[name])] = int(value)
        else:  # a value this shape does not know: built as before
            return built()
    without_rule = {name: value for name, value in shape.items() if name != "rule"}

    def filtered(queryset: QuerySet, values: Mapping[str, Any]) -> QuerySet:
        for name, value in values.items():
            queryset = filterset.filters[name].filter(queryset, value)
        return queryset

    database = Finding.objects.db
    scope = scope_key(user)
    page_rows = _compiled_values(
        ("queue_page", database, scope, tuple(shape.items()), per_page),
        database,
        lambda: _page_rows(
            user,
            filtered(queue_base(user), shape)
            .annotate(urgency=urgency_expression())
            .order_by("urgency", "opened_at", "pk"),
            OFFSET_MARKER,
            per_page,
        ),
        standins,
        {OFFSET_MARKER: (number - 1) * per_page},
        offset=True,
    )
    counts = _compiled_values(
        ("queue_counts", database, scope, tuple(without_rule.items())),
        database,
        lambda: (
            filtered(scoped(user, Finding.objects.all()), without_rule)
            .values("rule")
            .annotate(n=Count("*"))
            .order_by()
        ),
        {
            standin: value
            for standin, value in standins.items()
            if standin != FILTER_STANDINS["rule"]
        },
        {},
    )
    return (
        _page(sorted(page_rows, key=urgency_key), number, per_page),
        rule_counts(counts),
        filterset,
    )


def rule_counts(counts: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """(code, name, count) in urgency order."""

    by_code = {row["rule"]: row["n"] for row in counts}
    codes = sorted(by_code, key=lambda code: (URGENCY_RANK.get(code, 99), code))
    return [
        (code, REGISTRY[code].name if code in REGISTRY else code, by_code[code]) for code in codes
    ]


# Stands for the finding's id in SQL compiled once (staff.selectors.timeline.compiled_query).
FINDING_MARKER = -739184263


def _finding_detail_query(user: AnyUser) -> QuerySet[Finding]:
    return scoped(
        user,
        Finding.objects.select_related(
            "person__certificate", "household", "township", "village", "decided_by"
        ),
    )


def finding_detail(user: AnyUser, pk: int | str) -> Finding:
    """One finding in scope (404 otherwise) with its person and certificate, household,
    places and decider.

    Building this query (six joins and the scope) cost more CPU than running it, and its
    text depends on the scope alone: compiled once per scope and run as a prepared
    statement (`compiled_record_or_404`, as the person page; docs/PERFORMANCE.md, Pages)."""
    return compiled_record_or_404(
        user,
        Finding,
        pk,
        ("finding_detail",),
        lambda: _finding_detail_query(user),
        FINDING_MARKER,
    )


def finding_events(finding: Finding) -> list[FindingEvent]:
    """Events of a finding the caller already loaded in scope, oldest first, with their
    actors; the SQL compiled once (it does not depend on the scope: the finding is in it)."""
    database = FindingEvent.objects.db
    events = compiled_instances(
        ("finding_events", database),
        database,
        lambda: (
            FindingEvent.objects.filter(finding_id=FINDING_MARKER)
            .select_related("actor")
            .order_by("created_at", "id")
        ),
        {FINDING_MARKER: finding.pk},
    )
    return cast(list[FindingEvent], events)


# --- cross-check runs (county admins) -------------------------------------------------------


def crosscheck_runs() -> QuerySet:
    """Runs, newest first (no personal data: dates, counts and who started them)."""
    return CrosscheckRun.objects.select_related("triggered_by").order_by("-pk")


def run_rule_rows(run: CrosscheckRun) -> list[tuple[str, str, dict]]:
    """(code, name, {new, still_open, cleared, reopened}) of a run, in code order."""

    return [
        (code, REGISTRY[code].name if code in REGISTRY else code, counts)
        for code, counts in sorted((run.by_rule or {}).items())
    ]
