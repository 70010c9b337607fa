"""The household page's work: its assistance measures, its members' benefit applications
with their steps, and the referrals (转办) of both, in ONE query (a UNION ALL of the three
kinds, like the timeline, and like it compiled once per scope), so the household page stays
within its query budget.

Also the FilterSet of the referral list (`ReferralFilter`, `referral_list`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import django_filters
from django.db.models import (
    DateField,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast

from cases.casework_base import today
from cases.models import AssistanceMeasure, Household, HouseholdMember
from cases.scope import AnyUser, scope_for, scoped
from staff.forms.household_work import (
    APPLICATION_STEP_FORMS,
    NEXT_STEPS,
    ReferralStatusForm,
)
from staff.selectors.places import Place, PlaceFilterSet, place_filters
from staff.selectors.timeline import HOUSEHOLD_MARKER, compiled_query, run_compiled, scope_key
from staff.selectors.unions import TEXT
from staff.selectors.unions import none as _none
from staff.selectors.unions import text as _text
from staff.selectors.unions import user_name as _user
from subsidies.models import BenefitApplication, BenefitType, Referral, ReferralUnit
from subsidies.referrals import REFERRAL_TRANSITIONS, referrals_in_scope

# The common columns of the three kinds: kind, id, two ids it points at, a code, a status,
# a name, four texts, four user names and four dates. What each kind puts where is in
# `_measures`, `_applications` and `_referrals`.
COLUMNS = (
    "w_kind",
    "w_pk",
    "w_ref1",
    "w_ref2",
    "w_code",
    "w_status",
    "w_name",
    *(f"w_t{n}" for n in range(1, 5)),
    *(f"w_u{n}" for n in range(1, 5)),
    *(f"w_d{n}" for n in range(1, 5)),
)


TEXT_PREFIXES = ("w_code", "w_status", "w_name", "w_t", "w_u")


def _rows(queryset: QuerySet, kind: str, **columns: Any) -> QuerySet:
    """`queryset` as rows of `COLUMNS`; a column a kind does not fill is NULL (or '')."""
    empty: dict[str, Any] = {}
    for name in COLUMNS[1:]:
        if name in columns:
            continue
        if name.startswith(("w_ref", "w_pk")):
            empty[name] = _none(IntegerField())
        elif name.startswith("w_d"):
            empty[name] = _none(DateField())
        else:
            empty[name] = Value("", output_field=TEXT)
    values = {
        name: _text(_own_row(queryset, expression) if name.startswith("w_u") else expression)
        if name.startswith(TEXT_PREFIXES)
        else expression
        for name, expression in columns.items()
    }
    return (
        queryset.order_by()
        .annotate(w_kind=Value(kind, output_field=TEXT), **values, **empty)
        .values_list(*COLUMNS)
    )


def _own_row(queryset: QuerySet, expression: Any) -> Subquery:
    """`expression` read in a scalar subquery of the row's own record.

    For the user names (`w_u` columns): one join per user (four for an application) made
    planning the union ~2 of its ~3 ms on PostgreSQL, as the order of the joins is searched;
    a subquery is planned alone (docs/PERFORMANCE.md, Pages)."""
    own = queryset.model._default_manager.filter(pk=OuterRef("pk"))
    return Subquery(own.values(value=expression)[:1])


def _int(name: str) -> Cast:
    return Cast(F(name), IntegerField())


def _measures(user: AnyUser, household_id: int) -> QuerySet:
    return _rows(
        scoped(user, AssistanceMeasure.objects.filter(household_id=household_id)),
        "measure",
        w_pk=_int("pk"),
        w_code=F("kind"),
        w_name=F("responsible_unit"),
        w_t1=F("description"),
        w_t2=F("result"),
        w_u1=_user("recorded_by"),
        w_d1=F("started_on"),
        w_d2=F("ended_on"),
    )


def _applications(user: AnyUser, household_id: int) -> QuerySet:
    members = HouseholdMember.objects.filter(household_id=household_id).values("person_id")
    return _rows(
        scoped(user, BenefitApplication.objects.filter(person_id__in=members)),
        "application",
        w_pk=_int("pk"),
        w_ref1=_int("person_id"),
        w_code=F("benefit_type"),
        w_status=F("status"),
        w_name=F("person__name"),
        w_t1=F("note"),
        w_t2=F("review_note"),
        w_t3=F("decision_note"),
        w_t4=F("delivery_note"),
        w_u1=_user("applied_by"),
        w_u2=_user("reviewed_by"),
        w_u3=_user("decided_by"),
        w_u4=_user("delivered_by"),
        w_d1=F("applied_on"),
        w_d2=F("reviewed_on"),
        w_d3=F("decided_on"),
        w_d4=F("delivered_on"),
    )


def _referrals(user: AnyUser, household_id: int) -> QuerySet:
    return _rows(
        scoped(user, Referral.objects.filter(household_id=household_id)),
        "referral",
        w_pk=_int("pk"),
        w_ref1=_int("measure_id"),
        w_ref2=_int("application_id"),
        w_code=F("unit__name"),
        w_status=F("status"),
        w_t1=F("request"),
        w_t2=F("response"),
        w_u1=_user("referred_by"),
        w_d1=F("referred_on"),
        w_d2=F("accepted_on"),
        w_d3=F("closed_on"),
    )


# --- what the page shows --------------------------------------------------------------------

# Badge colours of the stylesheet: waiting (open), in hand, done, stopped.
APPLICATION_BADGES = {
    "applying": "badge-applying",
    "reviewed": "badge-open",
    "approved": "badge-approved",
    "rejected": "badge-rejected",
    "delivered": "badge-handled",
    "withdrawn": "badge-withdrawn",
}
REFERRAL_BADGES = {
    "referred": "badge-open",
    "accepted": "badge-applying",
    "done": "badge-handled",
    "returned": "badge-dismissed",
}


@dataclass
class ReferralRow:
    pk: int
    unit_name: str
    status: str
    request: str
    response: str
    referred_by: str
    referred_on: date | None
    accepted_on: date | None
    closed_on: date | None
    status_form: Any = None

    @property
    def status_label(self) -> str:
        return str(Referral.Status(self.status).label)

    @property
    def is_open(self) -> bool:
        return self.status in Referral.OPEN

    @property
    def badge(self) -> str:
        return REFERRAL_BADGES.get(self.status, "")

    @property
    def days_waiting(self) -> int | None:
        if not self.is_open or self.referred_on is None:
            return None
        return (today() - self.referred_on).days


@dataclass
class MeasureRow:
    pk: int
    kind: str
    responsible_unit: str
    description: str
    result: str
    recorded_by: str
    started_on: date | None
    ended_on: date | None
    referrals: list[ReferralRow] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(AssistanceMeasure.Kind(self.kind).label)

    @property
    def is_closed(self) -> bool:
        return self.ended_on is not None and self.ended_on <= today()

    @property
    def status_label(self) -> str:
        return "已结束" if self.is_closed else "进行中"

    @property
    def badge(self) -> str:
        return "badge-cleared" if self.is_closed else "badge-active"


@dataclass(frozen=True)
class Step:
    label: str
    on: date | None
    by: str
    note: str


@dataclass
class ApplicationRow:
    pk: int
    person_id: int
    person_name: str
    benefit_type: str
    status: str
    steps: list[Step]
    referrals: list[ReferralRow] = field(default_factory=list)
    step_forms: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def benefit_label(self) -> str:
        return str(BenefitType(self.benefit_type).label)

    @property
    def status_label(self) -> str:
        return str(BenefitApplication.Status(self.status).label)

    @property
    def badge(self) -> str:
        return APPLICATION_BADGES.get(self.status, "")

    @property
    def is_referable(self) -> bool:
        return self.status in ("applying", "reviewed", "approved")


@dataclass
class MemberApplications:
    person_id: int
    name: str
    applications: list[ApplicationRow]


def _application_steps(row: dict[str, Any]) -> list[Step]:
    """The steps taken so far, from the application's own who/when/note columns."""
    status = row["w_status"]
    steps = [Step("申请", row["w_d1"], row["w_u1"], row["w_t1"])]
    if row["w_d2"]:
        steps.append(Step("审核", row["w_d2"], row["w_u2"], row["w_t2"]))
    if row["w_d3"]:
        label = {
            "approved": "批准",
            "delivered": "批准",
            "rejected": "不批准",
            "withdrawn": "撤回",
        }.get(status, "办结")
        steps.append(Step(label, row["w_d3"], row["w_u3"], row["w_t3"]))
    if row["w_d4"]:
        steps.append(Step("落实", row["w_d4"], row["w_u4"], row["w_t4"]))
    return steps


