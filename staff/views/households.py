"""Households: the list, the household page, and its case-work forms (assistance,
pairing, monitoring case).
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from cases import casework
from cases.audit import audit_view
from cases.casework import CASE_TRANSITIONS
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import mask_id_number
from cases.models import Household, HouseholdMember, MonitoringCase
from cases.scope import get_in_scope_or_404, scope_for, scope_safe, scoped
from cases.selectors import SEARCH_MAX_LENGTH
from staff.forms.casework import (
    AssistanceForm,
    CaseOpenForm,
    CaseTransitionForm,
    PairingEndForm,
    PairingForm,
)
from staff.selectors.household_work import household_work_sections
from staff.selectors.households import (
    household_detail,
    household_list,
    household_members,
    roster_households,
)
from staff.selectors.places import places
from staff.selectors.timeline import household_photos, household_timeline
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    can_record_visits,
    can_write,
    export_filename,
    form_data,
    form_page,
    list_page,
    record_form_page,
    require_export_scope,
    require_writer_role,
)


@scope_safe(how="households via selectors.households.household_list (scoped); IDs masked")
@login_required
@require_GET
def households_export(request):
    require_export_scope(request)

    labels = dict(MonitoringCase.Status.choices)
    queryset, _ = household_list(request.user, request.GET, places(request.user))

    def rows():
        for household in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield (
                household.head_name,
                mask_id_number(household.head_id_number),
                household.township.name,
                household.village.name,
                household.size,
                household.member_count or 0,
                labels.get(household.case_status, "") if household.case_status else "",
            )

    return xlsx_response(
        export_filename("家庭名单"),
        (
            "户主姓名",
            "户主身份证号（脱敏）",
            "乡镇",
            "村（社区）",
            "家庭人口数",
            "登记成员数",
            "监测对象状态",
        ),
        rows(),
        sheet_title="家庭",
        text_columns=(1,),
        widths=(10, 22, 12, 14, 10, 10, 12),
        request=request,
        label="cases.household",
    )


def household_url(household) -> str:
    return reverse("staff:household_detail", args=[household.pk])


def household_members_of(user, household: Household) -> list:
    rows = scoped(
        user, HouseholdMember.objects.filter(household=household).select_related("person")
    )
    return [row.person for row in rows]


@scope_safe(how="household via get_in_scope_or_404; write via casework.assistance_add")
@login_required
@GET_POST
def assistance_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = AssistanceForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.assistance_add,
        lambda m: f"已登记帮扶措施：{m.get_kind_display()}",
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_start")
@login_required
@GET_POST
def pairing_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = PairingForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.pairing_start,
        lambda p: f"已安排结对帮扶：{p.helper_name}",
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_end")
@login_required
@GET_POST
def pairing_end(request, pk: int):
    """结束结对: the household's active pairing, with a date and a reason (history)."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    # The pairing not yet ended (one ended today still counts as active today for P01).
    pairing = household.pairings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if pairing is None:
        raise Http404("该家庭当前没有结对帮扶")
    form = PairingEndForm(form_data(request), initial={"ended_on": today()})
    return record_form_page(
        request,
        household,
        form,
        casework.pairing_end,
        lambda p: f"已结束与{p.helper_name}的结对帮扶",
        target=pairing,
        title=f"结束结对帮扶（帮扶人：{pairing.helper_name}）",
    )


@scope_safe(
    how="household via selectors.households.household_detail; casework.case_open/transition"
)
@login_required
@GET_POST
def case_step(request, pk: int):
    """The household's monitoring case: open one (待核实) or take the next workflow step
    (纳入监测 / 不予纳入 / 帮扶中 / 风险已消除), each with its reason."""
    household = household_detail(request.user, pk)
    require_writer_role(request)
    context = {"household": household, "nav": "households"}
    if household.case_id is None:
        form = CaseOpenForm(form_data(request), initial={"opened_on": today()})
        return form_page(
            request,
            form,
            template="staff/form_case.html",
            context=context | {"mode": "open"},
            on_valid=lambda f: casework.case_open(
                request.user,
                household,
                reason=f.cleaned_data["reason"],
                opened_on=f.cleaned_data.get("opened_on"),
            ),
            success_message=lambda case: f"已建立监测对象（编号{case.pk}，待核实）",
            success_url=household_url(household),
        )
    case = get_in_scope_or_404(
        request.user, MonitoringCase.objects.select_related("household"), pk=household.case_id
    )
    allowed = casework.allowed_next_statuses(case)
    form = CaseTransitionForm(form_data(request), allowed=allowed, initial={"on": today()})
    return form_page(
        request,
        form,
        template="staff/form_case.html",
        context=context | {"mode": "transition", "case": case},
        on_valid=lambda f: casework.case_transition(
            request.user, case, f.cleaned_data["to_status"], **f.service_kwargs()
        ),
        success_message=lambda c: f"监测对象已办理：{c.get_status_display()}",
        success_url=household_url(household),
    )


HOUSEHOLDS_PER_PAGE = 50


@scope_safe(how="households via selectors.households.household_list (scoped); villages scoped")
@login_required
@require_GET
def households(request):
    return list_page(
        request,
        "staff/household_list.html",
        nav="households",
        select=household_list,
        label="cases.household",
        per_page=HOUSEHOLDS_PER_PAGE,
        search_max_length=SEARCH_MAX_LENGTH,
    )


def open_findings(events):
    return [event for event in events if event.is_open_finding]


@scope_safe(how="one household via selectors.households.household_detail (get_in_scope_or_404)")
@login_required
@require_GET
def household(request, pk: int):
    """The household: members with survey and roster side by side, case, timeline."""
    record = household_detail(request.user, pk)
    members = household_members(request.user, record)
    events = household_timeline(request.user, record.pk)
    audit_view(request, record)
    scope = scope_for(request.user)
    context = {
        "household": record,
        "members": members,
        "roster_households": roster_households(members),
        "events": events,
        "photo_map": household_photos(request.user, record.pk, events),
        "open_findings": open_findings(events),
        "can_write": can_write(scope),
        "can_visit": can_record_visits(scope),
        "nav": "households",
    }
    context |= case_forms(record, scope)
    context |= household_work_sections(request.user, record)
    return render(request, "staff/household_detail.html", context)


def case_forms(record, scope) -> dict:
    """The monitoring-case form the household page offers (none for read-only roles)."""
    if not can_write(scope):
        return {}
    if record.case_id is None:
        return {"open_form": CaseOpenForm()}
    allowed = CASE_TRANSITIONS.get(record.case_status, ())
    if not allowed:
        return {}
    return {"transition_form": CaseTransitionForm(allowed=allowed)}
