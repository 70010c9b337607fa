"""Admin for findings, runs, events (monitoring) and policy years (subsidies)."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from cases.models import ChangeRecord
from monitoring.crosscheck import run_crosscheck
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from subsidies.models import PolicyYear
from tests import factories as f
from tests.policy_checks import RAISED_2026, assert_monitoring_line_raised

pytestmark = pytest.mark.django_db


@pytest.fixture
def findings():
    records = [
        f.certified_person(income_per_capita=Decimal(3000)),
        f.certified_person(township="河口镇", income_per_capita=Decimal(3500)),
    ]
    run_crosscheck(date(2026, 6, 30))
    return records


def test_models_registered_here_and_import_models_left_to_the_import_ui():
    from monitoring.admin import CrosscheckRunAdmin, FindingAdmin, FindingEventAdmin

    assert isinstance(admin.site._registry[Finding], FindingAdmin)
    assert isinstance(admin.site._registry[CrosscheckRun], CrosscheckRunAdmin)
    assert isinstance(admin.site._registry[FindingEvent], FindingEventAdmin)
    assert admin.site._registry[PolicyYear].__class__.__module__ == "subsidies.admin"


def test_finding_list_masks_ids_filters_and_searches(admin_client, findings):
    url = reverse("admin:monitoring_finding_changelist")
    page = admin_client.get(url).content.decode()
    full = findings[0].person.id_number
    assert full not in page and f"{full[:6]}********{full[-4:]}" in page
    assert "应纳未纳·收入低于监测线" in page
    assert admin_client.get(url, {"rule": "M01"}).context["cl"].result_count == 2
    assert admin_client.get(url, {"rule": "S05"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"status__exact": "open"}).context["cl"].result_count == 2
    hekou = f.township("河口镇").pk
    assert admin_client.get(url, {"township__id__exact": hekou}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": full}).context["cl"].result_count == 1


def test_finding_page_is_read_only_with_full_id_explanation_and_events(admin_client, findings):
    finding = Finding.objects.get(person=findings[0].person)
    response = admin_client.get(reverse("admin:monitoring_finding_change", args=[finding.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert findings[0].person.id_number in page
    assert "Survey income per person" in page  # the rule's explanation
    assert "比对发现" in page  # the creation event
    assert 'name="_save"' not in page
    assert admin_client.get(reverse("admin:monitoring_finding_add")).status_code == 403


def test_handle_action_asks_for_the_action_then_calls_the_service(admin_client, findings):
    url = reverse("admin:monitoring_finding_changelist")
    ids = [str(pk) for pk in Finding.objects.values_list("pk", flat=True)]
    post = {"action": "mark_handled", "_selected_action": ids}
    page = admin_client.post(url, post)
    assert page.status_code == 200 and "处理措施" in page.content.decode()
    assert not Finding.objects.filter(status="handled").exists()
    # an empty text is refused by the form
    admin_client.post(url, {**post, "apply": "1", "text": ""})
    assert not Finding.objects.filter(status="handled").exists()
    response = admin_client.post(url, {**post, "apply": "1", "text": "已上报纳入监测"}, follow=True)
    assert "标记为已处理：2条" in response.content.decode()
    assert Finding.objects.filter(status="handled", action_taken="已上报纳入监测").count() == 2
    assert FindingEvent.objects.filter(to_status="handled", actor=admin_client.user).count() == 2


def test_dismiss_action(admin_client, findings):
    url = reverse("admin:monitoring_finding_changelist")
    finding = Finding.objects.first()
    admin_client.post(
        url,
        {
            "action": "mark_dismissed",
            "_selected_action": [finding.pk],
            "apply": "1",
            "text": "户籍已迁出",
        },
    )
    finding.refresh_from_db()
    assert finding.status == "dismissed" and finding.dismiss_reason == "户籍已迁出"


def test_runs_and_events_are_read_only(admin_client, findings):
    run = CrosscheckRun.objects.get()
    assert admin_client.get(reverse("admin:monitoring_crosscheckrun_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:monitoring_crosscheckrun_change", args=[run.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.get(reverse("admin:monitoring_crosscheckrun_add")).status_code == 403
    assert admin_client.get(reverse("admin:monitoring_findingevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:monitoring_findingevent_add")).status_code == 403


def test_township_staff_do_not_reach_the_admin(client, chengguan_user, findings):
    client.force_login(chengguan_user)
    response = client.get(reverse("admin:monitoring_finding_changelist"))
    assert response.status_code == 302


def test_policy_year_saves_through_the_service_with_history(admin_client):
    policy = PolicyYear.objects.get(year=2026)
    url = reverse("admin:subsidies_policyyear_change", args=[policy.pk])
    page = admin_client.get(url).content.decode()
    assert "暂无修改记录" in page
    data = {
        **RAISED_2026,
        "care_subsidy_includes_grade3_mental": "on",
        "dibao_standard_monthly": "",
        "living_subsidy_monthly": "90",
        "care_subsidy_monthly": "",
        "change_reason": "依据县政府文件",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert_monitoring_line_raised(admin_client, url, policy, admin_client.user, "依据县政府文件")
    assert policy.care_subsidy_includes_grade3_mental is True


def test_policy_year_add_and_refusals(admin_client):
    add = reverse("admin:subsidies_policyyear_add")
    data = {
        "year": "2031",
        "monitoring_line": "0",
        "rigid_expenditure_threshold": "20000",
        "pension_contribution_tier": "200",
        "visit_due_days": "30",
    }
    response = admin_client.post(add, data)
    assert response.status_code == 200 and not PolicyYear.objects.filter(year=2031).exists()
    response = admin_client.post(add, {**data, "monitoring_line": "8000"})
    assert response.status_code == 302
    created = PolicyYear.objects.get(year=2031)
    assert created.monitoring_line == Decimal("8000") and not created.is_default
    assert ChangeRecord.objects.get(object_id=str(created.pk), model="subsidies.policyyear")
    delete = reverse("admin:subsidies_policyyear_delete", args=[created.pk])
    assert admin_client.get(delete).status_code == 403