STEP_TITLES = {"review": "审核", "decide": "批准 / 不批准", "deliver": "落实", "withdraw": "撤回"}


def _step_forms(pk: int, status: str) -> list[tuple[str, Any]]:
    """The forms of the steps the application's status allows, with ids unique on the page."""
    on = today()
    return [
        (
            step,
            APPLICATION_STEP_FORMS[step](
                auto_id=f"id_app{pk}_{step}_%s",
                initial={APPLICATION_STEP_FORMS[step].date_name: on},
            ),
        )
        for step in NEXT_STEPS.get(status, ())
    ]


def _work_rows(user: AnyUser, household_id: int) -> list[tuple]:
    """The union of the three kinds for the household. Its SQL depends only on the scope:
    compiled once per process and scope, as the timeline's (`compiled_query`), since building
    it from querysets cost more than running it (docs/PERFORMANCE.md, Pages)."""
    if scope_for(user).sees_nothing:
        return []
    database = AssistanceMeasure.objects.db

    def build() -> QuerySet:
        marker = HOUSEHOLD_MARKER
        return _measures(user, marker).union(
            _applications(user, marker), _referrals(user, marker), all=True
        )

    compiled = compiled_query(("household_work", database, scope_key(user)), database, build)
    return run_compiled(compiled, database, {HOUSEHOLD_MARKER: household_id})


