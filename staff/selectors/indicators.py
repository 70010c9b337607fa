"""The indicators (docs/RULES.md#indicators), per township and for the county, scoped by user.

Each function runs a handful of set-based aggregate queries (GROUP BY township with
filtered COUNTs) and returns a `Table`: rows by township (all 31 for county roles, the
user's own for township staff and village members, whose numbers cover their village
only) and a total row. Values are ints or `Rate`s (numerator ÷ denominator, with the
target where the policy sets one). `dashboard()` returns them all, ready for templates
(`row.cells` follows `table.columns`) and charts (`table.series()`).

Every table takes the as-of date. Records with dates (cases, steps, findings, services,
posts, contracts, care, modifications) are read as they stood on it; what the data keeps
without a date (certificates, survival status, the roster snapshot, survey answers and
benefit receipt) is its current state, and the table's note says so. Each indicator's
numerator and denominator: docs/INDICATORS.md.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.casework_base import today
from cases.models import (
    AccessibilityModification,
    BaseEmployment,
    Certificate,
    CustodialCare,
    DisabilityCategory,
    DisabilityGrade,
    FamilyDoctorContract,
    Household,
    LabourProfile,
    MonitoringCase,
    MonitoringCaseStep,
    Township,
    Training,
    WelfarePostPlacement,
)
from cases.scope import AnyUser, Scope, scope_for, scoped
from cases.selectors_casework import active_on
from monitoring.eligibility import (
    COVERAGE_BENEFITS,
    certified_alive,
    civil_township_names,
    civil_townships,
    coverage_summary,
    receipt,
    scope_townships,
)
from monitoring.models import (
    EmploymentStatus,
    Finding,
    RosterHousehold,
    RosterMember,
    SurveyRecord,
)
from monitoring.populations import (
    has_plan,
    monitored_household,
    paired_household,
    rehab_need,
    rehab_received,
    school_age,
)
from monitoring.rules import REGISTRY, Area
from staff.selectors.places import place_condition
from subsidies.models import BenefitType
from subsidies.policy import policy_for_year

REHAB_TARGET = 0.85
PAIRING_TARGET = 1.0


@dataclass
class Rate:
    numerator: int = 0
    denominator: int = 0
    target: float | None = None

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str:
        value = self.value
        return "—" if value is None else f"{value * 100:.1f}%"

    @property
    def meets_target(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value >= self.target

    def __add__(self, other: "Rate") -> "Rate":
        return Rate(
            self.numerator + other.numerator, self.denominator + other.denominator, self.target
        )

    def __str__(self) -> str:
        return f"{self.percent}（{self.numerator}/{self.denominator}）"


@dataclass
class Row:
    key: int | str | None
    label: str
    values: dict
    cells: list = field(default_factory=list)


@dataclass
class Table:
    key: str
    title: str
    columns: list[tuple[str, str]]  # (value key, Chinese label)
    rows: list[Row]
    total: Row
    note: str = ""
    area: str = ""  # the task area it reports on (TABLE_AREAS); the export's sheet

    def series(self, column: str) -> list[tuple[str, object]]:
        """(row label, value) pairs of one column, for a chart (rates as fractions)."""
        return [
            (row.label, v.value if isinstance(v, Rate) else v)
            for row in self.rows
            for v in [row.values.get(column)]
        ]


def _zero(template: object) -> "Rate | AverageDays | int":
    if isinstance(template, Rate):
        return Rate(target=template.target)
    if isinstance(template, AverageDays):
        return AverageDays()
    return 0


def _townships(user: AnyUser) -> list[Township]:
    """`scope_townships`, read once per user object (a request): every table of the page
    has the same rows, so sixteen tables cost one query for them, not sixteen. Kept with
    the scope it was read for, as `scope_for` caches the scope on the user."""
    scope = scope_for(user)
    cached = getattr(user, "_huoqiu_indicator_townships", None)
    if cached is not None and cached[0] is scope:
        return cast("list[Township]", cached[1])
    townships = scope_townships(user)
    user._huoqiu_indicator_townships = scope, townships  # type: ignore[union-attr]
    return townships


def _township_table(
    user: AnyUser,
    key: str,
    title: str,
    columns: Sequence[tuple[str, str]],
    by_township: dict,
    defaults: dict,
    note: str = "",
) -> Table:
    """Rows for the user's townships (zeros where there is no data) and a total row."""
    names = [name for name, _ in columns]
    rows = []
    for township in _townships(user):
        values = {
            name: by_township.get(township.pk, {}).get(name, defaults[name]) for name in names
        }
        rows.append(Row(township.pk, township.name, values))
    total_values = {name: _zero(defaults[name]) for name in names}
    for values in by_township.values():
        for name in names:
            if name in values:
                total_values[name] = total_values[name] + values[name]
    total = Row(None, "全县合计" if scope_for(user).is_county else "合计", total_values)
    for row in (*rows, total):
        row.cells = [row.values[name] for name in names]
    return Table(key, title, list(columns), rows, total, note)


