"""The dashboard (工作台) and the indicator tables (统计) for the user's scope."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cases.audit import audit_list
from cases.casework_base import today
from cases.scope import scope_safe
from staff.selectors import indicators
from staff.selectors.dashboard import dashboard as dashboard_data
from staff.selectors.figures import cached_figures, live_fragment_key, max_age
from staff.selectors.trends import trend
from staff.views.common import scope_context


@scope_safe(
    how="aggregates via selectors.dashboard (scoped survey, households, findings); "
    "trend via selectors.trends.trend (snapshot rows of the scope's township or county)"
)
@login_required
@require_GET
def dashboard(request):
    """Key counts, charts, rehabilitation rate vs 85% and pairing coverage vs 100%."""

    def fill(scope):
        figures_at = None
        # Live figures: a fragment timeout of 0 keeps nothing (`{% cache %}`).
        fragments = {"fragment_key": live_fragment_key(scope), "fragment_seconds": 0}
        if scope.is_county:
            # County-wide aggregates only (no household by name): kept for a while,
            # staff/selectors/figures.py. Township and village dashboards list the scope's
            # overdue households, which a worker expects to leave the list at once.
            figures = cached_figures(
                "dashboard",
                scope,
                today(),
                lambda: dashboard_data(request.user),
                refresh=wants_refresh(request),
            )
            data, figures_at = figures.value, figures.computed_at
            fragments = {"fragment_key": figures.fragment_key, "fragment_seconds": max_age()}
        else:
            data = dashboard_data(request.user)
        trend_data = trend(scope, data.as_of)
        chart_data = data.chart_data() | {"trend": trend_data.chart_data()}
        context = {
            "data": data,
            "chart_data": chart_data,
            "trend": trend_data,
            "figures_at": figures_at,
            "figures_max_minutes": figures_max_minutes(),
            **fragments,
        }
        audit_list(request, "dashboard", request.GET, len(data.units))
        return context

    return render(request, "staff/dashboard.html", scope_context(request, "workbench", fill))


def figures_max_minutes() -> int:
    return max(1, max_age() // 60)


def wants_refresh(request) -> bool:
    """`?refresh=1`: the page's 重新计算 link, figures computed again now."""
    return request.GET.get("refresh") == "1"


def stats_as_of(value: str | None) -> tuple[date, str]:
    """`?as_of=YYYY-MM-DD` → (date, message). Missing → today; malformed or later than
    today → today with a Chinese message (the records know nothing of a later day)."""
    on = today()
    text = (value or "").strip()
    if not text:
        return on, ""
    try:
        asked = date.fromisoformat(text)
    except ValueError:
        return on, f"统计日期“{text[:20]}”格式不正确，应为年-月-日（如 2026-06-30），已按今天统计。"
    if asked > on:
        return on, "统计日期不能晚于今天，已按今天统计。"
    return asked, ""


@scope_safe(how="indicator tables via staff.selectors.indicators (scoped per table)")
@login_required
@require_GET
def stats(request):
    """Every indicator table (docs/RULES.md#indicators), by township (county roles) or for the township."""

    as_of, as_of_error = stats_as_of(request.GET.get("as_of"))

    def fill(scope):
        figures = cached_figures(
            "indicators",
            scope,
            as_of,
            lambda: indicators.dashboard(request.user, as_of),
            refresh=wants_refresh(request),
        )
        tables = figures.value
        audit_list(request, "indicators", request.GET, len(tables))
        return {
            "figures_at": figures.computed_at,
            "fragment_key": figures.fragment_key,
            "fragment_seconds": max_age(),
            "figures_max_minutes": figures_max_minutes(),
            "as_of_text": as_of.isoformat(),
            "tables": list(tables.values()),
            "as_of": as_of,
            "as_of_error": as_of_error,
            "today": today(),
        }

    return render(request, "staff/stats.html", scope_context(request, "stats", fill))
