"""The printable forms (staff/views/printing.py, docs/PRINTING.md): each is scoped (404
outside the user's scope), audited as a read, shows what its paper form asks for with ID
numbers masked, and is reached from the 打印 button of the page it is printed from."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.identity import mask_id_number
from cases.models import AuditEvent, ChildCareRecord, MonitoringCase, TrackingVisit
from monitoring.visits_due import overdue_households

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def html_of(response, status=200):
    assert response.status_code == status, response.status_code
    return response.content.decode()


def visit_url(visit):
    return reverse("staff:print_visit", args=[visit.pk])


def case_url(household):
    return reverse("staff:print_case", args=[household.pk])


def child_url(person):
    return reverse("staff:print_child_plan", args=[person.pk])


DUE_URL = reverse("staff:print_due_visits")


@pytest.fixture
def child():
    """A certified 10-year-old of 河口镇东风村 with a plan, a care record and a service."""
    record = factories.certified_person(
        township="河口镇",
        village_name="东风村",
        household=True,
        name="王小雨",
        birth=date(today().year - 10, 3, 1),
    )
    person = record.person
    factories.EducationPlanFactory(
        person=person, placement="special_school", school="霍邱县特殊教育学校"
    )
    ChildCareRecord.objects.create(
        person=person,
        kind="visit",
        cared_on=today(),
        provider="河口镇残联",
        content="探访慰问送书包",
    )
    factories.RehabServiceFactory(person=person, service_type="言语训练", provider="县康复中心")
    return person


# --- the visit record ---


def test_visit_record_shows_checklist_income_notes_and_signatures(client, hekou_user, home):
    visit = home.visit
    visit.annual_income = 15600
    visit.income_per_capita = 7800
    visit.food = TrackingVisit.Check.OK
    visit.save()
    client.force_login(hekou_user)
    html = html_of(client.get(visit_url(visit)))
    assert "入户走访记录表" in html and "周明亮" in html and "配偶甲" in html
    assert mask_id_number(home.head.id_number) in html
    assert home.head.id_number not in html and home.spouse.id_number not in html
    checklist = html.split('data-testid="print-checklist"', 1)[1].split("</table>", 1)[0]
    water = checklist.split("饮水安全", 1)[1].split("</tr>", 1)[0]
    assert water.count("☑") == 1 and water.index("☑") > water.index("☐")  # 存在问题 ticked
    food = checklist.split(">吃<", 1)[1].split("</tr>", 1)[0]
    assert food.index("☑") < food.index("☐")  # 有保障 ticked
    income = html.split('data-testid="print-income"', 1)[1].split("</table>", 1)[0]
    assert "15600" in income and "7800" in income and "家庭年人均纯收入（元）" in income
    assert "甲饮用井水，水质待检" in html and "李娟" in html
    signatures = html.split('data-testid="print-signatures"', 1)[1]
    for who in ("走访人签字", "户主（或家庭成员）签字", "村（社区）签字盖章"):
        assert who in signatures
    assert signatures.count("年　　月　　日") == 3
    # A print page: its own stylesheet and script, no navigation, a 打印 button.
    assert "css/print.css" in html and "js/print.js" in html
    assert 'data-testid="print-button"' in html and "<nav" not in html
    assert "<script>" not in html and "onclick" not in html  # CSP: no inline script


def test_visit_record_is_scoped_and_audited(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    assert client.get(visit_url(elsewhere.visit)).status_code == 404
    html_of(client.get(visit_url(home.visit)))
    event = AuditEvent.objects.get(action="view", target_model="cases.trackingvisit")
    assert event.target_id == str(home.visit.pk)
    assert event.details == {"print": "入户走访记录表"}
    # The refused one read nothing: no view of it is recorded.
    assert not AuditEvent.objects.filter(
        action="view", target_model="cases.trackingvisit", target_id=str(elsewhere.visit.pk)
    ).exists()


def test_village_member_prints_only_their_village(client, home, elsewhere):
    member = factories.user_with_role("village_member", village=home.head.village)
    client.force_login(member)
    assert "周明亮" in html_of(client.get(visit_url(home.visit)))
    assert client.get(visit_url(elsewhere.visit)).status_code == 404
    other = factories.user_with_role(
        "village_member", village=factories.village("河口镇", "前进村")
    )
    client.force_login(other)
    assert client.get(visit_url(home.visit)).status_code == 404


def test_print_pages_need_login_and_get(client, hekou_user, home):
    response = client.get(visit_url(home.visit))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    client.force_login(hekou_user)
    assert client.post(visit_url(home.visit)).status_code == 405


# --- the monitoring household's identification form ---


def test_case_form_shows_case_history_members_income_and_measures(client, hekou_user, home):
    case = home.case
    case.risk_types = ["因残", "因病"]
    case.save()
    # An earlier, closed case of the same household is part of its history.
    old = MonitoringCase.objects.create(
        household=home.household,
        status=MonitoringCase.Status.REJECTED,
        opened_on=date(2025, 1, 10),
        opening_reason="早前核查",
        rejected_on=date(2025, 2, 1),
        rejected_reason="收入高于监测线",
    )
    old.steps.create(to_status="pending", acted_on=date(2025, 1, 10), reason="早前建立")
    old.steps.create(
        from_status="pending",
        to_status="rejected",
        acted_on=date(2025, 2, 1),
        reason="不予纳入说明",
    )
    client.force_login(hekou_user)
    html = html_of(client.get(case_url(home.household)))
    assert "防返贫监测对象识别表" in html and "周明亮" in html and "配偶甲" in html
    facts = html.split('data-testid="print-case-facts"', 1)[1].split("</table>", 1)[0]
    assert "待核实" in facts and "因残、因病" in facts and "甲收入低于监测线" in facts
    assert "王书记甲" in facts  # the active pairing's helper
    income = html.split('data-testid="print-case-income"', 1)[1].split("</table>", 1)[0]
    assert "6100" in income and "监测户" in income and "因残" in income
    measures = html.split('data-testid="print-case-measures"', 1)[1].split("</table>", 1)[0]
    assert "饮水" in measures and "镇水利站" in measures and "接入自来水" in measures
    steps = html.split('data-testid="print-case-steps"', 1)[1].split("</table>", 1)[0]
    assert "早前建立" in steps and "不予纳入说明" in steps and "待核实 → 不予纳入" in steps
    assert "建立" in steps and "2026-04-01" in steps
    assert home.head.id_number not in html and mask_id_number(home.head.id_number) in html


def test_case_form_is_scoped_audited_and_needs_a_case(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    assert client.get(case_url(elsewhere.household)).status_code == 404
    html_of(client.get(case_url(home.household)))
    event = AuditEvent.objects.get(action="view", target_model="cases.household")
    assert event.target_id == str(home.household.pk)
    assert event.details == {"print": "监测对象识别表"}
    no_case = factories.certified_person(
        township="河口镇", village_name="东风村", household=True
    ).household
    assert client.get(case_url(no_case)).status_code == 404


# --- the child's 一人一案 ---


def test_child_plan_shows_plan_care_and_services(client, hekou_user, child):
    client.force_login(hekou_user)
    html = html_of(client.get(child_url(child)))
    assert "适龄残疾儿童少年一人一案" in html and "王小雨" in html and "10周岁" in html
    plan = html.split('data-testid="print-plan"', 1)[1].split("</table>", 1)[0]
    assert "特殊教育学校" in plan and "霍邱县特殊教育学校" in plan
    care = html.split('data-testid="print-child-care"', 1)[1].split("</table>", 1)[0]
    assert "探访关爱" in care and "探访慰问送书包" in care and "河口镇残联" in care
    rehab = html.split('data-testid="print-child-rehab"', 1)[1].split("</table>", 1)[0]
    assert "言语训练" in rehab and "县康复中心" in rehab
    assert "监护人签字" in html
    assert child.id_number not in html and mask_id_number(child.id_number) in html


def test_child_plan_is_scoped_audited_and_only_for_children(
    client, hekou_user, chengguan_user, home, child
):
    client.force_login(chengguan_user)
    assert client.get(child_url(child)).status_code == 404
    client.force_login(hekou_user)
    html_of(client.get(child_url(child)))
    event = AuditEvent.objects.get(action="view", target_model="cases.person", username="hekou")
    assert event.target_id == str(child.pk) and event.details == {"print": "一人一案"}
    assert client.get(child_url(home.head)).status_code == 404  # an adult has no plan


def test_person_page_links_to_the_child_plan(client, hekou_user, child):
    client.force_login(hekou_user)
    html = html_of(client.get(reverse("staff:person_detail", args=[child.pk])))
    assert child_url(child) in html and "打印一人一案" in html


# --- the township's list of households due for a visit ---


def monitored(name, township="河口镇", village="东风村", identified_days_ago=100):
    record = factories.certified_person(
        township=township, village_name=village, household=True, name=name
    )
    roster = factories.RosterHouseholdFactory(
        township=factories.township(township),
        village=factories.village(township, village),
        identified_on=today() - timedelta(days=identified_days_ago),
    )
    factories.RosterMemberFactory(household=roster, person=record.person)
    return record.household


@pytest.fixture
def due():
    """Overdue in 河口镇: never visited, and one whose next visit is past due; one up to
    date; one overdue in 城关镇 that 河口镇 staff never see."""
    never = monitored("从未访")
    late = monitored("过期访", village="前进村")
    TrackingVisit.objects.create(
        household=late,
        visited_on=today() - timedelta(days=60),
        visitor_name="王委员",
        next_due=today() - timedelta(days=5),
    )
    fine = monitored("按时访")
    TrackingVisit.objects.create(
        household=fine,
        visited_on=today() - timedelta(days=10),
        visitor_name="王委员",
        next_due=today() + timedelta(days=20),
    )
    other = monitored("城关户", township="城关镇", village="东关村")
    return {"never": never, "late": late, "fine": fine, "other": other}


def test_due_list_is_the_overdue_definition_of_the_township(client, hekou_user, due):
    client.force_login(hekou_user)
    html = html_of(client.get(DUE_URL))
    table = html.split('data-testid="print-due-table"', 1)[1].split("</table>", 1)[0]
    expected = set(
        overdue_households(today()).filter(township__name="河口镇").values_list("pk", flat=True)
    )
    assert expected == {due["never"].pk, due["late"].pk}
    shown = {int(pk) for pk in re.findall(r'data-household="(\d+)"', table)}
    assert shown == expected
    assert "从未走访" in table and "应于" in table and "王委员" in table
    assert "按时访" not in html and "城关户" not in html
    assert mask_id_number(due["never"].head_id_number) in table
    assert due["never"].head_id_number not in html
    assert "河口镇" in html and "共2户" in html


def test_due_list_county_user_chooses_a_township(client, viewer_user, due):
    client.force_login(viewer_user)
    choose = html_of(client.get(DUE_URL))
    assert 'data-testid="print-due-choose"' in choose and "城关户" not in choose
    error = html_of(client.get(DUE_URL + "?township=abc"), status=400)
    assert "请选择有效的乡镇" in error
    assert client.get(DUE_URL + "?township=999999").status_code == 404
    chengguan = factories.township("城关镇")
    html = html_of(client.get(DUE_URL + f"?township={chengguan.pk}"))
    assert "城关户" in html and "从未访" not in html and "过期访" not in html


def test_due_list_ignores_another_township_for_township_staff(client, hekou_user, due):
    client.force_login(hekou_user)
    chengguan = factories.township("城关镇")
    html = html_of(client.get(DUE_URL + f"?township={chengguan.pk}"))
    assert "城关户" not in html and "从未访" in html


def test_due_list_is_audited_and_refused_without_scope(client, hekou_user, due):
    client.force_login(hekou_user)
    html_of(client.get(DUE_URL))
    event = AuditEvent.objects.get(target_label="cases.household", username="hekou")
    assert event.details["rows"] == 2 and event.details["filters"]["print"] == "due"
    nobody = factories.UserFactory(username="noscope")
    client.force_login(nobody)
    assert client.get(DUE_URL).status_code == 403


# --- the 打印 buttons on the pages printed from ---


def test_pages_link_to_their_printouts(client, hekou_user, home, due):
    client.force_login(hekou_user)
    household = html_of(client.get(reverse("staff:household_detail", args=[home.household.pk])))
    assert case_url(home.household) in household  # the case form
    assert visit_url(home.visit) in household  # the visit on the timeline
    visits = html_of(client.get(reverse("staff:visit_list")))
    assert visit_url(home.visit) in visits
    dashboard = html_of(client.get(reverse("staff:dashboard")))
    assert DUE_URL in dashboard


def test_due_list_of_a_village_member_is_their_village(client, due):
    member = factories.user_with_role(
        "village_member", village=factories.village("河口镇", "前进村")
    )
    client.force_login(member)
    html = html_of(client.get(DUE_URL))
    assert "过期访" in html and "从未访" not in html and "共1户" in html
    assert "河口镇前进村" in html


def test_read_only_roles_may_print(client, viewer_user, home):
    client.force_login(viewer_user)
    household = html_of(client.get(reverse("staff:household_detail", args=[home.household.pk])))
    assert case_url(home.household) in household and visit_url(home.visit) in household
    assert "防返贫监测对象识别表" in html_of(client.get(case_url(home.household)))
