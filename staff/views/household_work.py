"""The household page's work: assistance measures (edit, close), benefit applications and
their steps (申请 → 审核 → 批准 / 不批准 → 落实, 撤回), referrals (转办) of either to a
unit and what the unit did; the referral list (what is waiting on whom) with its export,
and the county admins' unit list.

Each form page loads its household (and the record) in the user's scope first (404),
then checks the role (403 for county viewers and village members), then calls the
service of `cases.casework`, `subsidies.services` or `subsidies.referrals`.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.http import require_GET

from cases import casework
from cases.audit import audit_list
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import mask_id_number
from cases.models import AssistanceMeasure, Household
from cases.scope import get_in_scope_or_404, scope_safe
from cases.selectors import page_of, parse_page_number
from staff.forms.household_work import (
    APPLICATION_STEP_FORMS,
    ApplicationCreateForm,
    AssistanceCloseForm,
    AssistanceEditForm,
    ReferralForm,
    ReferralStatusForm,
    ReferralUnitForm,
    unit_initial,
)
from staff.selectors.household_work import (
    referral_days_waiting,
    referral_list,
    subject_label,
)
from staff.selectors.places import places
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    export_filename,
    form_data,
    form_page,
    record_form_page,
    require_county_admin,
    require_export_scope,
    require_writer_role,
    scope_context,
)
from staff.views.households import household_members_of, household_url
from subsidies import referrals as referral_services
from subsidies import services as benefit_services
from subsidies.models import BenefitApplication, Referral, ReferralUnit

# --- assistance measures --------------------------------------------------------------------


def _household_and_measure(request, pk: int, measure_pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    measure = get_in_scope_or_404(
        request.user,
        AssistanceMeasure.objects.select_related("household"),
        pk=measure_pk,
        household=household,
    )
    return household, measure


@scope_safe(how="household and measure via get_in_scope_or_404; casework.assistance_update")
@login_required
@GET_POST
def assistance_edit(request, pk: int, measure_pk: int):
    household, measure = _household_and_measure(request, pk, measure_pk)
    require_writer_role(request)
    initial = {
        "responsible_unit": measure.responsible_unit,
        "description": measure.description,
        "result": measure.result,
        "ended_on": measure.ended_on,
    }
    form = AssistanceEditForm(form_data(request), initial=initial)
    return record_form_page(
        request,
        household,
        form,
        casework.assistance_update,
        lambda m: f"已修改帮扶措施：{m.get_kind_display()}",
        target=measure,
        title=f"修改帮扶措施（{measure.get_kind_display()}）",
    )


@scope_safe(how="household and measure via get_in_scope_or_404; casework.assistance_close")
@login_required
@GET_POST
def assistance_close(request, pk: int, measure_pk: int):
    household, measure = _household_and_measure(request, pk, measure_pk)
    require_writer_role(request)
    form = AssistanceCloseForm(
        form_data(request), initial={"ended_on": today(), "result": measure.result}
    )
    return record_form_page(
        request,
        household,
        form,
        casework.assistance_close,
        lambda m: f"已结束帮扶措施：{m.get_kind_display()}",
        target=measure,
        title=f"结束帮扶措施（{measure.get_kind_display()}）",
    )


# --- benefit applications -------------------------------------------------------------------


@scope_safe(how="household via get_in_scope_or_404, members scoped; benefit_application_create")
@login_required
@GET_POST
def application_create(request, pk: int):
    """申请救助与补贴: choose the member and the benefit."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    members = household_members_of(request.user, household)
    form = ApplicationCreateForm(
        form_data(request), members=members, initial={"applied_on": today()}
    )
    return form_page(
        request,
        form,
        template="staff/form_generic.html",
        context={
            "household": household,
            "nav": "households",
            "title": form.title,
            "submit_label": form.submit_label,
            "testid": form.testid,
        },
        on_valid=lambda f: benefit_services.benefit_application_create(
            request.user, f.person_object(), **f.service_kwargs()
        ),
        success_message=lambda a: (
            f"已提交申请：{a.person.name} · {a.get_benefit_type_display()}（申请中）"
        ),
        success_url=household_url(household),
    )


