"""Services for the case work of the six task areas of the policy (docs/RULES.md).

Every function takes the acting user first, checks role and scope
(`casework_base.require_writer`), validates, writes in one transaction and records
history (`ChangeRecord`; monitoring cases also a `MonitoringCaseStep` per step).
Bad input raises `CaseworkError`, a step not allowed from the current status
`TransitionError`, a role that may not write `NotPermitted`, a target outside the
user's scope `Http404`. All messages are Chinese.

Sections: monitoring cases · visits · assistance measures · pairing · education ·
employment · rehabilitation and care · publicity · grassroots · handling findings
in one step (open a case, a benefit application, an education plan, a pairing…).
"""

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from .casework_base import (
    NOTE_MAX_LENGTH,
    REASON_MAX_LENGTH,
    CaseworkError,
    NotPermitted,
    TransitionError,
    choice,
    household_place,
    lock_row,
    money,
    optional_text,
    person_place,
    refused_on_conflict,
    require_writer,
    required_date,
    required_text,
    save_by_key,
    save_changes,
    save_new,
    save_new_or_changes,
    today,
)
from .identity import age_on
from .income import INCOME_PARTS, PART_NAMES, IncomeError, has_parts, household_net_income
from .models import (
    RISK_TYPES,
    AccessibilityModification,
    AssistanceMeasure,
    BaseEmployment,
    ChildCareRecord,
    CommitteeMember,
    CustodialCare,
    EducationPlan,
    EmploymentBase,
    ExemplaryStory,
    FamilyDoctorContract,
    Household,
    HouseholdMember,
    LabourProfile,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    Person,
    RehabNeed,
    RehabService,
    Role,
    Township,
    TrackingVisit,
    Training,
    Village,
    VillageAssociation,
    WelfarePostPlacement,
)

Status = MonitoringCase.Status

# The dated records `_end()` closes; it returns the record it was given.
_Ended = TypeVar("_Ended", Pairing, WelfarePostPlacement, BaseEmployment, CustodialCare)
# What a person holds one at a time (`_start_current()`).
_Current = TypeVar("_Current", WelfarePostPlacement, CustodialCare)

# --- Monitoring cases (监测对象) ---

CASE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.PENDING: (Status.INCLUDED, Status.REJECTED),
    Status.INCLUDED: (Status.ASSISTING,),
    Status.ASSISTING: (Status.CLEARED,),
    Status.CLEARED: (),
    Status.REJECTED: (),
}


# The date field each step stamps with its date.
_CASE_STEP_DATE: dict[str, str] = {
    Status.INCLUDED: "included_on",
    Status.REJECTED: "rejected_on",
    Status.ASSISTING: "assisting_since",
    Status.CLEARED: "cleared_on",
}


def allowed_next_statuses(case: MonitoringCase) -> list[str]:
    return list(CASE_TRANSITIONS[case.status])


def _status_label(value: str) -> str:
    return str(Status(value).label)


def _refuse_transition(case: MonitoringCase, to_status: str) -> None:
    allowed = CASE_TRANSITIONS[case.status]
    if allowed:
        hint = "允许的下一步：" + "、".join(_status_label(s) for s in allowed)
    else:
        hint = "该监测对象已办结，如需重新监测请新建监测对象"
    raise TransitionError(
        f"监测对象当前状态为“{_status_label(case.status)}”，不能变更为“{_status_label(to_status)}”。{hint}",
        "status",
    )


def case_open(
    user: User,
    household: Household,
    *,
    reason: str,
    person: Person | None = None,
    opened_on: date | None = None,
    source_rule: str = "",
    source_finding_id: int | None = None,
) -> MonitoringCase:
    """Open a monitoring case (待核实) for a household; refused if one is still open."""
    require_writer(user, *household_place(household))
    reason = required_text(reason, "建立原因", "reason", 500)
    opened_on = required_date(opened_on or today(), "建立日期", "opened_on")
    if person is not None:
        _require_member(person, household)
    with transaction.atomic():
        lock_row(Household, household.pk)
        active = _active_case(household)
        if active is not None:
            raise CaseworkError(
                f"该家庭已有未结束的监测对象（编号{active.pk}，状态：{active.get_status_display()}），不能重复建立",
                "household",
            )
        case = MonitoringCase(
            household=household,
            person=person,
            status=Status.PENDING,
            opened_on=opened_on,
            opened_by=user,
            opening_reason=reason,
            source_rule=source_rule,
            source_finding_id=source_finding_id,
        )
        save_new(case, actor=user, reason=reason)
        _record_step(user, case, "", Status.PENDING, on=opened_on, reason=reason)
    return case


def _record_step(
    user: User, case: MonitoringCase, from_status: str, to_status: str, *, on: date, reason: str
) -> None:
    MonitoringCaseStep.objects.create(
        case=case,
        from_status=from_status,
        to_status=to_status,
        acted_on=on,
        actor=user,
        reason=reason,
    )


def _step(
    user: User,
    case: MonitoringCase,
    to_status: str,
    *,
    on: date | None,
    reason: str,
    updates: dict | None = None,
) -> MonitoringCase:
    """Move a case to `to_status` if the workflow allows it, stamping the step's date
    field (`_CASE_STEP_DATE`) and `updates`; one step row + one history row."""
    require_writer(user, *household_place(case.household))
    reason = required_text(reason, "办理说明", "reason", 500)
    on = required_date(on or today(), "办理日期", "on")
    with transaction.atomic():
        case = (
            MonitoringCase.objects.select_for_update().select_related("household").get(pk=case.pk)
        )
        if to_status not in CASE_TRANSITIONS[case.status]:
            _refuse_transition(case, to_status)
        last = case.steps.order_by("-acted_on").values_list("acted_on", flat=True).first()
        if last is not None and on < last:
            raise CaseworkError(f"办理日期不能早于上一步的日期（{last:%Y-%m-%d}）", "on")
        from_status = case.status
        changes = {"status": to_status, _CASE_STEP_DATE[to_status]: on, **(updates or {})}
        save_changes(case, changes, actor=user, reason=reason)
        _record_step(user, case, from_status, to_status, on=on, reason=reason)
    return case


