"""Referrals (转办): the county admins' unit list, referring a measure or an application to
a unit, and the unit's steps (已受理 → 已办结, or 已退回), each with its history row."""

from datetime import date, timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError, NotPermitted, TransitionError
from cases.models import ChangeRecord
from subsidies import referrals, services
from subsidies.models import Referral, ReferralUnit

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def unit(name="民政办"):
    return ReferralUnit.objects.get(name=name)


def rows(model, obj):
    return ChangeRecord.objects.filter(model=model, object_id=str(obj.pk)).order_by("pk")


@pytest.fixture
def measure(home):
    return home.household.assistance.get()


@pytest.fixture
def application(home):
    return home.head.benefit_applications.get()


# --- units ---


def test_seeded_units_exist():
    names = set(ReferralUnit.objects.values_list("name", flat=True))
    assert {"民政办", "人社所", "卫生院", "教育部门", "住建部门", "医保部门"} <= names


def test_county_admin_adds_renames_and_deactivates_a_unit(county_admin):
    added = referrals.referral_unit_save(county_admin, None, name=" 残联康复中心 ", sort_order=5)
    assert (added.name, added.sort_order, added.is_active) == ("残联康复中心", 5, True)
    referrals.referral_unit_save(county_admin, added, name="县康复中心", is_active=True)
    referrals.referral_unit_save(county_admin, added, name="县康复中心", is_active=False)
    added.refresh_from_db()
    assert (added.name, added.is_active, added.sort_order) == ("县康复中心", False, 5)
    history = list(rows("subsidies.referralunit", added))
    assert [row.action for row in history] == ["create", "update", "update"]
    assert history[1].changes["name"] == ["残联康复中心", "县康复中心"]
    assert history[2].changes["is_active"] == [True, False] and history[2].reason == "停用转办单位"
    assert all(row.actor == county_admin for row in history)
    assert referral_unit_names_active() == referral_unit_names_active()  # stable order
    assert "县康复中心" not in referral_unit_names_active()


def referral_unit_names_active():
    return [u.name for u in referrals.referral_units(active_only=True)]


def test_unit_refusals(county_admin, chengguan_user, viewer_user):
    for user in (chengguan_user, viewer_user):
        with pytest.raises(NotPermitted, match="县残联管理员"):
            referrals.referral_unit_save(user, None, name="新单位")
    with pytest.raises(CaseworkError, match="已有名为“民政办”"):
        referrals.referral_unit_save(county_admin, None, name="民政办")
    with pytest.raises(CaseworkError, match="已有名为“人社所”"):
        referrals.referral_unit_save(county_admin, unit(), name="人社所")
    with pytest.raises(CaseworkError, match="单位名称不能为空") as error:
        referrals.referral_unit_save(county_admin, None, name=" ")
    assert error.value.field == "name"
    with pytest.raises(CaseworkError, match="单位名称不能超过50个字"):
        referrals.referral_unit_save(county_admin, None, name="单" * 51)
    assert not ReferralUnit.objects.filter(name="新单位").exists()
    assert unit().name == "民政办"
    assert not ChangeRecord.objects.filter(model="subsidies.referralunit").exists()


# --- referrals ---


def test_refer_a_measure_then_accept_and_finish(hekou_user, home, measure):
    referral = referrals.referral_create(
        hekou_user, home.household, unit=unit("住建部门"), measure=measure, request="协调接入自来水"
    )
    assert (referral.status, referral.referred_on, referral.referred_by) == (
        "referred",
        today(),
        hekou_user,
    )
    with pytest.raises(TransitionError, match="须先受理"):
        referrals.referral_update_status(hekou_user, referral, status="done", response="已接通")
    referral = referrals.referral_update_status(hekou_user, referral, status="accepted")
    assert (referral.status, referral.accepted_on) == ("accepted", today())
    with pytest.raises(CaseworkError, match="办理结果不能为空"):
        referrals.referral_update_status(hekou_user, referral, status="done")
    referral = referrals.referral_update_status(
        hekou_user, referral, status="done", response="已接通自来水"
    )
    assert (referral.status, referral.closed_on, referral.response) == (
        "done",
        today(),
        "已接通自来水",
    )
    with pytest.raises(TransitionError, match="已办结"):
        referrals.referral_update_status(hekou_user, referral, status="returned", response="x")
    history = list(rows("subsidies.referral", referral))
    assert [row.action for row in history] == ["create", "update", "update"]
    assert [row.changes["status"] for row in history[1:]] == [
        ["referred", "accepted"],
        ["accepted", "done"],
    ]
    assert "住建部门已办结" in history[2].reason


