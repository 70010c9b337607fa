"""Writes to benefit records and benefit applications, each with its history row.

Staff-recorded benefits have origin `manual` (one per person and benefit); rows from
the civil-affairs roster (origin `civil`) belong to the import and are never edited
here. An application goes 申请中 → 已审核 → 已批准 / 未批准 → 已落实 (or is withdrawn while
pending); each step keeps who, when and a note, and becomes an active manual record when
approved.
Errors are the case-work errors of `cases.casework_base` (Chinese messages).
"""

from datetime import date
from decimal import Decimal
from typing import overload

from django.contrib.auth.models import User
from django.db import transaction

from cases.casework_base import (
    REASON_MAX_LENGTH,
    CaseworkError,
    TransitionError,
    choice,
    lock_row,
    money,
    optional_text,
    person_place,
    require_writer,
    required_date,
    required_text,
    save_by_key,
    save_changes,
    save_new,
    today,
)
from cases.models import Person

from .models import BenefitApplication, BenefitRecord, BenefitType

Origin = BenefitRecord.Origin


@overload
def first_of_month(value: date) -> date: ...
@overload
def first_of_month(value: None) -> None: ...
def first_of_month(value: date | None) -> date | None:
    return value.replace(day=1) if value else None


def receiving_record(person: Person, benefit_type: str) -> BenefitRecord | None:
    """The person's current active record of a benefit (any origin), if any."""
    return (
        BenefitRecord.objects.filter(
            person=person,
            benefit_type=benefit_type,
            status=BenefitRecord.Status.ACTIVE,
            is_current=True,
        )
        .order_by("origin")  # civil before manual
        .first()
    )


def benefit_record_save(
    user: User,
    person: Person,
    *,
    benefit_type: str,
    status: str = BenefitRecord.Status.ACTIVE,
    monthly_amount: Decimal | str | None = None,
    start_month: date | None = None,
    end_month: date | None = None,
    reason: str = "",
) -> BenefitRecord:
    """Record (or correct) the staff-recorded benefit of a person (origin 工作人员录入)."""
    require_writer(user, *person_place(person))
    reason = optional_text(reason, "说明", "reason", REASON_MAX_LENGTH)
    benefit_type = choice(benefit_type, BenefitType, "项目", "benefit_type")
    status = choice(status, BenefitRecord.Status, "状态", "status")
    start_month, end_month = first_of_month(start_month), first_of_month(end_month)
    if start_month and end_month and end_month < start_month:
        raise CaseworkError("终止年月不能早于起始年月", "end_month")
    values = {
        "monthly_amount": money(monthly_amount, "月标准", "monthly_amount"),
        "start_month": start_month,
        "end_month": end_month,
        "status": status,
        "is_current": True,
        "recorded_by": user,
    }
    return save_by_key(
        BenefitRecord,
        {"person": person, "benefit_type": benefit_type, "origin": Origin.MANUAL},
        values,
        actor=user,
        reasons=(reason or "工作人员录入救助与补贴", reason or "修改救助与补贴记录"),
    )


def benefit_record_stop(
    user: User, record: BenefitRecord, *, end_month: date, reason: str
) -> BenefitRecord:
    """Stop a staff-recorded benefit (停保). Civil-affairs rows follow their roster."""
    require_writer(user, *person_place(record.person))
    if record.origin != Origin.MANUAL:
        raise CaseworkError("民政名册导入的记录以民政名册为准，不能手工修改", "origin")
    reason = required_text(reason, "停保原因", "reason", 500)
    end_month = first_of_month(required_date(end_month, "终止年月", "end_month", not_future=False))
    if record.status == BenefitRecord.Status.STOPPED:
        raise TransitionError("该记录已是停保状态", "status")
    if record.start_month and end_month < record.start_month:
        raise CaseworkError("终止年月不能早于起始年月", "end_month")
    with transaction.atomic():
        save_changes(
            record,
            {"status": BenefitRecord.Status.STOPPED, "end_month": end_month},
            actor=user,
            reason=reason,
        )
    return record


# --- Applications: 申请中 → 已审核 → 已批准 / 未批准 → 已落实; 申请中 / 已审核 → 已撤回 ---

ApplicationStatus = BenefitApplication.Status


def benefit_application_create(
    user: User,
    person: Person,
    *,
    benefit_type: str,
    applied_on: date | None = None,
    note: str = "",
    source_rule: str = "",
    source_finding_id: int | None = None,
) -> BenefitApplication:
    """Open an application; refused if the person already receives the benefit or has an
    application for it pending (申请中 or 已审核)."""
    require_writer(user, *person_place(person))
    benefit_type = choice(benefit_type, BenefitType, "项目", "benefit_type")
    label = BenefitType(benefit_type).label
    applied_on = required_date(applied_on or today(), "申请日期", "applied_on")
    note = optional_text(note, "申请说明", "note", 500)
    with transaction.atomic():
        lock_row(Person, person.pk)
        if receiving_record(person, benefit_type) is not None:
            raise CaseworkError(f"{person.name}已在享受{label}，无需申请", "benefit_type")
        pending = BenefitApplication.objects.filter(
            person=person, benefit_type=benefit_type, status__in=BenefitApplication.PENDING
        ).first()
        if pending is not None:
            raise CaseworkError(
                f"{person.name}的{label}已有申请中的申请（{pending.applied_on:%Y-%m-%d}）",
                "benefit_type",
            )
        application = BenefitApplication(
            person=person,
            benefit_type=benefit_type,
            applied_on=applied_on,
            note=note,
            source_rule=source_rule,
            source_finding_id=source_finding_id,
            applied_by=user,
        )
        save_new(application, actor=user, reason=f"申请{label}")
    return application


