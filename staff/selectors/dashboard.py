"""The dashboard (工作台): indicators per unit of the user's scope, four queries.

Each aggregate is grouped by the unit the user compares (townships for county roles,
villages below), so the page's query budget does not grow with the county. Overdue visits
(`monitoring.visits_due`, the one definition) are the fourth query: the scope's overdue
households themselves for township staff and village members, their count per township and
responsible person for county roles; the units' overdue counts are added up from it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q, QuerySet

from cases.casework_base import today
from cases.models import (
    DisabilityCategory,
    Household,
)
from cases.scope import AnyUser, Scope, scope_for, scoped
from monitoring.eligibility import certified_alive
from monitoring.models import (
    Finding,
)
from monitoring.populations import paired_household, rehab_need, rehab_received
from monitoring.rules import REGISTRY
from monitoring.visits_due import overdue_households, responsible
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
    # Township staff and village members: the scope's overdue households, longest first.
    overdue: list["OverdueHousehold"] = field(default_factory=list)
    # Everyone: overdue households per responsible person (per township for county roles).
    overdue_people: list["OverdueGroup"] = field(default_factory=list)

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


@dataclass
class OverdueHousehold:
    """One overdue household of a township's or village's list."""

    pk: int
    head_name: str
    village: str
    never_visited: bool
    first_visit_missing: bool  # identified more than N days ago, no visit since
    last_visited_on: date | None
    last_next_due: date | None
    responsible: str
    responsible_role: str  # 最近走访人 / 结对帮扶人 / 未明确


@dataclass
class OverdueGroup:
    """Overdue households of one responsible person (in one township for county roles)."""

    township: str
    name: str
    role: str
    households: int = 0
    never_visited: int = 0


def _overdue_rows(user: AnyUser, as_of: date, scope: Scope) -> QuerySet:
    return scoped(user, overdue_households(as_of, place_condition(scope, "household__")))


def _add_group(groups: dict, township: str, name: str, role: str, n: int, never: int) -> None:
    group = groups.setdefault((township, name, role), OverdueGroup(township, name, role))
    group.households += n
    group.never_visited += never


def _overdue_by_unit(
    user: AnyUser, as_of: date, scope: Scope, unit: Callable[[int | None, str | None], Unit]
) -> tuple[list[OverdueHousehold], list[OverdueGroup]]:
    """(households, groups) of the scope's overdue households, counting each into its unit:
    one query, households listed below the county, grouped in the database for it."""
    groups: dict = {}
    listed: list[OverdueHousehold] = []
    if scope.is_county:
        rows = (
            _overdue_rows(user, as_of, scope)
            .order_by()
            .values("township", "township__name", "last_visitor", "helper_name", "never_visited")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            unit(row["township"], row["township__name"]).overdue_visits += row["n"]
            name, role = responsible(row["last_visitor"], row["helper_name"])
            never = row["n"] if row["never_visited"] else 0
            _add_group(groups, row["township__name"], name, role, row["n"], never)
    else:
        rows = _overdue_rows(user, as_of, scope).values(
            "pk",
            "head_name",
            "village",
            "village__name",
            "township__name",
            "never_visited",
            "first_visit_missing",
            "last_visited_on",
            "last_next_due",
            "last_visitor",
            "helper_name",
        )
        for row in rows:
            unit(row["village"], row["village__name"]).overdue_visits += 1
            name, role = responsible(row["last_visitor"], row["helper_name"])
            listed.append(
                OverdueHousehold(
                    pk=row["pk"],
                    head_name=row["head_name"],
                    village=row["village__name"] or "",
                    never_visited=row["never_visited"],
                    first_visit_missing=row["first_visit_missing"],
                    last_visited_on=row["last_visited_on"],
                    last_next_due=row["last_next_due"],
                    responsible=name,
                    responsible_role=role,
                )
            )
            _add_group(groups, row["township__name"], name, role, 1, int(row["never_visited"]))
    ordered = sorted(groups.values(), key=lambda g: (g.township, -g.households, g.name))
    return listed, ordered


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
        )
        .order_by(order)
    )
    for row in household_rows:
        item = unit(row[key], row[label])
        item.households = row["households"]
        item.monitored = row["monitored"]
        item.paired = row["paired"]
    overdue, overdue_people = _overdue_by_unit(user, as_of, scope, unit)

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
        overdue=overdue,
        overdue_people=overdue_people,
    )


def _order_key(item: Unit, scope: Scope) -> int | str:
    # Townships in code order (the query's order is kept by insertion), villages by name.
    return 0 if scope.is_county else item.label
