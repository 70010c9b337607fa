"""The import sweeper: a batch whose run died is failed ("导入中断，请重新导入"); a live one never.

Nightly (beat), `manage.py import_sweep` and the imports page's button call the same
`monitoring.import_sweeper.sweep_stale_imports`; heartbeats come from `monitoring.services`.
"""

import io
import json
import threading
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases.locks import process_lock
from cases.models import AuditEvent
from monitoring import services
from monitoring.import_sweeper import INTERRUPTED, stale_imports, sweep_stale_imports
from monitoring.models import ImportBatch
from monitoring.schedule import BEAT_SCHEDULE
from monitoring.tasks import import_sweep_task

from .import_files import SURVEY_HEADER, survey_row, write_table

SWEEP = reverse("staff:import_sweep")
Status = ImportBatch.Status


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def batch_in(status, *, heartbeat=None, started=None, created=None, source="survey"):
    batch = ImportBatch.objects.create(
        source=source,
        status=status,
        original_name=f"{status}.xlsx",
        sha256="0" * 64,
        heartbeat_at=heartbeat,
        started_at=started,
    )
    if created is not None:
        ImportBatch.objects.filter(pk=batch.pk).update(created_at=created)
    return batch


def status_of(batch):
    batch.refresh_from_db()
    return batch.status


@pytest.fixture
def killed_and_live(db):
    """A run killed 20 minutes ago, one beating now, one started long ago but beating."""
    return {
        "killed": batch_in(Status.RUNNING, heartbeat=ago(20), started=ago(40)),
        "live": batch_in(Status.RUNNING, heartbeat=ago(0), started=ago(1)),
        "slow": batch_in(Status.RUNNING, heartbeat=ago(2), started=ago(300)),
        "lost": batch_in(Status.PENDING, created=ago(30)),  # queued, never picked up
        "queued": batch_in(Status.PENDING),  # just uploaded
        "old_done": batch_in(Status.DONE, heartbeat=ago(600), started=ago(600)),
        "unbeaten": batch_in(Status.RUNNING, started=ago(20)),  # died before its first beat
    }


def test_a_killed_run_is_failed_with_the_message_and_audited(killed_and_live):
    batches = killed_and_live
    swept = sweep_stale_imports()

    assert {batch.pk for batch in swept} == {
        batches["killed"].pk,
        batches["lost"].pk,
        batches["unbeaten"].pk,
    }
    for name in ("killed", "lost", "unbeaten"):
        batch = batches[name]
        batch.refresh_from_db()
        assert batch.status == Status.FAILED
        assert batch.message == INTERRUPTED == "导入中断，请重新导入"
        assert batch.finished_at is not None
        event = AuditEvent.objects.get(action="import", target_id=str(batch.pk))
        assert event.result == "error" and event.details["message"] == INTERRUPTED
    for name in ("live", "slow", "queued"):
        assert status_of(batches[name]) in (Status.RUNNING, Status.PENDING)
    assert status_of(batches["old_done"]) == Status.DONE
    assert sweep_stale_imports() == []  # nothing twice


def test_the_threshold_is_the_setting(killed_and_live, settings):
    settings.IMPORT_STALE_MINUTES = timedelta(minutes=60)
    assert stale_imports() == []
    settings.IMPORT_STALE_MINUTES = timedelta(minutes=1)
    assert killed_and_live["slow"].pk in {batch.pk for batch in stale_imports()}


@contextmanager
def lock_held_elsewhere(name: str):
    """The lock held by another thread (its own connection: another PostgreSQL session)."""
    taken, release = threading.Event(), threading.Event()

    def hold():
        try:
            with process_lock(name):
                taken.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(30)
    try:
        yield
    finally:
        release.set()
        holder.join(30)


def test_a_run_holding_its_lock_is_alive_whatever_its_last_beat(db):
    # Inside its write transaction a run cannot beat; its lock says it is alive.
    older = batch_in(Status.RUNNING, heartbeat=ago(90), started=ago(95))
    writing = batch_in(Status.RUNNING, heartbeat=ago(30), started=ago(31))
    with lock_held_elsewhere(services.import_lock_name("survey")):
        swept = sweep_stale_imports()
    assert [batch.pk for batch in swept] == [older.pk]  # dead: the lock is the newer run's
    assert status_of(writing) == Status.RUNNING
    assert [batch.pk for batch in sweep_stale_imports()] == [writing.pk]  # lock gone: dead