def _risk_types(raw: str | Iterable[str] | None) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("，", "、").replace(",", "、").split("、")
    cleaned = []
    for item in raw or []:
        text = str(item).strip()
        if not text:
            continue
        if text not in RISK_TYPES:
            raise CaseworkError(
                f"风险类型“{text}”无效，应为：{'、'.join(RISK_TYPES)}", "risk_types"
            )
        if text not in cleaned:
            cleaned.append(text)
    if not cleaned:
        raise CaseworkError("纳入监测必须至少选择一项风险类型", "risk_types")
    return cleaned


def case_include(
    user: User,
    case: MonitoringCase,
    *,
    category: str,
    risk_types: str | Iterable[str],
    reason: str,
    on: date | None = None,
) -> MonitoringCase:
    """待核实 → 已纳入监测, with the monitoring type and risk types."""
    category = choice(category, MonitoringCase.Category, "监测对象类别", "category")
    updates = {"category": category, "risk_types": _risk_types(risk_types)}
    return _step(user, case, Status.INCLUDED, on=on, reason=reason, updates=updates)


def case_reject(
    user: User, case: MonitoringCase, *, reason: str, on: date | None = None
) -> MonitoringCase:
    """待核实 → 不予纳入 (reason required)."""
    reason = required_text(reason, "不予纳入原因", "reason", 500)
    updates = {"rejected_reason": reason}
    return _step(user, case, Status.REJECTED, on=on, reason=reason, updates=updates)


def _case_measures(case: MonitoringCase) -> QuerySet[AssistanceMeasure]:
    return AssistanceMeasure.objects.filter(household_id=case.household_id).filter(
        Q(case=case)
        | Q(case__isnull=True) & (Q(ended_on__isnull=True) | Q(ended_on__gte=case.opened_on))
    )


def case_start_assistance(
    user: User, case: MonitoringCase, *, reason: str, on: date | None = None
) -> MonitoringCase:
    """已纳入监测 → 帮扶中; needs at least one assistance measure recorded for the household."""
    current = MonitoringCase.objects.select_related("household").get(pk=case.pk)
    require_writer(user, *household_place(current.household))
    if current.status == Status.INCLUDED and not _case_measures(current).exists():
        raise CaseworkError("请先登记至少一项帮扶措施，再将监测对象转为“帮扶中”", "status")
    return _step(user, case, Status.ASSISTING, on=on, reason=reason)


def case_clear(
    user: User, case: MonitoringCase, *, method: str, reason: str, on: date | None = None
) -> MonitoringCase:
    """帮扶中 → 风险已消除, with the way the risk was cleared (帮扶消除 / 自然消除)."""
    method = choice(method, MonitoringCase.ClearMethod, "风险消除方式", "clear_method")
    updates = {"clear_method": method}
    return _step(user, case, Status.CLEARED, on=on, reason=reason, updates=updates)


def case_transition(
    user: User, case: MonitoringCase, to_status: str, **kwargs: Any
) -> MonitoringCase:
    """One entry point for a form that offers the next statuses."""
    handlers: dict[str, Callable[..., MonitoringCase]] = {
        Status.INCLUDED: case_include,
        Status.REJECTED: case_reject,
        Status.ASSISTING: case_start_assistance,
        Status.CLEARED: case_clear,
    }
    if to_status not in handlers:
        current = MonitoringCase.objects.select_related("household").get(pk=case.pk)
        require_writer(user, *household_place(current.household))
        _refuse_transition(current, to_status if to_status in Status.values else Status.PENDING)
    return handlers[to_status](user, case, **kwargs)


def _require_member(person: Person, household: Household) -> None:
    other = (
        HouseholdMember.objects.filter(person=person)
        .exclude(household=household)
        .values_list("household__head_name", flat=True)
        .first()
    )
    if other is not None:
        raise CaseworkError(f"{person.name}是{other}户的成员，不属于此家庭", "person")


def _active_case(household: Household) -> MonitoringCase | None:
    return (
        MonitoringCase.objects.filter(
            household=household, status__in=MonitoringCase.ACTIVE_STATUSES
        )
        .order_by("-id")
        .first()
    )


def _case_of(household: Household, case: MonitoringCase | None) -> MonitoringCase | None:
    if case is None:
        return _active_case(household)
    if case.household_id != household.pk:
        raise CaseworkError("所选监测对象不属于此家庭", "case")
    return case


# --- Tracking visits (跟踪访视 / 入户走访) ---

VISIT_EDITABLE = (
    "kind",
    "visited_on",
    "visitor_name",
    "person",
    *TrackingVisit.CHECK_FIELDS,
    "annual_income",
    "income_per_capita",
    "annual_expenditure",
    "rigid_expenditure",
    *PART_NAMES,
    "household_size",
    "members_situation",
    "separated_children_situation",
    "notes",
    "next_due",
)
_MONEY_FIELDS = {
    "annual_income": "家庭年纯收入",
    "income_per_capita": "家庭年人均纯收入",
    "annual_expenditure": "家庭年支出",
    "rigid_expenditure": "大额刚性支出",
    **{name: label for name, _sign, label in INCOME_PARTS},
}


_VISIT_NOTES = {
    "members_situation": "家庭成员情况",
    "separated_children_situation": "分户子女家庭情况",
    "notes": "走访情况及发现问题",
}


