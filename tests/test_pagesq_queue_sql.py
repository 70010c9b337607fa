"""The work queue and the finding page from SQL compiled once (staff/selectors/findings.py
`queue_view`, `finding_detail`, `finding_events`) give what the querysets built on every
view give, and the decision forms and filters kept rendered (staff/templatetags/list_html.py
`form_field`, `filter_form`) are what the includes gave (docs/PERFORMANCE.md, Pages)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404, QueryDict
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.scope import get_in_scope_or_404
from monitoring.models import Finding, FindingEvent
from staff.forms.findings import (
    FindingBulkForm,
    FindingDismissForm,
    FindingHandleForm,
    FindingOpenCaseForm,
)
from staff.selectors import findings as findings_module
from staff.selectors.findings import (
    URGENCY,
    _finding_detail_query,
    finding_detail,
    finding_events,
    finding_queue,
    queue_filter,
    queue_page,
    queue_view,
    rule_counts,
)
from staff.selectors.places import places
from staff.templatetags.list_html import filter_form, form_field

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(chengguan_user, hekou_user):
    """Findings over two townships and two villages of 城关镇: every status, ranks below and
    above 10 (a prepared statement must not sort the ranks as text), an unknown rule,
    equal opening times (ties by id) and more than a page of each shape."""
    east = factories.village("城关镇", "东关村")
    west = factories.village("城关镇", "西关村")
    people = [factories.PersonFactory(village=east if index % 2 else west) for index in range(4)]
    elsewhere = factories.certified_person(township="河口镇", village_name="东风村").person
    now = timezone.now()
    codes = [*URGENCY, "Z99"]
    statuses = [Finding.Status.OPEN] * 3 + [Finding.Status.HANDLED, Finding.Status.DISMISSED]
    made = []
    for index in range(70):  # one finding per rule and person
        made.append(
            factories.FindingFactory(
                rule=codes[index % len(codes)],
                person=people[index // len(codes)],
                status=statuses[index % len(statuses)],
                opened_at=now - timedelta(days=(index % 5) * 3),
            )
        )
    for index in range(5):
        made.append(factories.FindingFactory(rule=codes[index], person=elsewhere))
    return {"east": east, "west": west, "findings": made}


def built(user, query: str, number: int, per_page: int):
    """The queue as the querysets built on every view give it."""
    data = QueryDict(query)
    rows, counts, _ = finding_queue(user, data, places(user))
    page = queue_page(user, rows, number, per_page)
    return page.rows, page.has_next, rule_counts(counts)


def compiled(user, query: str, number: int, per_page: int):
    page, counts, _ = queue_view(user, QueryDict(query), places(user), number, per_page)
    return page.rows, page.has_next, counts


def queries(queue) -> list[str]:
    east, west = queue["east"].pk, queue["west"].pk
    return [
        "",
        "status=all",
        "status=handled",
        "status=dismissed",
        f"village={east}",
        f"village={west}&status=all",
        *(f"rule={code}" for code in (*URGENCY[:3], URGENCY[10], URGENCY[-1], "Z99")),
        *(f"rule={code}&status=all" for code in (URGENCY[1], URGENCY[12])),
        f"rule={URGENCY[0]}&village={east}",
        "age=week",  # bounds that move with the clock: built each time
        "rule=nonsense",  # invalid: no rows
    ]


@pytest.mark.parametrize("user_fixture", ["admin_user", "chengguan_user", "village_user"])
def test_queue_view_is_the_queue_built_each_time(request, queue, user_fixture):
    """Every page of every filter, twice (compiled, then from the cache), with the same
    shape's statement serving other values (another rule, village or status)."""
    user = request.getfixturevalue(user_fixture)
    findings_module._compiled_queue.clear()
    for _ in range(2):
        for query in queries(queue):
            for number, per_page in ((1, 50), (1, 4), (2, 4), (3, 4), (9, 4), (40, 4)):
                assert compiled(user, query, number, per_page) == built(
                    user, query, number, per_page
                ), (query, number, per_page)
    assert findings_module._compiled_queue  # the compiled path was taken


