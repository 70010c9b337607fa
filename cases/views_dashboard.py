"""The dashboard (工作台) and the indicator tables (统计) for the user's scope (SPEC §7).

Thin: the numbers come from `cases.selectors_pages.dashboard` (three aggregate
queries) and `cases.indicators.dashboard` (every §7 table). Chart data go to the page
through `json_script`; the charts are drawn by static/js/dashboard.js (no inline JS).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import indicators
from .audit import audit_list
from .scope import scope_for, scope_safe
from .selectors_pages import dashboard as dashboard_data


@scope_safe(how="aggregates via selectors_pages.dashboard (scoped survey, households, findings)")
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
    return render(request, "cases/dashboard.html", context)


@scope_safe(how="indicator tables via cases.indicators (scoped per table)")
@login_required
@require_GET
def stats(request):
    """Every indicator table of SPEC §7, by township (county roles) or for the township."""
    scope = scope_for(request.user)
    context = {"scope": scope, "nav": "stats"}
    if not scope.sees_nothing:
        tables = indicators.dashboard(request.user)
        context["tables"] = list(tables.values())
        audit_list(request, "indicators", request.GET, len(tables))
    return render(request, "cases/stats.html", context)
