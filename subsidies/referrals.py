"""Referrals (转办): a household's assistance measure or benefit application handed to a unit.

- The unit list (民政办, 人社所, 卫生院, …) is the county admins' to keep
  (`referral_unit_save`): add, rename, reorder, deactivate. A unit is never deleted, so
  old referrals keep their name; an inactive unit takes no new referrals.
- A township worker refers a measure or an application (`referral_create`), then records
  what the unit did (`referral_update_status`): 已转办 → 已受理 → 已办结, or → 已退回
  from either open status. Each write has its history row (`cases.ChangeRecord`).
- Reads: `referrals_in_scope` (scoped, with what the list and export show),
  `referral_units`, `open_counts_by_unit` (what is waiting on whom).

It lives in `subsidies` because a referral can point at a benefit application.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet

from cases.casework import assistance_is_closed
from cases.casework_base import (
    REASON_MAX_LENGTH,
    CaseworkError,
    NotPermitted,
    TransitionError,
    household_place,
    lock_row,
    optional_text,
    refused_on_conflict,
    require_writer,
    required_date,
    required_text,
    save_changes,
    save_new,
    today,
)
from cases.models import AssistanceMeasure, Household, HouseholdMember
from cases.scope import AnyUser, scope_for, scoped

from .models import BenefitApplication, Referral, ReferralUnit

Status = Referral.Status

UNIT_NAME_MAX_LENGTH = 50
REQUEST_MAX_LENGTH = 300
RESPONSE_MAX_LENGTH = 300

# The order of a referral's steps: from each status, the statuses it may go to.
REFERRAL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.REFERRED: (Status.ACCEPTED, Status.RETURNED),
    Status.ACCEPTED: (Status.DONE, Status.RETURNED),
    Status.DONE: (),
    Status.RETURNED: (),
}

# Applications that still need something done by a unit; a decided-against, withdrawn or
# delivered application has nothing left to refer.
REFERABLE_APPLICATION_STATUSES = (
    BenefitApplication.Status.APPLYING,
    BenefitApplication.Status.REVIEWED,
    BenefitApplication.Status.APPROVED,
)


# --- The unit list (county admins) ---


def _require_county_admin(user: User) -> None:
    if not scope_for(user).is_county_admin:
        raise NotPermitted("只有县残联管理员可以维护转办单位")


def referral_unit_save(
    user: User,
    unit: ReferralUnit | None,
    *,
    name: str,
    is_active: bool = True,
    sort_order: int | None = None,
    reason: str = "",
) -> ReferralUnit:
    """Add a unit (`unit=None`) or rename / reorder / (de)activate one; county admins only."""
    _require_county_admin(user)
    name = required_text(name, "单位名称", "name", UNIT_NAME_MAX_LENGTH)
    reason = optional_text(reason, "修改原因", "reason", REASON_MAX_LENGTH)
    if sort_order is not None and not 0 <= sort_order <= 32767:
        raise CaseworkError("排序应为0到32767之间的整数", "sort_order")
    with transaction.atomic():
        same_name = ReferralUnit.objects.filter(name=name)
        if unit is not None:
            same_name = same_name.exclude(pk=unit.pk)
        if same_name.exists():
            raise CaseworkError(f"已有名为“{name}”的转办单位", "name")
        if unit is None:
            created = ReferralUnit(
                name=name, is_active=is_active, sort_order=100 if sort_order is None else sort_order
            )
            with refused_on_conflict(lambda: _refuse_same_name(name)):
                save_new(created, actor=user, reason=reason or "新增转办单位")
            return created
        lock_row(ReferralUnit, unit.pk)
        changes: dict[str, object] = {"name": name, "is_active": is_active}
        if sort_order is not None:
            changes["sort_order"] = sort_order
        default_reason = "停用转办单位" if unit.is_active and not is_active else "修改转办单位"
        with refused_on_conflict(lambda: _refuse_same_name(name, unit.pk)):
            save_changes(unit, changes, actor=user, reason=reason or default_reason)
    return unit


def _refuse_same_name(name: str, pk: int | None = None) -> None:
    others = ReferralUnit.objects.filter(name=name)
    if pk is not None:
        others = others.exclude(pk=pk)
    if others.exists():
        raise CaseworkError(f"已有名为“{name}”的转办单位", "name")


def referral_units(*, active_only: bool = False) -> QuerySet[ReferralUnit]:
    """The unit list (not personal data: the same for every user)."""
    units = ReferralUnit.objects.all()
    return units.filter(is_active=True) if active_only else units


# --- Referrals (township staff, county admins) ---


def _open_duplicate(
    unit: ReferralUnit, measure: AssistanceMeasure | None, application: BenefitApplication | None
) -> None:
    """Refuse a second open referral of the same subject to the same unit (the constraint's
    own message, checked first so the form can show it on the unit field)."""
    open_ones = Referral.objects.filter(unit=unit, status__in=Referral.OPEN)
    if measure is not None and open_ones.filter(measure=measure).exists():
        raise CaseworkError(f"该措施已转办{unit.name}且尚未办结", "unit")
    if application is not None and open_ones.filter(application=application).exists():
        raise CaseworkError(f"该申请已转办{unit.name}且尚未办结", "unit")


def referral_create(
    user: User,
    household: Household,
    *,
    unit: ReferralUnit | None,
    request: str,
    measure: AssistanceMeasure | None = None,
    application: BenefitApplication | None = None,
    referred_on: date | None = None,
) -> Referral:
    """Refer one measure or one application of the household to an active unit."""
    require_writer(user, *household_place(household))
    if (measure is None) == (application is None):
        raise CaseworkError("转办须针对一项帮扶措施或一项申请", "measure")
    if unit is None:
        raise CaseworkError("请选择转办单位", "unit")
    request = required_text(request, "转办事项", "request", REQUEST_MAX_LENGTH)
    referred_on = required_date(referred_on or today(), "转办日期", "referred_on")
    with transaction.atomic():
        lock_row(Household, household.pk)
        unit = ReferralUnit.objects.get(pk=unit.pk)
        if not unit.is_active:
            raise CaseworkError(f"{unit.name}已停用，不能再转办", "unit")
        # The subject as stored now: the caller's copy may predate a close or a decision.
        if measure is not None:
            measure = AssistanceMeasure.objects.get(pk=measure.pk)
        if application is not None:
            application = BenefitApplication.objects.get(pk=application.pk)
        if measure is not None:
            if measure.household_id != household.pk:
                raise CaseworkError("所选帮扶措施不属于此家庭", "measure")
            if assistance_is_closed(measure):
                raise CaseworkError("该帮扶措施已结束，不能再转办", "measure")
            if referred_on < measure.started_on:
                raise CaseworkError("转办日期不能早于措施开始日期", "referred_on")
        if application is not None:
            in_household = HouseholdMember.objects.filter(
                household=household, person_id=application.person_id
            ).exists()
            if not in_household:
                raise CaseworkError("所选申请不属于此家庭成员", "application")
            if application.status not in REFERABLE_APPLICATION_STATUSES:
                raise CaseworkError(
                    f"该申请已{application.get_status_display()}，不能再转办", "application"
                )
            if referred_on < application.applied_on:
                raise CaseworkError("转办日期不能早于申请日期", "referred_on")
        _open_duplicate(unit, measure, application)
        referral = Referral(
            household=household,
            unit=unit,
            measure=measure,
            application=application,
            referred_on=referred_on,
            request=request,
            referred_by=user,
        )
        checked_unit = unit
        with refused_on_conflict(lambda: _open_duplicate(checked_unit, measure, application)):
            save_new(referral, actor=user, reason=f"转办{unit.name}：{request}")
    return referral


STEP_LABELS: dict[str, str] = {
    Status.ACCEPTED: "已受理",
    Status.DONE: "已办结",
    Status.RETURNED: "已退回",
}


def referral_update_status(
    user: User,
    referral: Referral,
    *,
    status: str,
    on: date | None = None,
    response: str = "",
) -> Referral:
    """Record what the unit did: 已受理 (date), 已办结 / 已退回 (date and response required).

    Order: 已转办 → 已受理 → 已办结; 已退回 from 已转办 or 已受理; nothing after 已办结 / 已退回.
    """
    require_writer(user, *household_place(referral.household))
    if status not in STEP_LABELS:
        raise CaseworkError("办理状态应为以下之一：已受理、已办结、已退回", "status")
    on = required_date(on or today(), "办理日期", "on")
    closing = status in (Status.DONE, Status.RETURNED)
    label = "退回原因" if status == Status.RETURNED else "办理结果"
    if closing:
        response = required_text(response, label, "response", RESPONSE_MAX_LENGTH)
    else:
        response = optional_text(response, label, "response", RESPONSE_MAX_LENGTH)
    with transaction.atomic():
        current = (
            Referral.objects.select_for_update()
            .select_related("unit")
            .order_by("pk")
            .get(pk=referral.pk)
        )
        if status not in REFERRAL_TRANSITIONS.get(current.status, ()):
            now = current.get_status_display()
            if current.status in Referral.OPEN:
                raise TransitionError(
                    f"该转办当前为“{now}”，须先受理，才能登记{STEP_LABELS[status]}", "status"
                )
            raise TransitionError(f"该转办已{now}，不能再登记", "status")
        earliest = current.accepted_on or current.referred_on
        if on < earliest:
            which = "受理日期" if current.accepted_on else "转办日期"
            raise CaseworkError(f"办理日期不能早于{which}（{earliest:%Y-%m-%d}）", "on")
        changes: dict[str, object] = {"status": status}
        if status == Status.ACCEPTED:
            changes["accepted_on"] = on
        else:
            changes["closed_on"] = on
        if response:
            changes["response"] = response
        save_changes(
            current,
            changes,
            actor=user,
            reason=f"{current.unit.name}{STEP_LABELS[status]}"
            + (f"：{response}" if response else ""),
        )
    return current


# --- Reads ---


def referrals_in_scope(user: AnyUser) -> QuerySet[Referral]:
    """Every referral the user may see, with what the list and the export show."""
    return scoped(
        user,
        Referral.objects.select_related(
            "unit",
            "household__township",
            "household__village",
            "measure",
            "application__person",
            "referred_by",
        ),
    )


@dataclass(frozen=True)
class UnitCount:
    """What is waiting on one unit: open referrals (to accept, accepted) and the oldest."""

    unit_id: int
    name: str
    is_active: bool
    referred: int
    accepted: int
    oldest: date | None

    @property
    def total(self) -> int:
        return self.referred + self.accepted

    @property
    def days_waiting(self) -> int | None:
        return (today() - self.oldest).days if self.oldest else None


def open_counts_by_unit(referrals: QuerySet[Referral]) -> list[UnitCount]:
    """Open referrals of `referrals` (already scoped) per unit, busiest first: one query."""
    rows = (
        referrals.filter(status__in=Referral.OPEN)
        .order_by()
        .values("unit_id", "unit__name", "unit__is_active", "unit__sort_order")
        .annotate(
            referred=Count("pk", filter=Q(status=Status.REFERRED)),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
            oldest=Min("referred_on"),
        )
    )
    counts = [
        UnitCount(
            unit_id=row["unit_id"],
            name=row["unit__name"],
            is_active=row["unit__is_active"],
            referred=row["referred"],
            accepted=row["accepted"],
            oldest=row["oldest"],
        )
        for row in rows
    ]
    return sorted(counts, key=lambda count: (-count.total, count.name))
