"""County admin pages: cross-check runs (history, counts by rule, run now) and policy parameters."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from cases.models import AuditEvent, ChangeRecord
from monitoring.models import CrosscheckRun, Finding
from subsidies.models import PolicyYear

from . import factories
from .policy_checks import RAISED_2026, assert_monitoring_line_raised

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("user_fixture", ["hekou_user", "viewer_user", "village_user"])
def test_admin_pages_are_for_county_admins_only(client, request, user_fixture):
    run = factories.CrosscheckRunFactory()
    client.force_login(request.getfixturevalue(user_fixture))
    policy = PolicyYear.objects.get(year=2026)
    for target in (
        reverse("staff:run_list"),
        reverse("staff:run_detail", args=[run.pk]),
        reverse("staff:policy_list"),
        reverse("staff:policy_edit", args=[policy.pk]),
    ):
        assert client.get(target).status_code == 403, target
    assert client.post(reverse("staff:run_start")).status_code == 403
    response = client.post(
        reverse("staff:policy_edit", args=[policy.pk]),
        {"monitoring_line": "9000", "reason": "x"},
    )
    assert response.status_code == 403
    assert CrosscheckRun.objects.count() == 1
    policy.refresh_from_db()
    assert policy.monitoring_line == Decimal("7000")


def test_admin_navigation_links_imports_runs_and_policy(client, county_admin):
    client.force_login(county_admin)
    html = client.get(reverse("staff:dashboard")).content.decode()
    for name in ("staff:import_list", "staff:run_list", "staff:policy_list"):
        assert f'href="{reverse(name)}"' in html
    assert client.get(reverse("staff:import_list")).status_code == 200


def test_run_history_and_counts_by_rule(client, admin_user):
    run = factories.CrosscheckRunFactory(
        new=3,
        still_open=5,
        cleared=2,
        by_rule={
            "M01": {"new": 2, "still_open": 1, "cleared": 0, "reopened": 0},
            "S05": {"new": 1},
        },
        message="2026年度政策参数为系统默认值，尚待县残联确认",
    )
    failed = factories.CrosscheckRunFactory(
        status=CrosscheckRun.Status.FAILED, message="数据库中断"
    )
    client.force_login(admin_user)
    html = client.get(reverse("staff:run_list")).content.decode()
    assert f"比对#{run.pk}" in html and f"比对#{failed.pk}" in html
    assert html.index(f"比对#{failed.pk}") < html.index(f"比对#{run.pk}")  # newest first
    assert "数据库中断" in html and "尚待县残联确认" in html
    detail = client.get(reverse("staff:run_detail", args=[run.pk])).content.decode()
    rows = dict(re.findall(r'<tr data-rule="([A-Z]\d\d)">\s*<td[^>]*>([^<]+)</td>', detail))
    assert rows == {"M01": "M01 应纳未纳·收入低于监测线", "S05": "S05 应保未保·基本医疗保险"}
    assert re.search(r'data-rule="M01">.*?新增">2<.*?仍存在">1<', detail, re.S)
    assert client.get(reverse("staff:run_detail", args=[999999])).status_code == 404


def test_run_now_queues_the_cross_check_on_commit(
    client, admin_user, django_capture_on_commit_callbacks
):
    person = factories.certified_person(
        township="河口镇", village_name="东风村", medical_insured=False
    ).person
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("staff:run_start"))
    assert response.status_code == 302 and response["Location"] == reverse("staff:run_list")
    assert len(callbacks) == 1
    assert not CrosscheckRun.objects.exists()  # nothing runs before the commit
    callbacks[0]()  # the commit: eager Celery runs the task in-process
    run = CrosscheckRun.objects.get()
    assert run.status == "done" and run.triggered_by == admin_user
    assert Finding.objects.filter(person=person, rule="S05").exists()
    assert AuditEvent.objects.filter(action="crosscheck", username=admin_user.username).exists()
    page = client.get(reverse("staff:run_list")).content.decode()
    assert f"比对#{run.pk}" in page


def test_run_now_while_a_run_is_running_does_nothing(
    client, admin_user, django_capture_on_commit_callbacks
):
    factories.CrosscheckRunFactory(status=CrosscheckRun.Status.RUNNING)
    client.force_login(admin_user)
    html = client.get(reverse("staff:run_list")).content.decode()
    assert 'data-testid="run-start" disabled' in html
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("staff:run_start"), follow=True)
    assert callbacks == []
    assert "已有一次比对正在运行" in response.content.decode()
    assert CrosscheckRun.objects.count() == 1


def test_run_start_is_post_only(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("staff:run_start")).status_code == 405


def test_policy_list_shows_every_year_and_which_are_defaults(client, admin_user):
    client.force_login(admin_user)
    html = client.get(reverse("staff:policy_list")).content.decode()
    years = re.findall(r'data-year="(\d{4})"', html)
    assert years == [str(year) for year in range(2030, 2020, -1)]
    assert html.count("系统默认值，待确认") == 10


def test_policy_edit_calls_policy_set_with_the_reason_and_shows_history(client, admin_user):
    policy = PolicyYear.objects.get(year=2026)
    client.force_login(admin_user)
    target = reverse("staff:policy_edit", args=[policy.pk])
    page = client.get(target).content.decode()
    assert 'value="7000.00"' in page and "还没有修改记录" in page
    data = {**RAISED_2026, "dibao_standard_monthly": "720", "reason": "县政府2026年文件"}
    response = client.post(target, data)
    assert response.status_code == 302
    assert_monitoring_line_raised(client, target, policy, admin_user, "县政府2026年文件")
    assert policy.dibao_standard_monthly == Decimal("720")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"reason": ""}, "请填写修改原因"),
        ({"monitoring_line": ""}, "请填写防返贫监测收入线（元）"),
        ({"monitoring_line": "-1"}, "防返贫监测收入线（元）不能为负数"),
        ({"monitoring_line": "0"}, "防返贫监测收入线应大于0"),
        ({"rigid_expenditure_threshold": "两万"}, "大额刚性支出阈值（元）应为金额"),
    ],
)
def test_policy_edit_validation_in_chinese(client, admin_user, overrides, message):
    policy = PolicyYear.objects.get(year=2027)
    client.force_login(admin_user)
    data = {
        "monitoring_line": "7000",
        "rigid_expenditure_threshold": "20000",
        "pension_contribution_tier": "200",
        "reason": "调整",
    }
    data.update(overrides)
    response = client.post(reverse("staff:policy_edit", args=[policy.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    policy.refresh_from_db()
    assert policy.is_default is True


def test_policy_pages_are_audited(client, admin_user):
    client.force_login(admin_user)
    client.get(reverse("staff:policy_list"))
    assert AuditEvent.objects.filter(action="list", target_label="subsidies.policyyear").exists()


def test_policy_create_makes_a_new_year_with_history(client, admin_user):
    client.force_login(admin_user)
    target = reverse("staff:policy_create")
    assert client.get(target).status_code == 200
    data = {
        "year": "2031",
        "monitoring_line": "7900",
        "rigid_expenditure_threshold": "20000",
        "pension_contribution_tier": "200",
        "reason": "县政府2031年文件",
    }
    response = client.post(target, data)
    policy = PolicyYear.objects.get(year=2031)
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:policy_edit", args=[policy.pk])
    assert policy.monitoring_line == Decimal("7900") and policy.is_default is False
    record = ChangeRecord.objects.get(model="subsidies.policyyear", object_id=str(policy.pk))
    assert record.action == "create" and record.reason == "县政府2031年文件"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"year": "2026"}, "2026年度已有政策参数，请在列表中修改"),
        ({"year": "1999"}, "2000"),
        ({"monitoring_line": ""}, "请填写防返贫监测收入线（元）"),
    ],
)
def test_policy_create_refuses_in_chinese(client, admin_user, overrides, message):
    client.force_login(admin_user)
    data = {
        "year": "2032",
        "monitoring_line": "7000",
        "rigid_expenditure_threshold": "20000",
        "pension_contribution_tier": "200",
        "reason": "新年度",
    }
    data.update(overrides)
    before = PolicyYear.objects.count()
    response = client.post(reverse("staff:policy_create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert PolicyYear.objects.count() == before


@pytest.mark.parametrize("user_fixture", ["hekou_user", "viewer_user", "village_user"])
def test_policy_create_is_for_county_admins_only(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.post(reverse("staff:policy_create"), {"year": "2033"})
    assert response.status_code == 403
    assert not PolicyYear.objects.filter(year=2033).exists()