def _grouped(queryset: QuerySet, township_path: str, aggregates: dict) -> dict[int, dict]:
    rows = queryset.values(township_path).annotate(**aggregates).order_by(township_path)
    return {row.pop(township_path): row for row in rows}


# --- Population: alive certified persons ---


def _alive_certificates(user: AnyUser) -> QuerySet[Certificate]:
    dead_survey = SurveyRecord.objects.filter(person=OuterRef("person"), survival_status="deceased")
    dead_roster = RosterMember.objects.filter(
        person=OuterRef("person"), is_current=True, status="deceased"
    )
    return scoped(user, Certificate.objects.filter(~Exists(dead_survey), ~Exists(dead_roster)))


def _alive_survey(user: AnyUser) -> QuerySet[SurveyRecord]:

    return certified_alive(user)


# Certificates and survival status carry no date: the certified tables count them as recorded.
SNAPSHOT_NOTE = "持证和存活状态按当前登记统计（证件和存活状态没有日期，不随统计日期回溯）"


def certified_by_category_grade(user: AnyUser, as_of: date | None = None) -> Table:
    """Living certified persons by category and by grade (as recorded: see SNAPSHOT_NOTE)."""
    aggregates = {
        f"c{c.value}": Count("pk", filter=Q(category=c.value)) for c in DisabilityCategory
    }
    aggregates |= {f"g{g.value}": Count("pk", filter=Q(grade=g.value)) for g in DisabilityGrade}
    aggregates["total"] = Count("pk")
    by_township = _grouped(_alive_certificates(user), "person__township", aggregates)
    columns = [(f"c{c.value}", str(c.label)) for c in DisabilityCategory]
    columns += [(f"g{g.value}", str(g.label)) for g in DisabilityGrade]
    columns.append(("total", "合计"))
    return _township_table(
        user,
        "certified",
        "持证残疾人（按类别、等级）",
        columns,
        by_township,
        dict.fromkeys(aggregates, 0),
        note=SNAPSHOT_NOTE,
    )


def certified_matrix(user: AnyUser, as_of: date | None = None) -> Table:
    """Living certified persons, category (rows) × grade (columns), for the user's scope."""
    counts = {
        (row["category"], row["grade"]): row["n"]
        for row in _alive_certificates(user)
        .values("category", "grade")
        .annotate(n=Count("pk"))
        .order_by()
    }
    columns = [(f"g{g.value}", str(g.label)) for g in DisabilityGrade] + [("total", "合计")]
    rows = []
    for c in DisabilityCategory:
        values = {f"g{g.value}": counts.get((c.value, g.value), 0) for g in DisabilityGrade}
        values["total"] = sum(values.values())
        rows.append(Row(c.value, str(c.label), values))
    total_values = {name: sum(row.values[name] for row in rows) for name, _ in columns}
    total = Row(None, "合计", total_values)
    for row in (*rows, total):
        row.cells = [row.values[name] for name, _ in columns]
    return Table("certified_matrix", "持证残疾人（类别×等级）", columns, rows, total, SNAPSHOT_NOTE)


# --- Monitoring ---


def monitoring_cases_by_type_status(user: AnyUser, as_of: date | None = None) -> Table:
    """Households by the status and type of their latest monitoring case opened by the date.

    The status on the date is the last workflow step acted on by then (a case without one
    is 待核实, as it opens); the category is the case's current one (it has no history).
    """
    as_of = as_of or today()
    newer = MonitoringCase.objects.filter(
        household=OuterRef("household"), pk__gt=OuterRef("pk"), opened_on__lte=as_of
    )
    last_step = (
        MonitoringCaseStep.objects.filter(case=OuterRef("pk"), acted_on__lte=as_of)
        .order_by("-acted_on", "-pk")
        .values("to_status")[:1]
    )
    latest = scoped(
        user, MonitoringCase.objects.filter(opened_on__lte=as_of).filter(~Exists(newer))
    ).annotate(status_on=Coalesce(Subquery(last_step), Value(MonitoringCase.Status.PENDING.value)))
    aggregates = {s.value: Count("pk", filter=Q(status_on=s.value)) for s in MonitoringCase.Status}
    aggregates |= {
        f"type_{c.value}": Count(
            "pk",
            filter=Q(category=c.value, status_on__in=MonitoringCase.MONITORED_STATUSES),
        )
        for c in MonitoringCase.Category
    }
    aggregates["total"] = Count("pk")
    by_township = _grouped(latest, "household__township", aggregates)
    columns = [(s.value, str(s.label)) for s in MonitoringCase.Status]
    columns += [(f"type_{c.value}", f"监测中·{c.label}") for c in MonitoringCase.Category]
    columns.append(("total", "合计（户）"))
    return _township_table(
        user,
        "monitoring_cases",
        "监测对象（按状态、类别）",
        columns,
        by_township,
        dict.fromkeys(aggregates, 0),
        note="每户按统计日期前最近一次监测对象、该日的办理状态统计；"
        "类别只统计已纳入监测和帮扶中的家庭（类别按当前登记）",
    )


