"""HTML of long lists built in Python, where the template engine itself was the cost.

A work queue page of 50 rows resolved ~2,000 template variables and rendered each option
of each filter `<select>` through two template includes (docs/PERFORMANCE.md, Pages). The
markup here is byte for byte what those templates gave (tests/test_list_html.py renders
both and compares them), every value escaped as the templates escaped it.
"""

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote

from django import template
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.forms import BoundField
from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from monitoring.models import Finding
from staff.selectors.visits import days_since
from staff.templatetags.huoqiu_ui import bidi_safe
from staff.templatetags.record_urls import MARKER, record_url

register = template.Library()

# Django's own select templates; a widget drawn with any other template keeps its template.
SELECT_TEMPLATES = ("django/forms/widgets/select.html", "django/forms/widgets/select_option.html")


def _html(value: Any) -> str:
    """`value` as `{{ value }}` shows it: localized and `conditional_escape`d. A plain
    string, nearly every value here, goes straight to `html.escape`, which is what
    `django.utils.html.escape` calls: its lazy-string wrapper cost more than the escaping
    when called over a thousand times a page."""
    if type(value) is str:
        return escape(value)
    return conditional_escape(localize(value))


def _attrs(attrs: Mapping[str, Any]) -> str:
    """django/forms/widgets/attrs.html: `name="value"`, a bare name for True, nothing for False."""
    return "".join(
        ""
        if value is False
        else f" {_html(name)}"
        if value is True
        else f' {_html(name)}="{_html(str(value))}"'
        for name, value in attrs.items()
    )


