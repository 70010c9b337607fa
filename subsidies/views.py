"""Pages of the subsidies app (issue 6): a staff-recorded benefit on the person page, and
the policy parameters per year for county admins (list, edit with a reason, history).

Thin: the person is loaded in scope (`cases.selectors_pages.person_page`), writes go
through `subsidies.services.benefit_record_save` and `subsidies.policy.policy_set`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from cases.audit import audit_list, audit_view
from cases.casework_base import today
from cases.scope import scope_for, scope_safe
from cases.selectors_pages import person_page
from cases.views_common import form_page, require_writer_role

from . import services
from .forms import BenefitRecordForm, NewPolicyYearForm, PolicyYearForm
from .models import PolicyYear
from .policy import FIELDS, LABELS, PolicyError, policy_history, policy_set


@scope_safe(how="person via selectors_pages.person_page; services.benefit_record_save")
@login_required
@require_http_methods(["GET", "POST"])
def benefit_create(request, pk: int):
    """Record a benefit a person receives (工作人员录入); civil-affairs rows are imported."""
    person = person_page(request.user, pk)
    require_writer_role(request)
    form = BenefitRecordForm(
        request.POST if request.method == "POST" else None,
        initial={"status": "active", "start_month": today().replace(day=1)},
    )
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "person": person,
            "title": "登记救助与补贴",
            "submit_label": "保存",
            "testid": "benefit-form",
            "nav": "persons",
        },
        on_valid=lambda f: services.benefit_record_save(
            request.user,
            person,
            **f.values("benefit_type", "status", "monthly_amount", "start_month", "end_month"),
            reason=f.cleaned_data.get("reason") or "",
        ),
        success_message=lambda r: (
            f"已登记{r.get_benefit_type_display()}（{r.get_status_display()}）"
        ),
        success_url=reverse("cases:person_detail", args=[person.pk]),
    )


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
        "subsidies/policy_list.html",
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
            return redirect("subsidies:policy_edit", pk=policy.pk)
    elif request.method == "GET":
        audit_view(request, policy)
    return render(
        request,
        "subsidies/policy_edit.html",
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
            return redirect("subsidies:policy_edit", pk=policy.pk)
    return render(
        request,
        "subsidies/policy_new.html",
        {"form": form, "nav": "policy"},
        status=400 if form.is_bound else 200,
    )