def _visit_values(fields: dict, visited_on: date) -> dict:
    cleaned = {}
    for name, value in fields.items():
        if name not in VISIT_EDITABLE:
            raise CaseworkError(f"访视记录没有“{name}”这一项", name)
        if name in TrackingVisit.CHECK_FIELDS:
            value = value or ""
            if value and value not in TrackingVisit.Check.values:
                raise CaseworkError(
                    f"“{TrackingVisit.CHECK_FIELDS[name]}”应为有保障、存在问题或不涉及", name
                )
        elif name in _MONEY_FIELDS:
            value = money(value, _MONEY_FIELDS[name], name)
        elif name == "kind":
            value = choice(value, TrackingVisit.Kind, "走访类型", "kind")
        elif name in _VISIT_NOTES:
            value = optional_text(value, _VISIT_NOTES[name], name, NOTE_MAX_LENGTH, multiline=True)
        elif name == "visitor_name":
            value = required_text(value, "走访人", "visitor_name", 64)
        elif name == "visited_on":
            value = required_date(value, "走访日期", "visited_on")
        elif name == "household_size":
            value = _household_size(value)
        cleaned[name] = value
    next_due = cleaned.get("next_due")
    visited = cleaned.get("visited_on", visited_on)
    if next_due is not None and (not isinstance(next_due, date) or next_due <= visited):
        raise CaseworkError("下次访视日期应晚于本次走访日期", "next_due")
    return cleaned


