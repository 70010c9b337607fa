"""`manage.py crosscheck [--as-of YYYY-MM-DD] [--json]` (docs/CROSSCHECK.md)."""

import contextlib
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import ManagementUtility, call_command

from monitoring import crosscheck
from monitoring.models import CrosscheckRun
from subsidies.models import PolicyYear
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_test_connection(monkeypatch):
    # run_from_argv closes every connection when a command ends: keep the test's one open.
    from django.core.management import base

    monkeypatch.setattr(base.connections, "close_all", lambda: None)


def run_cli(*args) -> tuple[int, str, str]:
    """Run like `python manage.py ...` in this process; returns (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            ManagementUtility(["manage.py", *args]).execute()
            code = 0
        except SystemExit as exit_:
            code = exit_.code or 0
    return code, out.getvalue(), err.getvalue()


def test_json_output_has_the_spec_shape():
    f.certified_person(income_per_capita=Decimal(3000), medical_insured=False)
    code, out, _ = run_cli("crosscheck", "--as-of", "2026-06-30", "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"run", "as_of", "new", "still_open", "cleared", "by_rule"}
    assert result["as_of"] == "2026-06-30"
    assert result["run"] == CrosscheckRun.objects.get().pk
    assert (result["new"], result["still_open"], result["cleared"]) == (2, 0, 0)
    assert result["by_rule"]["M01"] == {"new": 1, "still_open": 0, "cleared": 0, "reopened": 0}
    assert result["by_rule"]["S05"]["new"] == 1
    assert sum(counts["new"] for counts in result["by_rule"].values()) == 2

    code, out, _ = run_cli("crosscheck", "--as-of", "2026-06-30", "--json")
    assert json.loads(out)["still_open"] == 2


def test_human_output_and_default_as_of_is_today():
    from django.utils import timezone

    f.certified_person(income_per_capita=Decimal(3000))
    out = StringIO()
    call_command("crosscheck", stdout=out)
    assert "新增1" in out.getvalue() and "M01 应纳未纳·收入低于监测线：新增1" in out.getvalue()
    assert CrosscheckRun.objects.get().as_of == timezone.localdate()


def test_missing_policy_exits_non_zero_with_one_line_chinese_and_english_reason():
    PolicyYear.objects.filter(year=2026).delete()
    code, _, err = run_cli("crosscheck", "--as-of", "2026-06-30")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "2026年度政策参数未设置" in lines[0] and "no policy parameters for 2026" in lines[0]


def test_lock_held_exits_non_zero():
    token = crosscheck.acquire_lock()
    try:
        code, _, err = run_cli("crosscheck", "--as-of", "2026-06-30")
    finally:
        crosscheck.release_lock(token)
    assert code == 1
    assert "另一次比对正在运行" in err and "another cross-check is running" in err
    assert len(err.strip().splitlines()) == 1


def test_bad_date_is_refused():
    code, _, err = run_cli("crosscheck", "--as-of", "2026/06/30")
    assert code != 0
    assert "日期应为YYYY-MM-DD格式" in err
    assert not CrosscheckRun.objects.exists()
