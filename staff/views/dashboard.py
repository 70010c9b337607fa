"""The dashboard (工作台) and the indicator tables (统计) for the user's scope."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases.audit import audit_list
from cases.scope import scope_safe
from staff.selectors import indicators
from staff.selectors.dashboard import dashboard as dashboard_data
from staff.views.common import scope_context


@scope_safe(how="aggregates via selectors.dashboard (scoped survey, households, findings)")
@login_required
@require_GET
def dashboard(request):
    """Key counts, charts, rehabilitation rate vs 85% and pairing coverage vs 100%."""

    def fill(scope):
        data = dashboard_data(request.user)
        context = {"data": data, "chart_data": data.chart_data()}
        audit_list(request, "dashboard", request.GET, len(data.units))
        return context

    return render(request, "staff/dashboard.html", scope_context(request, "workbench", fill))


@scope_safe(how="indicator tables via staff.selectors.indicators (scoped per table)")
@login_required
@require_GET
def stats(request):
    """Every indicator table (docs/RULES.md#indicators), by township (county roles) or for the township."""

    def fill(scope):
        tables = indicators.dashboard(request.user)
        audit_list(request, "indicators", request.GET, len(tables))
        return {"tables": list(tables.values())}

    return render(request, "staff/stats.html", scope_context(request, "stats", fill))