def _household_size(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        size = int(str(value).strip())
    except ValueError:
        raise CaseworkError(f"家庭人口数应为整数，实际为“{value}”", "household_size") from None
    if size < 1:
        raise CaseworkError("家庭人口数至少为1", "household_size")
    return size


def _visit_income(cleaned: dict, visit: TrackingVisit | None = None) -> dict:
    """When any income part is given, the totals are computed from the parts (cases/income.py)
    and typed totals are ignored; with no part the typed totals stand (docs/INCOME.md)."""
    names = (*PART_NAMES, "household_size")
    merged = {name: cleaned.get(name, getattr(visit, name, None)) for name in names}
    if not has_parts(merged):
        return cleaned
    try:
        annual, per_capita = household_net_income(merged, merged.get("household_size"))
    except IncomeError as error:
        raise CaseworkError(str(error), error.field) from None
    return {**cleaned, "annual_income": annual, "income_per_capita": per_capita}


def _offline_visit(user: User, household: Household, offline_key: UUID) -> TrackingVisit | None:
    """The visit already recorded with this phone-made key, if any: the same worker's visit
    to the same household, else the key is refused (docs/FIELDWORK.md)."""
    found = TrackingVisit.objects.filter(offline_key=offline_key).first()
    if found is not None and (found.household_id != household.pk or found.visitor_id != user.pk):
        raise CaseworkError("此离线记录标识已用于另一条走访记录，请重新填写后再同步", "offline_key")
    return found


def visit_record(
    user: User,
    household: Household,
    *,
    visited_on: date,
    case: MonitoringCase | None = None,
    offline_key: UUID | None = None,
    **fields: Any,
) -> TrackingVisit:
    """Record a visit. Village committee members may do this (in their own village) — and
    nothing else. The visit is linked to the household's open monitoring case.

    A visit captured offline carries `offline_key`, made on the phone: when a visit with
    that key is already recorded (the same visit synced twice, even by two requests at
    once) that visit is returned and nothing is written."""
    scope = require_writer(user, *household_place(household), visits_only_ok=True)
    if offline_key is not None:
        found = _offline_visit(user, household, offline_key)
        if found is not None:
            return found
    fields.setdefault(
        "kind",
        TrackingVisit.Kind.HOME
        if scope.role == Role.VILLAGE_MEMBER
        else TrackingVisit.Kind.TRACKING,
    )
    fields.setdefault("visitor_name", user.get_full_name() or user.get_username())
    cleaned = _visit_income(_visit_values({"visited_on": visited_on, **fields}, visited_on))
    person = cleaned.get("person")
    if person is not None:
        _require_member(person, household)
    with transaction.atomic():
        visit = TrackingVisit(
            household=household,
            case=_case_of(household, case),
            visitor=user,
            offline_key=offline_key,
            **cleaned,
        )
        if offline_key is None:
            save_new(visit, actor=user, reason=f"{visit.get_kind_display()}")
            return visit
        try:
            # A savepoint: a concurrent sync of the same visit that committed first makes
            # this insert fail on the unique key; the winner's visit is the answer.
            with transaction.atomic():
                save_new(visit, actor=user, reason=f"{visit.get_kind_display()}（离线登记）")
        except (IntegrityError, CaseworkError):
            found = _offline_visit(user, household, offline_key)
            if found is None:
                raise
            return found
    return visit


def visit_update(
    user: User, visit: TrackingVisit, *, reason: str = "", **fields: Any
) -> TrackingVisit:
    """Correct a visit. A village committee member may correct only visits they recorded."""
    scope = require_writer(user, *household_place(visit.household), visits_only_ok=True)
    if scope.role == Role.VILLAGE_MEMBER and visit.visitor_id != user.pk:
        raise NotPermitted("只能修改本人登记的走访记录")
    reason = optional_text(reason, "修改原因", "reason", REASON_MAX_LENGTH)
    cleaned = _visit_income(_visit_values(fields, visit.visited_on), visit)
    if cleaned.get("person") is not None:
        _require_member(cleaned["person"], visit.household)
    with transaction.atomic():
        save_changes(visit, cleaned, actor=user, reason=reason or "修改走访记录")
    return visit


# --- Assistance measures (帮扶措施) ---


def assistance_add(
    user: User,
    household: Household,
    *,
    kind: str,
    responsible_unit: str,
    started_on: date,
    description: str = "",
    ended_on: date | None = None,
    result: str = "",
    case: MonitoringCase | None = None,
) -> AssistanceMeasure:
    """Record an assistance measure. If the household's open case is 已纳入监测, it moves
    to 帮扶中 in the same transaction (a step records it)."""
    require_writer(user, *household_place(household))
    kind = choice(kind, AssistanceMeasure.Kind, "措施类型", "kind")
    responsible_unit = required_text(responsible_unit, "责任单位", "responsible_unit", 100)
    started_on = required_date(started_on, "开始日期", "started_on", not_future=False)
    if ended_on is not None and ended_on < started_on:
        raise CaseworkError("结束日期不能早于开始日期", "ended_on")
    with transaction.atomic():
        case = _case_of(household, case)
        measure = AssistanceMeasure(
            household=household,
            case=case,
            kind=kind,
            description=optional_text(description, "内容", "description", 300),
            responsible_unit=responsible_unit,
            started_on=started_on,
            ended_on=ended_on,
            result=optional_text(result, "成效", "result", 300),
            recorded_by=user,
        )
        save_new(measure, actor=user, reason="登记帮扶措施")
        if case is not None and case.status == Status.INCLUDED and started_on <= today():
            on = max(started_on, case.included_on or started_on)
            _step(
                user,
                case,
                Status.ASSISTING,
                on=min(on, today()),
                reason=f"登记帮扶措施：{measure.get_kind_display()}（{responsible_unit}）",
            )
    return measure


def assistance_update(
    user: User, measure: AssistanceMeasure, *, reason: str = "", **fields: Any
) -> AssistanceMeasure:
    """Change a measure's end date, result, description or responsible unit."""
    require_writer(user, *household_place(measure.household))
    editable = {"description", "responsible_unit", "ended_on", "result"}
    unknown = set(fields) - editable
    if unknown:
        raise CaseworkError(f"帮扶措施不能修改：{'、'.join(sorted(unknown))}", sorted(unknown)[0])
    reason = optional_text(reason, "修改原因", "reason", REASON_MAX_LENGTH)
    if "responsible_unit" in fields:
        fields["responsible_unit"] = required_text(
            fields["responsible_unit"], "责任单位", "responsible_unit", 100
        )
    for name, label in (("description", "内容"), ("result", "成效")):
        if name in fields:
            fields[name] = optional_text(fields[name], label, name, 300)
    ended_on = fields.get("ended_on", measure.ended_on)
    if ended_on is not None and ended_on < measure.started_on:
        raise CaseworkError("结束日期不能早于开始日期", "ended_on")
    with transaction.atomic():
        save_changes(measure, fields, actor=user, reason=reason or "更新帮扶措施")
    return measure


def assistance_is_closed(measure: AssistanceMeasure, on: date | None = None) -> bool:
    """A measure is closed (已结束) once its end date has come; a later end date is planned."""
    return measure.ended_on is not None and measure.ended_on <= (on or today())


def assistance_close(
    user: User,
    measure: AssistanceMeasure,
    *,
    ended_on: date,
    result: str,
    reason: str = "",
) -> AssistanceMeasure:
    """结束帮扶措施: the end date (not in the future) and the result are required."""
    require_writer(user, *household_place(measure.household))
    ended_on = required_date(ended_on, "结束日期", "ended_on")
    result = required_text(result, "成效", "result", 300)
    reason = optional_text(reason, "结束原因", "reason", REASON_MAX_LENGTH)
    with transaction.atomic():
        lock_row(AssistanceMeasure, measure.pk)
        measure.refresh_from_db()
        if assistance_is_closed(measure):
            raise TransitionError(
                f"该帮扶措施已于{measure.ended_on:%Y-%m-%d}结束，不能重复结束", "ended_on"
            )
        if ended_on < measure.started_on:
            raise CaseworkError("结束日期不能早于开始日期", "ended_on")
        save_changes(
            measure,
            {"ended_on": ended_on, "result": result},
            actor=user,
            reason=reason or f"结束帮扶措施：{result}",
        )
    return measure


# --- One-to-one pairing (结对帮扶) ---


def pairing_start(
    user: User,
    household: Household,
    *,
    helper_name: str,
    helper_kind: str,
    started_on: date,
    helper_unit: str = "",
    helper_phone: str = "",
    case: MonitoringCase | None = None,
) -> Pairing:
    """Pair a party member or cadre with a household; one active pairing per household."""
    require_writer(user, *household_place(household))
    helper_name = required_text(helper_name, "帮扶人", "helper_name", 64)
    if helper_kind not in Pairing.HelperKind.values:
        labels = Pairing.HelperKind.labels
        raise CaseworkError(f"帮扶人身份应为{'、'.join(labels[:-1])}或{labels[-1]}", "helper_kind")
    started_on = required_date(started_on, "结对日期", "started_on")

    def refuse_if_paired() -> None:
        current = (
            Pairing.objects.filter(household=household)
            .filter(Q(ended_on__isnull=True) | Q(ended_on__gte=started_on))
            .first()
        )
        if current is not None:
            raise CaseworkError(
                f"该家庭已有结对帮扶人（{current.helper_name}），请先结束原结对", "household"
            )

    with transaction.atomic():
        lock_row(Household, household.pk)
        refuse_if_paired()
        pairing = Pairing(
            household=household,
            helper_name=helper_name,
            helper_kind=helper_kind,
            helper_unit=optional_text(helper_unit, "帮扶人单位", "helper_unit", 100),
            helper_phone=optional_text(helper_phone, "帮扶人电话", "helper_phone", 20),
            started_on=started_on,
            case=_case_of(household, case),
            recorded_by=user,
        )
        with refused_on_conflict(refuse_if_paired):
            save_new(pairing, actor=user, reason="结对帮扶")
    return pairing


def pairing_end(user: User, pairing: Pairing, *, ended_on: date, reason: str) -> Pairing:
    return _end(
        user,
        pairing,
        household_place(pairing.household),
        ended_on=ended_on,
        reason=reason,
        extra={"end_reason": reason},
        noun="结对",
        start_label="结对日期",
    )


# --- Education (适龄残疾儿童少年 一人一案) ---


EDUCATION_PLAN_AGE = (3, 17)  # whole years on the plan's date (核查日期)


def education_plan_save(
    user: User,
    person: Person,
    *,
    placement: str,
    verified_on: date,
    school: str = "",
    not_enrolled_reason: str = "",
    reason: str = "",
) -> EducationPlan:
    """Record or update the one plan of a school-age child."""
    require_writer(user, *person_place(person))
    placement = choice(placement, EducationPlan.Placement, "安置方式", "placement")
    verified_on = required_date(verified_on, "核查日期", "verified_on")
    school = optional_text(school, "学校", "school", 100)
    reason = optional_text(reason, "修改原因", "reason", REASON_MAX_LENGTH)
    not_enrolled_reason = optional_text(
        not_enrolled_reason, "未入学原因", "not_enrolled_reason", 200
    )
    P = EducationPlan.Placement
    if placement in (P.MAINSTREAM, P.SPECIAL_SCHOOL) and not school:
        raise CaseworkError("随班就读或特殊教育学校须填写学校名称", "school")
    if placement == P.NOT_ENROLLED:
        if not not_enrolled_reason:
            raise CaseworkError("未入学须填写原因", "not_enrolled_reason")
    else:
        not_enrolled_reason = ""
    # Checked last, so a form's own mistakes are shown first; the admin, the person page
    # and the finding action all save through here, so none of them can plan for an adult.
    age = age_on(person.birth_date, verified_on)
    low, high = EDUCATION_PLAN_AGE
    if not low <= age <= high:
        raise CaseworkError(
            f"一人一案仅适用于{low}至{high}周岁的儿童，该人员在{verified_on:%Y-%m-%d}时为{age}周岁",
            "verified_on",
        )
    values = {
        "placement": placement,
        "school": school,
        "not_enrolled_reason": not_enrolled_reason,
        "verified_on": verified_on,
        "recorded_by": user,
    }
    reasons = (reason or "一人一案", reason or "更新一人一案")
    return save_by_key(EducationPlan, {"person": person}, values, actor=user, reasons=reasons)


# --- Employment (就业) ---


def labour_profile_save(
    user: User,
    person: Person,
    *,
    ability: str,
    willing: bool | None,
    assessed_on: date,
    wanted_work: str = "",
    note: str = "",
) -> LabourProfile:
    require_writer(user, *person_place(person))
    values = {
        "ability": choice(ability, LabourProfile.Ability, "劳动能力", "ability"),
        "willing": willing if willing in (True, False) else None,
        "assessed_on": required_date(assessed_on, "摸底日期", "assessed_on"),
        "wanted_work": optional_text(wanted_work, "意向岗位/技能", "wanted_work", 200),
        "note": optional_text(note, "备注", "note", 300),
    }
    reasons = ("劳动能力摸底", "更新劳动能力摸底")
    return save_by_key(LabourProfile, {"person": person}, values, actor=user, reasons=reasons)


def _end(
    user: User,
    record: _Ended,
    place: tuple[int | None, int | None],
    *,
    ended_on: date,
    reason: str,
    start_field: str = "started_on",
    extra: dict | None = None,
    noun: str = "记录",
    start_label: str = "开始日期",
) -> _Ended:
    """End a dated record (pairing, post, employment, care) with a reason, once."""
    require_writer(user, *place)
    reason = required_text(reason, "结束原因", "reason", 300)
    ended_on = required_date(ended_on, "结束日期", "ended_on")
    if record.ended_on is not None:
        raise TransitionError(f"该{noun}已于{record.ended_on:%Y-%m-%d}结束", "ended_on")
    if ended_on < getattr(record, start_field):
        raise CaseworkError(f"结束日期不能早于{start_label}", "ended_on")
    with transaction.atomic():
        save_changes(record, {"ended_on": ended_on, **(extra or {})}, actor=user, reason=reason)
    return record


def _start_current(
    user: User, record: _Current, *, busy: Callable[[_Current], str], reason: str
) -> _Current:
    """Save a person's new post or care, refused with `busy(current)` while one is current
    (also when a concurrent request saves one first)."""

    def refuse_if_current() -> None:
        current = (
            type(record)
            ._default_manager.filter(person=record.person, ended_on__isnull=True)
            .first()
        )
        if current is not None:
            raise CaseworkError(busy(current), "person")

    with transaction.atomic():
        refuse_if_current()
        with refused_on_conflict(refuse_if_current):
            save_new(record, actor=user, reason=reason)
    return record


def welfare_post_place(
    user: User,
    person: Person,
    *,
    post: str,
    employer: str,
    started_on: date,
    monthly_pay: Decimal | str | None = None,
    note: str = "",
) -> WelfarePostPlacement:
    """Place a person on a public-welfare post (公益性岗位); one current post per person."""
    require_writer(user, *person_place(person))
    started_on = required_date(started_on, "上岗日期", "started_on")
    return _start_current(
        user,
        WelfarePostPlacement(
            person=person,
            post=required_text(post, "岗位名称", "post", 100),
            employer=required_text(employer, "设岗单位", "employer", 100),
            started_on=started_on,
            monthly_pay=money(monthly_pay, "月补贴/工资", "monthly_pay"),
            note=optional_text(note, "备注", "note", 300),
        ),
        busy=lambda current: f"{person.name}已在公益性岗位“{current.post}”上岗，请先办理离岗",
        reason="公益性岗位安置",
    )


def welfare_post_end(
    user: User, placement: WelfarePostPlacement, *, ended_on: date, reason: str
) -> WelfarePostPlacement:
    return _end(user, placement, person_place(placement.person), ended_on=ended_on, reason=reason)


def training_add(
    user: User,
    person: Person,
    *,
    kind: str,
    course: str,
    organiser: str,
    started_on: date,
    ended_on: date | None = None,
    certificate_obtained: bool | None = None,
    result: str = "",
) -> Training:
    require_writer(user, *person_place(person))
    started_on = required_date(started_on, "开始日期", "started_on", not_future=False)
    if ended_on is not None and ended_on < started_on:
        raise CaseworkError("结束日期不能早于开始日期", "ended_on")
    training = Training(
        person=person,
        kind=choice(kind, Training.Kind, "培训类型", "kind"),
        course=required_text(course, "培训内容", "course", 100),
        organiser=required_text(organiser, "培训机构", "organiser", 100),
        started_on=started_on,
        ended_on=ended_on,
        certificate_obtained=certificate_obtained
        if certificate_obtained in (True, False)
        else None,
        result=optional_text(result, "培训效果", "result", 300),
    )
    with transaction.atomic():
        save_new(training, actor=user, reason="登记培训")
    return training


def _require_place_writer(
    user: User,
    record: EmploymentBase | ExemplaryStory | CommitteeMember | None,
    township: Township,
    village: Village | None,
) -> None:
    """A record placed by township and village: the user must be able to write both where
    it is now (if it exists) and where it is going."""
    if village is not None and village.township_id != township.pk:
        raise CaseworkError("所选村（社区）不属于所选乡镇", "village")
    if record is not None:
        require_writer(user, record.township_id, record.village_id)
    require_writer(user, township.pk, village.pk if village else None)


def employment_base_save(
    user: User,
    base: EmploymentBase | None = None,
    *,
    name: str,
    kind: str,
    township: Township,
    leader_name: str,
    village: Village | None = None,
    phone: str = "",
    business: str = "",
    recognised_on: date | None = None,
    note: str = "",
) -> EmploymentBase:
    """Register (base=None) or update an employment base, co-operative or capable household."""
    _require_place_writer(user, base, township, village)
    values = {
        "name": required_text(name, "名称", "name", 100),
        "kind": choice(kind, EmploymentBase.Kind, "类型", "kind"),
        "township": township,
        "village": village,
        "leader_name": required_text(leader_name, "负责人", "leader_name", 64),
        "phone": optional_text(phone, "联系电话", "phone", 20),
        "business": optional_text(business, "主营业务", "business", 200),
        "recognised_on": recognised_on,
        "note": optional_text(note, "备注", "note", 300),
    }
    with transaction.atomic():
        reasons = ("登记带动主体", "更新带动主体")
        return save_new_or_changes(base, EmploymentBase, values, actor=user, reasons=reasons)


def base_employment_add(
    user: User,
    base: EmploymentBase,
    person: Person,
    *,
    job: str,
    started_on: date,
    monthly_income: Decimal | str | None = None,
) -> BaseEmployment:
    """Record a person employed or helped by a base; the person must be in the user's scope."""
    require_writer(user, *person_place(person))
    started_on = required_date(started_on, "开始日期", "started_on")
    with transaction.atomic():
        if BaseEmployment.objects.filter(base=base, person=person, ended_on__isnull=True).exists():
            raise CaseworkError(f"{person.name}已登记在{base.name}就业", "person")
        job_row = BaseEmployment(
            base=base,
            person=person,
            job=required_text(job, "岗位/带动方式", "job", 100),
            started_on=started_on,
            monthly_income=money(monthly_income, "月收入", "monthly_income"),
        )
        save_new(job_row, actor=user, reason="基地带动就业")
    return job_row


def base_employment_end(
    user: User, employment: BaseEmployment, *, ended_on: date, reason: str
) -> BaseEmployment:
    return _end(user, employment, person_place(employment.person), ended_on=ended_on, reason=reason)


# --- Rehabilitation and care (康复、无障碍、托养) ---


def rehab_need_add(
    user: User, person: Person, *, kind: str, identified_on: date, detail: str = ""
) -> RehabNeed:
    require_writer(user, *person_place(person))
    need = RehabNeed(
        person=person,
        kind=choice(kind, RehabNeed.Kind, "需求类型", "kind"),
        detail=optional_text(detail, "需求说明", "detail", 200),
        identified_on=required_date(identified_on, "发现日期", "identified_on"),
    )
    with transaction.atomic():
        save_new(need, actor=user, reason="登记康复需求")
    return need


def rehab_need_close(user: User, need: RehabNeed, *, closed_on: date, reason: str) -> RehabNeed:
    """Close a need that no longer exists (not for needs met by a service: record the service)."""
    require_writer(user, *person_place(need.person))
    reason = required_text(reason, "关闭原因", "reason", 200)
    closed_on = required_date(closed_on, "关闭日期", "closed_on")
    if need.closed_on is not None:
        raise TransitionError("该康复需求已关闭", "closed_on")
    if closed_on < need.identified_on:
        raise CaseworkError("关闭日期不能早于发现日期", "closed_on")
    with transaction.atomic():
        save_changes(
            need, {"closed_on": closed_on, "close_reason": reason}, actor=user, reason=reason
        )
    return need


def rehab_service_add(
    user: User,
    person: Person,
    *,
    service_type: str,
    provider: str,
    served_on: date,
    need: RehabNeed | None = None,
    note: str = "",
) -> RehabService:
    """Record a rehabilitation service (provider, date); it counts for the service rate and R01.
    Village committee members record it too (work done, docs/ROLES.md)."""
    require_writer(user, *person_place(person), visits_only_ok=True)
    if need is not None and need.person_id != person.pk:
        raise CaseworkError("所选康复需求不是此人的", "need")
    service = RehabService(
        person=person,
        service_type=required_text(service_type, "服务内容", "service_type", 50),
        provider=required_text(provider, "服务机构", "provider", 100),
        served_on=required_date(served_on, "服务日期", "served_on"),
        need=need,
        note=optional_text(note, "备注", "note", 300),
        recorded_by=user,
    )
    with transaction.atomic():
        save_new(service, actor=user, reason="登记康复服务")
    return service


def family_doctor_sign(
    user: User,
    person: Person,
    *,
    institution: str,
    doctor: str,
    signed_on: date,
    expires_on: date | None = None,
    package: str = "",
) -> FamilyDoctorContract:
    require_writer(user, *person_place(person))
    signed_on = required_date(signed_on, "签约日期", "signed_on")
    if expires_on is not None and expires_on <= signed_on:
        raise CaseworkError("到期日期应晚于签约日期", "expires_on")
    contract = FamilyDoctorContract(
        person=person,
        institution=required_text(institution, "签约机构", "institution", 100),
        doctor=required_text(doctor, "签约医生/团队", "doctor", 100),
        package=optional_text(package, "服务包", "package", 200),
        signed_on=signed_on,
        expires_on=expires_on,
    )
    with transaction.atomic():
        lock_row(Person, person.pk)  # serialises two signings for the same person
        # One contract at a time: a renewal starts after the old one's last day (or after
        # it was ended with `family_doctor_end`).
        current = (
            FamilyDoctorContract.objects.filter(person=person, signed_on__lte=signed_on)
            .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=signed_on))
            .first()
        )
        if current is not None:
            raise CaseworkError(
                f"{person.name}在签约日期已有有效的家庭医生签约（{current.institution}，"
                f"{current.signed_on:%Y-%m-%d}签约），请先终止原签约",
                "signed_on",
            )
        save_new(contract, actor=user, reason="家庭医生签约")
    return contract


