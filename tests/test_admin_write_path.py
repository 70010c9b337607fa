"""The Django admin of the task-area and benefit records saves through the same services as
the staff pages: a refusal shows the service's Chinese message and saves nothing, and what
has no service is read-only."""

from datetime import date
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from cases import casework
from cases.models import (
    AccessibilityModification,
    ChangeRecord,
    CustodialCare,
    EducationPlan,
    Household,
    Pairing,
    WelfarePostPlacement,
)
from subsidies import services as benefit_services
from subsidies.models import BenefitApplication

from . import factories

pytestmark = pytest.mark.django_db

CASES = Path(__file__).resolve().parent.parent / "cases"


@pytest.fixture
def person():
    return factories.certified_person(household=True, name="张德明").person


def errors_of(response) -> str:
    """Every error message on the admin form as rendered (field and non-field)."""
    form = response.context["adminform"].form
    return " ".join(str(message) for messages in form.errors.values() for message in messages)


def test_the_registering_modules_do_not_import_each_other():
    """Shared admin classes live in cases/admin_base.py, so there is no import cycle."""
    for name in ("admin_taskareas", "admin_audit", "admin_base"):
        text = (CASES / f"{name}.py").read_text(encoding="utf-8")
        assert "from .admin import" not in text, name
        assert "from . import admin\n" not in text, name


# --- refusals carry the service's message ---


