"""Tracking visits (跟踪访视 / 入户走访); overdue visits: tests/test_overdue_definition.py."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError, NotPermitted
from cases.models import ChangeRecord, TrackingVisit

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def days(n):
    return today() - timedelta(days=n)


@pytest.fixture
def survey():
    return factories.certified_person(household=True)


def test_visit_records_checklist_money_and_family(chengguan_user, survey):
    household = survey.household
    case = casework.case_open(chengguan_user, household, reason="收入偏低", opened_on=days(30))
    visit = casework.visit_record(
        chengguan_user,
        household,
        visited_on=days(3),
        person=survey.person,
        food="ok",
        clothing="ok",
        education="na",
        medical="problem",
        housing="ok",
        water="problem",
        annual_income="18,000元",
        income_per_capita="6000",
        annual_expenditure=Decimal("21000"),
        rigid_expenditure=25000,
        members_situation="妻子务农，儿子在外务工",
        separated_children_situation="女儿已出嫁分户，家庭困难",
        next_due=today() + timedelta(days=27),
    )
    visit.refresh_from_db()
    assert visit.kind == TrackingVisit.Kind.TRACKING
    assert visit.case == case  # linked to the household's open case
    assert visit.visitor == chengguan_user and visit.visitor_name == chengguan_user.username
    assert visit.problems == ["基本医疗", "饮水安全"]
    assert (visit.annual_income, visit.income_per_capita, visit.rigid_expenditure) == (
        Decimal("18000.00"),
        Decimal("6000.00"),
        Decimal("25000.00"),
    )
    assert visit.separated_children_situation == "女儿已出嫁分户，家庭困难"
    row = ChangeRecord.objects.get(model="cases.trackingvisit", object_id=str(visit.pk))
    assert row.actor == chengguan_user and row.changes["water"] == [None, "problem"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"water": "bad"}, "饮水安全”应为有保障、存在问题或不涉及"),
        ({"annual_income": "一万"}, "家庭年纯收入应为金额"),
        ({"annual_income": "-5"}, "不能为负数"),
        ({"next_due": "days(5)"}, "下次访视日期应晚于本次走访日期"),
        ({"kind": "phone"}, "走访类型应为"),
        ({"mood": "good"}, "没有“mood”这一项"),
    ],
)
def test_bad_visit_input_is_refused(chengguan_user, survey, fields, message):
    if fields.get("next_due") == "days(5)":
        fields = {"next_due": days(5)}
    with pytest.raises(CaseworkError, match=message):
        casework.visit_record(chengguan_user, survey.household, visited_on=days(3), **fields)
    assert not TrackingVisit.objects.exists()


def test_village_member_records_home_visits_in_their_village_only(village_user, survey):
    visit = casework.visit_record(village_user, survey.household, visited_on=days(1), food="ok")
    assert visit.kind == TrackingVisit.Kind.HOME
    casework.visit_update(village_user, visit, notes="补充：房屋漏雨")
    visit.refresh_from_db()
    assert visit.notes == "补充：房屋漏雨"

    elsewhere = factories.certified_person(household=True, village_name="西关村").household
    with pytest.raises(Http404):
        casework.visit_record(village_user, elsewhere, visited_on=days(1))
    # Recording visits is the only write a village member may do.
    with pytest.raises(NotPermitted):
        casework.assistance_add(
            village_user,
            survey.household,
            kind="health",
            responsible_unit="镇卫生院",
            started_on=days(1),
        )


def test_village_member_cannot_change_someone_elses_visit(
    village_user, chengguan_user, viewer_user, survey
):
    visit = casework.visit_record(chengguan_user, survey.household, visited_on=days(2))
    with pytest.raises(NotPermitted, match="只能修改本人登记"):
        casework.visit_update(village_user, visit, notes="改")
    with pytest.raises(NotPermitted):
        casework.visit_record(viewer_user, survey.household, visited_on=days(2))
