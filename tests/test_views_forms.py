"""Case-work form pages: each calls its service, validates in Chinese, keeps to scope and role."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    AssistanceMeasure,
    ChangeRecord,
    EducationPlan,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    RehabService,
    TrackingVisit,
)
from subsidies.models import BenefitRecord

from . import factories
from .staff_app_data import household_with_everything

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def dongguan():
    """A household in the village member's own village (城关镇东关村)."""
    return household_with_everything("城关镇", "东关村", head_name="东关户主", tag="乙")


def url(name, obj):
    return reverse(name, args=[obj.pk])


def visit_data(**overrides):
    data = {
        "visited_on": TODAY().isoformat(),
        "kind": "tracking",
        "visitor_name": "李娟",
        "food": "ok",
        "clothing": "ok",
        "education": "na",
        "medical": "ok",
        "housing": "ok",
        "water": "problem",
        "annual_income": "18000",
        "income_per_capita": "6000",
        "notes": "饮水仍未接通",
        "next_due": (TODAY() + timedelta(days=30)).isoformat(),
    }
    data.update(overrides)
    return data


def test_township_staff_records_a_visit_through_the_service(client, hekou_user, home):
    client.force_login(hekou_user)
    form_page = client.get(url("staff:visit_create", home.household))
    assert form_page.status_code == 200
    html = form_page.content.decode()
    assert "两不愁三保障及饮水安全" in html and 'name="water"' in html
    assert f'<option value="{home.head.pk}">周明亮</option>' in html
    before = TrackingVisit.objects.count()
    response = client.post(
        url("staff:visit_create", home.household), visit_data(person=str(home.head.pk))
    )
    assert response.status_code == 302
    assert response["Location"] == url("staff:household_detail", home.household)
    assert TrackingVisit.objects.count() == before + 1
    visit = TrackingVisit.objects.latest("id")
    assert (visit.water, visit.food, visit.education) == ("problem", "ok", "na")
    assert visit.visitor == hekou_user and visit.person == home.head
    assert visit.case == home.case  # linked to the open monitoring case by the service
    assert str(visit.income_per_capita) == "6000.00"
    assert ChangeRecord.objects.filter(
        model="cases.trackingvisit", object_id=str(visit.pk)
    ).exists()
    page = client.get(response["Location"]).content.decode()
    assert "已登记跟踪访视" in page and "饮水仍未接通" in page


@pytest.mark.parametrize(
    "overrides, field_message",
    [
        ({"visited_on": ""}, "请填写走访日期"),
        ({"visited_on": "2026-13-40"}, "走访日期格式不正确"),
        ({"visited_on": (TODAY() + timedelta(days=2)).isoformat()}, "走访日期不能晚于今天"),
        ({"next_due": (TODAY() - timedelta(days=1)).isoformat()}, "下次访视日期应晚于本次走访日期"),
        ({"annual_income": "-5"}, "家庭年纯收入（元）不能为负数"),
        ({"income_per_capita": "六千"}, "家庭年人均纯收入（元）应为金额"),
        ({"visitor_name": ""}, "请填写走访人"),
        ({"water": "maybe"}, "饮水安全有保障的选项无效"),
    ],
)
def test_visit_validation_errors_are_chinese_and_nothing_is_written(
    client, hekou_user, home, overrides, field_message
):
    client.force_login(hekou_user)
    before = TrackingVisit.objects.count()
    response = client.post(url("staff:visit_create", home.household), visit_data(**overrides))
    assert response.status_code == 400
    html = response.content.decode()
    assert field_message in html
    assert "请按提示修改标红的内容后再提交" in html
    assert TrackingVisit.objects.count() == before


