"""Handling a finding in one step: the record that answers it, and the finding marked 已处理.

Each function checks the finding is open and in the user's scope, creates the record
that answers it with the case-work service of `cases.casework` (or a benefit
application of `subsidies.services`), and marks the finding 已处理 with the action
taken, in one transaction: if anything fails nothing is written. They combine three
apps, so they live in `monitoring`, the highest of them; the staff pages and the
admin both call them.
"""

from datetime import date

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
    benefit_type = benefit_type or benefit_of(finding.rule)
    if not benefit_type:
        raise CaseworkError("请选择申请的救助或补贴项目", "benefit_type")
    with transaction.atomic():
        finding = _open_finding(user, finding)
        application = benefit_application_create(
            user,
            finding.person,
            benefit_type=benefit_type,
            applied_on=applied_on,
            note=note or f"{finding.rule}：{finding.reason}"[:500],
            source_rule=finding.rule,
            source_finding_id=finding.pk,
        )
        _mark_handled(
            user,
            finding,
            f"已代为申请{BenefitType(benefit_type).label}（申请编号{application.pk}）",
        )
    return application


def finding_open_education_plan(
    user: User,
    finding: Finding,
    *,
    placement: str,
    verified_on: date,
    school: str = "",
    not_enrolled_reason: str = "",
) -> EducationPlan:
    """Handle a finding (typically E01) by recording the child's plan (一人一案)."""
    with transaction.atomic():
        finding = _open_finding(user, finding)
        plan = education_plan_save(
            user,
            finding.person,
            placement=placement,
            verified_on=verified_on,
            school=school,
            not_enrolled_reason=not_enrolled_reason,
            reason=f"处理比对发现{finding.rule}",
        )
        _mark_handled(user, finding, f"已登记一人一案：{plan.get_placement_display()}")
    return plan


def finding_open_pairing(
    user: User,
    finding: Finding,
    *,
    helper_name: str,
    helper_kind: str,
    started_on: date,
    helper_unit: str = "",
    helper_phone: str = "",
) -> Pairing:
    """Handle a finding (typically P01) by pairing a helper with the household."""
    with transaction.atomic():
        finding = _open_finding(user, finding)
        pairing = pairing_start(
            user,
            _finding_household(finding),
            helper_name=helper_name,
            helper_kind=helper_kind,
            started_on=started_on,
            helper_unit=helper_unit,
            helper_phone=helper_phone,
        )
        _mark_handled(user, finding, f"已安排结对帮扶：{pairing.helper_name}")
    return pairing


def finding_record_assistance(
    user: User,
    finding: Finding,
    *,
    kind: str,
    responsible_unit: str,
    started_on: date,
    description: str = "",
) -> AssistanceMeasure:
    """Handle a finding (typically Q01) by recording an assistance measure for the household."""
    with transaction.atomic():
        finding = _open_finding(user, finding)
        measure = assistance_add(
            user,
            _finding_household(finding),
            kind=kind,
            responsible_unit=responsible_unit,
            started_on=started_on,
            description=description,
        )
        _mark_handled(
            user, finding, f"已落实帮扶措施：{measure.get_kind_display()}（{responsible_unit}）"
        )
    return measure


def finding_record_rehab_service(
    user: User,
    finding: Finding,
    *,
    service_type: str,
    provider: str,
    served_on: date,
    note: str = "",
) -> RehabService:
    """Handle a finding (typically R01) by recording the rehabilitation service delivered."""
    with transaction.atomic():
        finding = _open_finding(user, finding)
        service = rehab_service_add(
            user,
            finding.person,
            service_type=service_type,
            provider=provider,
            served_on=served_on,
            note=note,
        )
        _mark_handled(user, finding, f"已提供康复服务：{service.service_type}（{provider}）")
    return service