def household_work_sections(user: AnyUser, household: Household) -> dict:
    """The measures, applications (by member) and referrals of the household: one query."""
    rows = [dict(zip(COLUMNS, values, strict=True)) for values in _work_rows(user, household.pk)]
    can_write = scope_for(user).can_write
    referrals: dict[tuple[str, int], list[ReferralRow]] = {}
    for row in rows:
        if row["w_kind"] != "referral":
            continue
        referral = ReferralRow(
            pk=row["w_pk"],
            unit_name=row["w_code"],
            status=row["w_status"],
            request=row["w_t1"],
            response=row["w_t2"],
            referred_by=row["w_u1"],
            referred_on=row["w_d1"],
            accepted_on=row["w_d2"],
            closed_on=row["w_d3"],
        )
        allowed = REFERRAL_TRANSITIONS.get(referral.status, ())
        if can_write and allowed:
            referral.status_form = ReferralStatusForm(
                auto_id=f"id_ref{referral.pk}_%s", allowed=allowed, initial={"on": today()}
            )
        key = ("measure", row["w_ref1"]) if row["w_ref1"] else ("application", row["w_ref2"])
        referrals.setdefault(key, []).append(referral)
    for found in referrals.values():
        found.sort(key=lambda r: (r.referred_on or date.min, r.pk), reverse=True)

    measures = [
        MeasureRow(
            pk=row["w_pk"],
            kind=row["w_code"],
            responsible_unit=row["w_name"],
            description=row["w_t1"],
            result=row["w_t2"],
            recorded_by=row["w_u1"],
            started_on=row["w_d1"],
            ended_on=row["w_d2"],
            referrals=referrals.get(("measure", row["w_pk"]), []),
        )
        for row in rows
        if row["w_kind"] == "measure"
    ]
    measures.sort(key=lambda m: (m.is_closed, -(m.started_on or date.min).toordinal(), m.pk))

    by_member: dict[int, MemberApplications] = {}
    applications = sorted(
        (row for row in rows if row["w_kind"] == "application"),
        key=lambda row: (row["w_d1"] or date.min, row["w_pk"]),
        reverse=True,
    )
    for row in applications:
        application = ApplicationRow(
            pk=row["w_pk"],
            person_id=row["w_ref1"],
            person_name=row["w_name"],
            benefit_type=row["w_code"],
            status=row["w_status"],
            steps=_application_steps(row),
            referrals=referrals.get(("application", row["w_pk"]), []),
            step_forms=_step_forms(row["w_pk"], row["w_status"]) if can_write else [],
        )
        member = by_member.setdefault(
            application.person_id,
            MemberApplications(application.person_id, application.person_name, []),
        )
        member.applications.append(application)
    return {
        "work_measures": measures,
        "work_applications": list(by_member.values()),
        "work_open_referrals": sum(
            1 for found in referrals.values() for referral in found if referral.is_open
        ),
        "step_titles": STEP_TITLES,
    }


# --- the referral list ----------------------------------------------------------------------

OPEN_FILTER = "open"
STATUS_FILTER_CHOICES = [
    (OPEN_FILTER, "未办结（已转办、已受理）"),
    *[(status.value, str(status.label)) for status in Referral.Status],
    ("all", "全部"),
]


class ReferralFilter(PlaceFilterSet):
    """Filters of the referral list: place, unit, status (未办结 unless asked)."""

    defaults = {"status": OPEN_FILTER}

    township, village = place_filters("household__")
    unit = django_filters.ModelChoiceFilter(
        label="转办单位", queryset=ReferralUnit.objects.all(), empty_label="全部单位"
    )
    status = django_filters.ChoiceFilter(
        label="状态", choices=STATUS_FILTER_CHOICES, method="filter_status", empty_label=None
    )

    class Meta:
        model = Referral
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == OPEN_FILTER:
            return queryset.filter(status__in=Referral.OPEN)
        if value in Referral.Status.values:
            return queryset.filter(status=value)
        return queryset


def referral_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, ReferralFilter]:
    """The user's referrals, filtered; oldest waiting first."""
    queryset = referrals_in_scope(user).order_by("referred_on", "pk")
    return ReferralFilter.for_user(user, data, queryset, place_list)


def subject_label(referral: Referral) -> str:
    """What was referred, in a few words (measure kind, or applicant and benefit)."""
    if referral.measure is not None:
        return f"帮扶措施：{referral.measure.get_kind_display()}"
    application = referral.application
    if application is not None:
        return f"申请：{application.person.name} · {application.get_benefit_type_display()}"
    return ""


def referral_days_waiting(referral: Referral) -> int | None:
    if referral.status not in Referral.OPEN:
        return None
    return (today() - referral.referred_on).days
