"""Overdue visits (逾期未访), defined once: the dashboard, the visit list's filter, the task
lists and every other reader take it from here (docs/RULES.md#overdue).

A household is **overdue** on the as-of date when it is monitored (`populations.
monitored_household`: a living certified member sits in a current roster 监测户 whose risk is
not cleared — the roster decides, as for P01) and either

1. **no first visit in time**: one of its monitored roster households was identified
   (识别监测时间, `RosterHousehold.identified_on`) more than N days before the as-of date, and
   the household has had no visit on or after that date — "never visited" included. N is
   `PolicyYear.visit_due_days` of the identification year (default 30 when the year has no
   row). A blank 识别监测时间 never starts this clock (unknown is never "late", like Q01); or
2. **next visit past due**: its latest visit (on or before the as-of date; the latest date,
   then the latest recorded) named a next visit date (下次访视日期) before the as-of date.

Why the roster's identification date and not the federation's own case (`MonitoringCase.
included_on`): "monitored" is the roster's (docs/RULES.md#terms); a household the federation
follows in a case of its own is not monitored, so its inclusion date cannot start a clock for
it. Visits after the as-of date are ignored, so a past as-of date gives the answer of that day.

Everything is a condition on `cases.Household` (`overdue_household`) or a queryset built
from it (`overdue_households`), so each reader scopes it with `cases.scope.scoped` and
counts or lists the same households. Set-based: no query per household, and N is read by a
subquery, so asking costs no query of its own.
"""

from datetime import date

from django.db.models import (
    BooleanField,
    Case,
    DateField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractYear

from cases.models import Household, Pairing, TrackingVisit
from cases.selectors_casework import active_on
from subsidies.models import PolicyYear

from .eligibility import alive_condition
from .models import SurveyRecord
from .populations import monitored_household, monitored_members

# PolicyYear.visit_due_days' own default, for an identification year without a row.
DEFAULT_VISIT_DUE_DAYS = 30


class DaysBefore(Func):
    """Whole days from a date column to the fixed date `on` (on − column), as an integer.

    Written per database because Django has no portable "date minus date in days":
    PostgreSQL subtracts dates to an integer, SQLite through julianday().
    """

    output_field = IntegerField()
    arity = 1

    def __init__(self, expression: str, on: date):
        super().__init__(F(expression))
        self.on = on

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(CAST(%s AS date) - {sql})", [self.on.isoformat(), *params]

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(julianday(%s) - julianday({sql}) AS INTEGER)", [self.on.isoformat(), *params]


def due_days_of_year(year_field: str) -> Coalesce:
    """`PolicyYear.visit_due_days` of the year of the date in `year_field` (an outer field),
    or the default when that year has no row."""
    days = PolicyYear.objects.filter(year=ExtractYear(OuterRef(year_field))).values(
        "visit_due_days"
    )[:1]
    return Coalesce(Subquery(days), Value(DEFAULT_VISIT_DUE_DAYS), output_field=IntegerField())


def visits_until(as_of: date) -> QuerySet[TrackingVisit]:
    """Visits on or before the as-of date (a later one does not exist yet on that day)."""
    return TrackingVisit.objects.filter(visited_on__lte=as_of)


def latest_visit_condition(as_of: date) -> Q:
    """On TrackingVisit: the household's latest visit on or before `as_of` (latest date, then
    the latest recorded on that date)."""
    later = (
        visits_until(as_of)
        .filter(household=OuterRef("household"))
        .filter(
            Q(visited_on__gt=OuterRef("visited_on"))
            | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
        )
    )
    return Q(visited_on__lte=as_of) & ~Q(Exists(later))


def latest_visits(as_of: date) -> QuerySet[TrackingVisit]:
    """Each household's latest visit on or before `as_of`."""
    return TrackingVisit.objects.filter(latest_visit_condition(as_of))


def _latest_visit_of_household(as_of: date) -> QuerySet[TrackingVisit]:
    return visits_until(as_of).filter(household=OuterRef("pk")).order_by("-visited_on", "-pk")


def next_visit_past_due(as_of: date, here: Q | None = None) -> Q:
    """On Household: clause 2 — its latest visit named a next visit date before `as_of`."""
    latest = latest_visits(as_of).filter(household=OuterRef("pk"), next_due__lt=as_of)
    if here is not None:
        latest = latest.filter(here)
    return Q(Exists(latest))


def first_visit_missing(as_of: date, here: Q | None = None) -> Q:
    """On Household: clause 1 — a living certified member's monitored roster household was
    identified more than N days before `as_of` and no visit since (never visited included).

    `here` narrows the subqueries to a place (conditions on `household__…`) for speed.
    """
    since_identified = visits_until(as_of).filter(
        household=OuterRef(OuterRef("household")),
        visited_on__gte=OuterRef("household__identified_on"),
    )
    late = (
        monitored_members()
        .filter(person=OuterRef("person"), household__identified_on__isnull=False)
        .annotate(
            days_since=DaysBefore("household__identified_on", as_of),
            due_days=due_days_of_year("household__identified_on"),
        )
        .filter(days_since__gt=F("due_days"))
        .filter(~Exists(since_identified))
    )
    members = SurveyRecord.objects.filter(household=OuterRef("pk"))
    if here is not None:
        members = members.filter(here)
    return Q(Exists(members.filter(alive_condition()).filter(Exists(late))))


def overdue_household(as_of: date, here: Q | None = None) -> Q:
    """On cases.Household: overdue on `as_of` (the module's definition; `here` as above)."""
    return monitored_household(here) & (
        first_visit_missing(as_of, here) | next_visit_past_due(as_of, here)
    )


def overdue_households(as_of: date, here: Q | None = None) -> QuerySet[Household]:
    """Overdue households (unscoped: callers apply `cases.scope.scoped`), with what a list
    shows: `last_visited_on`, `last_next_due`, `last_visitor` (the latest visit's 走访人),
    `helper_name` (the active one-to-one pairing's 帮扶人), `never_visited` (no visit at
    all on or before `as_of`) and `first_visit_missing` (clause 1 holds). Longest overdue
    first: never visited, then by the date the next visit was due.
    """
    latest = _latest_visit_of_household(as_of)
    helper = (
        Pairing.objects.filter(active_on(as_of), household=OuterRef("pk"))
        .order_by("-started_on", "-pk")
        .values("helper_name")[:1]
    )
    return (
        Household.objects.filter(overdue_household(as_of, here))
        .annotate(
            last_visited_on=Subquery(latest.values("visited_on")[:1], output_field=DateField()),
            last_next_due=Subquery(latest.values("next_due")[:1], output_field=DateField()),
            last_visitor=Subquery(latest.values("visitor_name")[:1]),
            helper_name=Subquery(helper),
            first_visit_missing=Case(
                When(first_visit_missing(as_of, here), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .annotate(
            never_visited=Case(
                When(last_visited_on__isnull=True, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(F("last_next_due").asc(nulls_first=True), "township__code", "pk")
    )


def responsible(last_visitor: str | None, helper_name: str | None) -> tuple[str, str]:
    """(name, which) of who follows an overdue household up, from the `last_visitor` and
    `helper_name` of `overdue_households`: the latest visit's 走访人 (the worker who set the
    next date), else the active pairing's 帮扶人, else nobody named.

    Visitors are recorded by name (走访人), so two workers of one name count as one.
    """
    if last_visitor:
        return last_visitor, "最近走访人"
    if helper_name:
        return helper_name, "结对帮扶人"
    return "", "未明确"
