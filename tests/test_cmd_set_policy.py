"""`manage.py set_policy --year Y [...]` and the policy selector/service behind it."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cases.models import ChangeRecord
from subsidies.models import PolicyYear
from subsidies.policy import PolicyError, PolicyMissing, policy_for_year, policy_set
from tests import factories as f

pytestmark = pytest.mark.django_db


def history(year: int):
    policy = PolicyYear.objects.get(year=year)
    return ChangeRecord.objects.filter(model="subsidies.policyyear", object_id=str(policy.pk))


def test_set_policy_changes_values_records_history_and_confirms_the_year():
    out = StringIO()
    call_command(
        "set_policy",
        "--year",
        "2026",
        "--monitoring-line",
        "7,500",
        "--rigid-threshold",
        "25000",
        "--care-grade3-mental",
        "yes",
        "--dibao-standard",
        "720",
        "--living-subsidy",
        "90",
        "--care-subsidy",
        "90",
        "--pension-tier",
        "200",
        "--reason",
        "县政府2026年文件",
        stdout=out,
    )
    policy = PolicyYear.objects.get(year=2026)
    assert policy.monitoring_line == Decimal("7500")
    assert policy.rigid_expenditure_threshold == Decimal("25000")
    assert policy.care_subsidy_includes_grade3_mental is True
    assert policy.dibao_standard_monthly == Decimal("720")
    assert policy.living_subsidy_monthly == policy.care_subsidy_monthly == Decimal("90")
    assert policy.is_default is False
    record = history(2026).get()
    assert record.action == "update" and record.reason == "县政府2026年文件"
    assert record.changes["monitoring_line"] == ["7000.00", "7500.00"]
    assert record.changes["is_default"] == [True, False]
    assert "pension_contribution_tier" not in record.changes  # unchanged
    assert "已设置2026年度政策参数" in out.getvalue() and "7,500元" in out.getvalue()


def test_set_policy_creates_a_new_year_only_with_a_monitoring_line():
    with pytest.raises(CommandError, match="新建时必须设置防返贫监测收入线"):
        call_command("set_policy", "--year", "2031", "--rigid-threshold", "20000")
    call_command("set_policy", "--year", "2031", "--monitoring-line", "8000", stdout=StringIO())
    policy = policy_for_year(2031)
    assert policy.monitoring_line == Decimal("8000") and not policy.is_default
    assert history(2031).get().action == "create"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--monitoring-line", "abc"], "应为金额"),
        (["--monitoring-line", "0"], "应为大于0的金额"),
        (["--rigid-threshold", "-5"], "应为大于0的金额"),
        ([], "请至少指定一个参数"),
    ],
)
def test_set_policy_refuses_bad_values_with_chinese_and_english(args, message):
    with pytest.raises(CommandError, match=message) as error:
        call_command("set_policy", "--year", "2026", *args)
    assert " / " in str(error.value)
    assert PolicyYear.objects.get(year=2026).is_default is True
    assert not ChangeRecord.objects.filter(model="subsidies.policyyear").exists()


def test_policy_for_year_raises_a_clear_error_naming_the_year():
    with pytest.raises(PolicyMissing) as error:
        policy_for_year(2035)
    assert error.value.year == 2035
    assert "2035年度政策参数未设置" in str(error.value)
    assert policy_for_year(2026).monitoring_line == Decimal("7000")


def test_policy_set_with_unchanged_values_only_confirms_once(admin_user):
    policy_set(2027, actor=admin_user, monitoring_line=7000)
    assert history(2027).get().changes == {"is_default": [True, False]}
    assert history(2027).get().actor == admin_user
    policy_set(2027, actor=admin_user, monitoring_line="7000")
    assert history(2027).count() == 1


def test_policy_set_refuses_unknown_fields_and_bad_years():
    with pytest.raises(PolicyError, match="未知的政策参数"):
        policy_set(2026, monitoring_income=1)
    with pytest.raises(PolicyError, match="年度应为"):
        policy_set(1999, monitoring_line=7000)
    with pytest.raises(PolicyError, match="应为是或否"):
        policy_set(2026, care_subsidy_includes_grade3_mental="yes")


def test_crosscheck_uses_the_new_line_at_once():
    from monitoring.crosscheck import run_crosscheck
    from monitoring.models import Finding

    f.certified_person(income_per_capita=Decimal(7200))
    run_crosscheck(date(2026, 6, 30))
    assert not Finding.objects.exists()
    call_command("set_policy", "--year", "2026", "--monitoring-line", "7500", stdout=StringIO())
    run_crosscheck(date(2026, 6, 30))
    assert "7,500元" in Finding.objects.get(rule="M01").reason
