"""Benefit applications step by step: 申请中 → 已审核 → 已批准 / 未批准 → 已落实, 已撤回;
each step keeps who, when and a note, and writes its history row."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from cases.casework_base import CaseworkError, NotPermitted, TransitionError
from cases.models import ChangeRecord
from subsidies import services
from subsidies.models import BenefitApplication, BenefitRecord

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


@pytest.fixture
def person():
    return factories.certified_person(grade=1).person


@pytest.fixture
def application(chengguan_user, person):
    return services.benefit_application_create(
        chengguan_user,
        person,
        benefit_type="care_subsidy",
        applied_on=today() - timedelta(days=20),
        note="一级肢体残疾",
    )


def history(application):
    return list(
        ChangeRecord.objects.filter(
            model="subsidies.benefitapplication", object_id=str(application.pk), action="update"
        ).order_by("pk")
    )


def test_the_full_path_records_each_step(chengguan_user, application):
    reviewed_on = today() - timedelta(days=10)
    application = services.benefit_application_review(
        chengguan_user, application, note="材料齐全，入户核实属实", reviewed_on=reviewed_on
    )
    assert (application.status, application.reviewed_on, application.reviewed_by) == (
        "reviewed",
        reviewed_on,
        chengguan_user,
    )
    assert application.review_note == "材料齐全，入户核实属实"
    application = services.benefit_application_decide(
        chengguan_user,
        application,
        approved=True,
        decided_on=today() - timedelta(days=5),
        monthly_amount="90",
    )
    assert application.status == "approved" and application.benefit_record.status == "active"
    application = services.benefit_application_deliver(
        chengguan_user, application, note="首月护理补贴已发放", delivered_on=today()
    )
    application.refresh_from_db()
    assert (application.status, application.delivered_on, application.delivered_by) == (
        "delivered",
        today(),
        chengguan_user,
    )
    assert application.delivery_note == "首月护理补贴已发放"
    rows = history(application)
    assert [row.changes["status"] for row in rows] == [
        ["applying", "reviewed"],
        ["reviewed", "approved"],
        ["approved", "delivered"],
    ]
    assert all(row.actor == chengguan_user for row in rows)
    assert "材料齐全" in rows[0].reason and "首月护理补贴已发放" in rows[2].reason
    # Nothing after 已落实.
    with pytest.raises(TransitionError, match="已办结"):
        services.benefit_application_withdraw(chengguan_user, application, reason="x")
    with pytest.raises(TransitionError, match="已办结"):
        services.benefit_application_deliver(chengguan_user, application, note="再次")


def test_deciding_before_review_is_refused(chengguan_user, application):
    with pytest.raises(TransitionError, match="须先审核"):
        services.benefit_application_decide(chengguan_user, application, approved=True)
    with pytest.raises(TransitionError, match="须先审核"):
        services.benefit_application_decide(
            chengguan_user, application, approved=False, note="收入超标"
        )
    application.refresh_from_db()
    assert application.status == "applying"
    assert not BenefitRecord.objects.exists() and history(application) == []


def test_review_refusals(chengguan_user, application):
    with pytest.raises(CaseworkError, match="审核意见不能为空") as error:
        services.benefit_application_review(chengguan_user, application, note="  ")
    assert error.value.field == "review_note"
    with pytest.raises(CaseworkError, match="审核日期不能早于申请日期"):
        services.benefit_application_review(
            chengguan_user,
            application,
            note="ok",
            reviewed_on=application.applied_on - timedelta(days=1),
        )
    with pytest.raises(CaseworkError, match="审核日期不能晚于今天"):
        services.benefit_application_review(
            chengguan_user, application, note="ok", reviewed_on=today() + timedelta(days=1)
        )
    services.benefit_application_review(chengguan_user, application, note="ok")
    with pytest.raises(TransitionError, match="不能办理此步骤"):
        services.benefit_application_review(chengguan_user, application, note="again")
    assert len(history(application)) == 1


def test_decision_date_not_before_review(chengguan_user, application):
    services.benefit_application_review(chengguan_user, application, note="ok")
    with pytest.raises(CaseworkError, match="办结日期不能早于审核日期"):
        services.benefit_application_decide(
            chengguan_user,
            application,
            approved=True,
            decided_on=today() - timedelta(days=1),
        )
    application.refresh_from_db()
    assert application.status == "reviewed"


def test_delivery_needs_approval_a_note_and_a_date_after_the_decision(chengguan_user, application):
    with pytest.raises(TransitionError):
        services.benefit_application_deliver(chengguan_user, application, note="已发放")
    services.benefit_application_review(
        chengguan_user, application, note="ok", reviewed_on=today() - timedelta(days=3)
    )
    services.benefit_application_decide(
        chengguan_user, application, approved=True, decided_on=today() - timedelta(days=2)
    )
    with pytest.raises(CaseworkError, match="落实情况不能为空"):
        services.benefit_application_deliver(chengguan_user, application, note="")
    with pytest.raises(CaseworkError, match="落实日期不能早于批准日期"):
        services.benefit_application_deliver(
            chengguan_user, application, note="已发放", delivered_on=today() - timedelta(days=3)
        )
    application.refresh_from_db()
    assert application.status == "approved"


def test_rejected_cannot_be_delivered(chengguan_user, application):
    services.benefit_application_review(chengguan_user, application, note="ok")
    services.benefit_application_decide(chengguan_user, application, approved=False, note="不符")
    with pytest.raises(TransitionError, match="未批准"):
        services.benefit_application_deliver(chengguan_user, application, note="x")


def test_withdraw_from_applying_or_reviewed(chengguan_user, person, application):
    services.benefit_application_review(chengguan_user, application, note="ok")
    # 已审核 still counts as pending: no second application of the same benefit.
    with pytest.raises(CaseworkError, match="已有申请中的申请"):
        services.benefit_application_create(chengguan_user, person, benefit_type="care_subsidy")
    withdrawn = services.benefit_application_withdraw(chengguan_user, application, reason="放弃")
    assert withdrawn.status == "withdrawn" and withdrawn.decided_on == today()
    again = services.benefit_application_create(chengguan_user, person, benefit_type="care_subsidy")
    services.benefit_application_withdraw(chengguan_user, again, reason="重复申请")
    assert BenefitApplication.objects.filter(status="withdrawn").count() == 2


def test_roles_and_scope_for_every_step(
    chengguan_user, hekou_user, viewer_user, village_user, application
):
    steps = [
        lambda user: services.benefit_application_review(user, application, note="ok"),
        lambda user: services.benefit_application_decide(user, application, approved=True),
        lambda user: services.benefit_application_deliver(user, application, note="ok"),
        lambda user: services.benefit_application_withdraw(user, application, reason="x"),
    ]
    for step in steps:
        with pytest.raises(NotPermitted):
            step(viewer_user)
        with pytest.raises(NotPermitted):
            step(village_user)
        with pytest.raises(Http404):
            step(hekou_user)
    application.refresh_from_db()
    assert application.status == "applying" and history(application) == []