def test_a_second_welfare_post_is_refused_with_the_services_message(admin_client, person):
    casework.welfare_post_place(
        admin_client.user, person, post="保洁", employer="村委", started_on=date(2026, 1, 1)
    )
    response = admin_client.post(
        reverse("admin:cases_welfarepostplacement_add"),
        {"person": person.pk, "post": "护林", "employer": "林站", "started_on": "2026-05-01"},
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["person"] == ["张德明已在公益性岗位“保洁”上岗，请先办理离岗"]
    assert WelfarePostPlacement.objects.count() == 1
    assert not LogEntry.objects.exists()


def test_a_second_custodial_care_is_refused(admin_client, person):
    casework.custodial_care_start(
        admin_client.user, person, mode="home", started_on=date(2026, 1, 1)
    )
    response = admin_client.post(
        reverse("admin:cases_custodialcare_add"),
        {"person": person.pk, "mode": "day", "started_on": "2026-05-01"},
    )
    assert response.status_code == 200
    assert "张德明正在接受居家托养，请先结束原托养" in errors_of(response)
    assert CustodialCare.objects.count() == 1


def test_a_second_open_pairing_is_refused(admin_client, person):
    household = Household.objects.get(head=person)
    casework.pairing_start(
        admin_client.user,
        household,
        helper_name="王书记",
        helper_kind="cadre",
        started_on=date(2026, 1, 1),
    )
    response = admin_client.post(
        reverse("admin:cases_pairing_add"),
        {
            "household": household.pk,
            "helper_name": "李干部",
            "helper_kind": "party_member",
            "started_on": "2026-05-01",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["household"] == [
        "该家庭已有结对帮扶人（王书记），请先结束原结对"
    ]
    assert Pairing.objects.count() == 1


def test_an_education_plan_needs_the_services_rules(admin_client, person):
    response = admin_client.post(
        reverse("admin:cases_educationplan_add"),
        {"person": person.pk, "placement": "not_enrolled", "verified_on": "2026-05-01"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["not_enrolled_reason"] == ["未入学须填写原因"]
    assert not EducationPlan.objects.exists()


def test_accessibility_steps_follow_the_service(admin_client, person):
    mod = casework.accessibility_apply(admin_client.user, person, applied_on=date(2026, 3, 1))
    url = reverse("admin:cases_accessibilitymodification_change", args=[mod.pk])
    page = admin_client.get(url)
    choices = dict(page.context["adminform"].form.fields["to_status"].choices)
    assert set(choices) == {"assessed", "cancelled"}  # only the allowed next steps
    # A date before the previous step: the service's message, nothing saved.
    response = admin_client.post(
        url, {"to_status": "assessed", "on": "2026-02-01", "assessment": "需改造"}
    )
    assert response.status_code == 200
    assert "办理日期不能早于上一步的日期（2026-03-01）" in errors_of(response)
    assert AccessibilityModification.objects.get(pk=mod.pk).status == "applied"
    # Assessment without an opinion.
    response = admin_client.post(url, {"to_status": "assessed", "on": "2026-03-05"})
    assert response.context["adminform"].form.errors["assessment"] == ["评估须填写评估意见"]
    # A valid step, recorded with the admin as its source and the typed reason.
    response = admin_client.post(
        url,
        {
            "to_status": "assessed",
            "on": "2026-03-05",
            "assessment": "需加装扶手",
            "change_reason": "现场评估",
        },
    )
    assert response.status_code == 302, errors_of(response)
    mod.refresh_from_db()
    assert (mod.status, mod.assessed_on) == ("assessed", date(2026, 3, 5))
    row = ChangeRecord.objects.filter(
        model="cases.accessibilitymodification", object_id=str(mod.pk)
    ).latest("id")
    assert (row.source, row.reason, row.actor) == ("管理后台", "现场评估", admin_client.user)


def test_ending_a_welfare_post_goes_through_the_service(admin_client, person):
    placement = casework.welfare_post_place(
        admin_client.user, person, post="保洁", employer="村委", started_on=date(2026, 3, 1)
    )
    url = reverse("admin:cases_welfarepostplacement_change", args=[placement.pk])
    response = admin_client.post(url, {"ended_on": "2026-02-01", "change_reason": "合同到期"})
    assert "结束日期不能早于开始日期" in errors_of(response)
    response = admin_client.post(url, {"ended_on": "2026-06-01"})
    assert response.context["adminform"].form.errors["change_reason"] == ["结束原因不能为空"]
    placement.refresh_from_db()
    assert placement.ended_on is None
    response = admin_client.post(url, {"ended_on": "2026-06-01", "change_reason": "合同到期"})
    assert response.status_code == 302
    placement.refresh_from_db()
    assert placement.ended_on == date(2026, 6, 1)
    # Once ended the record is view-only.
    assert admin_client.post(url, {"ended_on": "2026-07-01"}).status_code == 403


def test_a_benefit_application_is_created_through_the_service(admin_client, person):
    factories.BenefitRecordFactory(person=person, benefit_type="care_subsidy")
    response = admin_client.post(
        reverse("admin:subsidies_benefitapplication_add"),
        {"person": person.pk, "benefit_type": "care_subsidy", "applied_on": "2026-05-01"},
    )
    assert response.status_code == 200
    assert "张德明已在享受重度残疾人护理补贴，无需申请" in errors_of(response)
    assert not BenefitApplication.objects.exists()


# --- read-only where no service exists ---


def test_records_without_an_update_service_are_view_only(admin_client, person):
    training = casework.training_add(
        admin_client.user,
        person,
        kind="practical",
        course="种植",
        organiser="农技站",
        started_on=date(2026, 4, 1),
    )
    url = reverse("admin:cases_training_change", args=[training.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    response = admin_client.post(url, {"course": "养殖"})
    assert response.status_code == 403
    training.refresh_from_db()
    assert training.course == "种植"


def test_nothing_is_deleted_through_the_admin(admin_client, person):
    placement = casework.welfare_post_place(
        admin_client.user, person, post="保洁", employer="村委", started_on=date(2026, 3, 1)
    )
    url = reverse("admin:cases_welfarepostplacement_delete", args=[placement.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert WelfarePostPlacement.objects.filter(pk=placement.pk).exists()


def test_applications_are_decided_on_the_staff_pages_not_here(admin_client, person):
    application = benefit_services.benefit_application_create(
        admin_client.user, person, benefit_type="dibao", applied_on=date(2026, 5, 1)
    )
    url = reverse("admin:subsidies_benefitapplication_change", args=[application.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"note": "改"}).status_code == 403
    application.refresh_from_db()
    assert application.status == "applying" and application.note == ""


def test_every_add_and_change_page_renders(admin_client, person):
    user = admin_client.user
    household = Household.objects.get(head=person)
    village = person.village
    base = casework.employment_base_save(
        user, name="光伏基地", kind="base", township=village.township, leader_name="刘"
    )
    mod = casework.accessibility_apply(user, person, applied_on=date(2026, 3, 1))
    done = casework.accessibility_apply(
        factories.user_with_role("county_admin"),
        factories.certified_person().person,
        applied_on=date(2026, 3, 1),
    )
    casework.accessibility_advance(user, done, "cancelled", on=date(2026, 3, 2), reason="放弃")
    records = [
        casework.visit_record(user, household, visited_on=date(2026, 5, 1)),
        casework.assistance_add(
            user, household, kind="health", responsible_unit="镇卫生院", started_on=date(2026, 5, 1)
        ),
        casework.pairing_start(
            user, household, helper_name="王", helper_kind="cadre", started_on=date(2026, 5, 1)
        ),
        casework.education_plan_save(  # 一人一案 is for children aged 3–17
            user,
            factories.certified_person(birth=date(2016, 4, 1)).person,
            placement="home_teaching",
            verified_on=date(2026, 5, 1),
        ),
        casework.labour_profile_save(
            user, person, ability="full", willing=True, assessed_on=date(2026, 5, 1)
        ),
        casework.welfare_post_place(
            user, person, post="保洁", employer="村委", started_on=date(2026, 5, 1)
        ),
        casework.training_add(
            user,
            person,
            kind="practical",
            course="种植",
            organiser="站",
            started_on=date(2026, 5, 1),
        ),
        base,
        casework.base_employment_add(user, base, person, job="分拣", started_on=date(2026, 5, 1)),
        casework.rehab_need_add(user, person, kind="device", identified_on=date(2026, 5, 1)),
        casework.rehab_service_add(
            user, person, service_type="康复训练", provider="院", served_on=date(2026, 5, 1)
        ),
        casework.family_doctor_sign(
            user, person, institution="卫生院", doctor="李", signed_on=date(2026, 5, 1)
        ),
        mod,
        done,
        casework.custodial_care_start(user, person, mode="home", started_on=date(2026, 5, 1)),
        casework.story_save(
            user,
            kind="self_reliant",
            name="张",
            title="自强",
            story_text="事迹",
            township=village.township,
        ),
        casework.association_save(user, village, chair_name="赵"),
        casework.committee_member_save(
            user, name="钱", level="village", township=village.township, village=village
        ),
        factories.BenefitRecordFactory(person=person, benefit_type="dibao", origin="manual"),
        benefit_services.benefit_application_create(
            user, person, benefit_type="care_subsidy", applied_on=date(2026, 5, 1)
        ),
    ]
    for record in records:
        meta = record._meta
        name = f"admin:{meta.app_label}_{meta.model_name}"
        change = admin_client.get(reverse(f"{name}_change", args=[record.pk]))
        assert change.status_code == 200, meta.model_name
        add = admin_client.get(reverse(f"{name}_add"))
        assert add.status_code in (200, 403), meta.model_name
