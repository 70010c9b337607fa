"""The work queue's rows, rule chips and filter selects written in Python
(`staff.templatetags.list_html`) are byte for byte what the templates they replace gave:
each test renders the former template next to the new code and compares."""

from datetime import timedelta

import pytest
from django import forms
from django.http import QueryDict
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone
from django.utils.safestring import mark_safe

from cases.scope import scope_for
from monitoring.models import Finding
from staff.selectors.findings import (
    URGENCY,
    FindingQueueFilter,
    finding_queue,
    queue_base,
    queue_page,
    rule_counts,
)
from staff.selectors.places import places
from staff.selectors.visits import days_since
from staff.templatetags.list_html import filter_widget, queue_rows, rule_chips
from staff.views.findings import chip_links

from . import factories

pytestmark = pytest.mark.django_db

# templates/staff/finding_list.html's row loop and rule chips before they were written in
# Python, kept here as the reference the new code must match.
FORMER_ROWS = Template(
    """{% load huoqiu_ui record_urls %}{% with next_path=request.get_full_path|urlencode %}{% for finding in rows %}
        <tr data-rule="{{ finding.rule }}" data-testid="finding-row">
          {% if bulk_form %}<td data-label="选择" class="cell-check">{% if finding.status != "cleared" %}<input type="checkbox" name="ids" value="{{ finding.pk }}" aria-label="选择 {{ finding.rule }} {{ finding.person.name|bidi_safe }}" class="row-check">{% endif %}</td>{% endif %}
          <td data-label="规则"><span class="rule rule-{{ finding.rule|slice:':1' }}">{{ finding.rule }}</span></td>
          <td data-label="姓名" class="cell-name"><a href="{{ finding.person_id|record_url:'staff:person_detail' }}">{{ finding.person.name|bidi_safe }}</a>{% if finding.household_id %} <a class="small" href="{{ finding.household_id|record_url:'staff:household_detail' }}" data-testid="household-link">家庭</a>{% endif %}</td>
          <td data-label="村（社区）">{% if scope.is_county %}{{ finding.township.name }}{% endif %}{{ finding.village.name|default:"—"|bidi_safe }}</td>
          <td data-label="原因" class="cell-reason">{{ finding.reason|bidi_safe }}</td>
          <td data-label="已发现">{{ finding.age_days }}天</td>
          <td data-label="状态"><span class="badge badge-{{ finding.status }}">{{ finding.get_status_display }}</span></td>
          <td data-label="操作"><a class="button small-button" href="{{ finding.pk|record_url:'staff:finding_detail' }}?next={{ next_path }}" data-testid="finding-open">{% if can_write and finding.status == "open" %}处理{% else %}查看{% endif %}</a></td>
        </tr>
      {% endfor %}{% endwith %}"""
)
FORMER_CHIPS = Template(
    """{% load huoqiu_pages %}{% for code, name, count in counts %}
    <a class="chip{% if current_rule == code %} active{% endif %}" href="?{% query_with rule=code %}" data-rule="{{ code }}" title="{{ name }}">{{ code }} {{ name }} <span class="chip-count">{{ count }}</span></a>
  {% endfor %}"""
)

HOSTILE = '<script>alert("x")</script>&\'\u202e名'


@pytest.fixture
def queue_findings():
    """Findings in 城关镇 and 河口镇 of every status, with and without household, village and
    township, a hostile name, village and reason, an unknown rule code and a 4-digit age."""
    hostile_village = factories.village("城关镇", HOSTILE)
    plain = factories.certified_person(name="张三", household=True).person
    hostile = factories.PersonFactory(name=HOSTILE, village=hostile_village)
    elsewhere = factories.certified_person(township="河口镇", village_name="东风村").person
    now = timezone.now()
    made = []
    for index, (rule, person, status, extra) in enumerate(
        [
            ("M05", plain, Finding.Status.OPEN, {}),
            ("M01", hostile, Finding.Status.OPEN, {"reason": HOSTILE}),
            ("S05", plain, Finding.Status.HANDLED, {"action_taken": "已联系"}),
            ("D01", hostile, Finding.Status.DISMISSED, {"dismiss_reason": "重复"}),
            ("R01", plain, Finding.Status.CLEARED, {"village": None}),
            ("Z99", hostile, Finding.Status.OPEN, {"township": None, "village": None}),
            ("E01", elsewhere, Finding.Status.OPEN, {}),
        ]
    ):
        made.append(
            factories.FindingFactory(
                rule=rule,
                person=person,
                household=getattr(getattr(person, "membership", None), "household", None),
                status=status,
                opened_at=now - timedelta(days=index * 400, hours=index),
                **extra,
            )
        )
    return made


def former_rows(user, request, *, bulk_form, can_write) -> str:
    rows = list(queue_base(user).order_by("pk"))
    for finding in rows:
        finding.age_days = days_since(finding.opened_at)  # as the view set it
    context = {
        "rows": rows,
        "request": request,
        "bulk_form": bulk_form,
        "can_write": can_write,
        "scope": scope_for(user),
    }
    return FORMER_ROWS.render(Context(context))


def new_rows(user, request, *, bulk_form, can_write) -> str:
    rows = queue_base(user).order_by("pk").values("pk")
    page = queue_page(user, rows, 1, 100)
    page.rows.sort(key=lambda row: row["pk"])
    return queue_rows(
        {"request": request},
        page.rows,
        checks=bulk_form,
        can_write=can_write,
        county=scope_for(user).is_county,
    )


