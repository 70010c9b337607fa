"""Work queue of findings: scope, urgency order, filters, counts per rule, decisions, bulk."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import AuditEvent, MonitoringCase
from monitoring.models import Finding, FindingEvent
from staff.selectors.findings import URGENCY, age_range

from . import factories

pytestmark = pytest.mark.django_db

QUEUE = "staff:finding_list"


def person_in(township="河口镇", village="东风村", name=None, household=False):
    return factories.certified_person(
        township=township, village_name=village, name=name, household=household or None
    ).person


def finding(rule, person, days=1, **kw):
    return factories.FindingFactory(
        rule=rule,
        person=person,
        household=getattr(getattr(person, "membership", None), "household", None),
        opened_at=timezone.now() - timedelta(days=days),
        reason=kw.pop("reason", f"{rule}测试原因{person.name}"),
        **kw,
    )


def rows(html: str) -> list[str]:
    return re.findall(r'<tr data-rule="([A-Z]\d\d)" data-testid="finding-row">', html)


def queue(client, **params):
    response = client.get(reverse(QUEUE), params)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def findings():
    a = person_in(name="东风甲", household=True)
    b = person_in(village="前进村", name="前进乙", household=True)
    other = person_in(township="城关镇", village="东关村", name="城关丙")
    return {
        "d01": finding("D01", a, days=200),
        "s05_old": finding("S05", a, days=60),
        "s05_new": finding("S05", b, days=2),
        "m01": finding("M01", b, days=10),
        "m05": finding("M05", a, days=1),
        "handled": finding("R01", b, days=5, status=Finding.Status.HANDLED, action_taken="已联系"),
        "other": finding("M05", other, days=100, reason="城关镇的原因"),
    }


def test_queue_lists_open_findings_in_scope_by_urgency_then_age(client, hekou_user, findings):
    client.force_login(hekou_user)
    html = queue(client)
    # M05 before M01, S05 (oldest first) before D01; handled R01 not in the default view.
    assert rows(html) == ["M05", "M01", "S05", "S05", "D01"]
    order = re.findall(r"S05测试原因(\S+?)<", html)
    assert order == ["东风甲", "前进乙"]
    assert "城关丙" not in html and "城关镇的原因" not in html
    assert "已发现" in html and "60天" in html


def test_urgency_covers_every_registered_rule():
    from monitoring.rules import REGISTRY

    assert set(URGENCY) == set(REGISTRY)
    assert URGENCY.index("M05") < URGENCY.index("S03") < URGENCY.index("D01")


def test_filters_rule_village_status_and_age(client, hekou_user, findings):
    client.force_login(hekou_user)
    assert rows(queue(client, rule="S05")) == ["S05", "S05"]
    village = factories.village("河口镇", "前进村")
    assert rows(queue(client, village=village.pk)) == ["M01", "S05"]
    assert rows(queue(client, status="handled")) == ["R01"]
    assert rows(queue(client, status="all")) == ["M05", "M01", "S05", "S05", "R01", "D01"]
    assert rows(queue(client, age="week")) == ["M05", "S05"]
    assert rows(queue(client, age="month")) == ["M01"]
    assert rows(queue(client, age="quarter")) == ["S05"]
    assert rows(queue(client, age="old")) == ["D01"]


def test_an_unknown_filter_value_lists_nothing_rather_than_everything(client, hekou_user, findings):
    client.force_login(hekou_user)
    html = queue(client, rule="Z99")
    assert rows(html) == []
    assert (
        "选项无效" in html
        or "不是可用的选项" in html
        or "errorlist" in html
        or "field-error" in html
    )


def test_another_townships_village_is_not_a_valid_filter(client, hekou_user, findings):
    client.force_login(hekou_user)
    other_village = factories.village("城关镇", "东关村")
    assert rows(queue(client, village=other_village.pk)) == []


def test_counts_per_rule_follow_the_other_filters(client, hekou_user, findings):
    client.force_login(hekou_user)
    html = queue(client)
    counts = dict(
        re.findall(r'data-rule="([A-Z]\d\d)"[^>]*>[^<]*<span class="chip-count">(\d+)<', html)
    )
    assert counts == {"M05": "1", "M01": "1", "S05": "2", "D01": "1"}
    village = factories.village("河口镇", "前进村")
    html = queue(client, village=village.pk, rule="S05")
    counts = dict(
        re.findall(r'data-rule="([A-Z]\d\d)"[^>]*>[^<]*<span class="chip-count">(\d+)<', html)
    )
    # The rule filter does not narrow the chips (they say what each rule would list).
    assert counts == {"M01": "1", "S05": "1"}


def test_age_buckets_are_contiguous():
    now = timezone.now()
    week, month = age_range("week", now), age_range("month", now)
    assert week[1] == now and week[0] == now - timedelta(days=8)
    assert month[1] == now - timedelta(days=8)
    assert age_range("old", now)[0] is None
    assert age_range("nonsense", now) is None


def test_queue_query_budget_does_not_grow(
    client, hekou_user, admin_user, django_assert_max_num_queries
):
    person = person_in(household=True)
    for index, rule in enumerate(URGENCY * 3):
        finding(rule, person_in(name=f"多{index}"), days=index)
    del person
    for user in (hekou_user, admin_user):
        client.force_login(user)
        with django_assert_max_num_queries(10):
            html = queue(client)
        assert len(rows(html)) == 50
        with django_assert_max_num_queries(10):
            queue(client, rule="M01", age="month", page=1)


def test_paging_without_counting(client, hekou_user):
    for index in range(55):
        finding("S05", person_in(name=f"页{index}"), days=index)
    client.force_login(hekou_user)
    first = queue(client)
    assert len(rows(first)) == 50 and 'rel="next"' in first
    second = queue(client, page=2)
    assert len(rows(second)) == 5 and 'rel="next"' not in second


def refused_blank(client, name, target, blank, message):
    """POST the decision `name` on `target` with its text left blank: a 400 with the Chinese
    `message`, and the finding stays open. Returns the decision's URL."""
    url = reverse(name, args=[target.pk])
    response = client.post(url, blank)
    assert response.status_code == 400
    assert message in response.content.decode()
    target.refresh_from_db()
    assert target.status == Finding.Status.OPEN
    return url