def test_village_member_records_home_visits_in_their_village_only(
    client, village_user, dongguan, home
):
    client.force_login(village_user)
    page = client.get(url("staff:visit_create", dongguan.household)).content.decode()
    assert "登记入户走访" in page and 'name="kind"' not in page
    data = visit_data()
    data.pop("kind")
    response = client.post(url("staff:visit_create", dongguan.household), data)
    assert response.status_code == 302
    visit = TrackingVisit.objects.latest("id")
    assert visit.kind == "home" and visit.household == dongguan.household
    # Other township: 404; any other form: 403.
    assert client.get(url("staff:visit_create", home.household)).status_code == 404
    assert client.post(url("staff:visit_create", home.household), data).status_code == 404
    for name in ("staff:assistance_create", "staff:pairing_create", "staff:case_step"):
        assert client.get(url(name, dongguan.household)).status_code == 403
        assert client.post(url(name, dongguan.household), {"reason": "x"}).status_code == 403
    for name in PERSON_FORMS:
        # Rehabilitation services are work done on the spot: village members record them
        # (docs/ROLES.md), so an empty form is refused for its fields, not for the role.
        expected = 400 if name == "staff:rehab_service_create" else 403
        assert client.post(url(name, dongguan.head), {}).status_code == expected


HOUSEHOLD_FORMS = (
    "staff:visit_create",
    "staff:assistance_create",
    "staff:pairing_create",
    "staff:case_step",
)
PERSON_FORMS = ("staff:education_plan", "staff:rehab_service_create", "staff:benefit_create")


def assert_every_form_answers(client, home, status, person_data):
    """GET and POST of every household form and every person form answer `status`."""
    for name in HOUSEHOLD_FORMS:
        assert client.get(url(name, home.household)).status_code == status
        assert client.post(url(name, home.household), visit_data(reason="x")).status_code == status
    for name in PERSON_FORMS:
        assert client.get(url(name, home.head)).status_code == status
        assert client.post(url(name, home.head), person_data).status_code == status


def test_county_viewer_is_read_only_everywhere(client, viewer_user, home):
    client.force_login(viewer_user)
    writes_before = ChangeRecord.objects.count()
    assert_every_form_answers(client, home, 403, person_data={"placement": "mainstream"})
    assert ChangeRecord.objects.count() == writes_before


def test_another_townships_records_are_404_for_every_form(client, chengguan_user, home):
    client.force_login(chengguan_user)
    assert_every_form_answers(client, home, 404, person_data={})