def _household_application(request, pk: int, application_pk: int):
    """The household and one of its members' applications, both in the user's scope."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    application = get_in_scope_or_404(
        request.user,
        BenefitApplication.objects.select_related("person"),
        pk=application_pk,
        person__membership__household=household,
    )
    return household, application


STEP_SERVICES = {
    "review": benefit_services.benefit_application_review,
    "decide": benefit_services.benefit_application_decide,
    "deliver": benefit_services.benefit_application_deliver,
    "withdraw": benefit_services.benefit_application_withdraw,
}
STEP_DONE = {
    "review": "已审核",
    "decide": "已办结",
    "deliver": "已登记落实",
    "withdraw": "已撤回",
}


@scope_safe(how="household and application via get_in_scope_or_404; subsidies.services steps")
@login_required
@GET_POST
def application_step(request, pk: int, application_pk: int, step: str):
    """One step of an application: 审核, 批准 / 不批准, 落实 or 撤回 (the service checks the
    order and shows its refusal on the form)."""
    if step not in APPLICATION_STEP_FORMS:
        raise Http404("没有这个办理步骤")
    household, application = _household_application(request, pk, application_pk)
    require_writer_role(request)
    form_class = APPLICATION_STEP_FORMS[step]
    form = form_class(form_data(request), initial={form_class.date_name: today()})
    label = f"{application.person.name} · {application.get_benefit_type_display()}"
    return record_form_page(
        request,
        household,
        form,
        STEP_SERVICES[step],
        lambda a: f"申请{STEP_DONE[step]}：{label}（{a.get_status_display()}）",
        target=application,
        title=f"{form.title}（{label}）",
    )


# --- referrals ------------------------------------------------------------------------------


def _referral_form_page(request, household, *, measure=None, application=None, subject: str):
    require_writer_role(request)
    units = list(referral_services.referral_units(active_only=True))
    form = ReferralForm(form_data(request), units=units, initial={"referred_on": today()})
    return form_page(
        request,
        form,
        template="staff/form_generic.html",
        context={
            "household": household,
            "nav": "households",
            "title": f"转办（{subject}）",
            "submit_label": form.submit_label,
            "testid": form.testid,
        },
        on_valid=lambda f: referral_services.referral_create(
            request.user,
            household,
            measure=measure,
            application=application,
            **f.service_kwargs(),
        ),
        success_message=lambda r: f"已转办{r.unit.name}：{subject}",
        success_url=household_url(household),
    )


@scope_safe(how="household and measure via get_in_scope_or_404; referrals.referral_create")
@login_required
@GET_POST
def referral_create_measure(request, pk: int, measure_pk: int):
    household, measure = _household_and_measure(request, pk, measure_pk)
    subject = f"帮扶措施：{measure.get_kind_display()} · {measure.responsible_unit}"
    return _referral_form_page(request, household, measure=measure, subject=subject)


@scope_safe(how="household and application via get_in_scope_or_404; referrals.referral_create")
@login_required
@GET_POST
def referral_create_application(request, pk: int, application_pk: int):
    household, application = _household_application(request, pk, application_pk)
    subject = f"申请：{application.person.name} · {application.get_benefit_type_display()}"
    return _referral_form_page(request, household, application=application, subject=subject)


@scope_safe(how="household and referral via get_in_scope_or_404; referral_update_status")
@login_required
@GET_POST
def referral_status(request, pk: int, referral_pk: int):
    """登记办理情况 of a referral: 已受理 / 已办结 / 已退回."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    referral = get_in_scope_or_404(
        request.user,
        Referral.objects.select_related("unit", "household"),
        pk=referral_pk,
        household=household,
    )
    require_writer_role(request)
    allowed = referral_services.REFERRAL_TRANSITIONS.get(referral.status, ())
    # A closed referral still gets the form (with every step) so the refusal is explained.
    choices = allowed or tuple(referral_services.STEP_LABELS)
    form = ReferralStatusForm(form_data(request), allowed=choices, initial={"on": today()})
    return record_form_page(
        request,
        household,
        form,
        referral_services.referral_update_status,
        lambda r: f"已登记{r.unit.name}办理情况：{r.get_status_display()}",
        target=referral,
        title=f"登记办理情况（{referral.unit.name}，当前：{referral.get_status_display()}）",
    )


# --- the referral list and export -----------------------------------------------------------

REFERRALS_PER_PAGE = 50


@scope_safe(how="referrals via subsidies.referrals.referrals_in_scope (scoped); villages scoped")
@login_required
@require_GET
def referral_list_view(request):
    """转办: what is waiting on which unit, in the user's scope."""

    def fill(scope) -> dict:
        queryset, filterset = referral_list(request.user, request.GET, places(request.user))
        page = page_of(queryset, parse_page_number(request.GET.get("page")), REFERRALS_PER_PAGE)
        audit_list(request, "subsidies.referral", request.GET, len(page.rows))
        rows = [
            {
                "referral": referral,
                "subject": subject_label(referral),
                "days_waiting": referral_days_waiting(referral),
            }
            for referral in page.rows
        ]
        counts = referral_services.open_counts_by_unit(
            referral_services.referrals_in_scope(request.user)
        )
        return {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "unit_counts": counts,
            "query": request.GET.urlencode(),
        }

    return render(request, "staff/referral_list.html", scope_context(request, "referrals", fill))


