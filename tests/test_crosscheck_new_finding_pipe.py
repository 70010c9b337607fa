"""New findings written by a second thread while the rules run (PostgreSQL, a run outside
any transaction: monitoring/crosscheck.py `_NewFindingPipe`): the same findings, evidence
and creation events as the single-threaded writer, and a failed block fails the run with
nothing written."""

from unittest import mock

import pytest
from django.db import IntegrityError, connection, transaction

from monitoring import crosscheck
from monitoring.crosscheck import run_crosscheck
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from tests.test_crosscheck_fanout import AS_OF, build_county, snapshot


def stored_evidence():
    return {
        (rule, person): evidence
        for rule, person, evidence in Finding.objects.values_list("rule", "person_id", "evidence")
    }


def creation_events():
    return sorted(
        FindingEvent.objects.values_list(
            "finding__rule", "finding__person_id", "run_id", "from_status", "to_status", "note"
        )
    )


@pytest.mark.django_db(transaction=True)
def test_findings_streamed_by_the_second_thread_equal_the_single_threaded_write(postgres):
    build_county()
    with transaction.atomic():  # the caller's transaction: one thread writes all at the end
        one_thread = run_crosscheck(AS_OF)
    whole, evidence = snapshot(), stored_evidence()
    events = [(*event[:2], event[3:]) for event in creation_events()]
    Finding.objects.all().delete()  # events cascade

    # Several blocks, and hits computed a few records at a time between them.
    with (
        mock.patch.object(crosscheck, "COPY_BLOCK", 3),
        mock.patch.object(crosscheck, "EVALUATE_CHUNK", 2),
        mock.patch.object(crosscheck, "_NewFindingPipe", wraps=crosscheck._NewFindingPipe) as pipe,
    ):
        run = run_crosscheck(AS_OF)
    pipe.assert_called_once()
    assert run.new == one_thread.new == len(whole) > 20
    assert snapshot() == whole
    assert stored_evidence() == evidence
    streamed = creation_events()
    assert [(*event[:2], event[3:]) for event in streamed] == events
    assert {event[2] for event in streamed} == {run.pk}
    assert FindingEvent.objects.count() == Finding.objects.count()
    # The events carry the time the findings were created, as the single write gives them.
    assert set(FindingEvent.objects.values_list("created_at", flat=True)) == set(
        Finding.objects.values_list("created_at", flat=True)
    )


@pytest.mark.django_db(transaction=True)
def test_a_rerun_through_the_pipe_writes_nothing_and_a_new_hit_goes_in(postgres):
    build_county()
    first = run_crosscheck(AS_OF)
    events = FindingEvent.objects.count()
    rerun = run_crosscheck(AS_OF)
    assert rerun.new == 0 and rerun.still_open == first.new
    assert FindingEvent.objects.count() == events
    one = Finding.objects.order_by("pk").first()
    one.delete()
    third = run_crosscheck(AS_OF)
    assert third.new == 1
    again = Finding.objects.get(rule=one.rule, person_id=one.person_id)
    assert list(again.events.values_list("run_id", "to_status")) == [(third.pk, "open")]


@pytest.mark.django_db(transaction=True)
def test_a_block_the_database_refuses_fails_the_run_and_writes_nothing(postgres):
    """The keys are checked as each block ends, in the second thread: its error reaches the
    run, which fails and rolls back every block already sent."""
    build_county()
    real = crosscheck.iter_hits

    def with_a_stranger(dataset):
        hits = list(real(dataset))
        code, _, *rest = hits[0]
        yield from hits[:5]
        yield (code, 10**12, *rest)  # no such person
        yield from hits[5:]

    with (
        mock.patch.object(crosscheck, "COPY_BLOCK", 2),
        mock.patch.object(crosscheck, "iter_hits", with_a_stranger),
        pytest.raises(IntegrityError),
    ):
        run_crosscheck(AS_OF)
    assert CrosscheckRun.objects.get().status == CrosscheckRun.Status.FAILED
    assert not Finding.objects.exists()
    assert not FindingEvent.objects.exists()
    with connection.cursor() as cursor:  # the connection is usable afterwards
        cursor.execute("SELECT 1")
    assert run_crosscheck(AS_OF).new > 20
