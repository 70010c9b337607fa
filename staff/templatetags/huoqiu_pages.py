"""Template helpers of the staff pages: links that keep the filters, rate cells."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from cases.models import MonitoringCase
from monitoring.models import HouseholdType, MonitoringCategory, RiskClearMethod

register = template.Library()


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters changed (None/"" removes one).

    `?{% query_with page=2 %}` keeps every filter and sets the page; changing a filter
    drops the page number (a new filter starts at page 1).
    """
    request = context.get("request")
    query = request.GET.copy() if request is not None else {}
    if "page" not in changes:
        query.pop("page", None)
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


@register.simple_tag
def rate_cell(rate) -> str:
    """A rate as “85.0%（17/20）” with a class saying whether it meets its target."""
    value = getattr(rate, "value", None)
    if value is None:
        return mark_safe(
            '<span class="rate rate-none">—</span>'
        )  # constant markup, nothing to escape
    met = getattr(rate, "meets_target", None)
    css = "rate" if met is None else ("rate rate-ok" if met else "rate rate-below")
    return format_html(
        '<span class="{}">{}<small>（{}/{}）</small></span>',
        css,
        rate.percent,
        rate.numerator,
        rate.denominator,
    )


@register.filter
def cell(value):
    """An indicator table cell: rates and averages as text, numbers as they are."""
    if hasattr(value, "percent"):
        return rate_cell(value)
    return value


@register.filter
def get_item(mapping, key):
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.simple_tag
def case_label(status: str) -> str:
    """The Chinese label of a monitoring case status (待核实, 已纳入监测, …)."""

    try:
        return str(MonitoringCase.Status(status).label)
    except ValueError:
        return status or ""


@register.simple_tag
def choice_label(choices_name: str, value) -> str:
    """Label of a roster value: `household_type` or `monitoring_category`."""

    choices = {
        "household_type": HouseholdType,
        "monitoring_category": MonitoringCategory,
        "clear_method": RiskClearMethod,
        "case_category": MonitoringCase.Category,
    }.get(choices_name)
    if choices is None or not value:
        return value or ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


@register.filter
def any_known(compared) -> bool:
    """True when either source knows at least one value of a survey/roster comparison."""
    return any(row.survey or row.roster for row in compared or ())
