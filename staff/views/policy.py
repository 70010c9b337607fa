"""The yearly policy parameters (county admins): list, edit, a new year."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from cases.audit import audit_list, audit_view
from cases.scope import scope_for, scope_safe
from staff.forms.policy import NewPolicyYearForm, PolicyYearForm
from subsidies.models import PolicyYear
from subsidies.policy import FIELDS, LABELS, PolicyError, policy_history, policy_set


def _require_county_admin(request):
    if not scope_for(request.user).is_county_admin:
        raise PermissionDenied("只有县残联管理员可以设置政策参数")


@scope_safe(how="no personal data: policy parameters per year; county admins only")
@login_required
@require_GET
def policy_list(request):
    _require_county_admin(request)
    years = list(PolicyYear.objects.order_by("-year"))
    audit_list(request, "subsidies.policyyear", request.GET, len(years))
    return render(
        request,
        "staff/policy_list.html",
        {"years": years, "fields": FIELDS, "nav": "policy"},
    )


@scope_safe(how="no personal data: one year's parameters and history; county admins only")
@login_required
@require_http_methods(["GET", "POST"])
def policy_edit(request, pk: int):
    _require_county_admin(request)
    policy = get_object_or_404(PolicyYear, pk=pk)
    initial = {name: getattr(policy, name) for name in FIELDS}
    form = PolicyYearForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            policy_set(
                policy.year,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                **form.policy_values(),
            )
        except PolicyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已保存{policy.year}年度政策参数")
            return redirect("staff:policy_edit", pk=policy.pk)
    elif request.method == "GET":
        audit_view(request, policy)
    return render(
        request,
        "staff/policy_edit.html",
        {
            "policy": policy,
            "form": form,
            "history": list(policy_history(policy)[:50]),
            "labels": LABELS,
            "nav": "policy",
        },
        status=400 if form.is_bound else 200,
    )


@scope_safe(how="no personal data: creates a year's parameters; county admins only")
@login_required
@require_http_methods(["GET", "POST"])
def policy_create(request):
    _require_county_admin(request)
    form = NewPolicyYearForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            policy = policy_set(
                form.cleaned_data["year"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                **form.policy_values(),
            )
        except PolicyError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"已新建{policy.year}年度政策参数")
            return redirect("staff:policy_edit", pk=policy.pk)
    return render(
        request,
        "staff/policy_new.html",
        {"form": form, "nav": "policy"},
        status=400 if form.is_bound else 200,
    )
