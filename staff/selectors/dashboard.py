"""The dashboard (工作台): indicators per unit of the user's scope, three aggregate queries.

Each aggregate is grouped by the unit the user compares (townships for county roles,
villages below), so the page's query budget does not grow with the county.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
)

from cases.casework_base import today
from cases.models import (
    DisabilityCategory,
    Household,
    TrackingVisit,
)
from cases.scope import AnyUser, Scope, scope_for, scoped
from monitoring.eligibility import certified_alive
from monitoring.models import (
    Finding,
)
from monitoring.populations import paired_household, rehab_need, rehab_received
from monitoring.rules import REGISTRY
from staff.selectors.indicators import PAIRING_TARGET, REHAB_TARGET, Rate, monitored_condition
from staff.selectors.places import place_condition


@dataclass
class Unit:
    """One township (county roles) or village (township staff, village members)."""

    key: int | None
    label: str
    certified: int = 0
    categories: dict = field(default_factory=dict)
    rehab_need: int = 0
    rehab_received: int = 0
    households: int = 0
    monitored: int = 0
    paired: int = 0
    overdue_visits: int = 0
    open_findings: int = 0

    @property
    def rehab_rate(self) -> Rate:
        return Rate(self.rehab_received, self.rehab_need, REHAB_TARGET)

    @property
    def pairing_rate(self) -> Rate:
        return Rate(self.paired, self.monitored, PAIRING_TARGET)

    def add(self, other: "Unit") -> None:
        for name in (
            "certified",
            "rehab_need",
            "rehab_received",
            "households",
            "monitored",
            "paired",
            "overdue_visits",
            "open_findings",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for code, count in other.categories.items():
            self.categories[code] = self.categories.get(code, 0) + count


@dataclass
class Dashboard:
    scope: Scope
    as_of: date
    unit_kind: str  # "乡镇" or "村"
    units: list[Unit]
    total: Unit
    findings_by_rule: list[tuple[str, str, int]]  # (code, name, open count)

    @property
    def compares_townships(self) -> bool:
        return self.unit_kind == "乡镇"

    def chart_data(self) -> dict:
        """Plain data for static/js/dashboard.js (rendered with json_script)."""

        def percent(rate: Rate) -> float | None:
            return None if rate.value is None else round(rate.value * 100, 1)

        return {
            "unitKind": self.unit_kind,
            "categories": {
                "labels": [str(c.label) for c in DisabilityCategory],
                "values": [self.total.categories.get(c.value, 0) for c in DisabilityCategory],
            },
            "findings": {
                "labels": [f"{code} {name}" for code, name, _ in self.findings_by_rule],
                "values": [count for _, _, count in self.findings_by_rule],
            },
            "rehab": {
                "labels": [unit.label for unit in self.units],
                "values": [percent(unit.rehab_rate) for unit in self.units],
                "target": round(REHAB_TARGET * 100),
            },
            "pairing": {
                "labels": [unit.label for unit in self.units],
                "values": [percent(unit.pairing_rate) for unit in self.units],
                "target": round(PAIRING_TARGET * 100),
            },
        }


def _unit_lookups(scope: Scope, prefix: str = "") -> tuple[str, str, str]:
    """(key, label, order) lookups of the unit a dashboard row stands for."""
    if scope.is_county:
        return f"{prefix}township", f"{prefix}township__name", f"{prefix}township__code"
    return f"{prefix}village", f"{prefix}village__name", f"{prefix}village__name"


def rehab_conditions(as_of: date, scope: Scope | None = None) -> tuple[Q, Q]:
    """(has a need, received a service this year) on SurveyRecord: the rehabilitation rate's
    definitions (`monitoring.populations`), narrowed to the scope's place for speed."""
    here = place_condition(scope, "person__")
    return rehab_need(as_of, here), rehab_received(as_of, here)


def overdue_condition(as_of: date, scope: Scope | None = None) -> Q:
    """On Household: its latest visit named a next visit date before `as_of`."""
    here = place_condition(scope, "household__")
    later = TrackingVisit.objects.filter(here, household=OuterRef("household")).filter(
        Q(visited_on__gt=OuterRef("visited_on"))
        | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
    )
    overdue = TrackingVisit.objects.filter(
        here, household=OuterRef("pk"), next_due__lt=as_of
    ).filter(~Exists(later))
    return Q(Exists(overdue))


def dashboard(user: AnyUser, as_of: date | None = None) -> Dashboard:
    """Key counts and rates for the user's scope, by township or village: three queries."""

    as_of = as_of or today()
    scope = scope_for(user)
    units: dict = {}

    def unit(key: int | None, label: str | None) -> Unit:
        if key not in units:
            units[key] = Unit(key, label or "（未分村）")
        return units[key]

    # 1. living certified persons (survey), by category; rehabilitation need and service
    key, label, order = _unit_lookups(scope, "person__")
    need, received = rehab_conditions(as_of, scope)
    aggregates = {
        f"c{c.value}": Count("pk", filter=Q(person__certificate__category=c.value))
        for c in DisabilityCategory
    }
    aggregates |= {
        "certified": Count("pk"),
        "need": Count("pk", filter=need),
        "received": Count("pk", filter=need & received),
    }
    survey_rows = (
        certified_alive(user).values(key, label, order).annotate(**aggregates).order_by(order)
    )
    for row in survey_rows:
        item = unit(row[key], row[label])
        item.certified = row["certified"]
        item.rehab_need = row["need"]
        item.rehab_received = row["received"]
        item.categories = {c.value: row[f"c{c.value}"] for c in DisabilityCategory}

    # 2. households: monitored, paired among the monitored, visits overdue
    key, label, order = _unit_lookups(scope)
    monitored = monitored_condition(scope)
    paired = paired_household(as_of, place_condition(scope, "household__"))
    household_rows = (
        scoped(user, Household.objects.all())
        .values(key, label, order)
        .annotate(
            households=Count("pk"),
            monitored=Count("pk", filter=monitored),
            paired=Count("pk", filter=monitored & paired),
            overdue=Count("pk", filter=overdue_condition(as_of, scope)),
        )
        .order_by(order)
    )
    for row in household_rows:
        item = unit(row[key], row[label])
        item.households = row["households"]
        item.monitored = row["monitored"]
        item.paired = row["paired"]
        item.overdue_visits = row["overdue"]

    # 3. open findings by unit and rule
    by_rule: dict[str, int] = {}
    finding_rows = (
        scoped(user, Finding.objects.filter(status=Finding.Status.OPEN))
        .values(key, label, "rule")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in finding_rows:
        unit(row[key], row[label]).open_findings += row["n"]
        by_rule[row["rule"]] = by_rule.get(row["rule"], 0) + row["n"]

    ordered = sorted(units.values(), key=lambda u: (u.key is None, _order_key(u, scope)))
    total = Unit(None, "全县合计" if scope.is_county else "合计")
    for item in ordered:
        total.add(item)
    findings = [
        (code, REGISTRY[code].name if code in REGISTRY else code, by_rule[code])
        for code in sorted(by_rule)
    ]
    return Dashboard(
        scope=scope,
        as_of=as_of,
        unit_kind="乡镇" if scope.is_county else "村",
        units=ordered,
        total=total,
        findings_by_rule=findings,
    )


def _order_key(item: Unit, scope: Scope) -> int | str:
    # Townships in code order (the query's order is kept by insertion), villages by name.
    return 0 if scope.is_county else item.label
