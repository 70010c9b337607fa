"""Answering a finding with the record it asks for: one form, the record and 已处理 together."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import AssistanceMeasure, EducationPlan, Pairing, RehabService
from monitoring.models import Finding
from subsidies.models import BenefitApplication

from . import factories

pytestmark = pytest.mark.django_db


def finding(rule, *, township="河口镇", village="东风村", birth=None):
    person = factories.certified_person(
        township=township, village_name=village, household=True, birth=birth
    ).person
    return factories.FindingFactory(
        rule=rule,
        person=person,
        household=person.membership.household,
        opened_at=timezone.now() - timedelta(days=3),
        reason=f"{rule}测试原因",
    )


def act_url(found, action):
    return reverse("staff:finding_act", args=[found.pk, action])


def test_finding_page_offers_the_actions_that_fit_its_rule(client, hekou_user):
    client.force_login(hekou_user)
    r01 = finding("R01")
    html = client.get(reverse("staff:finding_detail", args=[r01.pk])).content.decode()
    assert 'data-testid="act-rehab-service"' in html
    assert 'data-testid="act-application"' not in html
    s01 = finding("S01")
    html = client.get(reverse("staff:finding_detail", args=[s01.pk])).content.decode()
    assert 'data-testid="act-application"' in html
    assert 'data-testid="act-rehab-service"' not in html


def test_r01_answered_by_a_rehab_service_marks_it_handled(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("R01")
    response = client.post(
        act_url(found, "rehab-service"),
        {"service_type": "康复训练", "provider": "县康复中心", "served_on": "2026-01-05"},
    )
    assert response.status_code == 302
    service = RehabService.objects.get(person=found.person)
    assert service.provider == "县康复中心"
    found.refresh_from_db()
    assert found.status == Finding.Status.HANDLED
    assert "康复训练" in found.action_taken


def test_bad_input_writes_nothing_and_leaves_the_finding_open(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("R01")
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(
        act_url(found, "rehab-service"),
        {"service_type": "", "provider": "县康复中心", "served_on": future},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "请填写服务内容" in html
    assert not RehabService.objects.filter(person=found.person).exists()
    found.refresh_from_db()
    assert found.status == Finding.Status.OPEN


def test_s01_opens_an_application_for_the_rules_benefit(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("S01")
    page = client.get(act_url(found, "application")).content.decode()
    assert 'value="care_subsidy" selected' in page
    response = client.post(
        act_url(found, "application"),
        {"benefit_type": "care_subsidy", "applied_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    application = BenefitApplication.objects.get(person=found.person)
    assert (application.source_rule, application.source_finding_id) == ("S01", found.pk)
    found.refresh_from_db()
    assert found.status == Finding.Status.HANDLED


@pytest.mark.parametrize(
    ("rule", "action", "data", "model"),
    [
        ("P01", "pairing", {"helper_name": "王党员", "helper_kind": "party_member"}, Pairing),
        (
            "Q01",
            "assistance",
            {"kind": "employment", "responsible_unit": "人社所", "description": "公益岗"},
            AssistanceMeasure,
        ),
    ],
)
def test_household_actions(client, hekou_user, rule, action, data, model):
    client.force_login(hekou_user)
    found = finding(rule)
    today = timezone.localdate().isoformat()
    response = client.post(act_url(found, action), data | {"started_on": today})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert model.objects.filter(household=found.household).count() == 1
    found.refresh_from_db()
    assert found.status == Finding.Status.HANDLED


def test_e01_records_the_plan(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("E01", birth=date(timezone.localdate().year - 9, 3, 1))
    response = client.post(
        act_url(found, "education-plan"),
        {"placement": "home_teaching", "verified_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert EducationPlan.objects.get(person=found.person).placement == "home_teaching"


def test_an_action_that_does_not_fit_the_rule_is_404(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("R01")
    assert client.get(act_url(found, "application")).status_code == 404
    assert client.get(act_url(found, "no-such-action")).status_code == 404


def test_scope_and_role(client, hekou_user, chengguan_user, viewer_user):
    found = finding("R01")
    client.force_login(chengguan_user)
    assert client.get(act_url(found, "rehab-service")).status_code == 404
    client.force_login(viewer_user)
    data = {"service_type": "康复训练", "provider": "县康复中心", "served_on": "2026-01-05"}
    assert client.post(act_url(found, "rehab-service"), data).status_code == 403
    assert not RehabService.objects.exists()


def test_a_finding_already_handled_is_refused_on_the_form(client, hekou_user):
    client.force_login(hekou_user)
    found = finding("R01")
    Finding.objects.filter(pk=found.pk).update(status=Finding.Status.HANDLED)
    response = client.post(
        act_url(found, "rehab-service"),
        {"service_type": "康复训练", "provider": "县康复中心", "served_on": "2026-01-05"},
    )
    assert response.status_code == 400
    assert "只有待处理的发现才能处理" in response.content.decode()
    assert not RehabService.objects.exists()
