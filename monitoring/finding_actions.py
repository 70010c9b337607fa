"""Handling a finding in one step: the record that answers it, and the finding marked 已处理.

Each function checks the finding is open and in the user's scope, creates the record
that answers it with the case-work service of `cases.casework` (or a benefit
application of `subsidies.services`), and marks the finding 已处理 with the action
taken, in one transaction: if anything fails nothing is written. They combine three
apps, so they live in `monitoring`, the highest of them; the staff pages and the
admin both call them.
"""

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction

from cases.casework import (
    _active_case,
    assistance_add,
    case_open,
    education_plan_save,
    pairing_start,
    rehab_service_add,
)
from cases.casework_base import CaseworkError, TransitionError, require_writer
from cases.models import (
    AssistanceMeasure,
    EducationPlan,
    Household,
    HouseholdMember,
    MonitoringCase,
    Pairing,
    RehabService,
)
from subsidies.models import BenefitApplication, BenefitType
from subsidies.services import benefit_application_create

from .findings import FindingError, finding_handle
from .models import Finding, SurveyRecord
from .rules import benefit_of, case_opening_codes

R = TypeVar("R")


def _open_finding(user: User, finding: Finding) -> Finding:
    require_writer(user, finding.township_id, finding.village_id)
    finding = Finding.objects.select_for_update().select_related("person").get(pk=finding.pk)
    if finding.status != Finding.Status.OPEN:
        raise TransitionError(
            f"该比对发现当前状态为“{finding.get_status_display()}”，只有待处理的发现才能处理",
            "status",
        )
    return finding


def _mark_handled(user: User, finding: Finding, action: str) -> Finding:
    """待处理 → 已处理 with the action taken: the basic handling of `monitoring.findings`
    (writes the decision and its FindingEvent)."""
    try:
        return finding_handle(finding, user, action[:500])
    except FindingError as error:
        raise CaseworkError(str(error), "finding") from None


def _handle(
    user: User,
    finding: Finding,
    create: Callable[[Finding], R],
    action: Callable[[R], str],
) -> R:
    """Open the finding, create the record that answers it, mark the finding 已处理 with the
    action taken: one transaction, so a refusal anywhere writes nothing."""
    with transaction.atomic():
        found = _open_finding(user, finding)
        record = create(found)
        _mark_handled(user, found, action(record))
    return record


def _finding_household(finding: Finding) -> Household:
    # A null foreign key reads as None without a query, so this costs what the id test did.
    if finding.household is not None:
        return finding.household
    survey = (
        SurveyRecord.objects.select_related("household")
        .filter(person=finding.person, household__isnull=False)
        .first()
    )
    if survey is not None and survey.household is not None:  # the filter excludes None
        return survey.household
    membership = (
        HouseholdMember.objects.select_related("household").filter(person=finding.person).first()
    )
    if membership is None:
        raise CaseworkError(
            f"{finding.person.name}没有登记所属家庭，请先在人员档案中登记家庭后再处理", "household"
        )
    return membership.household


def finding_open_case(
    user: User, finding: Finding, *, reason: str = "", opened_on: date | None = None
) -> MonitoringCase:
    """Handle an M-finding (M01–M05) by opening a monitoring case (待核实) for the household.

    If the household already has an open case, the finding is handled by joining it.
    """
    if finding.rule not in case_opening_codes():
        raise CaseworkError(f"只有M01～M05类发现可以建立监测对象，此发现为{finding.rule}", "rule")
    with transaction.atomic():
        finding = _open_finding(user, finding)
        household = _finding_household(finding)
        existing = _active_case(household)
        if existing is not None:
            _mark_handled(
                user,
                finding,
                f"并入该户已有的监测对象（编号{existing.pk}，{existing.get_status_display()}）",
            )
            return existing
        case = case_open(
            user,
            household,
            reason=reason or f"{finding.rule}：{finding.reason}"[:500],
            person=finding.person,
            opened_on=opened_on,
            source_rule=finding.rule,
            source_finding_id=finding.pk,
        )
        _mark_handled(user, finding, f"已建立监测对象（编号{case.pk}，待核实）")
    return case


def finding_open_benefit_application(
    user: User,
    finding: Finding,
    *,
    benefit_type: str | None = None,
    note: str = "",
    applied_on: date | None = None,
) -> BenefitApplication:
    """Handle a finding (typically S01–S05) by opening a benefit application (申请中)."""
    chosen = benefit_type or benefit_of(finding.rule)
    if not chosen:
        raise CaseworkError("请选择申请的救助或补贴项目", "benefit_type")
    return _handle(
        user,
        finding,
        lambda found: benefit_application_create(
            user,
            found.person,
            benefit_type=chosen,
            applied_on=applied_on,
            note=note or f"{found.rule}：{found.reason}"[:500],
            source_rule=found.rule,
            source_finding_id=found.pk,
        ),
        lambda application: f"已代为申请{BenefitType(chosen).label}（申请编号{application.pk}）",
    )


# The record-only actions pass `fields` through unchanged to the case-work service that
# declares and checks them (named in each docstring), so its signature is stated once.


def finding_open_education_plan(user: User, finding: Finding, **fields: Any) -> EducationPlan:
    """Handle a finding (typically E01) by recording the child's plan (一人一案).

    `fields`: those of `cases.casework.education_plan_save` (placement, verified_on…).
    """
    return _handle(
        user,
        finding,
        lambda found: education_plan_save(
            user, found.person, reason=f"处理比对发现{found.rule}", **fields
        ),
        lambda plan: f"已登记一人一案：{plan.get_placement_display()}",
    )


def finding_open_pairing(user: User, finding: Finding, **fields: Any) -> Pairing:
    """Handle a finding (typically P01) by pairing a helper with the household.

    `fields`: those of `cases.casework.pairing_start` (helper_name, helper_kind, started_on…).
    """
    return _handle(
        user,
        finding,
        lambda found: pairing_start(user, _finding_household(found), **fields),
        lambda pairing: f"已安排结对帮扶：{pairing.helper_name}",
    )


def finding_record_assistance(user: User, finding: Finding, **fields: Any) -> AssistanceMeasure:
    """Handle a finding (typically Q01) by recording an assistance measure for the household.

    `fields`: those of `cases.casework.assistance_add` (kind, responsible_unit, started_on…).
    """
    return _handle(
        user,
        finding,
        lambda found: assistance_add(user, _finding_household(found), **fields),
        lambda measure: (
            f"已落实帮扶措施：{measure.get_kind_display()}（{measure.responsible_unit}）"
        ),
    )


def finding_record_rehab_service(user: User, finding: Finding, **fields: Any) -> RehabService:
    """Handle a finding (typically R01) by recording the rehabilitation service delivered.

    `fields`: those of `cases.casework.rehab_service_add` (service_type, provider, served_on…).
    """
    return _handle(
        user,
        finding,
        lambda found: rehab_service_add(user, found.person, **fields),
        lambda service: f"已提供康复服务：{service.service_type}（{service.provider}）",
    )