def roster_monitored_households(user: AnyUser, as_of: date | None = None) -> Table:
    """Current roster 监测户 with at least one certified disabled member, by category and risk.

    The roster is a snapshot replaced by each import: it is counted as imported, whatever
    the date (the note says so)."""
    certified_member = RosterMember.objects.filter(
        household=OuterRef("pk"), is_current=True, person__certificate__isnull=False
    )
    households = scoped(
        user,
        RosterHousehold.objects.filter(is_current=True, household_type="monitored").filter(
            Exists(certified_member)
        ),
    )
    aggregates = {
        c: Count("pk", filter=Q(monitoring_category=c)) for c in ("unstable", "marginal", "sudden")
    }
    aggregates["at_risk"] = Count("pk", filter=~Q(risk_cleared=True))
    aggregates["cleared"] = Count("pk", filter=Q(risk_cleared=True))
    aggregates["total"] = Count("pk")
    columns = [
        ("unstable", "脱贫不稳定户"),
        ("marginal", "边缘易致贫户"),
        ("sudden", "突发严重困难户"),
        ("at_risk", "风险未消除"),
        ("cleared", "风险已消除"),
        ("total", "合计（户）"),
    ]
    return _township_table(
        user,
        "roster_monitored",
        "防返贫监测名单中的残疾人监测户",
        columns,
        _grouped(households, "township", aggregates),
        dict.fromkeys(aggregates, 0),
        note="防返贫监测名单按最近一次导入的名单统计（名单没有历史，不随统计日期回溯）",
    )


def _days(value: timedelta | float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return round(value.total_seconds() / 86400, 1)
    return round(float(value) / 86_400_000_000, 1)  # SQLite: microseconds


@dataclass
class AverageDays:
    """Mean days from flag to decision: kept as (total days, count) so totals add up."""

    total: float = 0.0
    count: int = 0

    @property
    def value(self) -> float | None:
        return round(self.total / self.count, 1) if self.count else None

    def __add__(self, other: "AverageDays") -> "AverageDays":
        return AverageDays(self.total + other.total, self.count + other.count)

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value}天"


def _end_of(as_of: date) -> datetime:
    """The first instant after the as-of day, in the project's time zone."""
    return timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))


def _findings_on(user: AnyUser, as_of: date) -> QuerySet[Finding]:
    """The user's findings opened by the end of the as-of day, each with `status_on`.

    A finding keeps its decision and clearing times, not every earlier status, so its
    status on the date is its current one if that was reached by then, else 待处理 (it
    was open). A decided or cleared finding without the time counts as reached.
    """
    end = _end_of(as_of)
    decided = Q(status__in=(Finding.Status.HANDLED, Finding.Status.DISMISSED)) & (
        Q(decided_at__isnull=True) | Q(decided_at__lt=end)
    )
    cleared = Q(status=Finding.Status.CLEARED) & (
        Q(cleared_at__isnull=True) | Q(cleared_at__lt=end)
    )
    status_on = Case(
        When(decided | cleared, then=F("status")),
        default=Value(Finding.Status.OPEN.value),
    )
    return scoped(user, Finding.objects.filter(opened_at__lt=end)).annotate(status_on=status_on)


def _findings_aggregates() -> dict[str, Aggregate]:
    decided = Q(decided_at__isnull=False, status_on__in=("handled", "dismissed"))
    aggregates: dict[str, Aggregate] = {
        s.value: Count("pk", filter=Q(status_on=s.value)) for s in Finding.Status
    }
    aggregates["total"] = Count("pk")
    aggregates["decided"] = Count("pk", filter=decided)
    aggregates["avg_wait"] = Avg(
        ExpressionWrapper(F("decided_at") - F("opened_at"), output_field=DurationField()),
        filter=decided,
    )
    return aggregates