def family_doctor_end(
    user: User, contract: FamilyDoctorContract, *, ended_on: date, reason: str
) -> FamilyDoctorContract:
    """End a contract before its term (解约): `ended_on` becomes its last valid day
    (`expires_on`); the planned expiry stays in the history row with the reason."""
    require_writer(user, *person_place(contract.person))
    reason = required_text(reason, "终止原因", "reason", 300)
    ended_on = required_date(ended_on, "终止日期", "ended_on")
    if contract.expires_on is not None and contract.expires_on <= ended_on:
        raise TransitionError(f"该签约已于{contract.expires_on:%Y-%m-%d}到期，无需终止", "ended_on")
    if ended_on <= contract.signed_on:
        raise CaseworkError("终止日期应晚于签约日期", "ended_on")
    with transaction.atomic():
        save_changes(contract, {"expires_on": ended_on}, actor=user, reason=reason)
    return contract


A = AccessibilityModification.Status
ACCESSIBILITY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    A.APPLIED: (A.ASSESSED, A.CANCELLED),
    A.ASSESSED: (A.CONSTRUCTION, A.CANCELLED),
    A.CONSTRUCTION: (A.ACCEPTED,),
    A.ACCEPTED: (),
    A.CANCELLED: (),
}
_ACCESSIBILITY_DATE: dict[str, str] = {
    A.ASSESSED: "assessed_on",
    A.CONSTRUCTION: "construction_started_on",
    A.ACCEPTED: "accepted_on",
    A.CANCELLED: "cancelled_on",
}