def test_refer_an_application_and_have_it_returned(hekou_user, home, application):
    referral = referrals.referral_create(
        hekou_user,
        home.household,
        unit=unit(),
        application=application,
        request="请民政办审核低保",
        referred_on=date(2026, 5, 1),
    )
    with pytest.raises(CaseworkError, match="退回原因不能为空"):
        referrals.referral_update_status(hekou_user, referral, status="returned")
    with pytest.raises(CaseworkError, match="办理日期不能早于转办日期"):
        referrals.referral_update_status(
            hekou_user, referral, status="returned", response="材料不全", on=date(2026, 4, 30)
        )
    referral = referrals.referral_update_status(
        hekou_user, referral, status="returned", response="材料不全", on=date(2026, 5, 3)
    )
    assert (referral.status, referral.closed_on) == ("returned", date(2026, 5, 3))
    # Returned is closed: the same unit may be asked again.
    again = referrals.referral_create(
        hekou_user, home.household, unit=unit(), application=application, request="补齐材料再转"
    )
    assert again.status == "referred"


def test_one_open_referral_per_unit_and_subject(hekou_user, home, measure, application):
    referrals.referral_create(
        hekou_user, home.household, unit=unit(), measure=measure, request="第一次"
    )
    with pytest.raises(CaseworkError, match="该措施已转办民政办且尚未办结") as error:
        referrals.referral_create(
            hekou_user, home.household, unit=unit(), measure=measure, request="第二次"
        )
    assert error.value.field == "unit"
    # Another unit, or the application, is fine.
    referrals.referral_create(
        hekou_user, home.household, unit=unit("人社所"), measure=measure, request="就业"
    )
    referrals.referral_create(
        hekou_user, home.household, unit=unit(), application=application, request="低保"
    )
    with pytest.raises(CaseworkError, match="该申请已转办民政办且尚未办结"):
        referrals.referral_create(
            hekou_user, home.household, unit=unit(), application=application, request="again"
        )
    assert Referral.objects.count() == 3


def test_referral_refusals(hekou_user, county_admin, home, elsewhere, measure, application):
    household = home.household
    referrals.referral_unit_save(county_admin, unit("卫生院"), name="卫生院", is_active=False)
    cases = [
        ({"unit": unit("卫生院"), "measure": measure, "request": "x"}, "已停用", "unit"),
        ({"unit": unit(), "request": "x"}, "一项帮扶措施或一项申请", "measure"),
        (
            {"unit": unit(), "measure": measure, "application": application, "request": "x"},
            "一项帮扶措施或一项申请",
            "measure",
        ),
        ({"unit": unit(), "measure": measure, "request": ""}, "转办事项不能为空", "request"),
        (
            {"unit": unit(), "measure": elsewhere.household.assistance.get(), "request": "x"},
            "不属于此家庭",
            "measure",
        ),
        (
            {
                "unit": unit(),
                "application": elsewhere.head.benefit_applications.get(),
                "request": "x",
            },
            "不属于此家庭成员",
            "application",
        ),
        (
            {
                "unit": unit(),
                "measure": measure,
                "request": "x",
                "referred_on": today() + timedelta(days=1),
            },
            "转办日期不能晚于今天",
            "referred_on",
        ),
        (
            {
                "unit": unit(),
                "application": application,
                "request": "x",
                "referred_on": application.applied_on - timedelta(days=1),
            },
            "转办日期不能早于申请日期",
            "referred_on",
        ),
    ]
    for kwargs, message, field in cases:
        with pytest.raises(CaseworkError, match=message) as error:
            referrals.referral_create(hekou_user, household, **kwargs)
        assert error.value.field == field, message
    services.benefit_application_withdraw(hekou_user, application, reason="放弃")
    with pytest.raises(CaseworkError, match="已撤回，不能再转办"):
        referrals.referral_create(
            hekou_user, household, unit=unit(), application=application, request="x"
        )
    casework.assistance_close(hekou_user, measure, ended_on=today(), result="已完成")
    with pytest.raises(CaseworkError, match="已结束，不能再转办"):
        referrals.referral_create(hekou_user, household, unit=unit(), measure=measure, request="x")
    assert not Referral.objects.exists()


