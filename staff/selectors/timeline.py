"""The timeline of a household or person: ONE query, a UNION ALL of every kind of record
(visits, measures, pairings, case steps, findings, benefits, applications, plans,
services), newest first.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import (
    DateField,
    F,
    Field,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
)
from django.db.models.enums import Choices
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate

from cases.models import (
    AssistanceMeasure,
    EducationPlan,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    RehabService,
    TrackingVisit,
)
from cases.scope import AnyUser, scoped
from monitoring.models import Finding
from monitoring.rules import REGISTRY
from subsidies.models import BenefitApplication, BenefitRecord, BenefitType

TEXT = TextField()


def _text(expression: Any) -> Coalesce:
    return Coalesce(Cast(expression, TEXT), Value("", output_field=TEXT), output_field=TEXT)


def _none(output_field: Field) -> Cast:
    return Cast(Value(None), output_field)


def _branch(
    queryset: QuerySet,
    kind: str,
    *,
    on: Any,
    code: Any = None,
    text1: Any = None,
    text2: Any = None,
    text3: Any = None,
    end: Any = None,
    person: Any = None,
    person_name: Any = None,
) -> QuerySet:
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