def test_a_beat_between_read_and_update_saves_the_batch(db, monkeypatch):
    batch = batch_in(Status.RUNNING, heartbeat=ago(20), started=ago(21))
    from monitoring import import_sweeper

    found = import_sweeper.stale_imports

    def beat_meanwhile(now=None):
        stale = found(now)
        services.import_heartbeat(batch.pk)  # the run beats after the sweeper looked
        return stale

    monkeypatch.setattr(import_sweeper, "stale_imports", beat_meanwhile)
    assert sweep_stale_imports() == []
    assert status_of(batch) == Status.RUNNING


def test_the_command_calls_the_same_sweep(killed_and_live):
    out = io.StringIO()
    call_command("import_sweep", "--json", stdout=out)
    failed = json.loads(out.getvalue())["failed"]
    assert sorted(failed) == sorted(
        killed_and_live[name].pk for name in ("killed", "lost", "unbeaten")
    )
    assert status_of(killed_and_live["killed"]) == Status.FAILED
    out = io.StringIO()
    call_command("import_sweep", stdout=out)
    assert "没有" in out.getvalue()


def test_the_nightly_beat_runs_the_sweep_task(killed_and_live):
    entry = BEAT_SCHEDULE["nightly-import-sweep"]
    assert entry["task"] == import_sweep_task.name == "monitoring.import_sweep"
    assert entry["schedule"].hour == {1}
    result = import_sweep_task.delay().get()
    assert len(result["failed"]) == 3
    assert status_of(killed_and_live["lost"]) == Status.FAILED


def test_a_county_admin_sweeps_from_the_imports_page(client, admin_user, killed_and_live):
    client.force_login(admin_user)
    page = client.get(reverse("staff:import_list")).content.decode()
    assert 'data-testid="import-sweep"' in page and "清理中断的导入" in page

    response = client.post(SWEEP, follow=True)

    assert response.redirect_chain[-1][0] == reverse("staff:import_list")
    text = response.content.decode()
    assert "已将3个中断的导入标为失败" in text
    assert status_of(killed_and_live["killed"]) == Status.FAILED
    assert status_of(killed_and_live["live"]) == Status.RUNNING
    assert "没有中断的导入" in client.post(SWEEP, follow=True).content.decode()


def test_only_county_admins_sweep_and_only_by_post(
    client, admin_user, viewer_user, hekou_user, killed_and_live
):
    for user in (viewer_user, hekou_user):
        client.force_login(user)
        assert client.post(SWEEP).status_code == 403
        assert (
            'data-testid="import-sweep"'
            not in client.get(reverse("staff:import_list")).content.decode()
        )
    assert status_of(killed_and_live["killed"]) == Status.RUNNING
    client.force_login(admin_user)
    assert client.get(SWEEP).status_code == 405


# --- heartbeats ------------------------------------------------------------------------------


def test_a_run_beats_at_its_claim_and_while_it_reads(db, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0)
    beats = []
    original = services.import_heartbeat

    def counted(batch_id, **fields):
        beats.append(fields)
        return original(batch_id, **fields)

    monkeypatch.setattr(services, "import_heartbeat", counted)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(30)])
    batch = services.import_survey_file(path)
    assert batch.status == Status.DONE
    assert batch.heartbeat_at is not None and batch.heartbeat_at >= batch.started_at
    assert beats  # the validation phase beat (and stored its progress on the way)


@pytest.mark.django_db(transaction=True)
def test_a_run_waiting_for_its_turn_keeps_beating(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "HEARTBEAT_SECONDS", 0.2)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    batch = services.import_create_batch("survey", path, original_name="s.xlsx")
    assert batch.heartbeat_at is None
    # Uploaded long ago: without its beats it would count as lost.
    ImportBatch.objects.filter(pk=batch.pk).update(created_at=ago(30))
    done = threading.Event()

    def run():
        try:
            services.import_run(batch.pk)
        finally:
            done.set()
            connection.close()

    with process_lock(services.import_lock_name("survey")):  # another import is running
        worker = threading.Thread(target=run)
        worker.start()
        for _ in range(100):
            if ImportBatch.objects.filter(pk=batch.pk, heartbeat_at__isnull=False).exists():
                break
            done.wait(0.1)
        waiting = ImportBatch.objects.get(pk=batch.pk)
        assert waiting.status == Status.PENDING and waiting.heartbeat_at is not None
        assert stale_imports() == []
    worker.join(60)
    assert status_of(batch) == Status.DONE