@pytest.mark.parametrize("user_fixture", ["admin_user", "chengguan_user", "village_user"])
@pytest.mark.parametrize("bulk_form,can_write", [(True, True), (None, False), (True, False)])
def test_rows_are_what_the_template_gave(
    request, queue_findings, user_fixture, bulk_form, can_write
):
    user = request.getfixturevalue(user_fixture)
    page_request = RequestFactory().get("/monitoring/findings/", {"rule": "M01", "q": "名 &x"})
    old = former_rows(user, page_request, bulk_form=bulk_form, can_write=can_write)
    new = new_rows(user, page_request, bulk_form=bulk_form, can_write=can_write)
    assert new == old
    assert 'data-testid="finding-row"' in new
    assert "<script>" not in new and "\u202e" not in new


def test_rows_cover_every_case(queue_findings, admin_user):
    html = new_rows(admin_user, RequestFactory().get("/"), bulk_form=True, can_write=True)
    assert html.count('data-testid="finding-row"') == len(queue_findings)
    # Cleared: no tick box; open: 处理; others: 查看; no village: —; no household: no link.
    assert html.count('class="row-check"') == len(queue_findings) - 1
    assert html.count(">处理</a>") == 4 and html.count(">查看</a>") == 3
    assert ">—</td>" in html and "&lt;script&gt;" in html and "\ufffd" in html
    assert html.count('data-testid="household-link"') == 3
    assert "400天" in html and "2400天" in html


def test_rule_chips_are_what_the_template_gave(queue_findings, chengguan_user):
    for query in ("", "rule=M01&age=old&page=4", "status=all&rule=", "q=%E5%90%8D+%26"):
        page_request = RequestFactory().get("/monitoring/findings/?" + query)
        _, counts, _ = finding_queue(chengguan_user, page_request.GET, places(chengguan_user))
        counted = rule_counts(counts)
        current = page_request.GET.get("rule", "")
        old = FORMER_CHIPS.render(
            Context({"counts": counted, "current_rule": current, "request": page_request})
        )
        assert rule_chips(chip_links(page_request.GET, counted), current) == old
        assert counted


class SampleForm(forms.Form):
    plain = forms.ChoiceField(
        choices=[("", "全部"), ("a", HOSTILE), (3, "三"), ("b", mark_safe("<b>粗</b>"))],
        required=False,
    )
    grouped = forms.ChoiceField(
        choices=[("", "全部村"), (HOSTILE, [("1", "一村"), ("2", "二村")]), ("3", "三村")],
        required=False,
    )
    required = forms.ChoiceField(choices=[("x", "甲"), ("y", "乙")])
    attributes = forms.ChoiceField(
        choices=[("x", "甲")],
        widget=forms.Select(attrs={"class": "wide", "data-note": '"引号"', "disabled": True}),
    )
    several = forms.MultipleChoiceField(choices=[("x", "甲"), ("y", "乙")], required=False)
    text = forms.CharField(required=False)


@pytest.mark.parametrize(
    "data",
    [
        None,
        {},
        {"plain": "3", "grouped": "2", "required": "y", "several": ["x", "y"], "text": "<i>"},
        {"plain": "nonsense", "grouped": HOSTILE, "required": "", "several": ["z"]},
    ],
)
def test_filter_widget_is_what_the_widget_template_gave(data):
    form = SampleForm(data)
    if data is not None:
        form.is_valid()
    for field in form:
        assert filter_widget(field) == str(field), field.name


@pytest.mark.parametrize("user_fixture", ["admin_user", "chengguan_user", "village_user"])
@pytest.mark.parametrize(
    "query", ["", "rule=M01&village=1", "township=1&age=old&status=all", "rule=Z99&village=x"]
)
def test_queue_filter_selects_are_what_the_widget_template_gave(request, user_fixture, query):
    user = request.getfixturevalue(user_fixture)
    factories.village("城关镇", HOSTILE)
    filterset = FindingQueueFilter(
        QueryDict(query), queryset=queue_base(user), places=places(user), scope=scope_for(user)
    )
    filterset.is_valid()
    shown = list(filterset.form)
    assert shown
    for field in shown:
        assert filter_widget(field) == str(field), field.name


def test_queue_order_in_sql_is_the_urgency_order(chengguan_user):
    """`UrgencyRank` in SQL and `urgency_key` in Python give the order the registry's
    urgency says, ties by age and then id, unknown rules last."""
    person = factories.certified_person().person
    now = timezone.now()
    codes = [*reversed(URGENCY), "Z99", *URGENCY[:3]]
    for index, code in enumerate(codes):
        factories.FindingFactory(
            rule=code,
            person=factories.PersonFactory() if index else person,
            opened_at=now - timedelta(days=index % 4),
        )
    rows, _, _ = finding_queue(chengguan_user, QueryDict(""), places(chengguan_user))
    in_sql = list(rows.values_list("rule", "opened_at", "pk"))
    rank = {code: index for index, code in enumerate(URGENCY)}
    expected = sorted(in_sql, key=lambda row: (rank.get(row[0], len(URGENCY)), row[1], row[2]))
    assert in_sql == expected and in_sql[-1][0] == "Z99"
    for per_page in (5, 10):
        page = queue_page(chengguan_user, rows, 2, per_page)
        assert [row["pk"] for row in page.rows] == [
            pk for _, _, pk in in_sql[per_page : 2 * per_page]
        ]
