"""The nightly task: beat entry, task options, the lock that keeps runs from overlapping."""

from datetime import date
from decimal import Decimal

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.cache import cache

from huoqiu.celery import app
from monitoring import crosscheck, tasks
from monitoring.models import CrosscheckRun, Finding
from tests import factories as f

AS_OF = date(2026, 6, 30)


def test_beat_runs_the_crosscheck_at_two_in_the_morning_shanghai_time():
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-crosscheck"]
    assert entry["task"] == tasks.crosscheck_task.name == "monitoring.crosscheck"
    assert entry["schedule"] == crontab(hour=2, minute=0)
    assert app.conf.timezone == "Asia/Shanghai"
    assert app.conf.beat_schedule["nightly-crosscheck"]["task"] == "monitoring.crosscheck"


@pytest.mark.parametrize(
    "task",
    [
        tasks.crosscheck_task,
        tasks.crosscheck_partition_task,
        tasks.crosscheck_merge_task,
        tasks.crosscheck_failed_task,
    ],
)
def test_every_task_has_both_time_limits_and_acks_late(task):
    assert task.time_limit and task.soft_time_limit
    assert task.soft_time_limit < task.time_limit < settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert task.acks_late


def test_the_run_and_partition_tasks_retry_on_database_trouble():
    from django.db import OperationalError

    for task in (tasks.crosscheck_task, tasks.crosscheck_partition_task):
        assert OperationalError in task.autoretry_for
        assert task.max_retries == 3


@pytest.mark.django_db
def test_task_runs_in_process_without_a_broker_and_returns_the_summary():
    record = f.certified_person(income_per_capita=Decimal(3000))
    result = tasks.crosscheck_task.delay(AS_OF.isoformat()).get()
    assert result["as_of"] == "2026-06-30"
    assert result["new"] == 1 and result["by_rule"]["M01"]["new"] == 1
    assert Finding.objects.get().person == record.person
    assert cache.get(crosscheck.LOCK_KEY) is None  # released


@pytest.mark.django_db
def test_a_second_run_while_the_lock_is_held_is_skipped_clearly():
    f.certified_person(income_per_capita=Decimal(3000))
    token = crosscheck.acquire_lock()
    try:
        with pytest.raises(crosscheck.CrosscheckBusy, match="另一次比对正在运行"):
            crosscheck.run_crosscheck(AS_OF)
        result = tasks.crosscheck_task.delay(AS_OF.isoformat()).get()
        assert result["skipped"] is True
        assert "another cross-check is running" in result["reason"]
        fanned = tasks.crosscheck_task.delay(AS_OF.isoformat(), fanout=True).get()
        assert fanned["skipped"] is True
    finally:
        crosscheck.release_lock(token)
    assert not CrosscheckRun.objects.exists()
    assert not Finding.objects.exists()
    assert crosscheck.run_crosscheck(AS_OF).status == CrosscheckRun.Status.DONE


@pytest.mark.django_db
def test_a_running_run_of_another_process_blocks_until_it_goes_stale():
    from django.utils import timezone

    other = CrosscheckRun.objects.create(
        as_of=AS_OF, status=CrosscheckRun.Status.RUNNING, started_at=timezone.now()
    )
    with pytest.raises(crosscheck.CrosscheckBusy, match=f"比对#{other.pk}"):
        crosscheck.run_crosscheck(AS_OF)
    assert cache.get(crosscheck.LOCK_KEY) is None
    CrosscheckRun.objects.filter(pk=other.pk).update(
        started_at=timezone.now() - timezone.timedelta(seconds=crosscheck.LOCK_TIMEOUT + 1)
    )
    assert crosscheck.run_crosscheck(AS_OF).status == CrosscheckRun.Status.DONE
    other.refresh_from_db()
    assert other.status == CrosscheckRun.Status.FAILED and "中断" in other.message


@pytest.mark.django_db
def test_release_only_frees_our_own_lock():
    token = crosscheck.acquire_lock()
    crosscheck.release_lock("someone-else")
    assert cache.get(crosscheck.LOCK_KEY) == token
    crosscheck.release_lock(token)
    assert cache.get(crosscheck.LOCK_KEY) is None


@pytest.mark.django_db
def test_a_failing_merge_marks_the_run_failed_and_releases_the_lock(monkeypatch):
    f.certified_person(income_per_capita=Decimal(3000))

    def broken(*args, **kwargs):
        raise RuntimeError("写入失败")

    monkeypatch.setattr(crosscheck, "write_findings", broken)
    with pytest.raises(RuntimeError):
        tasks.crosscheck_task.delay(AS_OF.isoformat(), fanout=True).get()
    run = CrosscheckRun.objects.get()
    assert run.status == CrosscheckRun.Status.FAILED and run.message == "写入失败"
    assert cache.get(crosscheck.LOCK_KEY) is None
    assert not Finding.objects.exists()


@pytest.mark.django_db
def test_the_error_callback_marks_the_run_failed_and_releases_the_lock():
    run, token, _ = crosscheck.begin_run(AS_OF)
    tasks.crosscheck_failed_task(None, RuntimeError("分区任务失败"), None, run.pk, token)
    run.refresh_from_db()
    assert run.status == CrosscheckRun.Status.FAILED and run.message == "分区任务失败"
    assert cache.get(crosscheck.LOCK_KEY) is None


@pytest.mark.django_db
def test_merge_is_idempotent_for_a_finished_run():
    f.certified_person(income_per_capita=Decimal(3000))
    run, token, _ = crosscheck.begin_run(AS_OF)
    results = [[key, hits] for key, hits in crosscheck.partition_hits(AS_OF).items()]
    crosscheck.merge_partitions(run.pk, token, results)
    again = crosscheck.merge_partitions(run.pk, token, results)  # a redelivered callback
    assert again.new == 1 and Finding.objects.count() == 1
    assert again.status == CrosscheckRun.Status.DONE