@register.simple_tag
def filter_widget(field: BoundField) -> str:
    """`{{ field }}` of a filter form, with a `<select>` written here rather than through
    an include per option (a county's village list has hundreds). The widget's own
    `get_context` still decides the options, the selected one, the groups and the
    attributes; only the markup is assembled in Python, escaped as the templates do."""
    widget = field.field.widget
    templates = (getattr(widget, "template_name", ""), getattr(widget, "option_template_name", ""))
    if templates != SELECT_TEMPLATES or field.field.show_hidden_initial:
        return str(field)
    # What BoundField.as_widget passes to widget.render.
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    parts = [f'<select name="{_html(context["name"])}"{_attrs(context["attrs"])}>']
    for group_name, options, _ in context["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_html(group_name)}">')
        parts.extend(
            f'\n  <option value="{_html(str(option["value"]))}"'
            f"{_attrs(option['attrs']) if option['attrs'] else ''}>"
            f"{_html(option['label'])}</option>\n"
            for option in options
        )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")  # the renderer strips the template's final newline
    return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped


STATUS_LABELS = {value: str(label) for value, label in Finding.Status.choices}


@register.simple_tag
def rule_chips(chips: Iterable[tuple[str, str, int, str]], current_rule: str) -> SafeString:
    """The work queue's chip per rule (`staff.views.findings.chip_links`): its code, name
    and count, a link to the queue of that rule, the current one marked active."""
    html = []
    for code, name, count, query in chips:
        active = " active" if current_rule == code else ""
        html.append(
            f'\n    <a class="chip{active}" href="?{_html(query)}" data-rule="{_html(code)}"'
            f' title="{_html(name)}">{_html(code)} {_html(name)}'
            f' <span class="chip-count">{int(count)}</span></a>\n  '
        )
    # Every value above went through _html or is an int.
    return mark_safe("".join(html))  # noqa: S308


def _record_link(name: str) -> tuple[str, str]:
    """The escaped markup before and after the key in `record_url(key, name)`, looked up
    once per table rather than three times per row."""
    before, _, after = record_url(int(MARKER), name).partition(MARKER)
    return _html(before), _html(after)


@register.simple_tag(takes_context=True)
def queue_rows(
    context: template.Context,
    rows: Iterable[Mapping[str, Any]],
    *,
    checks: object,
    can_write: bool,
    county: bool,
) -> SafeString:
    """The work queue's table rows (`staff.selectors.findings.queue_page` dicts): a tick box
    when the bulk form is shown (`checks`) and the finding is not cleared, the person and
    household links, the township for county roles, the age in days, and 处理 for a writer
    on an open finding (查看 otherwise), whose link comes back to this very list.

    Keys and day counts are written as plain digits, as `{{ }}` showed them (no thousands
    separator is configured)."""
    next_path = _html(quote(context["request"].get_full_path()))
    person = _record_link("staff:person_detail")
    household = _record_link("staff:household_detail")
    finding = _record_link("staff:finding_detail")
    # Findings of one cross-check run share their opening time: each age is worked out
    # once (`days_since` reads the current time zone and date, ~25 µs a call).
    ages: dict[Any, int] = {}
    html = []
    for row in rows:
        opened = row["opened_at"]
        age = ages.get(opened)
        if age is None:
            age = ages[opened] = int(days_since(opened))
        pk, rule, status = int(row["pk"]), _html(row["rule"]), row["status"]
        name = _html(bidi_safe(row["person__name"]))
        check = ""
        if checks:
            box = ""
            if status != Finding.Status.CLEARED:
                box = (
                    f'<input type="checkbox" name="ids" value="{pk}"'
                    f' aria-label="选择 {rule} {name}" class="row-check">'
                )
            check = f'<td data-label="选择" class="cell-check">{box}</td>'
        home = ""
        if row["household_id"]:
            home = (
                f' <a class="small" href="{household[0]}{int(row["household_id"])}{household[1]}"'
                ' data-testid="household-link">家庭</a>'
            )
        township = _html(row["township__name"] or "") if county else ""
        action = "处理" if can_write and status == Finding.Status.OPEN else "查看"
        html.append(
            f'\n        <tr data-rule="{rule}" data-testid="finding-row">'
            f"\n          {check}"
            f'\n          <td data-label="规则"><span class="rule rule-{_html(row["rule"][:1])}">'
            f"{rule}</span></td>"
            f'\n          <td data-label="姓名" class="cell-name">'
            f'<a href="{person[0]}{int(row["person_id"])}{person[1]}">{name}</a>{home}</td>'
            f'\n          <td data-label="村（社区）">{township}'
            f"{_html(bidi_safe(row['village__name'] or '—'))}</td>"
            f'\n          <td data-label="原因" class="cell-reason">{_html(bidi_safe(row["reason"]))}</td>'
            f'\n          <td data-label="已发现">{age}天</td>'
            f'\n          <td data-label="状态"><span class="badge badge-{_html(status)}">'
            f"{_html(STATUS_LABELS.get(status, status))}</span></td>"
            f'\n          <td data-label="操作"><a class="button small-button"'
            f' href="{finding[0]}{pk}{finding[1]}?next={next_path}"'
            f' data-testid="finding-open">{action}</a></td>'
            "\n        </tr>\n      "
        )
    # Every value above went through _html or is an int.
    return mark_safe("".join(html))  # noqa: S308


# `staff/_field.html` of an unbound field whose form says its empty fields look the same for
# every user (`FIXED_UNBOUND_HTML`), rendered once per process.
_fixed_fields: dict[tuple[Any, ...], SafeString] = {}


@register.simple_tag
def form_field(field: BoundField) -> SafeString:
    """`{% include "staff/_field.html" with field=field %}`, kept rendered for an empty form.

    The label, widget and help text of the queue's and the finding page's decision forms
    are the same on every GET (no data, no initial value, nothing set per user); rendering
    them through the include and Django's widget templates cost ~0.5 ms a field. A form
    class opts in with `FIXED_UNBOUND_HTML = True`; a bound form (errors to show), a form
    with initial values, or any other form is rendered each time, as the include did."""
    form = field.form
    if (
        form.is_bound
        or form.initial
        or not getattr(type(form), "FIXED_UNBOUND_HTML", False)
        or field.field.initial is not None
    ):
        return _field_html(field)
    key = (type(form), form.prefix, form.auto_id, field.name, get_language())
    html = _fixed_fields.get(key)
    if html is None:
        if len(_fixed_fields) >= 256:  # a handful of forms; never grow unbounded
            _fixed_fields.clear()
        html = _fixed_fields[key] = _field_html(field)
    return html


def _field_html(field: BoundField) -> SafeString:
    # _field.html reads nothing but `field`: rendered on its own, as the include gave it.
    return mark_safe(render_to_string("staff/_field.html", {"field": field}))  # noqa: S308


@receiver(setting_changed)
def _forget_fixed_fields(setting: str, **kwargs: Any) -> None:
    """Tests that swap the templates get the fields rendered with the new ones."""
    if setting == "TEMPLATES":
        _fixed_fields.clear()


@register.simple_tag
def filter_form(filterset: Any, action: str) -> SafeString:
    """`{% include "staff/_filters.html" with action=action %}`, the HTML kept on the
    FilterSet: a FilterSet shared between views (`staff.selectors.findings.queue_filter`)
    renders its form once per list URL; any other is rendered once, as the include did."""
    # _filters.html reads nothing but `filter` and `action`.
    context = {"filter": filterset, "action": action}
    kept = getattr(filterset, "__dict__", None)
    if kept is None:  # not a FilterSet (a page without filters): nothing to keep it on
        return mark_safe(render_to_string("staff/_filters.html", context))  # noqa: S308
    rendered = kept.setdefault("_filters_html", {})
    html = rendered.get(action)
    if html is None:
        html = rendered[action] = mark_safe(  # noqa: S308 -- the template escaped it
            render_to_string("staff/_filters.html", context)
        )
    return html
