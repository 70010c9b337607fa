"""The yearly policy parameters (county admins): list, edit, a new year."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from cases.audit import audit_list, audit_view
from cases.scope import scope_safe
from cases.services import ServiceError
from staff.forms.policy import NewPolicyYearForm, PolicyYearForm
from staff.views.common import GET_POST, form_data, form_page, require_county_admin
from subsidies.models import PolicyYear
from subsidies.policy import FIELDS, LABELS, PolicyError, policy_history, policy_set

POLICY_REFUSAL = "只有县残联管理员可以设置政策参数"


@scope_safe(how="no personal data: policy parameters per year; county admins only")
@login_required
@require_GET
def policy_list(request):
    require_county_admin(request, POLICY_REFUSAL)
    years = list(PolicyYear.objects.order_by("-year"))
    audit_list(request, "subsidies.policyyear", request.GET, len(years))
    return render(
        request,
        "staff/policy_list.html",
        {"years": years, "fields": FIELDS, "nav": "policy"},
    )


def _save(request, form, year: int):
    """`policy_set` with the form's values; its refusal goes above the form like a service's."""
    try:
        return policy_set(
            year, actor=request.user, reason=form.cleaned_data["reason"], **form.policy_values()
        )
    except PolicyError as error:
        raise ServiceError(str(error)) from error


def _edit_url(policy) -> str:
    return reverse("staff:policy_edit", args=[policy.pk])


@scope_safe(how="no personal data: one year's parameters and history; county admins only")
@login_required
@GET_POST
def policy_edit(request, pk: int):
    require_county_admin(request, POLICY_REFUSAL)
    policy = get_object_or_404(PolicyYear, pk=pk)
    if request.method == "GET":
        audit_view(request, policy)
    initial = {name: getattr(policy, name) for name in FIELDS}
    return form_page(
        request,
        PolicyYearForm(form_data(request), initial=initial),
        template="staff/policy_edit.html",
        context={
            "policy": policy,
            "history": list(policy_history(policy)[:50]),
            "labels": LABELS,
            "nav": "policy",
        },
        on_valid=lambda f: _save(request, f, policy.year),
        success_message=f"已保存{policy.year}年度政策参数",
        success_url=_edit_url,
    )


@scope_safe(how="no personal data: creates a year's parameters; county admins only")
@login_required
@GET_POST
def policy_create(request):
    require_county_admin(request, POLICY_REFUSAL)
    return form_page(
        request,
        NewPolicyYearForm(form_data(request)),
        template="staff/policy_new.html",
        context={"nav": "policy"},
        on_valid=lambda f: _save(request, f, f.cleaned_data["year"]),
        success_message=lambda policy: f"已新建{policy.year}年度政策参数",
        success_url=_edit_url,
    )