def accessibility_apply(
    user: User, person: Person, *, applied_on: date, items: str = ""
) -> AccessibilityModification:
    """Open an accessibility-modification application (申请); one open per person."""
    require_writer(user, *person_place(person))
    applied_on = required_date(applied_on, "申请日期", "applied_on")
    with transaction.atomic():
        open_one = AccessibilityModification.objects.filter(
            person=person, status__in=(A.APPLIED, A.ASSESSED, A.CONSTRUCTION)
        ).first()
        if open_one is not None:
            raise CaseworkError(
                f"{person.name}已有进行中的无障碍改造（{open_one.get_status_display()}）", "person"
            )
        mod = AccessibilityModification(
            person=person,
            status=A.APPLIED,
            applied_on=applied_on,
            items=optional_text(items, "改造内容", "items", 300),
        )
        save_new(mod, actor=user, reason="无障碍改造申请")
    return mod


def accessibility_advance(
    user: User,
    mod: AccessibilityModification,
    to_status: str,
    *,
    on: date,
    reason: str = "",
    assessment: str | None = None,
    items: str | None = None,
    contractor: str | None = None,
    cost: Decimal | str | None = None,
) -> AccessibilityModification:
    """申请 → 评估 → 施工 → 验收 (cost required at 验收), or 申请/评估 → 已终止 (reason)."""
    require_writer(user, *person_place(mod.person))
    on = required_date(on, "办理日期", "on")
    with transaction.atomic():
        mod = AccessibilityModification.objects.select_for_update().get(pk=mod.pk)
        if to_status not in A.values or to_status not in ACCESSIBILITY_TRANSITIONS[mod.status]:
            allowed = ACCESSIBILITY_TRANSITIONS[mod.status]
            target = A(to_status).label if to_status in A.values else to_status
            hint = (
                "允许的下一步：" + "、".join(str(A(s).label) for s in allowed)
                if allowed
                else "该改造已办结"
            )
            raise TransitionError(
                f"无障碍改造当前进度为“{mod.get_status_display()}”，不能变更为“{target}”。{hint}",
                "status",
            )
        previous = max(
            d
            for d in (
                mod.applied_on,
                mod.assessed_on,
                mod.construction_started_on,
            )
            if d is not None
        )
        if on < previous:
            raise CaseworkError(f"办理日期不能早于上一步的日期（{previous:%Y-%m-%d}）", "on")
        updates: dict = {"status": to_status, _ACCESSIBILITY_DATE[to_status]: on}
        if assessment is not None:
            updates["assessment"] = optional_text(assessment, "评估意见", "assessment", 300)
        if items is not None:
            updates["items"] = optional_text(items, "改造内容", "items", 300)
        if to_status == A.ASSESSED and not (updates.get("assessment") or mod.assessment):
            raise CaseworkError("评估须填写评估意见", "assessment")
        if to_status == A.CONSTRUCTION:
            updates["contractor"] = required_text(
                contractor if contractor is not None else mod.contractor,
                "施工单位",
                "contractor",
                100,
            )
            if not (updates.get("items") or mod.items):
                raise CaseworkError("开工前须填写改造内容", "items")
        if to_status == A.ACCEPTED:
            updates["cost"] = money(cost, "改造费用", "cost", allow_none=False)
        if to_status == A.CANCELLED:
            updates["cancel_reason"] = required_text(reason, "终止原因", "reason", 300)
        save_changes(
            mod,
            updates,
            actor=user,
            reason=reason or f"无障碍改造：{A(to_status).label}",
        )
    return mod


