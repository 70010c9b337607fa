"""The person page's 就业 section and its forms: labour profile (pre-filled from the survey),
public-welfare posts, training, employment at a base; scope, role and bad input."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    BaseEmployment,
    ChangeRecord,
    EmploymentBase,
    LabourProfile,
    Training,
    WelfarePostPlacement,
)
from staff.selectors.person_work import labour_from_survey

from . import factories
from .staff_app_data import household_with_everything

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate

ROUTES = (
    "staff:labour_profile",
    "staff:welfare_post_create",
    "staff:welfare_post_end",
    "staff:training_create",
    "staff:base_employment_create",
    "staff:base_employment_end",
)


def url(name, person, query=""):
    return reverse(name, args=[person.pk]) + query


def days_ago(n: int) -> str:
    return (TODAY() - timedelta(days=n)).isoformat()


def history(obj, action="create"):
    return ChangeRecord.objects.filter(
        model=obj._meta.label_lower, object_id=str(obj.pk), action=action
    )


@pytest.fixture
def worker():
    """A 河口镇 person whose survey says 辅助性就业 and willing to work."""
    return factories.certified_person(
        township="河口镇",
        village_name="东风村",
        name="赵就业",
        employment_status="supported",
        employment_willing=True,
        surveyed_on=date(2026, 3, 1),
    ).person


def page(client, person) -> str:
    response = client.get(reverse("staff:person_detail", args=[person.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def test_survey_maps_to_labour_choices():
    survey = factories.certified_person(employment_status="no_ability")
    assert labour_from_survey(survey).ability == "none"
    survey = factories.certified_person(employment_status="unemployed", employment_willing=False)
    labour = labour_from_survey(survey)
    assert (labour.ability, labour.ability_label, labour.willing) == ("", "未知", False)
    assert labour_from_survey(factories.certified_person()) is None


def test_labour_shown_from_survey_then_from_staff(client, hekou_user, worker):
    client.force_login(hekou_user)
    html = section(page(client, worker), "employment")
    assert "弱劳动能力（半劳动力）" in html and "辅助性就业" in html
    assert "调查（2026-03-01）" in html
    assert 'data-testid="edit-labour"' in html and "登记劳动能力摸底" in html

    form = client.get(url("staff:labour_profile", worker)).content.decode()
    assert '<option value="partial" selected>' in form
    assert 'value="yes" id="id_willing_1" checked' in form
    assert "已按调查（2026-03-01）预填" in form

    response = client.post(
        url("staff:labour_profile", worker),
        {"ability": "full", "willing": "yes", "assessed_on": days_ago(1), "wanted_work": "电商"},
    )
    assert response.status_code == 302
    profile = LabourProfile.objects.get(person=worker)
    assert (profile.ability, profile.willing, profile.wanted_work) == ("full", True, "电商")
    assert history(profile).filter(actor=hekou_user).exists()
    html = section(page(client, worker), "employment")
    assert f"工作人员登记（{days_ago(1)}）" in html and "调查（" not in html
    assert "修改摸底结果" in html

    # Editing the same record: one profile, an update row.
    client.post(
        url("staff:labour_profile", worker),
        {"ability": "partial", "willing": "no", "assessed_on": TODAY().isoformat()},
    )
    profile.refresh_from_db()
    assert (profile.ability, profile.willing) == ("partial", False)
    assert LabourProfile.objects.filter(person=worker).count() == 1
    assert history(profile, "update").exists()


def test_labour_bad_input_writes_nothing(client, hekou_user, worker):
    client.force_login(hekou_user)
    response = client.post(
        url("staff:labour_profile", worker),
        {"ability": "", "willing": "maybe", "assessed_on": (TODAY() + timedelta(1)).isoformat()},
    )
    html = response.content.decode()
    assert response.status_code == 400
    for message in ("请选择劳动能力", "就业意愿的选项无效，请重新选择", "摸底日期不能晚于今天"):
        assert message in html
    assert not LabourProfile.objects.exists()


def test_welfare_post_place_and_end(client, hekou_user, worker):
    client.force_login(hekou_user)
    assert 'data-testid="add-welfare-post"' in page(client, worker)
    # Nothing to end yet: back to the person page.
    response = client.get(url("staff:welfare_post_end", worker))
    assert response.status_code == 302

    bad = client.post(
        url("staff:welfare_post_create", worker),
        {"post": "", "employer": "村委会", "started_on": "2026-13-01", "monthly_pay": "-5"},
    )
    html = bad.content.decode()
    assert bad.status_code == 400
    for message in ("请填写岗位名称", "上岗日期格式不正确", "月补贴/工资（元）不能为负数"):
        assert message in html
    assert not WelfarePostPlacement.objects.exists()

    data = {"post": "村道保洁", "employer": "东风村委会", "started_on": days_ago(30)}
    response = client.post(url("staff:welfare_post_create", worker), {**data, "monthly_pay": "800"})
    assert response.status_code == 302
    post = WelfarePostPlacement.objects.get(person=worker)
    assert history(post).exists()
    html = section(page(client, worker), "employment")
    assert "村道保洁" in html and "在岗" in html and 'data-testid="end-welfare-post"' in html
    assert 'data-testid="add-welfare-post"' not in html

    # A second post while on one: the service's message, nothing written.
    response = client.post(url("staff:welfare_post_create", worker), data)
    assert response.status_code == 400
    assert "已在公益性岗位“村道保洁”上岗，请先办理离岗" in response.content.decode()
    assert WelfarePostPlacement.objects.count() == 1

    end = url("staff:welfare_post_end", worker)
    form = client.get(end).content.decode()
    assert "村道保洁（东风村委会" in form and 'data-testid="welfare-post-end-form"' in form
    response = client.post(end, {"record": post.pk, "ended_on": days_ago(40), "reason": "外出"})
    assert response.status_code == 400
    assert "离岗日期不能早于上岗日期" in response.content.decode()
    response = client.post(end, {"record": post.pk, "ended_on": days_ago(1), "reason": ""})
    assert response.status_code == 400 and "请填写离岗原因" in response.content.decode()
    post.refresh_from_db()
    assert post.ended_on is None

    response = client.post(end, {"record": post.pk, "ended_on": days_ago(1), "reason": "外出务工"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.ended_on == TODAY() - timedelta(days=1)
    assert history(post, "update").filter(reason="外出务工").exists()
    assert 'data-testid="add-welfare-post"' in page(client, worker)


def test_training(client, hekou_user, worker):
    client.force_login(hekou_user)
    target = url("staff:training_create", worker)
    response = client.post(
        target,
        {
            "kind": "",
            "course": "",
            "organiser": "县就业局",
            "started_on": days_ago(5),
            "ended_on": days_ago(10),
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    for message in ("请选择培训类型", "请填写培训内容", "结束日期不能早于开始日期"):
        assert message in html
    assert not Training.objects.exists()
    response = client.post(
        target,
        {
            "kind": "vocational",
            "course": "中式面点",
            "organiser": "县职教中心",
            "started_on": days_ago(20),
            "ended_on": days_ago(10),
            "certificate_obtained": "yes",
        },
    )
    assert response.status_code == 302
    training = Training.objects.get(person=worker)
    assert (training.kind, training.certificate_obtained) == ("vocational", True)
    assert history(training).exists()
    html = section(page(client, worker), "employment")
    assert "中式面点" in html and "职业技能培训" in html and "已取得" in html


def test_base_employment_from_bases_in_scope(client, hekou_user, worker):
    here = EmploymentBase.objects.create(
        name="东风种养合作社",
        kind="cooperative",
        township=factories.township("河口镇"),
        leader_name="钱社长",
    )
    there = EmploymentBase.objects.create(
        name="城关电商基地", kind="base", township=factories.township("城关镇"), leader_name="孙"
    )
    client.force_login(hekou_user)
    target = url("staff:base_employment_create", worker)
    form = client.get(target).content.decode()
    assert "东风种养合作社（农民专业合作社，河口镇）" in form and "城关电商基地" not in form

    data = {"job": "养殖", "started_on": days_ago(10), "monthly_income": "1500"}
    response = client.post(target, {**data, "base": there.pk})
    assert response.status_code == 400
    assert "带动主体（基地/合作社/能人大户）的选项无效" in response.content.decode()
    response = client.post(target, {**data, "base": here.pk, "started_on": days_ago(-3)})
    assert response.status_code == 400 and "开始日期不能晚于今天" in response.content.decode()
    assert not BaseEmployment.objects.exists()

    response = client.post(target, {**data, "base": here.pk})
    assert response.status_code == 302
    job = BaseEmployment.objects.get(person=worker)
    assert job.base == here and history(job).exists()
    html = section(page(client, worker), "employment")
    assert "东风种养合作社" in html and 'data-testid="end-base-job"' in html

    end = url("staff:base_employment_end", worker)
    response = client.post(end, {"record": job.pk, "ended_on": days_ago(11), "reason": "x"})
    assert response.status_code == 400
    assert "结束日期不能早于开始日期" in response.content.decode()
    response = client.post(
        end, {"record": job.pk, "ended_on": TODAY().isoformat(), "reason": "停产"}
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.ended_on == TODAY() and history(job, "update").exists()


def test_another_township_gets_404_everywhere(client, chengguan_user, worker):
    client.force_login(chengguan_user)
    writes = ChangeRecord.objects.count()
    for name in ROUTES:
        assert client.get(url(name, worker)).status_code == 404
        assert client.post(url(name, worker), {"ability": "full"}).status_code == 404
    assert ChangeRecord.objects.count() == writes


def test_viewer_and_village_member_cannot_write(client, viewer_user, village_user):
    person = factories.certified_person(township="城关镇", village_name="东关村").person
    writes = ChangeRecord.objects.count()
    for user in (viewer_user, village_user):
        client.force_login(user)
        html = section(page(client, person), "employment")
        assert "劳动能力与就业意愿" in html
        assert 'class="button"' not in html  # read-only: no buttons
        for name in ROUTES:
            assert client.get(url(name, person)).status_code == 403
            assert client.post(url(name, person), {"ability": "full"}).status_code == 403
    assert ChangeRecord.objects.count() == writes


def test_section_of_the_full_household(client, hekou_user):
    home = household_with_everything()
    client.force_login(hekou_user)
    html = section(page(client, home.head), "employment")
    assert 'data-testid="labour-empty"' in html
    assert "没有公益性岗位安置记录" in html