def _findings_values(row: dict) -> dict:
    average = _days(row.pop("avg_wait"))
    decided = row.pop("decided")
    row["days"] = AverageDays((average or 0) * decided, decided)
    return row


FINDING_COLUMNS = [(s.value, str(s.label)) for s in Finding.Status] + [
    ("total", "合计"),
    ("days", "发现至处理平均天数"),
]


FINDINGS_NOTE = "统计日期当天结束前发现的；状态为该日的状态（此后才处理或消除的按待处理计）"


def findings_by_township(user: AnyUser, as_of: date | None = None) -> Table:
    """Findings by status on the date per township, and mean days from flag to decision."""
    as_of = as_of or today()
    raw = _grouped(_findings_on(user, as_of), "township", _findings_aggregates())
    by_township = {tid: _findings_values(row) for tid, row in raw.items()}
    defaults = {name: 0 for name, _ in FINDING_COLUMNS} | {"days": AverageDays()}
    return _township_table(
        user,
        "findings",
        "比对发现（按状态）",
        FINDING_COLUMNS,
        by_township,
        defaults,
        note=FINDINGS_NOTE,
    )


def findings_by_rule(user: AnyUser, as_of: date | None = None) -> Table:
    """Findings by rule (rows) and status on the date, with mean days from flag to decision."""
    as_of = as_of or today()

    # The stubs see only "rule" in these rows; the aggregates add the status counts.
    raw = cast(
        "QuerySet[Finding, dict[str, Any]]",
        _findings_on(user, as_of)
        .values("rule")
        .annotate(**_findings_aggregates())
        .order_by("rule"),
    )
    rows = []
    for found in raw:
        code = found.pop("rule")
        entry = REGISTRY.get(code)
        values = _findings_values(found)
        rows.append(Row(code, f"{code} {entry.name}" if entry else code, values))
    names = [name for name, _ in FINDING_COLUMNS]
    total_values = dict.fromkeys(names, 0) | {"days": AverageDays()}
    for row in rows:
        for name in names:
            total_values[name] = total_values[name] + row.values[name]
    total = Row(None, "合计", total_values)
    for row in (*rows, total):
        row.cells = [row.values[name] for name in names]
    return Table(
        "findings_by_rule", "比对发现（按规则、状态）", FINDING_COLUMNS, rows, total, FINDINGS_NOTE
    )


# --- Rehabilitation service rate (target ≥ 85%) ---

REHAB_GROUPS = [
    ("all", "全部"),
    ("low_income", "低收入"),
    ("severe", "重度（一、二级）"),
    ("severe_mental", "严重精神障碍"),
    ("multi", "一户多残"),
]