def test_the_compiled_queue_keeps_the_scope(queue, chengguan_user, hekou_user):
    findings_module._compiled_queue.clear()
    mine = {row["pk"] for row in compiled(chengguan_user, "status=all", 1, 500)[0]}
    theirs = {row["pk"] for row in compiled(hekou_user, "status=all", 1, 500)[0]}
    assert mine and theirs and not mine & theirs
    assert theirs == set(
        Finding.objects.filter(township__name="河口镇").values_list("pk", flat=True)
    )


def test_one_statement_per_shape_and_page_offsets_as_parameters(queue, chengguan_user):
    findings_module._compiled_queue.clear()
    for number in (1, 2, 3):
        for code in URGENCY[:4]:
            compiled(chengguan_user, f"rule={code}&page={number}", number, 4)
    # One page statement for "a rule is chosen", one counts statement.
    assert len(findings_module._compiled_queue) == 2


def test_the_stand_ins_never_reach_the_database(queue, chengguan_user):
    findings_module._compiled_queue.clear()
    with CaptureQueriesContext(connection) as captured:
        compiled(chengguan_user, f"rule={URGENCY[0]}&village={queue['east'].pk}", 2, 4)
    sent = " ".join(str(query["sql"]) for query in captured.captured_queries)
    assert captured.captured_queries
    assert "queue)" not in sent and str(findings_module.OFFSET_MARKER) not in sent


def test_queue_filter_is_shared_by_equal_filters_only(queue, chengguan_user, hekou_user):
    place_list = places(chengguan_user)
    first = queue_filter(chengguan_user, QueryDict("rule=M01&page=2"), place_list)
    assert queue_filter(chengguan_user, QueryDict("page=3&rule=M01"), place_list) is first
    assert queue_filter(chengguan_user, QueryDict("rule=M02"), place_list) is not first
    assert queue_filter(hekou_user, QueryDict("rule=M01"), places(hekou_user)) is not first
    assert first.is_valid() and first.form.cleaned_data["rule"] == "M01"


def test_the_queue_page_shows_the_same_for_a_second_rule(client, queue, chengguan_user):
    """Through the view: a rule's page served by the statement compiled for another rule
    shows that rule's findings."""
    findings_module._compiled_queue.clear()
    client.force_login(chengguan_user)
    url = reverse("staff:finding_list")
    for code in (URGENCY[0], URGENCY[1], URGENCY[10]):
        response = client.get(url, {"rule": code, "status": "all"})
        assert response.status_code == 200
        shown = response.content.decode().count(f'<tr data-rule="{code}"')
        assert shown == Finding.objects.filter(township__name="城关镇", rule=code).count()
        assert response.content.decode().count('data-testid="finding-row"') == shown


# --- the finding page ----------------------------------------------------------------------


def loaded(finding: Finding) -> dict:
    paths = ("person", "person.certificate", "household", "township", "village", "decided_by")
    shown = {}
    for path in paths:
        value = finding
        for name in path.split("."):
            value = getattr(value, name, None) if value is not None else None
        shown[path] = (
            None
            if value is None
            else {f.attname: getattr(value, f.attname) for f in value._meta.concrete_fields}
        )
    shown["finding"] = {
        f.attname: getattr(finding, f.attname) for f in Finding._meta.concrete_fields
    }
    return shown


