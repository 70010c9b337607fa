"""The household page's work: measures (edit, close), applications step by step, referrals
(转办) and their status; scope (404), roles (403), bad input (message on the field, nothing
written), the query budget."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import AssistanceMeasure, ChangeRecord
from subsidies import referrals, services
from subsidies.models import BenefitApplication, Referral, ReferralUnit

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def detail(home):
    return reverse("staff:household_detail", args=[home.household.pk])


def html_of(response, status=200):
    assert response.status_code == status, response.status_code
    return response.content.decode()


@pytest.fixture
def measure(home):
    return home.household.assistance.get()


@pytest.fixture
def application(home):
    return home.head.benefit_applications.get()


@pytest.fixture
def dongfeng_member(home):
    return factories.user_with_role("village_member", village=home.head.village, username="dfcw")


def unit(name="民政办"):
    return ReferralUnit.objects.get(name=name)


def measure_url(name, home, measure):
    return reverse(f"staff:{name}", args=[home.household.pk, measure.pk])


def step_url(home, application, step):
    return reverse("staff:application_step", args=[home.household.pk, application.pk, step])


# --- the household page ---


def test_page_shows_measures_applications_and_referrals(client, hekou_user, home, measure):
    application = home.head.benefit_applications.get()
    referrals.referral_create(
        hekou_user, home.household, unit=unit("住建部门"), measure=measure, request="协调自来水"
    )
    client.force_login(hekou_user)
    html = html_of(client.get(detail(home)))
    section = html.split('data-testid="household-measures"', 1)[1].split("</section>", 1)[0]
    assert "饮水" in section and "镇水利站" in section and "接入自来水" in section
    assert "进行中" in section and "住建部门" in section and "已转办" in section
    assert "协调自来水" in section and "已等待0天" in section
    assert measure_url("assistance_edit", home, measure) in section
    assert measure_url("assistance_close", home, measure) in section
    assert 'data-testid="referral-status-actions"' in section
    apps = html.split('data-testid="household-applications"', 1)[1].split("</section>", 1)[0]
    assert "城乡低保" in apps and "申请中" in apps and "单人户低保" in apps
    # Only the next steps of an application still 申请中: review or withdraw.
    assert step_url(home, application, "review") in apps
    assert step_url(home, application, "withdraw") in apps
    assert step_url(home, application, "decide") not in apps
    assert reverse("staff:application_create", args=[home.household.pk]) in apps


def test_after_review_only_the_decision_is_offered(client, hekou_user, home, application):
    services.benefit_application_review(hekou_user, application, note="入户核实属实")
    client.force_login(hekou_user)
    html = html_of(client.get(detail(home)))
    apps = html.split('data-testid="household-applications"', 1)[1].split("</section>", 1)[0]
    assert step_url(home, application, "decide") in apps
    assert step_url(home, application, "review") not in apps
    assert "审核" in apps and "入户核实属实" in apps and "hekou" in apps


@pytest.mark.parametrize("who", ["viewer_user", "dongfeng_member"])
def test_read_only_roles_see_the_work_but_no_forms(request, client, home, measure, who):
    referrals.referral_create(
        factories.user_with_role("township_staff", township="河口镇"),
        home.household,
        unit=unit(),
        measure=measure,
        request="x",
    )
    client.force_login(request.getfixturevalue(who))
    html = html_of(client.get(detail(home)))
    assert "镇水利站" in html and "城乡低保" in html and "民政办" in html
    for marker in (
        "application-step-",
        "referral-status-actions",
        "measure-edit",
        "add-application",
        "application-refer",
    ):
        assert marker not in html


def test_household_page_stays_within_ten_queries(
    client, hekou_user, home, measure, application, django_assert_max_num_queries
):
    for index in range(5):
        AssistanceMeasure.objects.create(
            household=home.household,
            kind="health",
            responsible_unit=f"单位{index}",
            started_on=date(2026, 3, 1),
        )
    referrals.referral_create(hekou_user, home.household, unit=unit(), measure=measure, request="a")
    referrals.referral_create(
        hekou_user, home.household, unit=unit(), application=application, request="b"
    )
    client.force_login(hekou_user)
    # +1: the audit chain's head (docs/SECURITY.md); +1: the timeline's photos
    # (staff/templatetags/photos.py).
    with django_assert_max_num_queries(12):
        html = html_of(client.get(detail(home)))
    assert html.count('data-testid="measure"') == 6 and html.count('data-testid="referral"') == 2


# --- measures: edit and close ---


def test_edit_a_measure(client, hekou_user, home, measure):
    client.force_login(hekou_user)
    url = measure_url("assistance_edit", home, measure)
    assert "镇水利站" in html_of(client.get(url))
    response = client.post(
        url,
        {
            "responsible_unit": "县水务局",
            "description": "接入自来水",
            "result": "已开工",
            "ended_on": "",
            "reason": "责任单位调整",
        },
    )
    assert response.status_code == 302 and response["Location"] == detail(home)
    measure.refresh_from_db()
    assert (measure.responsible_unit, measure.result) == ("县水务局", "已开工")
    row = ChangeRecord.objects.get(
        model="cases.assistancemeasure", object_id=str(measure.pk), action="update"
    )
    assert row.reason == "责任单位调整" and row.actor == hekou_user


def test_edit_bad_input_writes_nothing(client, hekou_user, home, measure):
    client.force_login(hekou_user)
    url = measure_url("assistance_edit", home, measure)
    html = html_of(client.post(url, {"responsible_unit": "", "ended_on": "2026-13-01"}), 400)
    assert "请填写责任单位" in html and "结束日期格式不正确" in html
    html = html_of(client.post(url, {"responsible_unit": "x", "ended_on": "2020-01-01"}), 400)
    assert "结束日期不能早于开始日期" in html
    measure.refresh_from_db()
    assert measure.responsible_unit == "镇水利站"
    assert not ChangeRecord.objects.filter(model="cases.assistancemeasure", action="update")


def test_close_a_measure(client, hekou_user, home, measure):
    client.force_login(hekou_user)
    url = measure_url("assistance_close", home, measure)
    html = html_of(client.post(url, {"ended_on": today().isoformat(), "result": ""}), 400)
    assert "请填写成效" in html
    assert AssistanceMeasure.objects.get(pk=measure.pk).ended_on is None
    response = client.post(
        url, {"ended_on": today().isoformat(), "result": "已通水", "reason": "完工"}
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.ended_on, measure.result) == (today(), "已通水")
    html = html_of(client.get(detail(home)))
    assert "已结束" in html and measure_url("assistance_close", home, measure) not in html
    again = html_of(client.post(url, {"ended_on": today().isoformat(), "result": "x"}), 400)
    assert "不能重复结束" in again


@pytest.mark.parametrize("name", ["assistance_edit", "assistance_close", "referral_create_measure"])
def test_measure_pages_scope_and_roles(
    client, chengguan_user, viewer_user, dongfeng_member, home, measure, name
):
    url = measure_url(name, home, measure)
    client.force_login(chengguan_user)
    assert client.get(url).status_code == 404
    assert client.post(url, {"result": "x"}).status_code == 404
    for user in (viewer_user, dongfeng_member):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {"result": "x", "ended_on": "2026-05-01"}).status_code == 403
    measure.refresh_from_db()
    assert measure.ended_on is None and not Referral.objects.exists()


def test_a_measure_of_another_household_is_404(client, hekou_user, home, measure):
    other = factories.certified_person(township="河口镇", village_name="东风村", household=True)
    url = reverse("staff:assistance_edit", args=[other.person.membership.household.pk, measure.pk])
    client.force_login(hekou_user)
    assert client.get(url).status_code == 404


# --- applications ---


def test_apply_for_a_member(client, hekou_user, home):
    client.force_login(hekou_user)
    url = reverse("staff:application_create", args=[home.household.pk])
    html = html_of(client.get(url))
    assert "配偶甲" in html and "周明亮" in html
    response = client.post(
        url,
        {
            "person": home.spouse.pk,
            "benefit_type": "temporary_relief",
            "applied_on": today().isoformat(),
            "note": "因病",
        },
    )
    assert response.status_code == 302
    created = BenefitApplication.objects.get(person=home.spouse)
    assert (created.benefit_type, created.status, created.applied_by) == (
        "temporary_relief",
        "applying",
        hekou_user,
    )


def test_apply_bad_input(client, hekou_user, home, elsewhere):
    client.force_login(hekou_user)
    url = reverse("staff:application_create", args=[home.household.pk])
    html = html_of(client.post(url, {"person": "", "benefit_type": "", "applied_on": ""}), 400)
    assert "请选择申请人" in html and "请选择申请项目" in html and "请填写申请日期" in html
    html = html_of(
        client.post(
            url,
            {
                "person": elsewhere.head.pk,
                "benefit_type": "dibao",
                "applied_on": today().isoformat(),
            },
        ),
        400,
    )
    assert "申请人的选项无效" in html
    # Already pending: the service's message on the benefit field.
    html = html_of(
        client.post(
            url,
            {"person": home.head.pk, "benefit_type": "dibao", "applied_on": today().isoformat()},
        ),
        400,
    )
    assert "已有申请中的申请" in html
    assert BenefitApplication.objects.filter(person__in=[home.head, home.spouse]).count() == 1


def test_steps_through_the_pages(client, hekou_user, home, application):
    client.force_login(hekou_user)
    on = today().isoformat()
    # Deciding first is refused on the form, nothing written.
    html = html_of(
        client.post(
            step_url(home, application, "decide"), {"decision": "approved", "decided_on": on}
        ),
        400,
    )
    assert "须先审核" in html
    html = html_of(client.post(step_url(home, application, "review"), {"reviewed_on": on}), 400)
    assert "请填写审核意见" in html
    application.refresh_from_db()
    assert application.status == "applying"
    assert (
        client.post(
            step_url(home, application, "review"), {"reviewed_on": on, "note": "属实"}
        ).status_code
        == 302
    )
    html = html_of(
        client.post(
            step_url(home, application, "decide"), {"decision": "rejected", "decided_on": on}
        ),
        400,
    )
    assert "未批准须填写说明" in html
    assert (
        client.post(
            step_url(home, application, "decide"),
            {"decision": "approved", "decided_on": on, "monthly_amount": "600"},
        ).status_code
        == 302
    )
    html = html_of(client.post(step_url(home, application, "deliver"), {"delivered_on": on}), 400)
    assert "请填写落实情况" in html
    assert (
        client.post(
            step_url(home, application, "deliver"), {"delivered_on": on, "note": "已发放"}
        ).status_code
        == 302
    )
    application.refresh_from_db()
    assert application.status == "delivered" and application.delivered_by == hekou_user
    html = html_of(client.get(detail(home)))
    steps = html.split(f'data-application="{application.pk}"', 1)[1].split("</article>", 1)[0]
    for label in ("申请", "审核", "批准", "落实", "已发放", "已落实"):
        assert label in steps
    assert "application-step-" not in steps


def test_step_pages_scope_and_roles(
    client, chengguan_user, viewer_user, dongfeng_member, hekou_user, home, application
):
    url = step_url(home, application, "review")
    data = {"reviewed_on": today().isoformat(), "note": "x"}
    client.force_login(chengguan_user)
    assert client.post(url, data).status_code == 404
    for user in (viewer_user, dongfeng_member):
        client.force_login(user)
        assert client.post(url, data).status_code == 403
    client.force_login(hekou_user)
    assert client.get(step_url(home, application, "explode")).status_code == 404
    application.refresh_from_db()
    assert application.status == "applying"


# --- referrals on the household page ---


def test_refer_a_measure_and_record_the_units_steps(client, hekou_user, home, measure):
    client.force_login(hekou_user)
    url = measure_url("referral_create_measure", home, measure)
    html = html_of(client.get(url))
    assert "民政办" in html and "住建部门" in html
    on = today().isoformat()
    html = html_of(client.post(url, {"unit": "", "request": "", "referred_on": on}), 400)
    assert "请选择转办单位" in html and "请填写转办事项" in html
    assert (
        client.post(
            url, {"unit": unit("住建部门").pk, "request": "协调接水", "referred_on": on}
        ).status_code
        == 302
    )
    html = html_of(
        client.post(url, {"unit": unit("住建部门").pk, "request": "再次", "referred_on": on}), 400
    )
    assert "该措施已转办住建部门且尚未办结" in html
    referral = Referral.objects.get()
    status_url = reverse("staff:referral_status", args=[home.household.pk, referral.pk])
    html = html_of(client.post(status_url, {"status": "done", "on": on, "response": ""}), 400)
    assert "办理情况的选项无效" in html  # only 已受理 / 已退回 from 已转办
    assert client.post(status_url, {"status": "accepted", "on": on}).status_code == 302
    html = html_of(client.post(status_url, {"status": "done", "on": on}), 400)
    assert "办理结果不能为空" in html
    assert (
        client.post(status_url, {"status": "done", "on": on, "response": "已接通"}).status_code
        == 302
    )
    referral.refresh_from_db()
    assert (referral.status, referral.response) == ("done", "已接通")
    html = html_of(client.post(status_url, {"status": "returned", "on": on, "response": "x"}), 400)
    assert "已办结，不能再登记" in html


def test_inactive_units_are_not_offered(client, hekou_user, county_admin, home, application):
    referrals.referral_unit_save(county_admin, unit("医保部门"), name="医保部门", is_active=False)
    client.force_login(hekou_user)
    url = reverse("staff:referral_create_application", args=[home.household.pk, application.pk])
    html = html_of(client.get(url))
    assert "医保部门" not in html and "民政办" in html
    html = html_of(
        client.post(
            url,
            {"unit": unit("医保部门").pk, "request": "x", "referred_on": today().isoformat()},
        ),
        400,
    )
    assert "转办单位的选项无效" in html
    assert (
        client.post(
            url, {"unit": unit().pk, "request": "请审核", "referred_on": today().isoformat()}
        ).status_code
        == 302
    )
    assert Referral.objects.get().application == application


def test_referral_status_scope_and_roles(
    client, chengguan_user, viewer_user, dongfeng_member, hekou_user, home, measure
):
    referral = referrals.referral_create(
        hekou_user, home.household, unit=unit(), measure=measure, request="x"
    )
    url = reverse("staff:referral_status", args=[home.household.pk, referral.pk])
    data = {"status": "accepted", "on": today().isoformat()}
    client.force_login(chengguan_user)
    assert client.post(url, data).status_code == 404
    for user in (viewer_user, dongfeng_member):
        client.force_login(user)
        assert client.post(url, data).status_code == 403
    referral.refresh_from_db()
    assert referral.status == "referred"


def test_dates_in_the_future_are_refused(client, hekou_user, home, application):
    client.force_login(hekou_user)
    tomorrow = (today() + timedelta(days=1)).isoformat()
    html = html_of(
        client.post(step_url(home, application, "review"), {"reviewed_on": tomorrow, "note": "x"}),
        400,
    )
    assert "审核日期不能晚于今天" in html
    application.refresh_from_db()
    assert application.status == "applying"
