"""What a recorded visit means for V01 (走访发现风险, docs/RULES.md#v01).

The cross-check's loader reads each household's latest visit into the plain record the
rule reads (`household_visits`); the visit form's success message asks the same question
of the visit just saved (`v01_notice`), through the same record and the rule's own
`visit_reason`, so the page promises a finding exactly when the next run will raise one.
Findings themselves are only written by the cross-check engine.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases.models import Household, TrackingVisit
from subsidies.models import PolicyYear

from .eligibility import alive_condition
from .models import SurveyRecord
from .populations import monitored_household
from .rules.records import HouseholdVisit
from .rules.visits import visit_reason
from .visits_due import latest_visit_condition

VISIT_FIELDS = ("household_id", "visited_on", "income_per_capita", "housing", "water", "education")
MONITORED = "v01_household_monitored"


def _monitored_flag() -> Exists:
    """On TrackingVisit: its household is monitored (`populations.monitored_household`)."""
    return Exists(
        Household.objects.filter(pk=OuterRef("household_id")).filter(monitored_household())
    )


def monitoring_lines(years: set[int]) -> dict[int, Decimal]:
    """{year: L} for the years that have policy parameters."""
    if not years:
        return {}
    return dict(PolicyYear.objects.filter(year__in=years).values_list("year", "monitoring_line"))


def _record(row: tuple, lines: dict[int, Decimal]) -> HouseholdVisit:
    household_id, visited_on, income, housing, water, education, monitored, *visit_id = row
    return HouseholdVisit(
        household_id=household_id,
        visited_on=visited_on,
        income=income,
        housing=housing or "",
        water=water or "",
        education=education or "",
        monitoring_line=lines.get(visited_on.year),
        monitored=monitored,
        visit_id=visit_id[0] if visit_id else None,  # named in V01's evidence
    )


def household_visits(as_of: date, households: QuerySet | None = None) -> dict[int, HouseholdVisit]:
    """The latest visit on or before `as_of` of each household (of `households`, a values
    queryset of household ids, when given): two queries."""
    visits = TrackingVisit.objects.filter(latest_visit_condition(as_of))
    if households is not None:
        visits = visits.filter(household_id__in=households)
    rows = list(
        visits.annotate(**{MONITORED: _monitored_flag()})
        .order_by()
        .values_list(*VISIT_FIELDS, MONITORED, "id")
    )
    lines = monitoring_lines({row[1].year for row in rows})
    return {row[0]: _record(row, lines) for row in rows}


def v01_notice(visit: TrackingVisit, as_of: date) -> str:
    """A sentence for the page that saved `visit` when the next run will raise V01 for its
    household ("" otherwise): it is the household's latest visit, it found a V01 item, the
    household is not monitored and has a living certified member to name."""
    later = TrackingVisit.objects.filter(
        household=visit.household_id, visited_on__lte=as_of
    ).filter(Q(visited_on__gt=visit.visited_on) | Q(visited_on=visit.visited_on, pk__gt=visit.pk))
    certified = SurveyRecord.objects.filter(household=OuterRef("pk")).filter(alive_condition())
    facts = (
        Household.objects.filter(pk=visit.household_id)
        .annotate(
            monitored=Exists(
                Household.objects.filter(pk=OuterRef("pk")).filter(monitored_household())
            ),
            certified=Exists(certified),
            superseded=Exists(later),
        )
        .values_list("monitored", "certified", "superseded")
        .first()
    )
    if facts is None or visit.visited_on > as_of:
        return ""
    monitored, has_certified, superseded = facts
    if superseded or not has_certified:
        return ""
    row = (
        visit.household_id,
        visit.visited_on,
        visit.income_per_capita,
        visit.housing,
        visit.water,
        visit.education,
        monitored,
    )
    reason = visit_reason(_record(row, monitoring_lines({visit.visited_on.year})))
    if reason is None:
        return ""
    return (
        f"本次{reason}：下次比对运行时将生成“V01 走访发现风险”比对发现，"
        "请在比对发现中核实并建立监测对象。"
    )
