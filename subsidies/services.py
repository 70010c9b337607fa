"""Writes to benefit records and benefit applications, each with its history row.

Staff-recorded benefits have origin `manual` (one per person and benefit); rows from
the civil-affairs roster (origin `civil`) belong to the import and are never edited
here. An application (申请中) becomes an active manual record when approved.
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


# --- Applications (申请中 → 已批准 / 未批准 / 已撤回) ---


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
    application for it pending."""
    require_writer(user, *person_place(person))
    benefit_type = choice(benefit_type, BenefitType, "项目", "benefit_type")
    label = BenefitType(benefit_type).label
    applied_on = required_date(applied_on or today(), "申请日期", "applied_on")
    with transaction.atomic():
        lock_row(Person, person.pk)
        if receiving_record(person, benefit_type) is not None:
            raise CaseworkError(f"{person.name}已在享受{label}，无需申请", "benefit_type")
        pending = BenefitApplication.objects.filter(
            person=person, benefit_type=benefit_type, status=BenefitApplication.Status.APPLYING
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
            note=optional_text(note, "申请说明", "note", 500),
            source_rule=source_rule,
            source_finding_id=source_finding_id,
            applied_by=user,
        )
        save_new(application, actor=user, reason=f"申请{label}")
    return application


def _locked_pending(application: BenefitApplication) -> BenefitApplication:
    application = BenefitApplication.objects.select_for_update().get(pk=application.pk)
    if application.status != BenefitApplication.Status.APPLYING:
        raise TransitionError(
            f"该申请当前状态为“{application.get_status_display()}”，已办结，不能再办理", "status"
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
    """申请中 → 已批准 (creates or reactivates the manual benefit record) or → 未批准 (note
    required)."""
    require_writer(user, *person_place(application.person))
    decided_on = required_date(decided_on or today(), "办结日期", "decided_on")
    note = optional_text(note, "办结说明", "decision_note", 500)
    if not approved and not note:
        raise CaseworkError("未批准须填写说明", "decision_note")
    with transaction.atomic():
        application = _locked_pending(application)
        if decided_on < application.applied_on:
            raise CaseworkError("办结日期不能早于申请日期", "decided_on")
        updates: dict[str, object] = {
            "status": BenefitApplication.Status.APPROVED
            if approved
            else BenefitApplication.Status.REJECTED,
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


def benefit_application_withdraw(
    user: User, application: BenefitApplication, *, reason: str, on: date | None = None
) -> BenefitApplication:
    require_writer(user, *person_place(application.person))
    reason = required_text(reason, "撤回原因", "reason", 500)
    on = required_date(on or today(), "撤回日期", "on")
    with transaction.atomic():
        application = _locked_pending(application)
        save_changes(
            application,
            {
                "status": BenefitApplication.Status.WITHDRAWN,
                "decided_on": on,
                "decision_note": reason,
                "decided_by": user,
            },
            actor=user,
            reason=reason,
        )
    return application