def test_referral_roles_and_scope(chengguan_user, viewer_user, hekou_user, home, measure):
    village_member = factories.user_with_role(
        "village_member", village=home.head.village, username="dongfeng"
    )
    for user in (viewer_user, village_member):
        with pytest.raises(NotPermitted):
            referrals.referral_create(
                user, home.household, unit=unit(), measure=measure, request="x"
            )
    with pytest.raises(Http404):
        referrals.referral_create(
            chengguan_user, home.household, unit=unit(), measure=measure, request="x"
        )
    referral = referrals.referral_create(
        hekou_user, home.household, unit=unit(), measure=measure, request="x"
    )
    with pytest.raises(Http404):
        referrals.referral_update_status(chengguan_user, referral, status="accepted")
    with pytest.raises(NotPermitted):
        referrals.referral_update_status(viewer_user, referral, status="accepted")
    with pytest.raises(CaseworkError, match="办理状态应为"):
        referrals.referral_update_status(hekou_user, referral, status="referred")
    referral.refresh_from_db()
    assert referral.status == "referred"


def test_open_counts_by_unit(hekou_user, chengguan_user, home, elsewhere, measure, application):
    referrals.referral_create(
        hekou_user,
        home.household,
        unit=unit(),
        measure=measure,
        request="a",
        referred_on=today() - timedelta(days=9),
    )
    accepted = referrals.referral_create(
        hekou_user, home.household, unit=unit(), application=application, request="b"
    )
    referrals.referral_update_status(hekou_user, accepted, status="accepted")
    done = referrals.referral_create(
        hekou_user, home.household, unit=unit("人社所"), measure=measure, request="c"
    )
    referrals.referral_update_status(hekou_user, done, status="accepted")
    referrals.referral_update_status(hekou_user, done, status="done", response="ok")
    referrals.referral_create(
        chengguan_user,
        elsewhere.household,
        unit=unit("卫生院"),
        measure=elsewhere.household.assistance.get(),
        request="d",
    )
    counts = referrals.open_counts_by_unit(referrals.referrals_in_scope(hekou_user))
    assert [(c.name, c.referred, c.accepted, c.days_waiting) for c in counts] == [
        ("民政办", 1, 1, 9)
    ]


# --- assistance measures: close ---


def test_close_a_measure_needs_a_date_and_a_result(
    hekou_user, viewer_user, chengguan_user, measure
):
    with pytest.raises(CaseworkError, match="成效不能为空"):
        casework.assistance_close(hekou_user, measure, ended_on=today(), result="")
    with pytest.raises(CaseworkError, match="结束日期不能早于开始日期"):
        casework.assistance_close(
            hekou_user, measure, ended_on=measure.started_on - timedelta(days=1), result="ok"
        )
    with pytest.raises(CaseworkError, match="结束日期不能晚于今天"):
        casework.assistance_close(
            hekou_user, measure, ended_on=today() + timedelta(days=1), result="ok"
        )
    with pytest.raises(NotPermitted):
        casework.assistance_close(viewer_user, measure, ended_on=today(), result="ok")
    with pytest.raises(Http404):
        casework.assistance_close(chengguan_user, measure, ended_on=today(), result="ok")
    assert not rows("cases.assistancemeasure", measure).filter(action="update").exists()
    casework.assistance_close(
        hekou_user, measure, ended_on=today(), result="已通自来水", reason="工程完工"
    )
    measure.refresh_from_db()
    assert (measure.ended_on, measure.result) == (today(), "已通自来水")
    row = rows("cases.assistancemeasure", measure).get(action="update")
    assert row.reason == "工程完工" and row.changes["result"] == ["", "已通自来水"]
    with pytest.raises(TransitionError, match="不能重复结束"):
        casework.assistance_close(hekou_user, measure, ended_on=today(), result="again")
