"""The township fan-out gives exactly the findings of the single whole-county pass."""

import time
from datetime import date
from decimal import Decimal

import pytest

from monitoring import tasks
from monitoring.crosscheck import (
    ALL,
    evaluate,
    load_dataset,
    load_policy,
    partition_hits,
    partition_keys,
    run_crosscheck,
)
from monitoring.models import CrosscheckRun, Finding, FindingEvent
from tests import factories as f

AS_OF = date(2026, 6, 30)


def build_county():
    """Persons in several townships, a roster household spanning two townships, a person
    without township, roster-only leads in different townships, and task-area records."""
    households = [
        f.RosterHouseholdFactory(
            township=f.township(name),
            village=f.village(name, "中心村"),
            household_type=kind,
            risk_cleared=cleared,
            identified_on=date(2026, 1, 5),
            cleared_on=date(2026, 3, 1) if cleared else None,
        )
        for name, kind, cleared in [
            ("城关镇", "monitored", False),
            ("河口镇", "left_poverty", None),
            ("周集镇", "monitored", True),
            ("临水镇", "left_poverty", None),
        ]
    ]
    townships = ["城关镇", "河口镇", "周集镇", "临水镇", "石店镇"]
    records = []
    for i in range(30):
        township = townships[i % len(townships)]
        record = f.certified_person(
            township=township,
            village_name="中心村",
            grade=1 + i % 4,
            category=1 + i % 7,
            birth=date(1950 + i * 2, 1 + i % 12, 1 + i % 28),
            household=True,
            income_per_capita=Decimal(2500 + 700 * i),
            rigid_expenditure=Decimal(5000 * (i % 6)),
            housing_safe=[True, False, None][i % 3],
            water_safe=[None, True, False, True][i % 4],
            in_school=["no", "yes", "", "na"][i % 4],
            employment_status=["unemployed", "no_ability", "farming", ""][i % 4],
            receives_dibao=[True, False, None][i % 3],
            receives_tekun=[False, None][i % 2],
            receives_living_subsidy=[False, True, None, False][i % 4],
            receives_care_subsidy=[False, None, True][i % 3],
            medical_insured=[True, False, None, True, True][i % 5],
            pension_insured=[False, True, None][i % 3],
            rehab_needs=["康复训练"] if i % 3 == 0 else [],
            rehab_received=[False, True, None][i % 3],
            survival_status="deceased" if i == 7 else "alive",
        )
        records.append(record)
        if i % 2 == 0:
            # household 1 spans 城关镇 and 河口镇 members; others local
            household = households[(i // 2) % len(households)]
            f.RosterMemberFactory(
                household=household,
                person=record.person,
                name=record.person.name if i % 6 else "别名",
                status="deceased" if i == 10 else "alive",
                disability_grade=record.person.certificate.grade if i % 8 else 4,
            )
    nowhere = f.certified_person(income_per_capita=Decimal(3000), household=True)
    nowhere.person.township = None
    nowhere.person.village = None
    nowhere.person.save()
    for household in households[:2]:
        f.RosterMemberFactory(household=household, is_disabled=True)
    f.EducationPlanFactory(person=records[4].person)
    f.RehabServiceFactory(person=records[3].person)
    f.PairingFactory(household=records[0].household)
    f.AssistanceMeasureFactory(household=records[2].household)
    return records


def snapshot():
    return set(
        Finding.objects.values_list(
            "rule", "person_id", "reason", "household_id", "township_id", "village_id", "status"
        )
    )


@pytest.mark.django_db
def test_partitions_evaluated_one_by_one_equal_the_whole_county_pass():
    build_county()
    whole = evaluate(load_dataset(AS_OF, load_policy(2026), ALL))
    parts = partition_hits(AS_OF)
    assert set(parts) == set(partition_keys())
    merged = [hit for hits in parts.values() for hit in hits]
    assert len(merged) == len(whole)
    assert set(merged) == set(whole)
    assert len({hit[0] for hit in whole}) >= 12  # a varied county, not a trivial one
    # every person's hits came from exactly one partition
    owners = {}
    for key, hits in parts.items():
        for hit in hits:
            assert owners.setdefault(hit[1], key) == key


@pytest.mark.django_db
def test_partitioned_and_fanned_out_runs_write_the_same_findings_as_a_single_run():
    build_county()
    run_crosscheck(AS_OF)
    single = snapshot()
    assert single

    Finding.objects.all().delete()  # events cascade
    run = run_crosscheck(AS_OF, partitioned=True)
    assert snapshot() == single
    assert run.new == len(single)

    FindingEvent.objects.all().delete()
    Finding.objects.all().delete()
    result = tasks.crosscheck_task.delay(AS_OF.isoformat(), fanout=True).get()
    assert result["partitions"] == len(partition_keys())
    fanned = CrosscheckRun.objects.get(pk=result["run"])
    assert fanned.status == CrosscheckRun.Status.DONE
    assert fanned.new == len(single)
    assert snapshot() == single


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_nightly_task_fans_out_through_a_real_worker_and_redis(celery_worker_process, postgres):
    build_county()
    expected = {
        (hit[0], hit[1], hit[2]) for hit in evaluate(load_dataset(AS_OF, load_policy(2026), ALL))
    }
    started = tasks.crosscheck_task.delay(AS_OF.isoformat()).get(timeout=60)
    assert started["partitions"] == len(partition_keys())
    run = CrosscheckRun.objects.get(pk=started["run"])
    deadline = time.monotonic() + 120
    while run.status == CrosscheckRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        run.refresh_from_db()
    assert run.status == CrosscheckRun.Status.DONE, run.message
    assert set(Finding.objects.values_list("rule", "person_id", "reason")) == expected
    assert run.new == len(expected)

    # nothing changed: the second nightly run finds everything still open, writes nothing
    again = tasks.crosscheck_task.delay(AS_OF.isoformat()).get(timeout=60)
    second = CrosscheckRun.objects.get(pk=again["run"])
    deadline = time.monotonic() + 120
    while second.status == CrosscheckRun.Status.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        second.refresh_from_db()
    assert second.status == CrosscheckRun.Status.DONE
    assert (second.new, second.cleared) == (0, 0)
    assert second.still_open == len(expected)
