"""Admin of the task-area and benefit records: registered in Chinese, county admins only,
history on save, workflow statuses read-only, civil-affairs rows read-only."""

from datetime import date

import pytest
from django.contrib import admin
from django.urls import reverse

import cases.admin_taskareas  # noqa: F401  (registers; cases/admin.py imports it too)
import subsidies.admin_benefits  # noqa: F401
from cases import casework
from cases.models import ChangeRecord, MonitoringCase, TrackingVisit
from subsidies.models import BenefitRecord

from . import factories

pytestmark = pytest.mark.django_db

TASK_AREA_MODELS = [
    ("cases", "monitoringcase"),
    ("cases", "trackingvisit"),
    ("cases", "labourprofile"),
    ("cases", "welfarepostplacement"),
    ("cases", "training"),
    ("cases", "employmentbase"),
    ("cases", "baseemployment"),
    ("cases", "rehabneed"),
    ("cases", "familydoctorcontract"),
    ("cases", "accessibilitymodification"),
    ("cases", "custodialcare"),
    ("cases", "exemplarystory"),
    ("cases", "villageassociation"),
    ("cases", "committeemember"),
    ("cases", "educationplan"),
    ("cases", "rehabservice"),
    ("cases", "pairing"),
    ("cases", "assistancemeasure"),
    ("subsidies", "benefitrecord"),
    ("subsidies", "benefitapplication"),
]


def test_every_task_area_model_is_registered_with_chinese_names():
    registered = {(m._meta.app_label, m._meta.model_name): m for m in admin.site._registry}
    for key in TASK_AREA_MODELS:
        model = registered.get(key)
        assert model is not None, key
        name = str(model._meta.verbose_name)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in name), key


@pytest.mark.parametrize(("app", "model"), TASK_AREA_MODELS)
def test_changelists_render_for_county_admin_with_masked_ids(admin_client, app, model):
    survey = factories.certified_person(household=True)
    factories.BenefitRecordFactory(person=survey.person, benefit_type="care_subsidy")
    casework.visit_record(admin_client.user, survey.household, visited_on=date(2026, 5, 1))
    response = admin_client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 200
    assert survey.person.id_number not in response.content.decode()


def test_township_staff_cannot_open_the_admin(client, chengguan_user):
    chengguan_user.is_staff = True
    chengguan_user.save()
    client.force_login(chengguan_user)
    response = client.get(reverse("admin:cases_trackingvisit_changelist"))
    assert response.status_code == 302


def test_adding_a_visit_in_the_admin_records_history(admin_client):
    household = factories.certified_person(household=True).household
    response = admin_client.post(
        reverse("admin:cases_trackingvisit_add"),
        {
            "household": household.pk,
            "kind": "home",
            "visited_on": "2026-05-03",
            "visitor_name": "县残联王",
            "water": "problem",
            "next_due": "2026-06-03",
            "change_reason": "电话补录",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    visit = TrackingVisit.objects.get()
    assert visit.visitor == admin_client.user and visit.problems == ["饮水安全"]
    row = ChangeRecord.objects.get(model="cases.trackingvisit", object_id=str(visit.pk))
    assert (row.actor, row.reason, row.source) == (admin_client.user, "电话补录", "管理后台")


def test_workflow_records_are_read_only_in_the_admin(admin_client):
    household = factories.certified_person(household=True).household
    case = casework.case_open(admin_client.user, household, reason="x", opened_on=date(2026, 5, 1))
    url = reverse("admin:cases_monitoringcase_change", args=[case.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and "待核实" in page.content.decode()
    admin_client.post(url, {"status": "cleared"})
    assert MonitoringCase.objects.get(pk=case.pk).status == "pending"
    assert admin_client.get(reverse("admin:cases_monitoringcase_add")).status_code == 403


def test_civil_rows_are_read_only_and_manual_rows_editable(admin_client):
    person = factories.certified_person().person
    civil = factories.BenefitRecordFactory(person=person, origin=BenefitRecord.Origin.CIVIL)
    response = admin_client.post(
        reverse("admin:subsidies_benefitrecord_change", args=[civil.pk]),
        {"person": person.pk, "benefit_type": "dibao", "status": "stopped", "is_current": "on"},
    )
    assert response.status_code in (302, 403)
    civil.refresh_from_db()
    assert civil.status == "active"

    response = admin_client.post(
        reverse("admin:subsidies_benefitrecord_add"),
        {
            "person": person.pk,
            "benefit_type": "care_subsidy",
            "status": "active",
            "monthly_amount": "90",
            "is_current": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    manual = BenefitRecord.objects.get(benefit_type="care_subsidy")
    assert manual.origin == "manual" and manual.recorded_by == admin_client.user
    assert ChangeRecord.objects.filter(
        model="subsidies.benefitrecord", object_id=str(manual.pk), action="create"
    ).exists()
