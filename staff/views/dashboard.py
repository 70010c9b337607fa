"""The dashboard (工作台) and the indicator tables (统计) for the user's scope."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases.audit import audit_list
from cases.scope import scope_for, scope_safe
from staff.selectors import indicators
from staff.selectors.dashboard import dashboard as dashboard_data


@scope_safe(how="aggregates via selectors.dashboard (scoped survey, households, findings)")
@login_required
@require_GET
def dashboard(request):
    """Key counts, charts, rehabilitation rate vs 85% and pairing coverage vs 100%."""
    scope = scope_for(request.user)
    context = {"scope": scope, "nav": "workbench"}
    if not scope.sees_nothing:
        data = dashboard_data(request.user)
        context |= {"data": data, "chart_data": data.chart_data()}
        audit_list(request, "dashboard", request.GET, len(data.units))
    return render(request, "staff/dashboard.html", context)


@scope_safe(how="indicator tables via staff.selectors.indicators (scoped per table)")
@login_required
@require_GET
def stats(request):
    """Every indicator table (docs/RULES.md#indicators), by township (county roles) or for the township."""
    scope = scope_for(request.user)
    context = {"scope": scope, "nav": "stats"}
    if not scope.sees_nothing:
        tables = indicators.dashboard(request.user)
        context["tables"] = list(tables.values())
        audit_list(request, "indicators", request.GET, len(tables))
    return render(request, "staff/stats.html", context)
