"""monitoring.tasks.import_batch_task and queue_import: thin, idempotent, time-limited, on_commit."""

import pytest
from django.db import transaction

from cases.models import ChangeRecord, Person
from monitoring.models import ImportBatch, Source, SurveyRecord
from monitoring.services import import_create_batch
from monitoring.tasks import import_batch_task, queue_import

from .import_files import SURVEY_HEADER, survey_row, write_table

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def survey_file(tmp_path):
    return write_table(tmp_path / "survey.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(4)])


def pending_batch(path, **options) -> ImportBatch:
    return import_create_batch(Source.SURVEY, path, original_name=path.name, **options)


def test_task_has_time_limits_and_acks_late():
    assert import_batch_task.time_limit is not None
    assert import_batch_task.soft_time_limit is not None
    assert import_batch_task.soft_time_limit < import_batch_task.time_limit
    # Below the global soft limit (3595 s), so the task's own limits are the ones that bite.
    assert import_batch_task.time_limit < 3595
    assert import_batch_task.acks_late is True


def test_task_runs_a_pending_batch(media, survey_file):
    batch = pending_batch(survey_file)
    result = import_batch_task.delay(batch.pk).get()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert result["status"] == "done"
    assert (result["rows"], result["created"], result["errors"]) == (4, 4, 0)
    assert SurveyRecord.objects.filter(batch=batch).count() == 4


def test_task_is_idempotent(media, survey_file):
    batch = pending_batch(survey_file)
    import_batch_task.delay(batch.pk)
    persons, history = Person.objects.count(), ChangeRecord.objects.count()
    finished_at = ImportBatch.objects.get(pk=batch.pk).finished_at

    again = import_batch_task.delay(batch.pk).get()

    assert again["created"] == 4  # the same finished batch, not a second run
    assert Person.objects.count() == persons
    assert ChangeRecord.objects.count() == history
    assert ImportBatch.objects.get(pk=batch.pk).finished_at == finished_at


def test_queue_import_waits_for_the_commit(media, survey_file, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        batch = pending_batch(survey_file)
        queue_import(batch.pk)
    assert len(callbacks) == 1
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.PENDING
    callbacks[0]()
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.DONE


def test_rolled_back_transaction_queues_nothing(media, survey_file):
    with pytest.raises(RuntimeError), transaction.atomic():
        batch = pending_batch(survey_file)
        queue_import(batch.pk)
        raise RuntimeError("roll back")
    assert not ImportBatch.objects.exists()
    assert not Person.objects.exists()


def _run_as_redelivery(batch_id: int) -> dict:
    import_batch_task.push_request(delivery_info={"redelivered": True})
    try:
        return import_batch_task.run(batch_id)
    finally:
        import_batch_task.pop_request()


def test_redelivery_of_an_interrupted_import_marks_it_failed(media, survey_file):
    batch = pending_batch(survey_file)
    # A worker claimed it and died mid-write: the write rolled back, the claim stayed.
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING)
    result = _run_as_redelivery(batch.pk)
    batch.refresh_from_db()
    assert result["status"] == batch.status == ImportBatch.Status.FAILED
    assert "中断" in batch.message
    assert not Person.objects.exists()


def test_redelivery_of_a_pending_batch_just_runs_it(media, survey_file):
    batch = pending_batch(survey_file)
    assert _run_as_redelivery(batch.pk)["status"] == ImportBatch.Status.DONE


def test_strict_batch_with_errors_is_rejected_by_the_task(media, tmp_path):
    path = write_table(
        tmp_path / "bad.xlsx",
        SURVEY_HEADER,
        [survey_row(1), survey_row(2, **{"残疾等级": "九级"})],
    )
    batch = pending_batch(path)
    result = import_batch_task.delay(batch.pk).get()
    assert result["status"] == ImportBatch.Status.REJECTED
    assert result["errors"] == 1
    assert not Person.objects.exists()


@pytest.fixture
def worker_media(tmp_path, monkeypatch, settings):
    """MEDIA_ROOT shared with the worker process (it reads it from its environment)."""
    media_root = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(media_root))
    settings.MEDIA_ROOT = media_root
    return media_root


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_a_queued_import(tmp_path, worker_media, celery_worker_process):
    path = write_table(tmp_path / "survey.xlsx", SURVEY_HEADER, [survey_row(n) for n in range(3)])
    batch = pending_batch(path)

    result = import_batch_task.apply_async(args=[batch.pk]).get(timeout=120)

    assert result["status"] == "done"
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert Person.objects.count() == 3


def test_unreachable_broker_fails_the_batch_instead_of_leaving_it_queued(
    media, survey_file, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(import_batch_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        batch = pending_batch(survey_file)
        queue_import(batch.pk)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "任务队列" in batch.message
    assert not Person.objects.exists()