@pytest.mark.parametrize(
    "user_fixture", ["admin_user", "chengguan_user", "village_user", "hekou_user"]
)
def test_finding_detail_is_the_finding_built_each_time(request, user_fixture, chengguan_user):
    user = request.getfixturevalue(user_fixture)
    village = factories.village("城关镇", "东关村")
    person = factories.certified_person(name="张三", household=True).person
    decided = factories.FindingFactory(
        rule="S01",
        person=person,
        household=person.membership.household,
        status=Finding.Status.HANDLED,
        action_taken="已办",
        decided_by=chengguan_user,
        decided_at=timezone.now(),
        evidence=[{"source": "survey", "column": "x", "value": "1"}],
    )
    bare = factories.FindingFactory(
        rule="Z99", person=factories.PersonFactory(village=village), household=None, village=None
    )
    for finding in (decided, bare):
        try:
            expected = loaded(get_in_scope_or_404(user, _finding_detail_query(user), pk=finding.pk))
        except Http404:
            with pytest.raises(Http404):
                finding_detail(user, finding.pk)
            continue
        for _ in range(2):
            assert loaded(finding_detail(user, finding.pk)) == expected
            assert loaded(finding_detail(user, str(finding.pk))) == expected


@pytest.mark.parametrize("pk", [0, -739184263, 2**63, "x", "1.5", None])
def test_finding_detail_of_no_finding_is_404(chengguan_user, pk):
    with pytest.raises(Http404):
        finding_detail(chengguan_user, pk)


def test_finding_detail_without_a_scope_is_404():
    finding = factories.FindingFactory()
    with pytest.raises(Http404):
        finding_detail(factories.UserFactory(), finding.pk)


def test_finding_events_are_the_events_built_each_time(chengguan_user):
    finding = factories.FindingFactory()
    other = factories.FindingFactory()
    now = timezone.now()
    for index, actor in enumerate((chengguan_user, None, chengguan_user)):
        FindingEvent.objects.create(
            finding=finding,
            actor=actor,
            from_status="open" if index else "",
            to_status="handled",
            note=f"第{index}条",
        )
    FindingEvent.objects.create(finding=other, to_status="open")
    FindingEvent.objects.filter(note="第2条").update(created_at=now - timedelta(days=1))
    expected = list(
        FindingEvent.objects.filter(finding=finding)
        .select_related("actor")
        .order_by("created_at", "id")
    )
    events = finding_events(finding)
    assert [event.pk for event in events] == [event.pk for event in expected]
    assert [event.actor for event in events] == [event.actor for event in expected]
    assert [(event.note, event.to_status) for event in events] == [
        (event.note, event.to_status) for event in expected
    ]
    assert finding_events(other)[0].actor is None


# --- forms and filters kept rendered ------------------------------------------------------------

INCLUDE = Template('{% include "staff/_field.html" with field=field %}')


@pytest.mark.parametrize(
    "form_class", [FindingHandleForm, FindingDismissForm, FindingOpenCaseForm, FindingBulkForm]
)
def test_form_field_is_the_include(form_class):
    for _ in range(2):  # rendered, then kept
        for form in (form_class(), form_class({"text": "<b>", "decision": "x"})):
            form.is_valid()
            for field in form:
                if field.name == "ids":
                    continue
                assert form_field(field) == INCLUDE.render(Context({"field": field}))


def test_a_bound_form_shows_its_own_errors_after_an_empty_one(chengguan_user):
    empty = form_field(FindingHandleForm()["action_taken"])
    posted = FindingHandleForm({"action_taken": ""})
    assert not posted.is_valid()
    shown = form_field(posted["action_taken"])
    assert "field-error" in shown and "field-error" not in empty
    assert form_field(FindingHandleForm()["action_taken"]) == empty


def test_filter_form_is_the_include(queue, chengguan_user, admin_user):
    include = Template('{% include "staff/_filters.html" with action=action %}')
    for user in (chengguan_user, admin_user):
        for query in ("", f"village={queue['east'].pk}&rule=M01", "rule=nonsense&age=old"):
            filterset = queue_filter(user, QueryDict(query), places(user))
            for _ in range(2):
                assert filter_form(filterset, "/monitoring/findings/") == include.render(
                    Context({"filter": filterset, "action": "/monitoring/findings/"})
                )
