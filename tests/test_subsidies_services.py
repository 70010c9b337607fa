"""Staff-recorded benefits and benefit applications (申请中 → 已审核 → 已批准/未批准, 已撤回)."""

from datetime import date, timedelta
from decimal import Decimal

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


def test_manual_record_is_one_per_person_and_benefit(chengguan_user, person):
    record = services.benefit_record_save(
        chengguan_user,
        person,
        benefit_type="care_subsidy",
        monthly_amount="90元",
        start_month=date(2026, 3, 17),
    )
    assert (record.origin, record.status, record.start_month, record.monthly_amount) == (
        "manual",
        "active",
        date(2026, 3, 1),
        Decimal("90.00"),
    )
    again = services.benefit_record_save(
        chengguan_user, person, benefit_type="care_subsidy", monthly_amount=100
    )
    assert again.pk == record.pk
    rows = ChangeRecord.objects.filter(model="subsidies.benefitrecord", object_id=str(record.pk))
    assert rows.get(action="update").changes["monthly_amount"] == ["90.00", "100.00"]

    services.benefit_record_stop(
        chengguan_user, again, end_month=date(2026, 9, 1), reason="本人已死亡"
    )
    again.refresh_from_db()
    assert (again.status, again.end_month) == ("stopped", date(2026, 9, 1))
    with pytest.raises(TransitionError, match="已是停保状态"):
        services.benefit_record_stop(chengguan_user, again, end_month=date(2026, 9, 1), reason="x")


def test_civil_rows_are_not_edited_by_hand(chengguan_user, person):
    civil = factories.BenefitRecordFactory(person=person, origin=BenefitRecord.Origin.CIVIL)
    with pytest.raises(CaseworkError, match="以民政名册为准"):
        services.benefit_record_stop(chengguan_user, civil, end_month=today(), reason="x")


def test_application_approved_becomes_an_active_record(chengguan_user, person):
    application = services.benefit_application_create(
        chengguan_user,
        person,
        benefit_type="care_subsidy",
        applied_on=today() - timedelta(days=10),
        note="一级肢体残疾",
    )
    assert application.status == BenefitApplication.Status.APPLYING
    with pytest.raises(CaseworkError, match="已有申请中的申请"):
        services.benefit_application_create(chengguan_user, person, benefit_type="care_subsidy")

    application = services.benefit_application_review(chengguan_user, application, note="材料齐全")
    application = services.benefit_application_decide(
        chengguan_user, application, approved=True, monthly_amount=90
    )
    assert application.status == BenefitApplication.Status.APPROVED
    record = application.benefit_record
    assert (record.origin, record.status, record.monthly_amount, record.start_month) == (
        "manual",
        "active",
        Decimal("90.00"),
        today().replace(day=1),
    )
    with pytest.raises(TransitionError, match="已办结"):
        services.benefit_application_decide(chengguan_user, application, approved=False, note="x")
    with pytest.raises(CaseworkError, match="已在享受重度残疾人护理补贴"):
        services.benefit_application_create(chengguan_user, person, benefit_type="care_subsidy")
    history = ChangeRecord.objects.filter(
        model="subsidies.benefitapplication", object_id=str(application.pk)
    )
    steps = [row.changes["status"] for row in history.filter(action="update").order_by("pk")]
    assert steps == [["applying", "reviewed"], ["reviewed", "approved"]]


def test_rejection_needs_a_note_and_withdrawal_a_reason(chengguan_user, person):
    application = services.benefit_application_create(chengguan_user, person, benefit_type="dibao")
    services.benefit_application_review(chengguan_user, application, note="入户核实")
    with pytest.raises(CaseworkError, match="未批准须填写说明"):
        services.benefit_application_decide(chengguan_user, application, approved=False)
    services.benefit_application_decide(
        chengguan_user, application, approved=False, note="家庭收入超过低保标准"
    )
    assert not BenefitRecord.objects.exists()

    second = services.benefit_application_create(chengguan_user, person, benefit_type="dibao")
    with pytest.raises(CaseworkError, match="撤回原因不能为空"):
        services.benefit_application_withdraw(chengguan_user, second, reason="")
    second = services.benefit_application_withdraw(chengguan_user, second, reason="本人放弃")
    assert (second.status, second.decided_on) == ("withdrawn", today())


def test_roles_and_scope(person, viewer_user, village_user, hekou_user):
    with pytest.raises(NotPermitted):
        services.benefit_application_create(viewer_user, person, benefit_type="dibao")
    with pytest.raises(NotPermitted):
        services.benefit_record_save(village_user, person, benefit_type="dibao")
    with pytest.raises(Http404):
        services.benefit_application_create(hekou_user, person, benefit_type="dibao")
    assert not BenefitApplication.objects.exists()


def test_bad_values_are_refused(chengguan_user, person):
    with pytest.raises(CaseworkError, match="项目应为"):
        services.benefit_record_save(chengguan_user, person, benefit_type="pocket_money")
    with pytest.raises(CaseworkError, match="月标准应为金额"):
        services.benefit_record_save(
            chengguan_user, person, benefit_type="dibao", monthly_amount="九十"
        )
    with pytest.raises(CaseworkError, match="终止年月不能早于起始年月"):
        services.benefit_record_save(
            chengguan_user,
            person,
            benefit_type="dibao",
            start_month=date(2026, 5, 1),
            end_month=date(2026, 4, 1),
        )