def test_assistance_measure_is_recorded(client, hekou_user, home):
    client.force_login(hekou_user)
    response = client.post(
        url("staff:assistance_create", home.household),
        {"kind": "employment", "responsible_unit": "镇人社所", "started_on": TODAY().isoformat()},
    )
    assert response.status_code == 302
    measure = AssistanceMeasure.objects.get(kind="employment")
    assert measure.recorded_by == hekou_user and measure.case == home.case
    response = client.post(
        url("staff:assistance_create", home.household),
        {
            "kind": "",
            "responsible_unit": "",
            "started_on": "2026-03-01",
            "ended_on": "2026-02-01",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "请选择措施类型" in html and "请填写责任单位" in html
    assert "结束日期不能早于开始日期" in html


def test_pairing_refused_while_one_is_active_shows_the_services_message(client, hekou_user, home):
    client.force_login(hekou_user)
    target = url("staff:pairing_create", home.household)
    data = {
        "helper_name": "张委员",
        "helper_kind": "party_member",
        "started_on": TODAY().isoformat(),
    }
    response = client.post(target, data)
    assert response.status_code == 400
    assert "该家庭已有结对帮扶人（王书记甲），请先结束原结对" in response.content.decode()
    Pairing.objects.filter(household=home.household).update(ended_on=TODAY() - timedelta(days=2))
    response = client.post(target, data)
    assert response.status_code == 302
    assert Pairing.objects.filter(household=home.household, helper_name="张委员").exists()


def test_case_workflow_from_the_household_page(client, hekou_user, home):
    client.force_login(hekou_user)
    step = url("staff:case_step", home.household)
    # 待核实 → 纳入监测 needs a category and at least one risk type.
    response = client.post(step, {"to_status": "included", "reason": "入户核实"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "纳入监测须选择监测对象类别" in html and "纳入监测须至少选择一项风险类型" in html
    response = client.post(
        step,
        {
            "to_status": "included",
            "category": "marginal",
            "risk_types": ["因病", "因残"],
            "reason": "入户核实，收入低于监测线",
        },
    )
    assert response.status_code == 302
    case = MonitoringCase.objects.get(pk=home.case.pk)
    assert (case.status, case.category, case.risk_types) == (
        "included",
        "marginal",
        ["因病", "因残"],
    )
    # A step the workflow does not allow from here is not offered.
    response = client.post(step, {"to_status": "cleared", "clear_method": "natural", "reason": "x"})
    assert response.status_code == 400
    assert "办理事项的选项无效" in response.content.decode()
    # 已纳入监测 → 帮扶中 (an assistance measure exists: the fixture's water measure).
    response = client.post(step, {"to_status": "assisting", "reason": "落实饮水帮扶"})
    assert response.status_code == 302
    # 帮扶中 → 风险已消除 needs the clearing method.
    response = client.post(step, {"to_status": "cleared", "reason": "已接通自来水"})
    assert "风险已消除须选择消除方式" in response.content.decode()
    response = client.post(
        step, {"to_status": "cleared", "clear_method": "assistance", "reason": "已接通自来水"}
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.clear_method) == ("cleared", "assistance")
    steps = list(MonitoringCaseStep.objects.filter(case=case).values_list("to_status", flat=True))
    assert steps == ["pending", "included", "assisting", "cleared"]
    # Closed: the same page now opens a new case, with a required reason.
    response = client.post(step, {"reason": ""})
    assert response.status_code == 400 and "请填写建立原因" in response.content.decode()
    response = client.post(step, {"reason": "再次出现饮水问题"})
    assert response.status_code == 302
    assert MonitoringCase.objects.filter(household=home.household, status="pending").count() == 1


def test_reject_needs_a_reason(client, hekou_user, home):
    client.force_login(hekou_user)
    step = url("staff:case_step", home.household)
    response = client.post(step, {"to_status": "rejected", "reason": ""})
    assert response.status_code == 400 and "请填写办理说明" in response.content.decode()
    response = client.post(step, {"to_status": "rejected", "reason": "家庭收入已超过监测线"})
    assert response.status_code == 302
    home.case.refresh_from_db()
    assert (home.case.status, home.case.rejected_reason) == ("rejected", "家庭收入已超过监测线")


def test_education_plan_form(client, hekou_user, home):
    client.force_login(hekou_user)
    # 一人一案 is for children aged 3–17 (casework.education_plan_save).
    pupil = factories.certified_person(
        birth=TODAY().replace(year=TODAY().year - 9, day=1),
        township="河口镇",
        village_name="东风村",
    ).person
    target = url("staff:education_plan", pupil)
    response = client.post(
        target, {"placement": "not_enrolled", "verified_on": TODAY().isoformat()}
    )
    assert response.status_code == 400 and "未入学须填写原因" in response.content.decode()
    response = client.post(target, {"placement": "mainstream", "verified_on": TODAY().isoformat()})
    assert "随班就读或特殊教育学校须填写学校名称" in response.content.decode()
    response = client.post(
        target,
        {"placement": "mainstream", "school": "河口镇中心小学", "verified_on": TODAY().isoformat()},
    )
    assert response.status_code == 302
    plan = EducationPlan.objects.get(person=pupil)
    assert (plan.placement, plan.school, plan.recorded_by) == (
        "mainstream",
        "河口镇中心小学",
        hekou_user,
    )
    # Updating shows the current plan and keeps one plan per child.
    page = client.get(target).content.decode()
    assert 'value="河口镇中心小学"' in page
    client.post(target, {"placement": "home_teaching", "verified_on": TODAY().isoformat()})
    assert EducationPlan.objects.filter(person=pupil).count() == 1


def test_rehab_service_form(client, hekou_user, home):
    client.force_login(hekou_user)
    target = url("staff:rehab_service_create", home.head)
    response = client.post(target, {"service_type": "", "provider": "", "served_on": ""})
    html = response.content.decode()
    assert response.status_code == 400
    for message in ("请填写服务内容", "请填写服务机构", "请填写服务日期"):
        assert message in html
    response = client.post(
        target,
        {
            "service_type": "辅助器具适配",
            "provider": "县康复中心",
            "served_on": TODAY().isoformat(),
        },
    )
    assert response.status_code == 302
    assert RehabService.objects.get(service_type="辅助器具适配").recorded_by == hekou_user


def test_benefit_form_records_a_manual_benefit(client, hekou_user, home):
    client.force_login(hekou_user)
    target = url("staff:benefit_create", home.head)
    living = {
        "benefit_type": "living_subsidy",
        "status": "active",
        "monthly_amount": "80",
        "start_month": "2026-03",
    }
    response = client.post(target, {**living, "start_month": "2026-13"})
    assert response.status_code == 400
    assert "起始年月格式不正确" in response.content.decode()
    response = client.post(target, {**living, "end_month": "2026-01"})
    assert "终止年月不能早于起始年月" in response.content.decode()
    response = client.post(target, living)
    assert response.status_code == 302
    record = BenefitRecord.objects.get(person=home.head, benefit_type="living_subsidy")
    assert (record.origin, str(record.monthly_amount), record.start_month.isoformat()) == (
        "manual",
        "80.00",
        "2026-03-01",
    )


def test_forms_need_the_csrf_token(hekou_user, home):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(hekou_user)
    response = strict.post(url("staff:visit_create", home.household), visit_data())
    assert response.status_code == 403
    assert not TrackingVisit.objects.filter(notes="饮水仍未接通").exists()
    page = strict.get(url("staff:visit_create", home.household)).content.decode()
    assert 'name="csrfmiddlewaretoken"' in page


def test_form_pages_accept_only_get_and_post(client, hekou_user, home):
    client.force_login(hekou_user)
    assert client.put(url("staff:visit_create", home.household)).status_code == 405
    assert client.delete(url("staff:case_step", home.household)).status_code == 405


def test_successful_write_is_audited_with_its_changes(client, hekou_user, home):
    from cases.models import AuditEvent

    client.force_login(hekou_user)
    client.post(
        url("staff:assistance_create", home.household),
        {"kind": "health", "responsible_unit": "镇卫生院", "started_on": TODAY().isoformat()},
    )
    event = AuditEvent.objects.get(action="create", target_model="cases.assistancemeasure")
    assert event.actor == hekou_user and event.details["changes"]["responsible_unit"] == [
        None,
        "镇卫生院",
    ]


def test_unknown_household_is_404(client, hekou_user):
    client.force_login(hekou_user)
    assert client.get(reverse("staff:visit_create", args=[987654])).status_code == 404
    assert factories.township("河口镇")  # the fixture data loaded by the migration


def test_pairing_end_records_date_and_reason_then_a_new_pairing_can_start(client, hekou_user, home):
    client.force_login(hekou_user)
    page = client.get(url("staff:household_detail", home.household)).content.decode()
    assert 'data-testid="end-pairing"' in page
    target = url("staff:pairing_end", home.household)
    refused = client.post(target, {"ended_on": TODAY().isoformat(), "reason": ""})
    assert refused.status_code == 400 and "请填写结束原因" in refused.content.decode()
    response = client.post(target, {"ended_on": TODAY().isoformat(), "reason": "帮扶人调离"})
    assert response.status_code == 302
    pairing = Pairing.objects.get(household=home.household, helper_name="王书记甲")
    assert pairing.ended_on == TODAY() and pairing.end_reason == "帮扶人调离"
    assert ChangeRecord.objects.filter(
        model="cases.pairing", object_id=str(pairing.pk), reason="帮扶人调离"
    ).exists()
    # Nothing left to end: the end page is gone.
    assert client.get(target).status_code == 404
    page = client.get(url("staff:household_detail", home.household)).content.decode()
    assert 'data-testid="end-pairing"' not in page


def test_pairing_end_outside_scope_or_read_only_is_refused(
    client, chengguan_user, viewer_user, home
):
    target = url("staff:pairing_end", home.household)
    client.force_login(chengguan_user)
    assert client.post(target, {"ended_on": TODAY().isoformat(), "reason": "x"}).status_code == 404
    client.force_login(viewer_user)
    assert client.post(target, {"ended_on": TODAY().isoformat(), "reason": "x"}).status_code == 403
    assert Pairing.objects.get(household=home.household, helper_name="王书记甲").ended_on is None