def custodial_care_start(
    user: User,
    person: Person,
    *,
    mode: str,
    started_on: date,
    institution: str = "",
    note: str = "",
) -> CustodialCare:
    require_writer(user, *person_place(person))
    started_on = required_date(started_on, "开始日期", "started_on")
    return _start_current(
        user,
        CustodialCare(
            person=person,
            started_on=started_on,
            mode=choice(mode, CustodialCare.Mode, "托养方式", "mode"),
            institution=optional_text(institution, "托养机构/服务人员", "institution", 100),
            note=optional_text(note, "备注", "note", 300),
        ),
        busy=lambda current: f"{person.name}正在接受{current.get_mode_display()}，请先结束原托养",
        reason="托养照护",
    )


def custodial_care_end(
    user: User, care: CustodialCare, *, ended_on: date, reason: str
) -> CustodialCare:
    return _end(user, care, person_place(care.person), ended_on=ended_on, reason=reason)


# --- Children in hardship (困境残疾儿童关爱) ---

CHILD_CARE_AGE = (0, 17)  # whole years on the day of care


def _child_care_values(
    person: Person, *, kind: str, cared_on: date, provider: str, content: str
) -> dict[str, Any]:
    cared_on = required_date(cared_on, "关爱日期", "cared_on")
    age = age_on(person.birth_date, cared_on)
    low, high = CHILD_CARE_AGE
    if not low <= age <= high:
        raise CaseworkError(
            f"困境残疾儿童关爱记录仅适用于{low}至{high}周岁的儿童，"
            f"该人员在{cared_on:%Y-%m-%d}时为{age}周岁",
            "cared_on",
        )
    return {
        "kind": choice(kind, ChildCareRecord.Kind, "关爱类型", "kind"),
        "cared_on": cared_on,
        "provider": required_text(provider, "关爱人/单位", "provider", 100),
        "content": required_text(content, "关爱内容", "content", 300),
    }