def _locked(application: BenefitApplication, allowed: tuple[str, ...]) -> BenefitApplication:
    """The application locked for the step, if its current status allows the step."""
    application = (
        BenefitApplication.objects.select_for_update()
        .select_related("person")
        .order_by("pk")
        .get(pk=application.pk)
    )
    if application.status not in allowed:
        status = application.get_status_display()
        if application.status in BenefitApplication.PENDING:
            raise TransitionError(f"该申请当前状态为“{status}”，不能办理此步骤", "status")
        raise TransitionError(f"该申请当前状态为“{status}”，已办结，不能再办理", "status")
    return application


def _locked_pending(application: BenefitApplication) -> BenefitApplication:
    return _locked(application, BenefitApplication.PENDING)


def _not_before(value: date, earlier: date | None, message: str, field: str) -> None:
    if earlier is not None and value < earlier:
        raise CaseworkError(message, field)


def benefit_application_review(
    user: User,
    application: BenefitApplication,
    *,
    note: str,
    reviewed_on: date | None = None,
) -> BenefitApplication:
    """申请中 → 已审核: the township has checked the application (审核意见 required)."""
    require_writer(user, *person_place(application.person))
    reviewed_on = required_date(reviewed_on or today(), "审核日期", "reviewed_on")
    note = required_text(note, "审核意见", "review_note", 500)
    with transaction.atomic():
        application = _locked(application, (ApplicationStatus.APPLYING,))
        _not_before(reviewed_on, application.applied_on, "审核日期不能早于申请日期", "reviewed_on")
        save_changes(
            application,
            {
                "status": ApplicationStatus.REVIEWED,
                "reviewed_on": reviewed_on,
                "review_note": note,
                "reviewed_by": user,
            },
            actor=user,
            reason=f"申请已审核：{note}",
        )
    return application


def benefit_application_decide(
    user: User,
    application: BenefitApplication,
    *,
    approved: bool,
    note: str = "",
    decided_on: date | None = None,
    monthly_amount: Decimal | str | None = None,
    start_month: date | None = None,
) -> BenefitApplication:
    """已审核 → 已批准 (creates or reactivates the manual benefit record) or → 未批准 (note
    required). An application still 申请中 must be reviewed first."""
    require_writer(user, *person_place(application.person))
    decided_on = required_date(decided_on or today(), "办结日期", "decided_on")
    note = optional_text(note, "办结说明", "decision_note", 500)
    if not approved and not note:
        raise CaseworkError("未批准须填写说明", "decision_note")
    with transaction.atomic():
        current = BenefitApplication.objects.filter(pk=application.pk).values("status").first()
        if current and current["status"] == ApplicationStatus.APPLYING:
            raise TransitionError("该申请尚未审核，须先审核，再批准或不批准", "status")
        application = _locked(application, (ApplicationStatus.REVIEWED,))
        _not_before(decided_on, application.applied_on, "办结日期不能早于申请日期", "decided_on")
        _not_before(decided_on, application.reviewed_on, "办结日期不能早于审核日期", "decided_on")
        updates: dict[str, object] = {
            "status": ApplicationStatus.APPROVED if approved else ApplicationStatus.REJECTED,
            "decided_on": decided_on,
            "decision_note": note,
            "decided_by": user,
        }
        if approved:
            updates["benefit_record"] = benefit_record_save(
                user,
                application.person,
                benefit_type=application.benefit_type,
                status=BenefitRecord.Status.ACTIVE,
                monthly_amount=monthly_amount,
                start_month=start_month or decided_on,
                reason=f"申请已批准（申请编号{application.pk}）",
            )
        save_changes(
            application,
            updates,
            actor=user,
            reason=note or ("申请已批准" if approved else "申请未批准"),
        )
    return application


def benefit_application_deliver(
    user: User,
    application: BenefitApplication,
    *,
    note: str,
    delivered_on: date | None = None,
) -> BenefitApplication:
    """已批准 → 已落实: the first payment or service reached the person (落实情况 required)."""
    require_writer(user, *person_place(application.person))
    delivered_on = required_date(delivered_on or today(), "落实日期", "delivered_on")
    note = required_text(note, "落实情况", "delivery_note", 500)
    with transaction.atomic():
        application = _locked(application, (ApplicationStatus.APPROVED,))
        _not_before(
            delivered_on, application.decided_on, "落实日期不能早于批准日期", "delivered_on"
        )
        save_changes(
            application,
            {
                "status": ApplicationStatus.DELIVERED,
                "delivered_on": delivered_on,
                "delivery_note": note,
                "delivered_by": user,
            },
            actor=user,
            reason=f"已落实：{note}",
        )
    return application


def benefit_application_withdraw(
    user: User, application: BenefitApplication, *, reason: str, on: date | None = None
) -> BenefitApplication:
    """申请中 / 已审核 → 已撤回, with the reason."""
    require_writer(user, *person_place(application.person))
    reason = required_text(reason, "撤回原因", "reason", 500)
    on = required_date(on or today(), "撤回日期", "on")
    with transaction.atomic():
        application = _locked_pending(application)
        _not_before(on, application.applied_on, "撤回日期不能早于申请日期", "on")
        save_changes(
            application,
            {
                "status": ApplicationStatus.WITHDRAWN,
                "decided_on": on,
                "decision_note": reason,
                "decided_by": user,
            },
            actor=user,
            reason=reason,
        )
    return application
