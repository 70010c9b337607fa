"""Household list, household page, person page and visit list: everything in one place,
scoped, masked, audited, within the query budget."""

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.http import SESSION_REFRESHED_KEY
from cases.identity import mask_id_number
from cases.models import AuditEvent, MonitoringCase, TrackingVisit
from staff.selectors.timeline import timeline

from . import factories
from .staff_app_data import household_with_everything
from .test_hardship_children_definition import family

pytestmark = pytest.mark.django_db


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def main(html: str) -> str:
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def detail_url(data):
    return reverse("staff:household_detail", args=[data.household.pk])


def test_household_page_shows_everything_known_in_one_place(client, hekou_user, home):
    client.force_login(hekou_user)
    html = page(client, detail_url(home))
    assert "周明亮户" in html
    assert f'data-testid="head-id">{mask_id_number(home.head.id_number)}<' in html
    assert home.head.id_number not in html and home.spouse.id_number not in html
    # Members, with the survey and roster side by side and the differences highlighted.
    assert html.count('data-testid="member"') == 2
    assert "配偶甲" in html and "非持证人员" in html
    assert html.count('data-testid="compare-none"') == 1  # the spouse is in neither source
    assert html.count('data-differs="1"') == 3  # name, grade, income
    assert "周明量" in html and "二级" in html and "6,100" in html
    assert "3处不一致" in html
    # Roster household, case, pairing.
    assert "脱贫不稳定户" in html and "因残" in html
    assert 'data-testid="case-status"' in html and "待核实" in html
    assert 'data-testid="pairing">王书记甲<' in html
    # The timeline holds every kind of record.
    kinds = set(re.findall(r'data-kind="([a-z]+)"', html))
    assert kinds == {
        "visit",
        "assistance",
        "pairing",
        "case",
        "finding",
        "benefit",
        "application",
        "rehab",
    }
    assert "甲饮用井水，水质待检" in html and "镇水利站" in html and "重度残疾人护理补贴" in html
    # Open findings get their own list with links to decide them.
    assert html.count('data-testid="finding-link"') == 2
    assert "同音字，已核实为同一人" in html  # the dismissed one stays in the timeline


def test_timeline_is_newest_first_and_one_query(hekou_user, home, django_assert_num_queries):
    from cases.scope import scope_for
    from staff.selectors.households import household_person_ids

    scope_for(hekou_user)  # the scope is loaded once per request, with the user
    with django_assert_num_queries(1):
        events = timeline(
            hekou_user,
            household_id=home.household.pk,
            person_ids=household_person_ids(home.household.pk),
        )
    dates = [event.on for event in events]
    assert dates == sorted(dates, reverse=True)
    assert len(events) == 10
    visit = next(event for event in events if event.kind == "visit")
    assert visit.title == "跟踪访视"
    assert f"下次访视：{home.visit.next_due:%Y-%m-%d}" in visit.detail


def test_timeline_of_one_person_leaves_out_other_members(hekou_user, home):
    factories.EducationPlanFactory(person=home.spouse, placement="home_teaching")
    head_events = timeline(hekou_user, household_id=None, person_ids=[home.head.pk])
    assert "education" not in {event.kind for event in head_events}
    spouse_events = timeline(hekou_user, household_id=None, person_ids=[home.spouse.pk])
    assert [event.kind for event in spouse_events] == ["education"]
    assert spouse_events[0].title == "一人一案：送教上门"


