"""Reads for the staff pages of issue 6: dashboard, households, person and household pages, visits.

Every function takes the user first and starts from `cases.scope.scoped()` or
`get_in_scope_or_404()`, so a page cannot forget the scope. Each page has a fixed,
small query budget whatever the size of the county (tests hold the dashboard, the
household page and the person page to ≤ 10 queries per request, session and audit
included):

- dashboard: three aggregate queries (survey persons, open findings, households), each
  grouped by the unit the user compares (townships for county roles, villages below);
- household page: the household (with its open case and pairing as subqueries), its
  members with their survey and roster rows (one joined query), and the timeline;
- person page: the person (with survey, roster and household joined), the household's
  members, and the timeline;
- the timeline is ONE query: a UNION ALL of every kind of record (visits, measures,
  pairings, case steps, findings, benefits, applications, plans, services), newest first.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import django_filters
from django import forms
from django.db.models import (
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate
from django.utils import timezone

from monitoring.models import (
    Finding,
    HouseholdType,
    MonitoringCategory,
    SurveyRecord,
)
from subsidies.models import BenefitApplication, BenefitRecord, BenefitType
from subsidies.selectors import certified_alive

from .casework_base import today
from .identity import age_on
from .indicators import PAIRING_TARGET, REHAB_TARGET, Rate
from .models import (
    AssistanceMeasure,
    DisabilityCategory,
    EducationPlan,
    Household,
    HouseholdMember,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    Person,
    RehabNeed,
    RehabService,
    TrackingVisit,
    Village,
)
from .scope import Scope, get_in_scope_or_404, scope_for, scoped
from .selectors import SEARCH_MAX_LENGTH, normalise_query
from .selectors_casework import active_on

_ID_FRAGMENT = re.compile(r"^\d{1,17}[\dX]?$")

# --- geography for filters (one query) ----------------------------------------------------


@dataclass(frozen=True)
class Place:
    pk: int
    name: str
    township_id: int
    township_name: str


def places(user) -> list[Place]:
    """The villages in the user's scope with their townships, in one query.

    County roles get every village (their township filter is derived from the same rows),
    township staff their township's villages, village members their own village.
    """
    rows = (
        scoped(user, Village.objects.all())
        .order_by("township__code", "name")
        .values_list("pk", "name", "township_id", "township__name")
    )
    return [Place(*row) for row in rows]


def township_choices(place_list: list[Place]) -> list[tuple[str, str]]:
    seen = {}
    for place in place_list:
        seen.setdefault(place.township_id, place.township_name)
    return [(str(pk), name) for pk, name in seen.items()]


def village_choices(place_list: list[Place], township_id: str | None = None):
    """Village choices; for county roles grouped by township (optgroups)."""
    townships = {place.township_id for place in place_list}
    chosen = [
        place
        for place in place_list
        if not township_id or str(place.township_id) == str(township_id)
    ]
    if len(townships) <= 1:
        return [(str(place.pk), place.name) for place in chosen]
    groups: dict[str, list] = {}
    for place in chosen:
        groups.setdefault(place.township_name, []).append((str(place.pk), place.name))
    return list(groups.items())


# --- dashboard (SPEC §7 for the user's scope) ---------------------------------------------


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

        def percent(rate: Rate):
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


def place_condition(scope: Scope | None, prefix: str) -> Q:
    """The scope's township or village as a condition on `prefix` (nothing for the county).

    Added to the correlated subqueries of the dashboard although the outer query is already
    scoped: PostgreSQL evaluates such EXISTS filters as one hashed subquery over the whole
    table, so narrowing it to the township makes a township's dashboard several times faster.
    """
    if scope is None or scope.is_county:
        return Q()
    if scope.village_id is not None:
        return Q(**{f"{prefix}village_id": scope.village_id})
    return Q(**{f"{prefix}township_id": scope.township_id})


def rehab_conditions(as_of: date, scope: Scope | None = None) -> tuple[Q, Q]:
    """(has a need, received a service this year) on SurveyRecord, as the indicators read them."""
    here = place_condition(scope, "person__")
    staff_need = RehabNeed.objects.filter(
        here, person=OuterRef("person"), identified_on__lte=as_of
    ).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=as_of))
    served = RehabService.objects.filter(
        here,
        person=OuterRef("person"),
        served_on__gte=date(as_of.year, 1, 1),
        served_on__lte=as_of,
    )
    need = ~Q(rehab_needs=[]) | Q(Exists(staff_need))
    received = Q(rehab_received=True) | Q(Exists(served))
    return need, received


def monitored_condition(scope: Scope | None = None) -> Q:
    """On Household: monitored in the current roster (risk not cleared) or by an own case."""
    in_roster = SurveyRecord.objects.filter(
        place_condition(scope, "household__"),
        household=OuterRef("pk"),
        person__roster_member__is_current=True,
        person__roster_member__household__is_current=True,
        person__roster_member__household__household_type="monitored",
    ).filter(
        Q(person__roster_member__household__risk_cleared=False)
        | Q(person__roster_member__household__risk_cleared__isnull=True)
    )
    in_case = MonitoringCase.objects.filter(
        place_condition(scope, "household__"),
        household=OuterRef("pk"),
        status__in=MonitoringCase.MONITORED_STATUSES,
    )
    return Q(Exists(in_roster)) | Q(Exists(in_case))


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


def dashboard(user, as_of: date | None = None) -> Dashboard:
    """Key counts and rates for the user's scope, by township or village: three queries."""
    from monitoring.rules import REGISTRY

    as_of = as_of or today()
    scope = scope_for(user)
    units: dict = {}

    def unit(key, label) -> Unit:
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
    pairings = Pairing.objects.filter(place_condition(scope, "household__"))
    paired = Q(Exists(pairings.filter(household=OuterRef("pk")).filter(active_on(as_of))))
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


