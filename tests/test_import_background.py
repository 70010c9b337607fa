"""Without a broker an upload runs in a background thread, never inside the request; a
refused upload still leaves a batch and an audit event (docs/SECURITY.md)."""

import threading

import pytest
from django.urls import reverse

from cases.models import AuditEvent, Person
from monitoring import services, tasks
from monitoring.models import ImportBatch

from .import_files import SURVEY_HEADER, survey_row, write_table

LIST = reverse("staff:import_list")
ADMIN_UPLOAD = reverse("admin:monitoring_importbatch_import")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_file(client, url, path, source="survey"):
    with open(path, "rb") as handle:
        return client.post(url, {"source": source, "file": handle})


@pytest.mark.django_db(transaction=True)
def test_upload_returns_before_the_import_and_a_background_thread_finishes_it(
    client, admin_user, tmp_path, monkeypatch
):
    client.force_login(admin_user)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(3)])
    release = threading.Event()
    ran_in: list[threading.Thread] = []
    original = tasks.import_run

    def held_run(batch_id, progress=None):
        # The import cannot start until the test has seen the response (and, the test
        # database being in-memory shared-cache SQLite, where a write meeting another
        # fails at once instead of waiting, the two never write at the same time).
        ran_in.append(threading.current_thread())
        release.wait(5)
        return original(batch_id, progress)

    monkeypatch.setattr(tasks, "import_run", held_run)
    try:
        response = post_file(client, LIST, path)
        batch = ImportBatch.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("staff:import_detail", args=[batch.pk])
        # Inside the request this would already be done (and would have waited 5 s).
        assert batch.status == ImportBatch.Status.PENDING
        status = client.get(reverse("staff:import_status", args=[batch.pk])).json()
        assert status["finished"] is False
    finally:
        release.set()
        tasks.join_background_imports()

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.rows, batch.created) == (3, 3)
    assert batch.heartbeat_at is not None
    assert Person.objects.count() == 3
    assert ran_in and ran_in[0] is not threading.main_thread()
    assert client.get(reverse("staff:import_status", args=[batch.pk])).json()["finished"]
    assert AuditEvent.objects.filter(action="import", target_id=str(batch.pk)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_background_run_that_cannot_start_leaves_the_batch_for_the_sweeper(
    admin_user, tmp_path, monkeypatch
):
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    batch = services.import_create_batch("survey", path, original_name="s.xlsx")

    def broken(batch_id, progress=None):
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(tasks, "import_run", broken)
    tasks.queue_import(batch.pk)  # autocommit: starts the thread at once
    tasks.join_background_imports()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING  # no crash of the caller; swept later


def refused_events():
    return AuditEvent.objects.filter(action="import", result="error")


def test_a_wrong_type_upload_leaves_a_rejected_batch_and_an_audit_event(
    client, admin_user, tmp_path
):
    client.force_login(admin_user)
    text = tmp_path / "名单.exe"
    text.write_bytes(b"MZ not a spreadsheet")

    response = post_file(client, LIST, text)

    assert response.status_code == 400
    assert "不支持的文件类型" in response.content.decode()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.REJECTED
    assert "不支持的文件类型" in batch.message
    assert batch.uploaded_by == admin_user
    assert batch.original_name == "名单.exe"
    assert not batch.file  # nothing of a refused file is kept
    assert len(batch.sha256) == 64
    event = refused_events().get()
    assert event.target_id == str(batch.pk)
    assert event.actor == admin_user
    assert event.details["status"] == "rejected"


def test_an_oversized_upload_leaves_a_batch_without_reading_the_file(
    client, admin_user, tmp_path, settings
):
    client.force_login(admin_user)
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(3)])
    settings.IMPORT_MAX_UPLOAD_BYTES = 100

    response = post_file(client, LIST, path)

    assert "文件过大" in response.content.decode()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.REJECTED
    assert "文件过大" in batch.message and "拆分" in batch.message
    assert batch.sha256 == ""  # over the limit: not even hashed
    assert refused_events().filter(target_id=str(batch.pk)).exists()
    # County admins see it in the list (no township: county users only).
    assert "s.xlsx" in client.get(LIST).content.decode()
    detail = client.get(reverse("staff:import_detail", args=[batch.pk])).content.decode()
    assert "文件过大" in detail
    assert 'data-testid="download-original"' not in detail  # no file to offer


def test_the_admin_import_records_a_refused_file_too(admin_client, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")

    response = post_file(admin_client, ADMIN_UPLOAD, text)

    assert "不支持的文件类型" in response.content.decode()
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.REJECTED
    assert refused_events().filter(target_id=str(batch.pk)).exists()


def test_a_form_without_a_file_or_source_is_not_an_attempt(client, admin_user, tmp_path):
    client.force_login(admin_user)
    assert client.post(LIST, {"source": "survey"}).status_code == 400
    path = write_table(tmp_path / "s.xlsx", SURVEY_HEADER, [survey_row(1)])
    assert post_file(client, LIST, path, source="").status_code == 400
    assert not ImportBatch.objects.exists()
