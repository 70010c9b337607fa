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

from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import chain
from typing import Any

import django_filters
from django.db.models import Count, F, Func, IntegerField, QuerySet
from django.utils import timezone

from cases.scope import AnyUser, get_in_scope_or_404, scope_for, scoped
from cases.selectors import Page
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from monitoring.rules import REGISTRY, by_urgency
from staff.selectors.places import Place, PlaceFilterSet, place_filters

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
        whens = " WHEN %s THEN %s" * len(URGENCY_RANK)
        params = (*rule_params, *chain.from_iterable(URGENCY_RANK.items()), len(URGENCY))
        return f"CASE {rule_sql}{whens} ELSE %s END", params


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
    rows = filterset.qs.annotate(urgency=urgency_expression()).order_by(
        "urgency", "opened_at", "pk"
    )
    without_rule = dict(filterset.form.cleaned_data)
    without_rule.pop("rule", None)
    counts_qs = scoped(user, Finding.objects.all())
    for name, value in without_rule.items():
        if name in filterset.filters and value not in (None, ""):
            counts_qs = filterset.filters[name].filter(counts_qs, value)
    # COUNT(*), not COUNT(id): PostgreSQL can then count from finding_queue_idx (township,
    # status, rule) alone, without reading the findings themselves.
    counts = counts_qs.values("rule").annotate(n=Count("*")).order_by()
    return rows, counts, filterset


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
    offset = (number - 1) * per_page
    ids = rows.values("pk")[offset : offset + per_page + 1]
    page_rows = sorted(
        scoped(user, Finding.objects.all()).filter(pk__in=ids).order_by().values(*QUEUE_ROW_FIELDS),
        key=urgency_key,
    )
    return Page(
        rows=page_rows[:per_page],
        number=number,
        per_page=per_page,
        has_next=len(page_rows) > per_page,
    )


def rule_counts(counts: QuerySet) -> list[tuple[str, str, int]]:
    """(code, name, count) in urgency order."""

    by_code = {row["rule"]: row["n"] for row in counts}
    codes = sorted(by_code, key=lambda code: (URGENCY_RANK.get(code, 99), code))
    return [
        (code, REGISTRY[code].name if code in REGISTRY else code, by_code[code]) for code in codes
    ]


def finding_detail(user: AnyUser, pk: int | str) -> Finding:
    queryset = Finding.objects.select_related(
        "person__certificate", "household", "township", "village", "decided_by"
    )
    return get_in_scope_or_404(user, queryset, pk=pk)


def finding_events(finding: Finding) -> QuerySet:
    """Events of a finding the caller already loaded in scope."""
    return (
        FindingEvent.objects.filter(finding=finding)
        .select_related("actor")
        .order_by("created_at", "id")
    )


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