@scope_safe(how="referrals via subsidies.referrals.referrals_in_scope (scoped); IDs masked")
@login_required
@require_GET
def referral_export(request):
    require_export_scope(request)
    queryset, _ = referral_list(request.user, request.GET, places(request.user))

    def rows():
        for referral in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
            household = referral.household
            days = referral_days_waiting(referral)
            yield (
                household.township.name,
                household.village.name,
                household.head_name,
                mask_id_number(household.head_id_number),
                subject_label(referral),
                referral.unit.name,
                referral.request,
                referral.referred_on,
                referral.get_status_display(),
                referral.accepted_on,
                referral.closed_on,
                "" if days is None else days,
                referral.response,
            )

    return xlsx_response(
        export_filename("转办清单"),
        (
            "乡镇",
            "村（社区）",
            "户主姓名",
            "户主身份证号（脱敏）",
            "转办对象",
            "转办单位",
            "转办事项",
            "转办日期",
            "状态",
            "受理日期",
            "办结/退回日期",
            "已等待天数",
            "办理结果",
        ),
        rows(),
        sheet_title="转办",
        text_columns=(3,),
        widths=(12, 14, 10, 22, 24, 12, 30, 12, 8, 12, 12, 10, 30),
        request=request,
        label="subsidies.referral",
    )


# --- the unit list (county admins) ----------------------------------------------------------

UNIT_REFUSAL = "只有县残联管理员可以维护转办单位"


@scope_safe(how="county admins only (require_county_admin); the unit list is not personal data")
@login_required
@GET_POST
def referral_units(request):
    """The unit list, with a form to add one."""
    require_county_admin(request, UNIT_REFUSAL)
    form = ReferralUnitForm(form_data(request), initial={"sort_order": 100, "is_active": True})
    return form_page(
        request,
        form,
        template="staff/referral_units.html",
        context={
            "nav": "referrals",
            "units": list(referral_services.referral_units()),
            "testid": "referral-unit-form",
        },
        on_valid=lambda f: referral_services.referral_unit_save(
            request.user, None, **f.service_kwargs()
        ),
        success_message=lambda u: f"已新增转办单位：{u.name}",
        success_url=reverse("staff:referral_units"),
    )


@scope_safe(how="county admins only (require_county_admin); the unit list is not personal data")
@login_required
@GET_POST
def referral_unit_edit(request, unit_pk: int):
    """Rename, reorder, deactivate (or reactivate) one unit."""
    require_county_admin(request, UNIT_REFUSAL)
    try:
        unit = ReferralUnit.objects.get(pk=unit_pk)
    except ReferralUnit.DoesNotExist:
        raise Http404("没有这个转办单位") from None
    form = ReferralUnitForm(form_data(request), initial=unit_initial(unit))
    return form_page(
        request,
        form,
        template="staff/referral_unit_edit.html",
        context={"nav": "referrals", "unit": unit, "testid": "referral-unit-edit-form"},
        on_valid=lambda f: referral_services.referral_unit_save(
            request.user, unit, **f.service_kwargs()
        ),
        success_message=lambda u: f"已保存转办单位：{u.name}{'' if u.is_active else '（已停用）'}",
        success_url=reverse("staff:referral_units"),
    )


routes = [
    path(
        "households/<int:pk>/assistance/<int:measure_pk>/edit/",
        assistance_edit,
        name="assistance_edit",
    ),
    path(
        "households/<int:pk>/assistance/<int:measure_pk>/close/",
        assistance_close,
        name="assistance_close",
    ),
    path(
        "households/<int:pk>/assistance/<int:measure_pk>/refer/",
        referral_create_measure,
        name="referral_create_measure",
    ),
    path("households/<int:pk>/applications/new/", application_create, name="application_create"),
    path(
        "households/<int:pk>/applications/<int:application_pk>/refer/",
        referral_create_application,
        name="referral_create_application",
    ),
    path(
        "households/<int:pk>/applications/<int:application_pk>/<slug:step>/",
        application_step,
        name="application_step",
    ),
    path(
        "households/<int:pk>/referrals/<int:referral_pk>/status/",
        referral_status,
        name="referral_status",
    ),
    path("referrals/", referral_list_view, name="referral_list"),
    path("referrals/export.xlsx", referral_export, name="referral_export"),
    path("referrals/units/", referral_units, name="referral_units"),
    path("referrals/units/<int:unit_pk>/", referral_unit_edit, name="referral_unit_edit"),
]