def _order_key(item: Unit, scope: Scope):
    # Townships in code order (the query's order is kept by insertion), villages by name.
    return 0 if scope.is_county else item.label


# --- households ------------------------------------------------------------------------------

CASE_FILTER_CHOICES = [
    ("active", "有未结束的监测对象"),
    *[(s.value, str(s.label)) for s in MonitoringCase.Status],
    ("none", "从未建立监测对象"),
]


def _active_case(field_name: str):
    return Subquery(
        MonitoringCase.objects.filter(
            household=OuterRef("pk"), status__in=MonitoringCase.ACTIVE_STATUSES
        )
        .order_by("-id")
        .values(field_name)[:1]
    )


def _latest_case(field_name: str):
    return Subquery(
        MonitoringCase.objects.filter(household=OuterRef("pk"))
        .order_by("-id")
        .values(field_name)[:1]
    )


class HouseholdFilter(django_filters.FilterSet):
    """Filters of the household list: head's name or ID, township, village, case status."""

    q = django_filters.CharFilter(
        label="户主姓名或身份证号", method="filter_q", max_length=SEARCH_MAX_LENGTH
    )
    township = django_filters.ChoiceFilter(
        label="乡镇", field_name="township_id", empty_label="全部乡镇"
    )
    village = django_filters.ChoiceFilter(
        label="村（社区）", field_name="village_id", empty_label="全部村"
    )
    case = django_filters.ChoiceFilter(
        label="监测对象", choices=CASE_FILTER_CHOICES, method="filter_case", empty_label="全部"
    )

    class Meta:
        model = Household
        fields: list[str] = []

    def __init__(self, *args, places: list[Place] = (), scope: Scope | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        place_list = list(places)
        if scope is not None and scope.is_county:
            self.filters["township"].extra["choices"] = township_choices(place_list)
        else:
            del self.filters["township"]
        if scope is not None and scope.village_id is not None:
            del self.filters["village"]
        else:
            township = (self.data or {}).get("township") if scope and scope.is_county else None
            self.filters["village"].extra["choices"] = village_choices(place_list, township)

    def filter_q(self, queryset, name, value):
        """A household is found by its head: the full or partial ID number, or the name."""
        text = normalise_query(value)
        if not text:
            return queryset
        if _ID_FRAGMENT.match(text):
            if len(text) == 18:
                return queryset.filter(head_id_number=text)
            return queryset.filter(head_id_number__contains=text)
        return queryset.filter(head_name__contains=text)

    def filter_case(self, queryset, name, value):
        if value == "active":
            return queryset.filter(
                Exists(
                    MonitoringCase.objects.filter(
                        household=OuterRef("pk"), status__in=MonitoringCase.ACTIVE_STATUSES
                    )
                )
            )
        if value == "none":
            return queryset.filter(~Exists(MonitoringCase.objects.filter(household=OuterRef("pk"))))
        return queryset.annotate(_latest_status=_latest_case("status")).filter(_latest_status=value)


def households(user) -> QuerySet:
    """Households in the user's scope with their latest monitoring case's status."""
    return (
        scoped(user, Household.objects.select_related("township", "village"))
        .annotate(
            case_status=_latest_case("status"),
            member_count=Subquery(
                HouseholdMember.objects.filter(household=OuterRef("pk"))
                .values("household")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
        )
        .order_by("township__code", "village__name", "head_name", "pk")
    )


def household_list(user, data, place_list: list[Place]) -> tuple[QuerySet, HouseholdFilter]:
    filterset = HouseholdFilter(
        data=data if data is not None else {},
        queryset=households(user),
        places=place_list,
        scope=scope_for(user),
    )
    if not filterset.is_valid():
        return filterset.queryset.none(), filterset
    return filterset.qs, filterset


def household_detail(user, pk) -> Household:
    """One household in scope (404 otherwise), with its open case and active pairing."""
    as_of = today()
    pairing = Pairing.objects.filter(household=OuterRef("pk")).filter(active_on(as_of))
    queryset = Household.objects.select_related("township", "village").annotate(
        case_id=_active_case("pk"),
        case_status=_active_case("status"),
        case_category=_active_case("category"),
        case_opened_on=_active_case("opened_on"),
        last_case_status=_latest_case("status"),
        pairing_helper=Subquery(pairing.order_by("-started_on").values("helper_name")[:1]),
        pairing_open=Exists(
            Pairing.objects.filter(household=OuterRef("pk"), ended_on__isnull=True)
        ),
    )
    return get_in_scope_or_404(user, queryset, pk=pk)


# --- survey and roster side by side ---------------------------------------------------------


def _plain_name(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split())


@dataclass
class Compared:
    label: str
    survey: str
    roster: str

    @property
    def differs(self) -> bool:
        return bool(self.survey) and bool(self.roster) and self.survey != self.roster


def _yes_no(value) -> str:
    return "" if value is None else ("是" if value else "否")


def _money(value) -> str:
    return "" if value is None else f"{value:,.0f}"


def comparison(person: Person) -> list[Compared]:
    """The survey's and the roster's values of one person, side by side.

    A difference is only flagged when both sources know the value (blank = unknown).
    """
    survey = getattr(person, "survey", None)
    member = getattr(person, "roster_member", None)
    certificate = getattr(person, "certificate", None)
    roster_household = member.household if member is not None else None
    survey_name = _plain_name(person.name) if survey is not None else ""
    rows = [
        Compared("姓名", survey_name, _plain_name(member.name) if member else ""),
        Compared(
            "乡镇",
            person.township.name if survey is not None and person.township_id else "",
            roster_household.township.name if roster_household else "",
        ),
        Compared(
            "村（社区）",
            person.village.name if survey is not None and person.village_id else "",
            roster_household.village.name if roster_household else "",
        ),
        Compared(
            "残疾类别",
            certificate.get_category_display() if certificate else "",
            member.get_disability_category_display()
            if member and member.disability_category
            else "",
        ),
        Compared(
            "残疾等级",
            certificate.get_grade_display() if certificate else "",
            member.get_disability_grade_display() if member and member.disability_grade else "",
        ),
        Compared(
            "人员状态",
            survey.get_survival_status_display() if survey and survey.survival_status else "",
            member.get_status_display() if member and member.status else "",
        ),
        Compared(
            "家庭人均收入（元）",
            _money(survey.income_per_capita) if survey else "",
            _money(roster_household.income_per_capita) if roster_household else "",
        ),
        Compared(
            "是否残疾",
            "是" if certificate else "",
            _yes_no(member.is_disabled) if member else "",
        ),
    ]
    return rows


SURVEY_FIELDS = (
    "household_size",
    "income_per_capita",
    "receives_dibao",
    "receives_tekun",
    "receives_living_subsidy",
    "receives_care_subsidy",
    "medical_insured",
    "pension_insured",
    "housing_safe",
    "water_safe",
    "employment_status",
    "employment_willing",
    "in_school",
    "rehab_needs",
    "rehab_received",
    "accessibility_need",
    "care_need",
    "family_doctor",
    "rigid_expenditure",
    "survival_status",
    "surveyed_on",
)


def survey_answers(survey: SurveyRecord | None) -> list[tuple[str, str]]:
    """(label, value) of every survey answer; blank answers read 未知."""
    if survey is None:
        return []
    answers = []
    for name in SURVEY_FIELDS:
        model_field = SurveyRecord._meta.get_field(name)
        value = getattr(survey, name)
        if model_field.choices and value:
            text = getattr(survey, f"get_{name}_display")()
        elif isinstance(value, bool):
            text = _yes_no(value)
        elif name == "rehab_needs":
            text = "、".join(value or []) or "无"
        elif name in ("income_per_capita", "rigid_expenditure"):
            text = _money(value)
        elif value is None or value == "":
            text = ""
        else:
            text = str(value)
        answers.append((str(model_field.verbose_name), text or "未知"))
    return answers


@dataclass
class MemberRow:
    member: HouseholdMember | None
    person: Person
    relation: str
    age: int
    compared: list[Compared]
    roster_household: object | None

    @property
    def differences(self) -> int:
        return sum(1 for row in self.compared if row.differs)


_MEMBER_JOINS = (
    "person__township",
    "person__village",
    "person__certificate",
    "person__survey",
    "person__roster_member__household__township",
    "person__roster_member__household__village",
)


def household_members(user, household: Household) -> list[MemberRow]:
    """Members with certificate, survey and roster rows joined: one query."""
    rows = scoped(
        user,
        HouseholdMember.objects.filter(household=household)
        .select_related(*_MEMBER_JOINS)
        .order_by("id"),
    )
    on = today()
    result = []
    for member in rows:
        person = member.person
        roster_member = getattr(person, "roster_member", None)
        roster_household = roster_member.household if roster_member is not None else None
        result.append(
            MemberRow(
                member=member,
                person=person,
                relation=member.relation,
                age=age_on(person.birth_date, on),
                compared=comparison(person),
                roster_household=roster_household,
            )
        )
    return result


def roster_households(members: list[MemberRow]) -> list:
    """The distinct roster households the members belong to (already loaded)."""
    seen = {}
    for row in members:
        if row.roster_household is not None:
            seen.setdefault(row.roster_household.pk, row.roster_household)
    return list(seen.values())


def person_page(user, pk) -> Person:
    """One person in scope (404 otherwise) with certificate, survey, roster and household."""
    queryset = Person.objects.select_related(
        "township",
        "village",
        "certificate",
        "survey",
        "roster_member__household__township",
        "roster_member__household__village",
        "membership__household__township",
        "membership__household__village",
    )
    return get_in_scope_or_404(user, queryset, pk=pk)


def membership_of(person: Person) -> HouseholdMember | None:
    return getattr(person, "membership", None)


# --- the timeline: one UNION ALL query ------------------------------------------------------

TEXT = TextField()


def _text(expression) -> Coalesce:
    return Coalesce(Cast(expression, TEXT), Value("", output_field=TEXT), output_field=TEXT)


def _none(output_field):
    return Cast(Value(None), output_field)


def _branch(
    queryset: QuerySet,
    kind: str,
    *,
    on,
    code=None,
    text1=None,
    text2=None,
    text3=None,
    end=None,
    person=None,
    person_name=None,
):
    empty = Value("", output_field=TEXT)
    return (
        queryset.order_by()
        .annotate(
            t_on=on,
            t_kind=Value(kind, output_field=TEXT),
            t_pk=F("pk"),
            t_person=Cast(person, IntegerField()) if person is not None else _none(IntegerField()),
            t_name=_text(person_name) if person_name is not None else empty,
            t_code=_text(code) if code is not None else empty,
            t_text1=_text(text1) if text1 is not None else empty,
            t_text2=_text(text2) if text2 is not None else empty,
            t_text3=_text(text3) if text3 is not None else empty,
            t_end=end if end is not None else _none(DateField()),
        )
        .values_list(*TIMELINE_COLUMNS)
    )


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
HELPER_KINDS = {"party_member": "党员", "cadre": "干部", "other": "其他"}


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


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value or ""


def _event_title(event: Event) -> str:
    from monitoring.rules import REGISTRY

    kind, code = event.kind, event.code
    if kind == "visit":
        return _label(TrackingVisit.Kind, code)
    if kind == "assistance":
        return f"{_label(AssistanceMeasure.Kind, code)} · {event.text1}"
    if kind == "pairing":
        return f"结对帮扶人：{event.text1}（{HELPER_KINDS.get(code, '未注明身份')}）"
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
    user,
    *,
    household_id: int | None,
    person_ids,
    limit: int = TIMELINE_LIMIT,
) -> list[Event]:
    """Everything recorded about a household and/or persons, newest first: one query.

    `person_ids` may be a list or a subquery of person ids. Each branch is scoped.
    """
    branches = []
    if household_id is not None:
        branches += [
            _branch(
                scoped(user, TrackingVisit.objects.filter(household_id=household_id)),
                "visit",
                on=F("visited_on"),
                code=F("kind"),
                text1=F("visitor_name"),
                text2=F("notes"),
                end=F("next_due"),
                person=F("person_id"),
                person_name=F("person__name"),
            ),
            _branch(
                scoped(user, AssistanceMeasure.objects.filter(household_id=household_id)),
                "assistance",
                on=F("started_on"),
                code=F("kind"),
                text1=F("responsible_unit"),
                text2=F("description"),
                text3=F("result"),
                end=F("ended_on"),
            ),
            _branch(
                scoped(user, Pairing.objects.filter(household_id=household_id)),
                "pairing",
                on=F("started_on"),
                code=F("helper_kind"),
                text1=F("helper_name"),
                text2=F("helper_unit"),
                text3=F("end_reason"),
                end=F("ended_on"),
            ),
            _branch(
                scoped(user, MonitoringCaseStep.objects.filter(case__household_id=household_id)),
                "case",
                on=F("acted_on"),
                code=F("to_status"),
                text1=F("from_status"),
                text2=F("reason"),
                text3=F("actor__username"),
            ),
        ]
    person_filter = Q(person_id__in=person_ids)
    finding_filter = person_filter | Q(household_id=household_id) if household_id else person_filter
    branches += [
        _branch(
            scoped(user, Finding.objects.filter(finding_filter)),
            "finding",
            on=TruncDate("opened_at"),
            code=F("rule"),
            text1=F("status"),
            text2=F("reason"),
            text3=Concat(F("action_taken"), F("dismiss_reason"), output_field=TEXT),
            person=F("person_id"),
            person_name=F("person__name"),
        ),
        _branch(
            scoped(user, BenefitRecord.objects.filter(person_filter, is_current=True)),
            "benefit",
            on=Coalesce(F("start_month"), TruncDate("created_at")),
            code=F("benefit_type"),
            text1=F("status"),
            text2=F("monthly_amount"),
            text3=F("origin"),
            end=F("end_month"),
            person=F("person_id"),
            person_name=F("person__name"),
        ),
        _branch(
            scoped(user, BenefitApplication.objects.filter(person_filter)),
            "application",
            on=F("applied_on"),
            code=F("benefit_type"),
            text1=F("status"),
            text2=F("note"),
            text3=F("decision_note"),
            end=F("decided_on"),
            person=F("person_id"),
            person_name=F("person__name"),
        ),
        _branch(
            scoped(user, EducationPlan.objects.filter(person_filter)),
            "education",
            on=F("verified_on"),
            code=F("placement"),
            text1=F("school"),
            text2=F("not_enrolled_reason"),
            person=F("person_id"),
            person_name=F("person__name"),
        ),
        _branch(
            scoped(user, RehabService.objects.filter(person_filter)),
            "rehab",
            on=F("served_on"),
            text1=F("service_type"),
            text2=F("provider"),
            text3=F("note"),
            person=F("person_id"),
            person_name=F("person__name"),
        ),
    ]
    first, *rest = branches
    combined = first.union(*rest, all=True).order_by("-t_on", "t_kind", "-t_pk")[:limit]
    return [Event(*row) for row in combined]


def household_person_ids(household_id: int):
    """A subquery of the household's members' person ids (no query of its own)."""
    return HouseholdMember.objects.filter(household_id=household_id).values("person_id")


# --- visits ---------------------------------------------------------------------------------


class VisitFilter(django_filters.FilterSet):
    """Filters of the visit list: kind, township, village, overdue only, month."""

    kind = django_filters.ChoiceFilter(
        label="走访类型", choices=TrackingVisit.Kind.choices, empty_label="全部"
    )
    township = django_filters.ChoiceFilter(
        label="乡镇", field_name="household__township_id", empty_label="全部乡镇"
    )
    village = django_filters.ChoiceFilter(
        label="村（社区）", field_name="household__village_id", empty_label="全部村"
    )
    overdue = django_filters.BooleanFilter(
        label="只看逾期未访", method="filter_overdue", widget=forms.CheckboxInput
    )
    since = django_filters.DateFilter(
        label="走访日期起", field_name="visited_on", lookup_expr="gte"
    )

    class Meta:
        model = TrackingVisit
        fields: list[str] = []

    def __init__(self, *args, places: list[Place] = (), scope: Scope | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        place_list = list(places)
        if scope is not None and scope.is_county:
            self.filters["township"].extra["choices"] = township_choices(place_list)
        else:
            del self.filters["township"]
        if scope is not None and scope.village_id is not None:
            del self.filters["village"]
        else:
            township = (self.data or {}).get("township") if scope and scope.is_county else None
            self.filters["village"].extra["choices"] = village_choices(place_list, township)

    def filter_overdue(self, queryset, name, value):
        if not value:
            return queryset
        later = TrackingVisit.objects.filter(household=OuterRef("household")).filter(
            Q(visited_on__gt=OuterRef("visited_on"))
            | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
        )
        return queryset.filter(next_due__lt=today()).filter(~Exists(later))


def visit_list(user, data, place_list: list[Place]) -> tuple[QuerySet, VisitFilter]:
    queryset = scoped(
        user,
        TrackingVisit.objects.select_related(
            "household__township", "household__village", "person"
        ).order_by("-visited_on", "-pk"),
    )
    filterset = VisitFilter(
        data=data if data is not None else {},
        queryset=queryset,
        places=place_list,
        scope=scope_for(user),
    )
    if not filterset.is_valid():
        return queryset.none(), filterset
    return filterset.qs, filterset


# --- small helpers for templates ----------------------------------------------------------

ROSTER_TYPE_LABELS = dict(HouseholdType.choices)
ROSTER_CATEGORY_LABELS = dict(MonitoringCategory.choices)


def days_since(moment) -> int:
    """Whole days from a datetime (local date) or a date to today."""
    if moment is None:
        return 0
    day = timezone.localtime(moment).date() if isinstance(moment, datetime) else moment
    return max((today() - day).days, 0)
