"""Services and selectors of the task areas: education, employment, rehabilitation and
care, publicity, pairing and grassroots organisation."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from cases import casework, selectors_casework
from cases.casework_base import CaseworkError, NotPermitted, TransitionError
from cases.identity import age_on
from cases.models import (
    AccessibilityModification,
    ChangeRecord,
    EducationPlan,
    Pairing,
    WelfarePostPlacement,
)
from monitoring import eligibility

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def days(n):
    return today() - timedelta(days=n)


def history(obj):
    return ChangeRecord.objects.filter(model=obj._meta.label_lower, object_id=str(obj.pk))


# --- education ---


def test_one_plan_per_child_is_created_then_updated(chengguan_user):
    child = factories.certified_person(birth=date(2016, 4, 1)).person
    plan = casework.education_plan_save(
        chengguan_user, child, placement="mainstream", school="城关一小", verified_on=days(30)
    )
    again = casework.education_plan_save(
        chengguan_user,
        child,
        placement="not_enrolled",
        not_enrolled_reason="重度肢体残疾，家长暂不同意送教",
        verified_on=days(1),
    )
    assert again.pk == plan.pk and EducationPlan.objects.count() == 1
    assert (again.placement, again.school, again.recorded_by) == (
        "not_enrolled",
        "",
        chengguan_user,
    )
    assert again.not_enrolled_reason == "重度肢体残疾，家长暂不同意送教"
    assert [r.action for r in history(plan).order_by("id")] == ["create", "update"]
    update = history(plan).get(action="update")
    assert update.changes["placement"] == ["mainstream", "not_enrolled"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"placement": "mainstream"}, "须填写学校名称"),
        ({"placement": "not_enrolled"}, "未入学须填写原因"),
        ({"placement": "abroad"}, "安置方式应为"),
    ],
)
def test_education_plan_validation(chengguan_user, kwargs, message):
    child = factories.certified_person(birth=date(2016, 4, 1)).person
    with pytest.raises(CaseworkError, match=message):
        casework.education_plan_save(chengguan_user, child, verified_on=days(1), **kwargs)


def test_school_age_children_are_aged_6_to_15_on_the_date(chengguan_user, hekou_user):
    on = date(2026, 9, 1)
    six = factories.certified_person(birth=date(2020, 9, 1), in_school="yes").person
    fifteen = factories.certified_person(birth=date(2010, 9, 2), in_school="no").person
    five = factories.certified_person(birth=date(2020, 9, 2)).person
    sixteen = factories.certified_person(birth=date(2010, 9, 1)).person
    factories.certified_person(birth=date(2012, 1, 1), township="河口镇")
    casework.education_plan_save(
        chengguan_user, fifteen, placement="home_teaching", verified_on=days(1)
    )
    rows = {p.pk: p for p in eligibility.school_age_children(chengguan_user, on)}
    assert set(rows) == {six.pk, fifteen.pk}
    assert (rows[six.pk].in_school, rows[six.pk].has_plan) == ("yes", False)
    assert (rows[fifteen.pk].in_school, rows[fifteen.pk].has_plan) == ("no", True)
    assert age_on(five.birth_date, on) == 5 and age_on(sixteen.birth_date, on) == 16
    assert eligibility.school_age_children(hekou_user, on).count() == 1


def test_age_between_agrees_with_age_on_for_leap_day_births():
    on = date(2027, 2, 28)
    condition_birth = date(2011, 3, 1)  # 15 on 2027-02-28
    bound = selectors_casework.years_before(on, 16)
    assert (condition_birth > bound) == (age_on(condition_birth, on) <= 15)
    leap = date(2024, 2, 29)
    assert selectors_casework.years_before(leap, 1) == date(2023, 2, 28)


# --- employment ---


def test_labour_profile_welfare_post_training_and_base(chengguan_user):
    person = factories.certified_person().person
    profile = casework.labour_profile_save(
        chengguan_user, person, ability="partial", willing=True, assessed_on=days(10)
    )
    assert profile.get_ability_display() == "弱劳动能力（半劳动力）"

    post = casework.welfare_post_place(
        chengguan_user,
        person,
        post="村级保洁员",
        employer="东关村委会",
        started_on=days(9),
        monthly_pay="800",
    )
    with pytest.raises(CaseworkError, match="请先办理离岗"):
        casework.welfare_post_place(
            chengguan_user, person, post="护林员", employer="林业站", started_on=days(1)
        )
    assert list(selectors_casework.welfare_posts(chengguan_user, on=today())) == [post]
    casework.welfare_post_end(chengguan_user, post, ended_on=days(1), reason="外出务工")
    with pytest.raises(TransitionError, match="已于"):
        casework.welfare_post_end(chengguan_user, post, ended_on=today(), reason="x")
    assert not selectors_casework.welfare_posts(chengguan_user, on=today()).exists()
    assert WelfarePostPlacement.objects.get().monthly_pay == Decimal("800.00")

    training = casework.training_add(
        chengguan_user,
        person,
        kind="practical",
        course="食用菌种植",
        organiser="县农业农村局",
        started_on=days(30),
        ended_on=days(25),
        certificate_obtained=True,
    )
    assert training.get_kind_display() == "实用技术培训"

    township = factories.township("城关镇")
    base = casework.employment_base_save(
        chengguan_user,
        name="东关蔬菜专业合作社",
        kind="cooperative",
        township=township,
        leader_name="张大户",
    )
    job = casework.base_employment_add(
        chengguan_user, base, person, job="分拣", started_on=days(5), monthly_income=1500
    )
    assert list(selectors_casework.base_employees(chengguan_user, base=base, on=today())) == [job]
    with pytest.raises(CaseworkError, match="已登记在"):
        casework.base_employment_add(chengguan_user, base, person, job="包装", started_on=days(1))


def test_township_staff_cannot_register_a_base_elsewhere(chengguan_user, hekou_user):
    base_in_hekou = {
        "name": "河口养殖基地",
        "kind": "base",
        "township": factories.township("河口镇"),
        "leader_name": "王",
    }
    with pytest.raises(Http404):
        casework.employment_base_save(chengguan_user, **base_in_hekou)
    base = casework.employment_base_save(hekou_user, **base_in_hekou)
    assert list(selectors_casework.employment_bases(hekou_user)) == [base]
    assert not selectors_casework.employment_bases(chengguan_user).exists()


# --- rehabilitation and care ---


def test_accessibility_modification_workflow(chengguan_user):
    person = factories.certified_person(grade=1).person
    mod = casework.accessibility_apply(chengguan_user, person, applied_on=days(60))
    with pytest.raises(CaseworkError, match="已有进行中的无障碍改造"):
        casework.accessibility_apply(chengguan_user, person, applied_on=days(50))
    with pytest.raises(TransitionError, match="当前进度为“申请”，不能变更为“施工”"):
        casework.accessibility_advance(chengguan_user, mod, "construction", on=days(40))
    with pytest.raises(CaseworkError, match="评估须填写评估意见"):
        casework.accessibility_advance(chengguan_user, mod, "assessed", on=days(50))
    mod = casework.accessibility_advance(
        chengguan_user,
        mod,
        "assessed",
        on=days(50),
        assessment="需加装扶手、坡道",
        items="卫生间扶手、入户坡道",
    )
    with pytest.raises(CaseworkError, match="施工单位不能为空"):
        casework.accessibility_advance(chengguan_user, mod, "construction", on=days(40))
    mod = casework.accessibility_advance(
        chengguan_user, mod, "construction", on=days(40), contractor="霍邱县某建筑公司"
    )
    with pytest.raises(TransitionError, match="允许的下一步：验收"):
        casework.accessibility_advance(chengguan_user, mod, "cancelled", on=days(30), reason="x")
    with pytest.raises(CaseworkError, match="请填写改造费用"):
        casework.accessibility_advance(chengguan_user, mod, "accepted", on=days(30))
    with pytest.raises(CaseworkError, match="不能早于上一步"):
        casework.accessibility_advance(chengguan_user, mod, "accepted", on=days(45), cost=3000)
    mod = casework.accessibility_advance(
        chengguan_user, mod, "accepted", on=days(30), cost="3,200.5"
    )
    assert (mod.status, mod.cost, mod.accepted_on) == ("accepted", Decimal("3200.50"), days(30))
    with pytest.raises(TransitionError, match="该改造已办结"):
        casework.accessibility_advance(chengguan_user, mod, "construction", on=days(1))
    updates = history(mod).filter(action="update").order_by("id")
    statuses = [r.changes.get("status") for r in updates]
    assert statuses == [
        ["applied", "assessed"],
        ["assessed", "construction"],
        ["construction", "accepted"],
    ]


def test_accessibility_cancel_needs_reason(chengguan_user):
    mod = casework.accessibility_apply(
        chengguan_user, factories.certified_person().person, applied_on=days(5)
    )
    with pytest.raises(CaseworkError, match="终止原因不能为空"):
        casework.accessibility_advance(chengguan_user, mod, "cancelled", on=days(1))
    mod = casework.accessibility_advance(
        chengguan_user, mod, "cancelled", on=days(1), reason="申请人已迁出"
    )
    assert (mod.status, mod.cancel_reason) == (
        AccessibilityModification.Status.CANCELLED,
        "申请人已迁出",
    )


def test_rehab_need_service_doctor_and_care(chengguan_user):
    person = factories.certified_person(category=6, grade=2).person
    need = casework.rehab_need_add(
        chengguan_user, person, kind="medical", identified_on=days(20), detail="精神科药物"
    )
    other = factories.certified_person().person
    service_for_need = {
        "service_type": "精神障碍药物治疗",
        "provider": "城关镇卫生院",
        "served_on": days(10),
        "need": need,
    }
    # The same service is refused for anyone but the person whose need it answers.
    with pytest.raises(CaseworkError, match="不是此人的"):
        casework.rehab_service_add(chengguan_user, other, **service_for_need)
    service = casework.rehab_service_add(chengguan_user, person, **service_for_need)
    assert service.recorded_by == chengguan_user
    assert list(selectors_casework.rehab_services(chengguan_user, year=days(10).year)) == [service]
    contract = casework.family_doctor_sign(
        chengguan_user,
        person,
        institution="城关镇卫生院",
        doctor="全科团队一组",
        signed_on=days(100),
        expires_on=days(100) + timedelta(days=365),
    )
    assert list(selectors_casework.family_doctor_contracts(chengguan_user, on=today())) == [
        contract
    ]
    care = casework.custodial_care_start(
        chengguan_user, person, mode="day", started_on=days(15), institution="城关阳光家园"
    )
    with pytest.raises(CaseworkError, match="请先结束原托养"):
        casework.custodial_care_start(chengguan_user, person, mode="home", started_on=days(1))
    casework.custodial_care_end(chengguan_user, care, ended_on=days(2), reason="转居家托养")
    assert casework.custodial_care_start(
        chengguan_user, person, mode="home", started_on=days(1)
    ).get_mode_display() == ("居家托养")
    closed = casework.rehab_need_close(chengguan_user, need, closed_on=days(1), reason="已满足")
    assert closed.closed_on == days(1)
    assert not selectors_casework.rehab_needs(chengguan_user, open_only=True).exists()


# --- pairing ---


def test_pairing_is_one_active_per_household(chengguan_user):
    household = factories.certified_person(household=True).household
    pairing = casework.pairing_start(
        chengguan_user,
        household,
        helper_name="赵书记",
        helper_kind="party_member",
        started_on=days(100),
    )
    with pytest.raises(CaseworkError, match="已有结对帮扶人（赵书记）"):
        casework.pairing_start(
            chengguan_user, household, helper_name="钱", helper_kind="cadre", started_on=days(1)
        )
    casework.pairing_end(chengguan_user, pairing, ended_on=days(5), reason="工作调动")
    second = casework.pairing_start(
        chengguan_user, household, helper_name="钱干部", helper_kind="cadre", started_on=days(4)
    )
    assert list(selectors_casework.pairings(chengguan_user, on=today())) == [second]
    assert Pairing.objects.get(pk=pairing.pk).end_reason == "工作调动"


def test_open_cases_without_pairing(chengguan_user):
    paired = factories.certified_person(household=True).household
    unpaired = factories.certified_person(household=True).household
    for household in (paired, unpaired):
        case = casework.case_open(chengguan_user, household, reason="x", opened_on=days(10))
        casework.case_include(
            chengguan_user, case, category="marginal", risk_types=["因病"], reason="y", on=days(9)
        )
    casework.pairing_start(
        chengguan_user, paired, helper_name="孙", helper_kind="cadre", started_on=days(8)
    )
    rows = selectors_casework.open_cases_without_pairing(chengguan_user)
    assert [c.household for c in rows] == [unpaired]


# --- publicity and grassroots ---


def test_story_association_and_committee_member(chengguan_user, hekou_user, village_user):
    township = factories.township("城关镇")
    village = factories.village("城关镇", "东关村")
    person = factories.certified_person().person
    story_fields = {
        "kind": "self_reliant",
        "name": person.name,
        "person": person,
        "title": "身残志坚养蜂致富",
        "story_text": "肢体残疾二级，发展养蜂三十箱，带动五户残疾人家庭增收。",
        "township": township,
        "village": village,
        "published_in": "霍邱融媒体中心",
        "published_on": days(3),
    }
    story = casework.story_save(chengguan_user, **story_fields)
    assert list(selectors_casework.stories(chengguan_user)) == [story]
    assert not selectors_casework.stories(hekou_user).exists()
    with pytest.raises(CaseworkError, match="事迹不能为空"):
        casework.story_save(chengguan_user, **{**story_fields, "story_text": " "})

    association = casework.association_save(
        chengguan_user, village, chair_name="周主席", member_count=35, established_on=days(400)
    )
    updated = casework.association_save(chengguan_user, village, chair_name="吴主席")
    assert updated.pk == association.pk and updated.chair_name == "吴主席"
    assert list(selectors_casework.village_associations(village_user)) == [association]

    member = casework.committee_member_save(
        chengguan_user,
        name="郑委员",
        level="village",
        township=township,
        village=village,
        account=village_user,
    )
    assert list(selectors_casework.committee_members(village_user)) == [member]
    with pytest.raises(CaseworkError, match="必须填写所在村"):
        casework.committee_member_save(
            chengguan_user, name="王", level="village", township=township
        )
    with pytest.raises(NotPermitted):
        casework.association_save(village_user, village, chair_name="x")


# --- every case-work model is scoped ---

CASEWORK_MODELS = [
    "MonitoringCase",
    "MonitoringCaseStep",
    "TrackingVisit",
    "LabourProfile",
    "WelfarePostPlacement",
    "Training",
    "EmploymentBase",
    "BaseEmployment",
    "RehabNeed",
    "FamilyDoctorContract",
    "AccessibilityModification",
    "CustodialCare",
    "ExemplaryStory",
    "VillageAssociation",
    "CommitteeMember",
]


@pytest.mark.parametrize("name", CASEWORK_MODELS)
def test_scope_paths_are_real_lookups(name, village_user, hekou_user):
    from django.apps import apps

    from cases.scope import scoped

    model = apps.get_model("cases", name)
    township_path, village_path = model.SCOPE_PATHS
    assert scoped(village_user, model.objects.all()).count() == 0
    assert scoped(hekou_user, model.objects.all()).count() == 0
    assert township_path and village_path
    assert str(model._meta.verbose_name) and model._meta.ordering
    assert {"created_at", "updated_at"} <= {f.name for f in model._meta.fields}


def test_a_visit_is_seen_only_in_its_scope(chengguan_user, hekou_user, village_user):
    household = factories.certified_person(household=True, village_name="西关村").household
    casework.visit_record(chengguan_user, household, visited_on=days(1))
    assert selectors_casework.visits(chengguan_user).count() == 1
    assert selectors_casework.visits(hekou_user).count() == 0
    assert selectors_casework.visits(village_user).count() == 0  # 东关村 member
