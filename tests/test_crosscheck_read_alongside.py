"""The reads on a second connection (PostgreSQL) give exactly the single-connection result,
and are used only when the run's data is committed; new findings streamed by COPY in
blocks are all written (monitoring/crosscheck.py)."""

from unittest import mock

import pytest
from django.db import ProgrammingError, transaction

from monitoring import crosscheck
from monitoring.crosscheck import ALL, evaluate, load_dataset, load_policy, run_crosscheck
from monitoring.eligibility import with_receipt
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from tests.test_crosscheck_fanout import AS_OF, build_county, snapshot


@pytest.mark.django_db(transaction=True)
def test_survey_read_alongside_gives_the_same_hits_and_evidence(postgres):
    build_county()
    policy = load_policy(AS_OF.year)
    alone = evaluate(load_dataset(AS_OF, policy, ALL))
    alongside = evaluate(load_dataset(AS_OF, policy, ALL, read_alongside=True))
    assert len(alone) > 20
    assert alongside == alone  # same hits, evidence text included, in the same order
    township = next(hit[4] for hit in alone if hit[4] is not None)
    assert evaluate(load_dataset(AS_OF, policy, township, read_alongside=True)) == evaluate(
        load_dataset(AS_OF, policy, township)
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_outside_any_transaction_reads_alongside_and_writes_the_same_findings(postgres):
    build_county()
    with mock.patch.object(
        crosscheck, "_read_in_background", wraps=crosscheck._read_in_background
    ) as background:
        run_crosscheck(AS_OF)
    assert background.call_count == 2  # the survey, then the existing findings
    alongside = snapshot()
    Finding.objects.all().delete()
    with transaction.atomic():  # the caller's transaction: one connection only
        run_crosscheck(AS_OF)
    assert snapshot() == alongside


@pytest.mark.django_db(transaction=True)
def test_a_run_inside_the_callers_transaction_sees_its_uncommitted_rows():
    with transaction.atomic():
        build_county()  # not committed: a second connection would not see these persons
        with mock.patch.object(crosscheck, "_read_in_background") as background:
            run = run_crosscheck(AS_OF)
        background.assert_not_called()
        assert run.new == Finding.objects.count() > 20


@pytest.mark.django_db(transaction=True)
def test_an_error_of_the_read_alongside_fails_the_run(postgres):
    build_county()

    def broken(records, civil):
        return with_receipt(records, civil).extra(where=["no_such_column = 1"])

    with mock.patch.object(crosscheck, "with_receipt", broken), pytest.raises(ProgrammingError):
        run_crosscheck(AS_OF)
    assert CrosscheckRun.objects.get().status == CrosscheckRun.Status.FAILED
    assert not Finding.objects.exists()


def stored_evidence():
    return {
        (rule, person): evidence
        for rule, person, evidence in Finding.objects.values_list("rule", "person_id", "evidence")
    }


@pytest.mark.django_db
def test_new_findings_streamed_in_several_copy_blocks_are_all_written(postgres):
    build_county()
    run_crosscheck(AS_OF)
    whole, evidence = snapshot(), stored_evidence()
    Finding.objects.all().delete()  # events cascade
    with mock.patch.object(crosscheck, "COPY_BLOCK", 3):
        run = run_crosscheck(AS_OF)
    assert run.new == len(whole) > 20
    assert snapshot() == whole
    assert stored_evidence() == evidence
    assert FindingEvent.objects.count() == len(whole)


@pytest.mark.django_db
def test_a_decision_made_while_the_run_evaluated_wins_over_its_clearing():
    """The run reads the findings without a lock while its rules run: a finding dismissed or
    handled in between keeps the staff's decision; the others are cleared as read."""
    build_county()
    run = run_crosscheck(AS_OF)
    read_by_the_run = list(crosscheck.existing_findings())
    dismissed, handled, *others = Finding.objects.filter(status=Finding.Status.OPEN)
    Finding.objects.filter(pk=dismissed.pk).update(status=Finding.Status.DISMISSED)
    Finding.objects.filter(pk=handled.pk).update(status=Finding.Status.HANDLED)
    events_before = FindingEvent.objects.count()

    counts = crosscheck.write_findings(run, [], existing=lambda: read_by_the_run)

    statuses = dict(Finding.objects.values_list("pk", "status"))
    assert statuses[dismissed.pk] == Finding.Status.DISMISSED
    assert statuses[handled.pk] == Finding.Status.HANDLED
    assert {statuses[finding.pk] for finding in others} == {Finding.Status.CLEARED}
    assert sum(counter["cleared"] for counter in counts.values()) == len(others)
    assert FindingEvent.objects.count() - events_before == len(others)
    assert not FindingEvent.objects.filter(
        finding__in=[dismissed, handled], to_status=Finding.Status.CLEARED
    ).exists()
