"""One current welfare post / custodial care per person and one open pairing per household:
the database refuses a second row, and a service that loses the race to it answers with
the same Chinese message as its pre-check."""

import threading
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from cases import casework, casework_base
from cases.casework_base import CaseworkError
from cases.models import CustodialCare, Pairing, WelfarePostPlacement

from . import factories


def _post(person, **extra):
    return WelfarePostPlacement.objects.create(
        person=person, post="保洁", employer="村委", started_on=date(2026, 1, 1), **extra
    )


def _care(person, **extra):
    return CustodialCare.objects.create(
        person=person, mode="home", started_on=date(2026, 1, 1), **extra
    )


def _pairing(household, **extra):
    return Pairing.objects.create(
        household=household, helper_name="王书记", started_on=date(2026, 1, 1), **extra
    )


# --- the constraints themselves (any database) ---


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "owner"), [(_post, "person"), (_care, "person"), (_pairing, "household")]
)
def test_the_database_refuses_a_second_open_row(make, owner):
    survey = factories.certified_person(household=True)
    target = getattr(survey, owner)
    make(target, ended_on=date(2026, 3, 1))
    make(target)  # an ended row does not count
    with pytest.raises(IntegrityError), transaction.atomic():
        make(target)
    other = factories.certified_person(household=True)
    make(getattr(other, owner))  # another person or household is not affected


# --- a lost race gives the pre-check's message (any database, simulated) ---


def _place(user, person):
    return casework.welfare_post_place(
        user, person, post="护林", employer="林站", started_on=date(2026, 5, 1)
    )


def _start_care(user, person):
    return casework.custodial_care_start(user, person, mode="day", started_on=date(2026, 5, 1))


def _pair(user, household):
    return casework.pairing_start(
        user, household, helper_name="李干部", helper_kind="cadre", started_on=date(2026, 5, 1)
    )


SERVICES = [
    pytest.param(
        _place, _post, WelfarePostPlacement, "person", "“保洁”上岗，请先办理离岗", id="post"
    ),
    pytest.param(_start_care, _care, CustodialCare, "person", "正在接受居家托养", id="care"),
    pytest.param(_pair, _pairing, Pairing, "household", "已有结对帮扶人（王书记）", id="pairing"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("skip_validation", [False, True], ids=["validation", "insert"])
@pytest.mark.parametrize(("call", "competitor", "model", "owner", "message"), SERVICES)
def test_a_row_written_after_the_pre_check_gives_the_pre_checks_message(
    monkeypatch, admin_user, call, competitor, model, owner, message, skip_validation
):
    """The other request commits between this one's pre-check and its insert."""
    target = getattr(factories.certified_person(household=True), owner)
    real_refused_on_conflict = casework.refused_on_conflict

    def after_the_other_request(recheck):
        competitor(target)
        return real_refused_on_conflict(recheck)

    monkeypatch.setattr(casework, "refused_on_conflict", after_the_other_request)
    if skip_validation:  # reach the INSERT itself, as when both validate before either commits
        monkeypatch.setattr(casework_base, "_validated", lambda instance: None)
    with pytest.raises(CaseworkError, match=message) as refused:
        call(admin_user, target)
    assert refused.value.field == owner
    # The service's transaction rolled back and the connection is still usable.
    assert not model.objects.filter(**{owner: target}).exists()


# --- two real concurrent requests (PostgreSQL) ---

WINNERS = [
    pytest.param(_place, WelfarePostPlacement, "person", "“护林”上岗，请先办理离岗", id="post"),
    pytest.param(_start_care, CustodialCare, "person", "正在接受日间照料", id="care"),
    pytest.param(_pair, Pairing, "household", "已有结对帮扶人（李干部）", id="pairing"),
]


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("call", "model", "owner", "message"), WINNERS)
def test_a_concurrent_double_submit_saves_one_row(postgres, call, model, owner, message):
    """Two threads, each with its own connection, submit the same form at the same time."""
    admin = factories.user_with_role("county_admin", username="admin")
    target = getattr(factories.certified_person(household=True), owner)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def submit():
        try:
            user = type(admin).objects.get(pk=admin.pk)
            barrier.wait(timeout=10)
            outcomes.append(call(user, target))
        except Exception as error:  # any outcome is checked below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    saved = [item for item in outcomes if isinstance(item, model)]
    refused = [item for item in outcomes if isinstance(item, CaseworkError)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    assert message in refused[0].message
    assert model.objects.filter(**{owner: target}).count() == 1