def test_handle_requires_an_action_in_chinese_and_records_the_decision(
    client, hekou_user, findings
):
    client.force_login(hekou_user)
    target = findings["m01"]
    url = refused_blank(
        client, "staff:finding_handle", target, {"action_taken": "  "}, "请填写处理措施"
    )
    response = client.post(url, {"action_taken": "已入户核实，纳入监测", "next": reverse(QUEUE)})
    assert response.status_code == 302 and response["Location"] == reverse(QUEUE)
    target.refresh_from_db()
    assert target.status == Finding.Status.HANDLED
    assert target.action_taken == "已入户核实，纳入监测" and target.decided_by == hekou_user
    event = FindingEvent.objects.get(finding=target, to_status="handled")
    assert event.actor == hekou_user and event.from_status == "open"
    assert rows(queue(client)) == ["M05", "S05", "S05", "D01"]


def test_dismiss_requires_a_reason(client, hekou_user, findings):
    client.force_login(hekou_user)
    target = findings["d01"]
    url = refused_blank(
        client, "staff:finding_dismiss", target, {"reason": ""}, "请填写不予处理原因"
    )
    response = client.post(url, {"reason": "同音字，已核实为同一人"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.status, target.dismiss_reason) == ("dismissed", "同音字，已核实为同一人")


def test_unsafe_next_is_ignored(client, hekou_user, findings):
    client.force_login(hekou_user)
    url = reverse("staff:finding_handle", args=[findings["m01"].pk])
    response = client.post(url, {"action_taken": "已处理", "next": "https://evil.example/x"})
    assert response["Location"] == reverse(QUEUE)


def test_open_case_from_an_m_finding(client, hekou_user, findings):
    client.force_login(hekou_user)
    target = findings["m01"]
    response = client.post(
        reverse("staff:finding_open_case", args=[target.pk]), {"reason": "入户核实收入偏低"}
    )
    case = MonitoringCase.objects.get(household=target.household)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:household_detail", args=[target.household_id])
    assert (
        case.status == "pending"
        and case.source_rule == "M01"
        and case.source_finding_id == target.pk
    )
    target.refresh_from_db()
    assert target.status == Finding.Status.HANDLED
    assert "已建立监测对象" in target.action_taken


def test_open_case_is_offered_for_m_rules_only(client, hekou_user, findings):
    client.force_login(hekou_user)
    m_page = client.get(reverse("staff:finding_detail", args=[findings["m01"].pk]))
    s_page = client.get(reverse("staff:finding_detail", args=[findings["s05_new"].pk]))
    assert 'data-testid="open-case-form"' in m_page.content.decode()
    assert 'data-testid="open-case-form"' not in s_page.content.decode()
    response = client.post(reverse("staff:finding_open_case", args=[findings["s05_new"].pk]))
    assert response.status_code == 400
    assert "只有M01～M05类发现可以建立监测对象" in response.content.decode()


def test_bulk_decision_with_one_reason_skips_what_is_out_of_scope(client, hekou_user, findings):
    client.force_login(hekou_user)
    ids = [findings["s05_old"].pk, findings["s05_new"].pk, findings["other"].pk]
    response = client.post(
        reverse("staff:finding_bulk"),
        {"ids": ids, "decision": "dismiss", "text": "已由医保局统一核查"},
    )
    assert response.status_code == 302
    statuses = dict(Finding.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[findings["s05_old"].pk] == "dismissed"
    assert statuses[findings["s05_new"].pk] == "dismissed"
    assert statuses[findings["other"].pk] == "open"
    page = client.get(response["Location"]).content.decode()
    assert "已将2条比对发现标记为不予处理" in page and "1条未变更" in page


def test_bulk_form_errors_are_chinese_and_write_nothing(client, hekou_user, findings):
    client.force_login(hekou_user)
    response = client.post(reverse("staff:finding_bulk"), {"decision": "handle", "text": "x"})
    assert response.status_code == 400
    assert "请至少勾选一条比对发现" in response.content.decode()
    response = client.post(
        reverse("staff:finding_bulk"), {"ids": [findings["m01"].pk], "decision": "handle"}
    )
    assert response.status_code == 400
    assert "请填写处理措施或不予处理原因" in response.content.decode()
    response = client.post(
        reverse("staff:finding_bulk"), {"ids": ["abc"], "decision": "handle", "text": "x"}
    )
    assert response.status_code == 400 and "所选记录编号无效" in response.content.decode()
    assert not FindingEvent.objects.filter(actor=hekou_user).exists()


def test_another_townships_finding_is_404_and_unchanged(client, hekou_user, findings):
    client.force_login(hekou_user)
    other = findings["other"]
    assert client.get(reverse("staff:finding_detail", args=[other.pk])).status_code == 404
    for name, data in (
        ("staff:finding_handle", {"action_taken": "x"}),
        ("staff:finding_dismiss", {"reason": "x"}),
        ("staff:finding_open_case", {"reason": "x"}),
    ):
        response = client.post(reverse(name, args=[other.pk]), data)
        assert response.status_code == 404
        assert "城关丙" not in response.content.decode()
    other.refresh_from_db()
    assert other.status == "open" and not MonitoringCase.objects.exists()


@pytest.mark.parametrize("user_fixture", ["viewer_user", "village_user"])
def test_read_only_roles_get_no_forms_and_posts_are_refused(client, request, user_fixture):
    user = request.getfixturevalue(user_fixture)
    target = finding("M01", person_in("城关镇", "东关村", name="东关丁", household=True))
    client.force_login(user)
    html = queue(client)
    assert "东关丁" in html
    assert 'name="ids"' not in html and 'data-testid="bulk-form"' in html
    assert 'data-testid="bulk-submit"' not in html
    detail = client.get(reverse("staff:finding_detail", args=[target.pk])).content.decode()
    assert "handle-form" not in detail and "dismiss-form" not in detail
    for name, data in (
        ("staff:finding_handle", {"action_taken": "x"}),
        ("staff:finding_dismiss", {"reason": "x"}),
        ("staff:finding_open_case", {"reason": "x"}),
    ):
        assert client.post(reverse(name, args=[target.pk]), data).status_code == 403
    bulk = client.post(
        reverse("staff:finding_bulk"), {"ids": [target.pk], "decision": "handle", "text": "x"}
    )
    assert bulk.status_code == 403
    target.refresh_from_db()
    assert target.status == "open"


def test_decisions_are_post_only(client, hekou_user, findings):
    client.force_login(hekou_user)
    for name in (
        "staff:finding_handle",
        "staff:finding_dismiss",
        "staff:finding_open_case",
    ):
        assert client.get(reverse(name, args=[findings["m01"].pk])).status_code == 405
    assert client.get(reverse("staff:finding_bulk")).status_code == 405
    assert client.post(reverse(QUEUE)).status_code == 405


def test_queue_and_detail_are_audited(client, hekou_user, findings):
    client.force_login(hekou_user)
    queue(client, rule="S05")
    searched = AuditEvent.objects.get(action="search", target_label="monitoring.finding")
    assert searched.details["filters"] == {"rule": "S05"} and searched.details["rows"] == 2
    client.get(reverse("staff:finding_detail", args=[findings["m01"].pk]))
    viewed = AuditEvent.objects.get(action="view", target_model="monitoring.finding")
    assert viewed.target_id == str(findings["m01"].pk)


def test_queue_shows_the_ids_masked_nowhere_in_full(client, hekou_user, findings):
    client.force_login(hekou_user)
    html = queue(client, status="all")
    for item in findings.values():
        assert item.person.id_number not in html
