"""Every cross-check run records how it started: 定时任务, 命令行 (with the OS user) or the
staff member who pressed 立即比对 — on the run record, the runs pages, the admin and the audit."""

import getpass
from datetime import date
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from cases.models import AuditEvent
from monitoring import crosscheck, tasks
from monitoring.models import CrosscheckRun
from tests import factories as f

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _some_data():
    f.certified_person(income_per_capita=Decimal(3000))


def test_the_command_is_labelled_command_line_with_the_os_user(monkeypatch):
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "zhangwei")
    call_command("crosscheck", "--as-of", AS_OF.isoformat(), "--json")
    run = CrosscheckRun.objects.get()
    assert run.trigger == CrosscheckRun.Trigger.COMMAND
    assert run.os_user == "zhangwei" and run.triggered_by is None
    assert run.started_by_label == "命令行（zhangwei）"
    event = AuditEvent.objects.get(action="crosscheck", target_id=str(run.pk))
    assert event.details["trigger"] == "command"
    assert event.details["started_by"] == "命令行（zhangwei）"


def test_under_sudo_the_command_names_the_person_not_root(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "liping")
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    call_command("crosscheck", "--as-of", AS_OF.isoformat(), "--json")
    assert CrosscheckRun.objects.get().os_user == "liping"


def test_without_a_known_os_user_the_command_still_runs_and_says_command_line(monkeypatch):
    def no_user():
        raise OSError("No username set in the environment")

    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", no_user)
    call_command("crosscheck", "--as-of", AS_OF.isoformat(), "--json")
    run = CrosscheckRun.objects.get()
    assert run.trigger == "command" and run.os_user == ""
    assert run.started_by_label == "命令行"


def test_the_nightly_beat_task_is_labelled_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-crosscheck"]
    # What beat sends (its kwargs), run eagerly in-process as without a broker.
    result = tasks.crosscheck_task.delay(AS_OF.isoformat(), **entry.get("kwargs", {})).get()
    run = CrosscheckRun.objects.get(pk=result["run"])
    assert run.trigger == CrosscheckRun.Trigger.SCHEDULE
    assert run.triggered_by is None and run.os_user == ""
    assert run.started_by_label == "定时任务"
    event = AuditEvent.objects.get(action="crosscheck", target_id=str(run.pk))
    assert event.details["trigger"] == "schedule"


def test_the_fanned_out_task_keeps_the_label():
    result = tasks.crosscheck_task.delay(AS_OF.isoformat(), fanout=True, trigger="schedule").get()
    assert CrosscheckRun.objects.get(pk=result["run"]).trigger == "schedule"


def test_a_task_from_an_older_queue_without_trigger_infers_it_from_the_user(admin_user):
    tasks.crosscheck_task.delay(AS_OF.isoformat(), user_id=admin_user.pk).get()
    run = CrosscheckRun.objects.get()
    assert run.trigger == "staff" and run.triggered_by == admin_user


def test_an_unknown_trigger_is_refused_and_records_nothing():
    with pytest.raises(ValueError):
        crosscheck.run_crosscheck(AS_OF, trigger="cron")
    assert not CrosscheckRun.objects.exists()


def test_only_a_command_line_run_keeps_an_os_user():
    run = crosscheck.run_crosscheck(AS_OF, trigger="schedule", os_user="root")
    assert run.os_user == ""


def test_the_staff_button_names_the_staff_member(
    client, admin_user, django_capture_on_commit_callbacks
):
    admin_user.last_name, admin_user.first_name = "王", "芳"
    admin_user.save()
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:run_start"))
    assert response.status_code == 302
    run = CrosscheckRun.objects.get()
    assert run.trigger == CrosscheckRun.Trigger.STAFF and run.triggered_by == admin_user
    assert run.started_by_label == "工作人员（admin）"
    detail = client.get(reverse("staff:run_detail", args=[run.pk])).content.decode()
    assert "<dt>发起人</dt><dd>王芳</dd>" in detail
    listing = client.get(reverse("staff:run_list")).content.decode()
    assert '<td data-label="发起人">王芳</td>' in listing


def test_the_pages_show_how_each_run_started(client, admin_user):
    scheduled = f.CrosscheckRunFactory(trigger=CrosscheckRun.Trigger.SCHEDULE)
    command = f.CrosscheckRunFactory(trigger=CrosscheckRun.Trigger.COMMAND, os_user="deploy")
    anonymous = f.CrosscheckRunFactory(trigger=CrosscheckRun.Trigger.COMMAND)
    client.force_login(admin_user)
    listing = client.get(reverse("staff:run_list")).content.decode()
    cells = listing.split('<td data-label="发起人">')[1:]
    assert [cell.split("</td>")[0] for cell in cells] == ["命令行", "命令行（deploy）", "定时任务"]
    for run, label in (
        (scheduled, "定时任务"),
        (command, "命令行（deploy）"),
        (anonymous, "命令行"),
    ):
        detail = client.get(reverse("staff:run_detail", args=[run.pk])).content.decode()
        assert f"<dt>发起人</dt><dd>{label}</dd>" in detail


def test_the_admin_shows_the_trigger_read_only(admin_client):
    run = f.CrosscheckRunFactory(trigger=CrosscheckRun.Trigger.COMMAND, os_user="deploy")
    listing = admin_client.get(reverse("admin:monitoring_crosscheckrun_changelist"))
    assert "命令行（deploy）" in listing.content.decode()
    page = admin_client.get(reverse("admin:monitoring_crosscheckrun_change", args=[run.pk]))
    html = page.content.decode()
    assert "发起方式" in html and "命令行用户" in html and "deploy" in html
    assert 'name="trigger"' not in html and 'name="_save"' not in html


def test_the_migration_labels_earlier_runs_with_a_user_staff_and_the_rest_scheduled(admin_user):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("monitoring.migrations.0003_crosscheckrun_trigger")
    pressed = f.CrosscheckRunFactory(triggered_by=admin_user)
    nightly = f.CrosscheckRunFactory()
    # Rows as they were before the field existed: the column's default.
    CrosscheckRun.objects.update(trigger=CrosscheckRun.Trigger.SCHEDULE)
    migration.infer_trigger(apps, None)
    pressed.refresh_from_db()
    nightly.refresh_from_db()
    assert (pressed.trigger, nightly.trigger) == ("staff", "schedule")