def rehab_service_rate(user: AnyUser, as_of: date | None = None) -> Table:
    """Persons with a rehabilitation need who received a service this year ÷ persons with a
    need, overall and for the priority groups, per township (target ≥ 85%).

    Need: the survey lists one, or an open need is recorded. Received: the survey says so,
    or a service is recorded between 1 January and the as-of date — the services R01
    reads (`monitoring.populations`; how the gap relates to R01: docs/RULES.md#indicators).
    """
    as_of = as_of or today()
    line = policy_for_year(as_of.year).monitoring_line
    household_size = (
        SurveyRecord.objects.filter(household=OuterRef("household"))
        .exclude(survival_status="deceased")
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    base = _alive_survey(user).annotate(
        certified_in_household=Coalesce(Subquery(household_size, output_field=IntegerField()), 0)
    )
    need = rehab_need(as_of)
    received = rehab_received(as_of)
    groups = {
        "all": Q(pk__isnull=False),
        "low_income": Q(income_per_capita__lt=line),
        "severe": Q(person__certificate__grade__in=(1, 2)),
        "severe_mental": Q(person__certificate__category=6, person__certificate__grade__in=(1, 2)),
        "multi": Q(certified_in_household__gte=2),
    }
    aggregates = {}
    for name, condition in groups.items():
        aggregates[f"{name}__n"] = Count("pk", filter=condition & need)
        aggregates[f"{name}__r"] = Count("pk", filter=condition & need & received)
    raw = _grouped(base, "person__township", aggregates)
    by_township = {
        tid: {
            name: Rate(row[f"{name}__r"], row[f"{name}__n"], REHAB_TARGET)
            for name, _ in REHAB_GROUPS
        }
        for tid, row in raw.items()
    }
    return _township_table(
        user,
        "rehab_rate",
        f"康复服务率（{as_of.year}年，目标≥85%）",
        REHAB_GROUPS,
        by_township,
        {name: Rate(target=REHAB_TARGET) for name, _ in REHAB_GROUPS},
        note="有康复需求者中当年获得康复服务的比例；低收入指家庭年人均收入低于当年监测线",
    )


# --- Safety net ---


def _receipt_source_note(civil_names: list[str]) -> str:
    """Which source decides 低保, 特困 and the subsidies, township by township."""
    if not civil_names:
        return "低保、特困和两项补贴以调查和工作人员录入为准（尚未导入民政名册）"
    return (
        f"低保、特困和两项补贴：{'、'.join(civil_names)}以已导入的民政名册为准，"
        "其余乡镇以调查和工作人员录入为准"
    )


def subsidy_coverage(user: AnyUser, as_of: date | None = None) -> Table:
    """Receiving ÷ eligible for each benefit with an eligibility rule (S01–S05)."""
    coverage = coverage_summary(user, as_of)
    columns = [(b, str(BenefitType(b).label)) for b in COVERAGE_BENEFITS]
    by_township = {
        row.township_id: {b: Rate(c.receiving, c.eligible) for b, c in row.cells.items()}
        for row in coverage.rows
    }
    table = _township_table(
        user,
        "subsidy_coverage",
        "应保尽保、应补尽补覆盖率",
        columns,
        by_township,
        {b: Rate() for b in COVERAGE_BENEFITS},
        note="覆盖率 = 已享受 ÷ 符合条件；未知是否享受的计入未享受；"
        "符合条件按统计日期（年龄、当年政策），享受情况按当前记录。"
        + _receipt_source_note(civil_township_names(coverage.civil_townships)),
    )
    # The scoped coverage total is exact even where rows are not shown.
    table.total.values = {b: Rate(c.receiving, c.eligible) for b, c in coverage.total.cells.items()}
    table.total.cells = [table.total.values[b] for b in COVERAGE_BENEFITS]
    return table


def school_age_enrolment(user: AnyUser, as_of: date | None = None) -> Table:
    """Certified children aged 6–15: in school, with a plan (一人一案), and either.

    School age and plan are E01's (`monitoring.populations`); the gap is E01's children
    plus those whose 在校情况 is 不适用 or blank (docs/RULES.md#indicators).
    """
    as_of = as_of or today()
    plan = has_plan()
    children = _alive_survey(user).filter(school_age(as_of))
    enrolled = Q(in_school="yes")
    aggregates = {
        "children": Count("pk"),
        "enrolled": Count("pk", filter=enrolled),
        "planned": Count("pk", filter=plan),
        "covered": Count("pk", filter=enrolled | plan),
    }
    raw = _grouped(children, "person__township", aggregates)
    by_township = {
        tid: {
            "children": row["children"],
            "enrolled": row["enrolled"],
            "planned": row["planned"],
            "rate": Rate(row["covered"], row["children"], 1.0),
        }
        for tid, row in raw.items()
    }
    columns = [
        ("children", "适龄残疾儿童少年"),
        ("enrolled", "在校"),
        ("planned", "已建一人一案"),
        ("rate", "在校或已有方案"),
    ]
    return _township_table(
        user,
        "school_age",
        "适龄残疾儿童少年入学与一人一案",
        columns,
        by_township,
        {"children": 0, "enrolled": 0, "planned": 0, "rate": Rate(target=1.0)},
    )


# --- Employment, accessibility, pairing ---


# The survey's 就业状况 answers that mean in work (all but 未就业, 无劳动能力 and blank).
SURVEY_EMPLOYED = tuple(
    s.value
    for s in EmploymentStatus
    if s not in (EmploymentStatus.UNEMPLOYED, EmploymentStatus.NO_LABOUR_ABILITY)
)


def _person_has(queryset: QuerySet) -> Q:
    """On SurveyRecord: the person has a row of `queryset` (a model with `person`)."""
    return Q(Exists(queryset.filter(person=OuterRef("person"))))


def employment(user: AnyUser, as_of: date | None = None) -> Table:
    """Employment of the living certified persons on the date, by the source that decides.

    Staff records decide where they exist, else the survey answers (docs/INDICATORS.md):
    employed — a public-welfare post or an employment-base job active on the date
    (按登记), else 就业状况 one of SURVEY_EMPLOYED (按调查); able and willing — the
    labour profile assessed by the date (ability not 无劳动能力, willing), else 就业状况
    neither 无劳动能力 nor blank and 就业意愿 是 (按调查). Posts, base jobs and trainings
    count every person the records name, family members included, as the policy does.
    """
    as_of = as_of or today()
    job_recorded = _person_has(WelfarePostPlacement.objects.filter(active_on(as_of))) | _person_has(
        BaseEmployment.objects.filter(active_on(as_of))
    )
    survey_employed = Q(employment_status__in=SURVEY_EMPLOYED)
    profiles = LabourProfile.objects.filter(assessed_on__lte=as_of)
    profile_recorded = _person_has(profiles)
    profile_able_willing = _person_has(
        profiles.filter(willing=True).exclude(ability=LabourProfile.Ability.NONE)
    )
    survey_able_willing = (
        Q(employment_willing=True)
        & ~Q(employment_status="")
        & ~Q(employment_status=EmploymentStatus.NO_LABOUR_ABILITY)
    )
    persons = _grouped(
        _alive_survey(user),
        "person__township",
        {
            "employed": Count("pk", filter=job_recorded | survey_employed),
            "employed_survey": Count("pk", filter=~job_recorded & survey_employed),
            "able_willing": Count(
                "pk",
                filter=profile_able_willing | (~profile_recorded & survey_able_willing),
            ),
            "able_willing_survey": Count("pk", filter=~profile_recorded & survey_able_willing),
        },
    )
    posts = _grouped(
        scoped(user, WelfarePostPlacement.objects.filter(active_on(as_of))),
        "person__township",
        {"posts": Count("person", distinct=True)},
    )
    base_jobs = _grouped(
        scoped(user, BaseEmployment.objects.filter(active_on(as_of))),
        "person__township",
        {"base_jobs": Count("person", distinct=True)},
    )
    trained = _grouped(
        scoped(
            user,
            Training.objects.filter(started_on__year=as_of.year, started_on__lte=as_of),
        ),
        "person__township",
        {"trainings": Count("pk")},
    )
    by_township: dict[int, dict] = {}
    for source in (posts, base_jobs, persons, trained):
        for tid, values in source.items():
            by_township.setdefault(tid, {}).update(values)
    columns = [
        ("posts", "公益性岗位在岗人数"),
        ("base_jobs", "基地带动就业人数"),
        ("employed", "持证残疾人就业"),
        ("employed_survey", "其中按调查"),
        ("able_willing", "有劳动能力和就业意愿"),
        ("able_willing_survey", "其中按调查"),
        ("trainings", f"{as_of.year}年培训人次"),
    ]
    return _township_table(
        user,
        "employment",
        "就业帮扶",
        columns,
        by_township,
        dict.fromkeys(dict(columns), 0),
        note="就业：统计日期在公益性岗位或基地带动就业的按登记，其余按调查的就业状况；"
        "劳动能力和就业意愿：有摸底登记的按登记，其余按调查的就业状况和就业意愿。"
        "“其中按调查”为来自调查、没有工作人员登记的人数",
    )


def accessibility(user: AnyUser, as_of: date | None = None) -> Table:
    """Accessibility modifications: in progress on the date, accepted this year and in all,
    cost this year. In progress: applied by the date, neither accepted nor ended by then."""
    as_of = as_of or today()
    A = AccessibilityModification.Status
    this_year = Q(status=A.ACCEPTED, accepted_on__year=as_of.year, accepted_on__lte=as_of)
    in_progress = (
        Q(applied_on__lte=as_of)
        & ~Q(status=A.ACCEPTED, accepted_on__lte=as_of)
        & ~Q(status=A.CANCELLED, cancelled_on__lte=as_of)
        # An end without its date cannot be placed in time: it counts as ended.
        & ~Q(status=A.CANCELLED, cancelled_on__isnull=True)
    )
    aggregates = {
        "in_progress": Count("pk", filter=in_progress),
        "done_year": Count("pk", filter=this_year),
        "done_all": Count("pk", filter=Q(status=A.ACCEPTED, accepted_on__lte=as_of)),
        "cost_year": Coalesce(Sum("cost", filter=this_year), 0, output_field=IntegerField()),
    }
    raw = _grouped(
        scoped(user, AccessibilityModification.objects.all()), "person__township", aggregates
    )
    columns = [
        ("in_progress", "办理中"),
        ("done_year", f"{as_of.year}年验收"),
        ("done_all", "累计验收"),
        ("cost_year", f"{as_of.year}年改造费用（元）"),
    ]
    return _township_table(
        user, "accessibility", "无障碍改造", columns, raw, dict.fromkeys(aggregates, 0)
    )


# --- Family doctors, custodial care, 特困 and 临时救助 ---


def family_doctor(user: AnyUser, as_of: date | None = None) -> Table:
    """Living certified persons with a family-doctor contract valid on the date ÷ living
    certified persons. Valid: signed on or before the date, expiring on or after it (or
    no expiry recorded). The survey's 家庭医生签约 answer does not count as a contract; the
    persons it reports signed without a valid contract are shown beside, to be verified."""
    as_of = as_of or today()
    contract = _person_has(
        FamilyDoctorContract.objects.filter(active_on(as_of, "signed_on", "expires_on"))
    )
    raw = _grouped(
        _alive_survey(user),
        "person__township",
        {
            "persons": Count("pk"),
            "signed": Count("pk", filter=contract),
            "survey_only": Count("pk", filter=Q(family_doctor=True) & ~contract),
        },
    )
    by_township = {
        tid: {
            "persons": row["persons"],
            "rate": Rate(row["signed"], row["persons"]),
            "survey_only": row["survey_only"],
        }
        for tid, row in raw.items()
    }
    return _township_table(
        user,
        "family_doctor",
        "家庭医生签约率",
        [
            ("persons", "持证残疾人"),
            ("rate", "有效签约"),
            ("survey_only", "调查称已签约但无有效签约记录"),
        ],
        by_township,
        {"persons": 0, "rate": Rate(), "survey_only": 0},
        note="签约率 = 统计日期有有效家庭医生签约记录（签约日期不晚于、到期日期不早于统计日期）的"
        "持证残疾人 ÷ 持证残疾人",
    )


def custodial_care(user: AnyUser, as_of: date | None = None) -> Table:
    """Custodial care (托养照护) need met: persons in care on the date ÷ persons with a need.

    Need: the survey's 托养照护需求 是, or a custodial care active on the date (a person in
    care has the need, whatever the survey said). Met: a care record active on the date.
    Neither the survey nor the records date a need, so the survey answer stands as it is.
    """
    as_of = as_of or today()
    in_care = _person_has(CustodialCare.objects.filter(active_on(as_of)))
    need = Q(care_need=True) | in_care
    severe = Q(person__certificate__grade__in=(1, 2))
    raw = _grouped(
        _alive_survey(user),
        "person__township",
        {
            "need": Count("pk", filter=need),
            "in_care": Count("pk", filter=in_care),
            "severe_need": Count("pk", filter=need & severe),
            "severe_in_care": Count("pk", filter=in_care & severe),
        },
    )
    by_township = {
        tid: {
            "need": row["need"],
            "rate": Rate(row["in_care"], row["need"]),
            "severe": Rate(row["severe_in_care"], row["severe_need"]),
        }
        for tid, row in raw.items()
    }
    return _township_table(
        user,
        "custodial_care",
        "托养照护需求满足率",
        [("need", "有托养照护需求"), ("rate", "已托养照护"), ("severe", "其中重度（一、二级）")],
        by_township,
        {"need": 0, "rate": Rate(), "severe": Rate()},
        note="需求：调查填报托养照护需求为“是”，或统计日期正在托养照护；"
        "满足：统计日期有托养照护记录（居家、日间或寄宿）",
    )


def tekun_relief(user: AnyUser, as_of: date | None = None) -> Table:
    """Receiving 特困供养 and 临时救助 among the living certified persons and among the
    low-income ones (income per person below the year's monitoring line L).

    Receipt is `monitoring.eligibility.receipt()`, the definition the S rules read; neither
    benefit has an eligibility rule, so these are receiving rates over a population, not
    coverage of the eligible. Receipt has no date: current records and survey answers.
    """
    as_of = as_of or today()
    line = policy_for_year(as_of.year).monitoring_line
    civil = civil_townships()
    tekun = receipt(BenefitType.TEKUN, civil)
    relief = receipt(BenefitType.TEMPORARY_RELIEF, civil)
    low = Q(income_per_capita__lt=line)
    raw = _grouped(
        _alive_survey(user),
        "person__township",
        {
            "persons": Count("pk"),
            "low": Count("pk", filter=low),
            "tekun": Count("pk", filter=tekun.yes),
            "tekun_low": Count("pk", filter=low & tekun.yes),
            "tekun_unknown": Count("pk", filter=~tekun.yes & ~tekun.no),
            "relief": Count("pk", filter=relief.yes),
            "relief_low": Count("pk", filter=low & relief.yes),
        },
    )
    by_township = {
        tid: {
            "persons": row["persons"],
            "tekun": Rate(row["tekun"], row["persons"]),
            "tekun_unknown": row["tekun_unknown"],
            "low": row["low"],
            "tekun_low": Rate(row["tekun_low"], row["low"]),
            "relief": Rate(row["relief"], row["persons"]),
            "relief_low": Rate(row["relief_low"], row["low"]),
        }
        for tid, row in raw.items()
    }
    columns = [
        ("persons", "持证残疾人"),
        ("tekun", "享受特困供养"),
        ("tekun_unknown", "特困供养情况不明"),
        ("low", "低收入"),
        ("tekun_low", "低收入中享受特困供养"),
        ("relief", "享受临时救助"),
        ("relief_low", "低收入中享受临时救助"),
    ]
    defaults: dict[str, Rate | int] = {name: Rate() for name, _ in columns}
    defaults |= {"persons": 0, "tekun_unknown": 0, "low": 0}
    return _township_table(
        user,
        "tekun_relief",
        "特困供养与临时救助",
        columns,
        by_township,
        defaults,
        note="没有认定条件的比对规则，只统计享受人数和比例：享受 ÷ 持证残疾人，"
        "低收入指家庭年人均收入低于当年监测线。特困以民政名册（已导入的乡镇）或调查和录入为准，"
        "临时救助以在保的救助记录为准；均按当前记录，不随统计日期回溯",
    )


def monitored_condition(scope: Scope | None = None) -> Q:
    """On Household: a living certified member is monitored (docs/RULES.md#terms): the
    roster alone decides, the household's own monitoring case does not count."""
    return monitored_household(place_condition(scope, "household__"))


def monitored_households(user: AnyUser, as_of: date | None = None) -> QuerySet[Household]:
    """Registry households with a living certified member in a current roster 监测户 whose
    risk is not cleared: the households of P01's persons."""
    return scoped(user, Household.objects.filter(monitored_condition()))


def pairing_coverage(user: AnyUser, as_of: date | None = None) -> Table:
    """Monitored households with an active one-to-one pairing ÷ monitored households (100%).

    The gap (monitored − paired) is the households of P01's findings (docs/RULES.md#indicators).
    """
    as_of = as_of or today()
    raw = _grouped(
        monitored_households(user, as_of),
        "township",
        {"n": Count("pk"), "paired": Count("pk", filter=paired_household(as_of))},
    )
    by_township = {
        tid: {"households": row["n"], "rate": Rate(row["paired"], row["n"], PAIRING_TARGET)}
        for tid, row in raw.items()
    }
    return _township_table(
        user,
        "pairing",
        "监测户结对帮扶覆盖率（目标100%）",
        [("households", "监测户"), ("rate", "已结对")],
        by_township,
        {"households": 0, "rate": Rate(target=PAIRING_TARGET)},
        note="监测户：防返贫监测名单中风险未消除的监测户（以监测名单为准）",
    )


# The task area (monitoring.rules.Area, as the cross-check rules use it) each table reports
# on: the stats export has one sheet per area. A table not listed goes to OTHER_AREA.
BASE_AREA = "基本情况"
OTHER_AREA = "其他指标"
TABLE_AREAS: dict[str, str] = {
    "certified": BASE_AREA,
    "certified_matrix": BASE_AREA,
    "monitoring_cases": Area.MONITORING,
    "roster_monitored": Area.MONITORING,
    "findings": Area.MONITORING,
    "findings_by_rule": Area.MONITORING,
    "subsidy_coverage": Area.SAFETY_NET,
    "tekun_relief": Area.SAFETY_NET,
    "school_age": Area.SAFETY_NET,
    "employment": Area.EMPLOYMENT,
    "rehab_rate": Area.REHABILITATION,
    "family_doctor": Area.REHABILITATION,
    "custodial_care": Area.REHABILITATION,
    "accessibility": Area.REHABILITATION,
    "pairing": Area.GRASSROOTS,
}


def dashboard(user: AnyUser, as_of: date | None = None) -> dict[str, Table]:
    """Every indicator table (docs/RULES.md#indicators) for the user's scope, keyed by table key."""
    as_of = as_of or today()
    tables = [
        certified_by_category_grade(user, as_of),
        certified_matrix(user, as_of),
        monitoring_cases_by_type_status(user, as_of),
        roster_monitored_households(user, as_of),
        findings_by_township(user, as_of),
        findings_by_rule(user, as_of),
        rehab_service_rate(user, as_of),
        family_doctor(user, as_of),
        custodial_care(user, as_of),
        subsidy_coverage(user, as_of),
        tekun_relief(user, as_of),
        school_age_enrolment(user, as_of),
        employment(user, as_of),
        accessibility(user, as_of),
        pairing_coverage(user, as_of),
    ]
    for table in tables:
        table.area = table.area or TABLE_AREAS.get(table.key, OTHER_AREA)
    return {table.key: table for table in tables}