def _require_certified(person: Person) -> None:
    # A reverse one-to-one: missing raises RelatedObjectDoesNotExist, an AttributeError.
    if not hasattr(person, "certificate"):
        raise CaseworkError(f"{person.name}未持残疾人证，不能登记困境残疾儿童关爱", "person")


def child_care_record_add(
    user: User,
    person: Person,
    *,
    kind: str,
    cared_on: date,
    provider: str,
    content: str,
) -> ChildCareRecord:
    """Record one act of care for a certified child (困境残疾儿童关爱); village committee
    members may record it in their own village, as they record home visits."""
    require_writer(user, *person_place(person), visits_only_ok=True)
    _require_certified(person)
    values = _child_care_values(
        person, kind=kind, cared_on=cared_on, provider=provider, content=content
    )
    record = ChildCareRecord(person=person, recorded_by=user, **values)
    with transaction.atomic():
        save_new(record, actor=user, reason="困境残疾儿童关爱")
    return record


def child_care_record_update(
    user: User,
    record: ChildCareRecord,
    *,
    kind: str,
    cared_on: date,
    provider: str,
    content: str,
    reason: str = "",
) -> ChildCareRecord:
    """Correct a care record (who may add it may correct it); only what differs is written."""
    require_writer(user, *person_place(record.person), visits_only_ok=True)
    values = _child_care_values(
        record.person, kind=kind, cared_on=cared_on, provider=provider, content=content
    )
    reason = optional_text(reason, "修改原因", "reason", REASON_MAX_LENGTH)
    with transaction.atomic():
        save_changes(record, values, actor=user, reason=reason or "更正关爱记录")
    return record


# --- Publicity (宣传) ---


def story_save(
    user: User,
    story: ExemplaryStory | None = None,
    *,
    kind: str,
    name: str,
    title: str,
    story_text: str,
    township: Township,
    village: Village | None = None,
    person: Person | None = None,
    published_in: str = "",
    published_on: date | None = None,
) -> ExemplaryStory:
    """Record (story=None) or update an exemplary person or helper and their story."""
    _require_place_writer(user, story, township, village)
    if person is not None:
        require_writer(user, *person_place(person))
    values = {
        "kind": choice(kind, ExemplaryStory.Kind, "类型", "kind"),
        "name": required_text(name, "人物姓名", "name", 64),
        "title": required_text(title, "事迹标题", "title", 200),
        "story": required_text(story_text, "事迹", "story", NOTE_MAX_LENGTH, multiline=True),
        "township": township,
        "village": village,
        "person": person,
        "published_in": optional_text(published_in, "宣传渠道/刊发媒体", "published_in", 200),
        "published_on": published_on,
    }
    if published_on is not None:
        required_date(published_on, "宣传日期", "published_on")
    with transaction.atomic():
        reasons = ("登记典型事迹", "更新典型事迹")
        return save_new_or_changes(story, ExemplaryStory, values, actor=user, reasons=reasons)


# --- Grassroots organisation (基层组织) ---


def association_save(
    user: User,
    village: Village,
    *,
    established_on: date | None = None,
    chair_name: str = "",
    phone: str = "",
    member_count: int | None = None,
    note: str = "",
) -> VillageAssociation:
    """Record or update a village's disabled persons' association (村残协)."""
    require_writer(user, village.township_id, village.pk)
    if member_count is not None and (not isinstance(member_count, int) or member_count < 0):
        raise CaseworkError("会员人数应为非负整数", "member_count")
    if established_on is not None:
        required_date(established_on, "成立日期", "established_on")
    values = {
        "established_on": established_on,
        "chair_name": optional_text(chair_name, "主席", "chair_name", 64),
        "phone": optional_text(phone, "联系电话", "phone", 20),
        "member_count": member_count,
        "note": optional_text(note, "备注", "note", 300),
    }
    reasons = ("登记村残协", "更新村残协")
    return save_by_key(
        VillageAssociation, {"village": village}, values, actor=user, reasons=reasons
    )


def committee_member_save(
    user: User,
    member: CommitteeMember | None = None,
    *,
    name: str,
    level: str,
    township: Township,
    village: Village | None = None,
    phone: str = "",
    started_on: date | None = None,
    ended_on: date | None = None,
    account: User | None = None,
) -> CommitteeMember:
    """Record (member=None) or update a full-time committee member (专职委员)."""
    level = choice(level, CommitteeMember.Level, "类别", "level")
    if level == CommitteeMember.Level.VILLAGE and village is None:
        raise CaseworkError("村（社区）残协专职委员必须填写所在村（社区）", "village")
    _require_place_writer(user, member, township, village)
    if started_on and ended_on and ended_on < started_on:
        raise CaseworkError("离任日期不能早于任职日期", "ended_on")
    values = {
        "name": required_text(name, "姓名", "name", 64),
        "level": level,
        "township": township,
        "village": village,
        "phone": optional_text(phone, "联系电话", "phone", 20),
        "started_on": started_on,
        "ended_on": ended_on,
        "user": account,
    }
    with transaction.atomic():
        reasons = ("登记专职委员", "更新专职委员")
        return save_new_or_changes(member, CommitteeMember, values, actor=user, reasons=reasons)