def test_another_townships_household_is_404(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    response = client.get(detail_url(elsewhere))
    assert response.status_code == 404
    assert "郑国强" not in response.content.decode()
    assert client.get(reverse("staff:household_detail", args=[999999])).status_code == 404


def test_village_member_sees_their_village_and_may_only_record_visits(
    client, village_user, elsewhere
):
    client.force_login(village_user)
    html = page(client, detail_url(elsewhere))
    assert 'data-testid="add-visit"' in html
    assert 'data-testid="add-assistance"' not in html
    assert 'data-testid="case-actions"' not in html
    other_village = household_with_everything("城关镇", "西关村", head_name="西关户", tag="丙")
    assert client.get(detail_url(other_village)).status_code == 404


def test_county_viewer_reads_everything_but_gets_no_forms(client, viewer_user, home):
    client.force_login(viewer_user)
    html = page(client, detail_url(home))
    assert "周明亮户" in html
    for marker in (
        "add-visit",
        "add-assistance",
        "add-pairing",
        "case-actions",
        '<form method="post" action="/households',
    ):
        assert marker not in html
    person = page(client, reverse("staff:person_detail", args=[home.head.pk]))
    assert 'data-testid="person-actions"' not in person


def test_writer_gets_the_case_step_form_for_the_current_status(client, hekou_user, home):
    client.force_login(hekou_user)
    html = page(client, detail_url(home))
    assert 'data-testid="case-actions"' in html
    assert 'value="included"' in html and 'value="rejected"' in html
    assert 'value="cleared"' not in html
    MonitoringCase.objects.filter(pk=home.case.pk).update(status="rejected", rejected_reason="x")
    html = page(client, detail_url(home))
    assert "建立监测对象" in html  # a closed case: a new one may be opened


@pytest.mark.parametrize("user_fixture", ["hekou_user", "admin_user"])
def test_household_and_person_pages_stay_within_their_query_budgets(
    client, request, home, user_fixture, django_assert_max_num_queries
):
    for index in range(20):
        TrackingVisit.objects.create(
            household=home.household,
            visited_on=date(2025, 1, 1 + index),
            visitor_name=f"走访{index}",
        )
        factories.FindingFactory(
            rule=f"S0{index % 5 + 1}" if index < 5 else "R01",
            person=factories.certified_person(township="河口镇", village_name="东风村").person,
            household=home.household,
        )
    client.force_login(request.getfixturevalue(user_fixture))
    # +1: the audit chain's head (docs/SECURITY.md); +1: the photos of the timeline's visits
    # and measures (staff/templatetags/photos.py).
    with django_assert_max_num_queries(12):
        html = page(client, detail_url(home))
    assert "走访19" in html
    # The person page reads its timeline, benefits and every task-area section in one query
    # (staff.selectors.person_records): a fixed number, whatever the person's history holds.
    # Counted with the session due for its refresh (saved: the worst case) and Django's
    # one-time check that SQLite has JSON already made.
    assert connection.features.supports_json_field
    refresh_due(client)
    with django_assert_max_num_queries(11):  # +1: the timeline's photos, as above
        page(client, reverse("staff:person_detail", args=[home.head.pk]))


def refresh_due(client) -> None:
    session = client.session
    session[SESSION_REFRESHED_KEY] = 0
    session.save()


@pytest.mark.parametrize("user_fixture", ["chengguan_user", "village_user", "admin_user"])
def test_a_child_in_hardships_page_stays_within_the_person_budget(
    client, request, user_fixture, django_assert_max_num_queries
):
    ten = timezone.localdate() - timedelta(days=365 * 10)
    child, _ = family("孙子", others=(("户主", False), ("配偶", False)), birth=ten)
    user = request.getfixturevalue(user_fixture)
    writer = factories.user_with_role("county_admin")
    for index in range(5):
        casework.child_care_record_add(
            writer,
            child,
            kind="visit",
            cared_on=timezone.localdate() - timedelta(days=index),
            provider="镇残联",
            content=f"探访{index}",
        )
        casework.rehab_need_add(
            writer, child, kind="training", identified_on=ten + timedelta(days=index)
        )
    casework.education_plan_save(
        writer, child, placement="home_teaching", verified_on=timezone.localdate()
    )
    client.force_login(user)
    assert connection.features.supports_json_field
    refresh_due(client)
    with django_assert_max_num_queries(10):
        html = page(client, reverse("staff:person_detail", args=[child.pk]))
    assert "属于困境残疾儿童：父母均不在户" in html and "探访4" in html and "送教上门" in html


def test_person_page_shows_survey_roster_household_and_timeline(client, hekou_user, home):
    client.force_login(hekou_user)
    html = page(client, reverse("staff:person_detail", args=[home.head.pk]))
    assert f'data-testid="person-id">{mask_id_number(home.head.id_number)}<' in html
    assert home.head.id_number not in html
    assert reverse("staff:household_detail", args=[home.household.pk]) in html
    assert html.count('data-differs="1"') == 3
    answers = html.split('data-testid="survey-answers"', 1)[1].split("</dl>", 1)[0]
    assert "家庭年人均收入（元）" in answers and "5,200" in answers
    assert "饮水安全</dt><dd>否" in answers and "住房安全</dt><dd>是" in answers
    assert "城乡居民养老保险</dt><dd>未知" in answers
    assert "配偶甲" in html  # the other member
    kinds = set(re.findall(r'data-kind="([a-z]+)"', html))
    assert {"finding", "benefit", "application", "rehab", "visit", "case"} <= kinds
    assert 'data-testid="add-benefit"' in html and 'data-testid="reveal-id"' in html


def test_pages_audit_what_they_show(client, hekou_user, home):
    client.force_login(hekou_user)
    client.get(detail_url(home))
    event = AuditEvent.objects.get(action="view", target_model="cases.household")
    assert event.target_id == str(home.household.pk)
    assert home.head.id_number not in event.target_label
    assert mask_id_number(home.head.id_number) in event.target_label


def test_household_list_is_scoped_filtered_and_paged(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    url = reverse("staff:household_list")
    html = page(client, url)
    assert "周明亮" in html and "郑国强" not in main(html)
    assert mask_id_number(home.head.id_number) in html and home.head.id_number not in html
    assert "待核实" in html and "2 人" in html
    assert "周明亮" in page(client, url + "?q=明亮")
    assert "周明亮" in page(client, url + f"?q={home.head.id_number[6:14]}")
    assert "周明亮" in page(client, url + f"?q={home.head.id_number}")
    assert "周明亮" not in main(page(client, url + "?q=没有这个人"))
    assert "周明亮" in page(client, url + "?case=active")
    assert "周明亮" in page(client, url + "?case=pending")
    assert "周明亮" not in main(page(client, url + "?case=none"))
    other_village = factories.village("河口镇", "前进村")
    assert "周明亮" not in main(page(client, url + f"?village={other_village.pk}"))
    # Another township's village is not even a valid choice: nothing is listed.
    foreign = factories.village("城关镇", "东关村")
    assert "郑国强" not in main(page(client, url + f"?village={foreign.pk}"))


def test_household_list_budget_and_paging(client, hekou_user, django_assert_max_num_queries):
    for index in range(55):
        factories.certified_person(
            township="河口镇", village_name="东风村", name=f"户{index:02d}", household=True
        )
    client.force_login(hekou_user)
    with django_assert_max_num_queries(10):
        html = page(client, reverse("staff:household_list"))
    assert html.count("cell-name") == 50 and 'rel="next"' in html
    second = page(client, reverse("staff:household_list") + "?page=2")
    assert second.count("cell-name") == 5


def test_county_users_filter_households_by_township(client, admin_user, home, elsewhere):
    client.force_login(admin_user)
    url = reverse("staff:household_list")
    both = main(page(client, url))
    assert "周明亮" in both and "郑国强" in both
    hekou = factories.township("河口镇")
    only = main(page(client, url + f"?township={hekou.pk}"))
    assert "周明亮" in only and "郑国强" not in only


def test_visit_list_and_overdue_filter(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    url = reverse("staff:visit_list")
    html = page(client, url)
    assert "甲饮用井水" not in html  # notes are not in the list, the problems are
    assert "饮水安全" in html and "周明亮户" in html and "郑国强" not in main(html)
    assert "周明亮户" in page(client, url + "?overdue=on")  # its next visit was due 30 days ago
    assert 'name="overdue" id="id_overdue" checked' in page(client, url + "?overdue=on")
    TrackingVisit.objects.create(
        household=home.household, visited_on=home.visit.next_due, visitor_name="李娟"
    )
    overdue = main(page(client, url + "?overdue=on"))
    assert "周明亮户" not in overdue


def test_list_pages_are_get_only_and_need_login(client, hekou_user, home):
    for name in ("staff:household_list", "staff:visit_list"):
        assert client.get(reverse(name)).status_code == 302
    assert client.get(detail_url(home)).status_code == 302
    client.force_login(hekou_user)
    for url in (reverse("staff:household_list"), reverse("staff:visit_list"), detail_url(home)):
        assert client.post(url).status_code == 405
