"""Monitoring cases (监测对象): the case workflow, its steps and its refusals."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError, NotPermitted, TransitionError
from cases.models import ChangeRecord, MonitoringCase, MonitoringCaseStep

from . import factories

pytestmark = pytest.mark.django_db
Status = MonitoringCase.Status


def today():
    return timezone.localdate()


@pytest.fixture
def household():
    return factories.certified_person(household=True).household


def open_case(user, household, days_ago=20):
    return casework.case_open(
        user, household, reason="入户核实收入偏低", opened_on=today() - timedelta(days=days_ago)
    )


def include(user, case, days_ago=15):
    return casework.case_include(
        user,
        case,
        category="marginal",
        risk_types=["因病", "因残"],
        reason="核实后家庭年人均收入低于监测线",
        on=today() - timedelta(days=days_ago),
    )


def test_full_workflow_records_every_step(chengguan_user, household):
    case = open_case(chengguan_user, household)
    assert case.status == Status.PENDING
    case = include(chengguan_user, case)
    assert (case.status, case.category, case.risk_types) == (
        Status.INCLUDED,
        "marginal",
        ["因病", "因残"],
    )
    assert case.included_on == today() - timedelta(days=15)

    # Recording a measure moves an included case to 帮扶中 in the same call.
    casework.assistance_add(
        chengguan_user,
        household,
        kind="health",
        responsible_unit="城关镇卫生院",
        started_on=today() - timedelta(days=10),
    )
    case.refresh_from_db()
    assert case.status == Status.ASSISTING
    assert case.assisting_since == today() - timedelta(days=10)

    case = casework.case_clear(
        chengguan_user, case, method="assistance", reason="收入稳定超过监测线", on=today()
    )
    assert (case.status, case.clear_method, case.cleared_on) == (
        Status.CLEARED,
        "assistance",
        today(),
    )

    steps = list(MonitoringCaseStep.objects.filter(case=case).order_by("id"))
    assert [(s.from_status, s.to_status) for s in steps] == [
        ("", "pending"),
        ("pending", "included"),
        ("included", "assisting"),
        ("assisting", "cleared"),
    ]
    assert all(s.actor == chengguan_user for s in steps)
    assert steps[1].reason == "核实后家庭年人均收入低于监测线"
    assert steps[2].reason.startswith("登记帮扶措施：健康/康复")
    history = ChangeRecord.objects.filter(model="cases.monitoringcase", object_id=str(case.pk))
    assert history.filter(action="create").count() == 1
    assert history.filter(action="update").count() == 3
    cleared = history.filter(action="update", changes__has_key="clear_method").get()
    assert cleared.changes["status"] == ["assisting", "cleared"]
    assert cleared.actor == chengguan_user


def test_reject_needs_a_reason_and_closes_the_case(chengguan_user, household):
    case = open_case(chengguan_user, household)
    with pytest.raises(CaseworkError, match="不予纳入原因不能为空"):
        casework.case_reject(chengguan_user, case, reason="  ")
    case = casework.case_reject(chengguan_user, case, reason="核实收入已超过监测线")
    assert (case.status, case.rejected_reason, case.rejected_on) == (
        Status.REJECTED,
        "核实收入已超过监测线",
        today(),
    )
    with pytest.raises(TransitionError, match="已办结"):
        include(chengguan_user, case, days_ago=0)


@pytest.mark.parametrize(
    ("prepare", "target", "kwargs"),
    [
        ([], "cleared", {"method": "natural", "reason": "自然消除"}),
        ([], "assisting", {"reason": "开始帮扶"}),
        (["include"], "rejected", {"reason": "不符合"}),
        (["include"], "included", {"category": "unstable", "risk_types": ["因病"], "reason": "x"}),
    ],
)
def test_illegal_transitions_are_refused_in_chinese(
    chengguan_user, household, prepare, target, kwargs
):
    case = open_case(chengguan_user, household)
    if "include" in prepare:
        case = include(chengguan_user, case)
    before = case.status
    with pytest.raises(TransitionError) as error:
        casework.case_transition(chengguan_user, case, target, **kwargs)
    message = str(error.value)
    assert f"当前状态为“{Status(before).label}”" in message
    assert f"不能变更为“{Status(target).label}”" in message
    assert "允许的下一步" in message
    case.refresh_from_db()
    assert case.status == before
    assert MonitoringCaseStep.objects.filter(case=case).count() == (
        2 if "include" in prepare else 1
    )


def test_include_validates_type_and_risk_types(chengguan_user, household):
    case = open_case(chengguan_user, household)
    with pytest.raises(CaseworkError, match="监测对象类别应为"):
        casework.case_include(
            chengguan_user, case, category="poor", risk_types=["因病"], reason="x"
        )
    with pytest.raises(CaseworkError, match="风险类型“因懒”无效"):
        casework.case_include(
            chengguan_user, case, category="marginal", risk_types=["因懒"], reason="x"
        )
    with pytest.raises(CaseworkError, match="至少选择一项风险类型"):
        casework.case_include(chengguan_user, case, category="marginal", risk_types=[], reason="x")
    case = casework.case_include(
        chengguan_user, case, category="sudden", risk_types="因灾、因意外事故，因灾", reason="x"
    )
    assert case.risk_types == ["因灾", "因意外事故"]


def test_assistance_stage_needs_a_measure(chengguan_user, household):
    case = include(chengguan_user, open_case(chengguan_user, household))
    with pytest.raises(CaseworkError, match="请先登记至少一项帮扶措施"):
        casework.case_start_assistance(chengguan_user, case, reason="开始帮扶")
    factories.AssistanceMeasureFactory(household=household, started_on=today())
    case = casework.case_start_assistance(chengguan_user, case, reason="开始帮扶")
    assert case.status == Status.ASSISTING


def test_one_open_case_per_household(chengguan_user, household):
    first = open_case(chengguan_user, household)
    with pytest.raises(CaseworkError, match="已有未结束的监测对象"):
        open_case(chengguan_user, household)
    casework.case_reject(chengguan_user, first, reason="不符合条件")
    second = open_case(chengguan_user, household, days_ago=0)
    assert second.pk != first.pk
    assert MonitoringCase.objects.filter(household=household).count() == 2


def test_step_dates_must_follow_and_not_be_in_the_future(chengguan_user, household):
    case = open_case(chengguan_user, household, days_ago=5)
    with pytest.raises(CaseworkError, match="不能早于上一步的日期"):
        include(chengguan_user, case, days_ago=6)
    with pytest.raises(CaseworkError, match="不能晚于今天"):
        include(chengguan_user, case, days_ago=-1)
    assert MonitoringCase.objects.get(pk=case.pk).status == Status.PENDING


def test_who_may_work_a_case(household, viewer_user, village_user, hekou_user, admin_user):
    with pytest.raises(NotPermitted, match="只读"):
        open_case(viewer_user, household)
    with pytest.raises(NotPermitted, match="只能登记入户走访"):
        open_case(village_user, household)
    with pytest.raises(Http404):
        open_case(hekou_user, household)
    case = open_case(admin_user, household)
    with pytest.raises(Http404):
        include(hekou_user, case)
    assert MonitoringCase.objects.get().status == Status.PENDING
    assert not MonitoringCaseStep.objects.filter(to_status="included").exists()


def test_case_with_person_of_another_household_is_refused(chengguan_user, household):
    other = factories.certified_person(household=True)
    with pytest.raises(CaseworkError, match="不属于此家庭"):
        casework.case_open(chengguan_user, household, reason="x", person=other.person)
