"""Handling a finding in one step: the answering record and the handled finding, or nothing."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from cases.casework_base import CaseworkError, TransitionError
from cases.models import AssistanceMeasure, EducationPlan, MonitoringCase, Pairing, RehabService
from monitoring import finding_actions
from monitoring.models import Finding, FindingEvent
from subsidies.models import BenefitApplication

from . import factories

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


@pytest.fixture
def survey():
    return factories.certified_person(household=True, income_per_capita=5000)


def finding_for(survey, rule="M01", **extra):
    return factories.FindingFactory(
        rule=rule, person=survey.person, household=survey.household, **extra
    )


def assert_handled(finding, user, action_fragment):
    finding.refresh_from_db()
    assert finding.status == Finding.Status.HANDLED
    assert action_fragment in finding.action_taken
    assert finding.decided_by == user and finding.decided_at is not None
    event = FindingEvent.objects.get(finding=finding)
    assert (event.from_status, event.to_status, event.actor) == ("open", "handled", user)


def test_m_finding_opens_a_case(chengguan_user, survey):
    finding = finding_for(survey, "M05")
    case = finding_actions.finding_open_case(chengguan_user, finding)
    assert case.status == MonitoringCase.Status.PENDING
    assert (case.source_rule, case.source_finding_id, case.person) == (
        "M05",
        finding.pk,
        survey.person,
    )
    assert case.opening_reason.startswith("M05：")
    assert_handled(finding, chengguan_user, f"已建立监测对象（编号{case.pk}")


def test_second_finding_of_the_household_joins_the_open_case(chengguan_user, survey):
    spouse = factories.certified_person(household=survey.household)
    case = finding_actions.finding_open_case(chengguan_user, finding_for(survey))
    second = factories.FindingFactory(rule="M02", person=spouse.person, household=survey.household)
    assert finding_actions.finding_open_case(chengguan_user, second) == case
    assert MonitoringCase.objects.count() == 1
    assert_handled(second, chengguan_user, "并入该户已有的监测对象")


def test_only_m_findings_open_cases(chengguan_user, survey):
    finding = finding_for(survey, "S05")
    with pytest.raises(CaseworkError, match="只有M01～M05"):
        finding_actions.finding_open_case(chengguan_user, finding)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN


def test_finding_opens_benefit_application_for_its_rule(chengguan_user, survey):
    finding = finding_for(survey, "S01")
    application = finding_actions.finding_open_benefit_application(chengguan_user, finding)
    assert (application.benefit_type, application.status, application.source_finding_id) == (
        "care_subsidy",
        BenefitApplication.Status.APPLYING,
        finding.pk,
    )
    assert_handled(finding, chengguan_user, "已代为申请重度残疾人护理补贴")


def test_failure_inside_the_step_writes_nothing(chengguan_user, survey):
    # The person already receives the benefit: the application is refused, so the
    # finding stays open and nothing else is written.
    factories.BenefitRecordFactory(person=survey.person, benefit_type="living_subsidy")
    finding = finding_for(survey, "S02")
    with pytest.raises(CaseworkError, match="已在享受困难残疾人生活补贴"):
        finding_actions.finding_open_benefit_application(chengguan_user, finding)
    finding.refresh_from_db()
    assert finding.status == Finding.Status.OPEN and finding.action_taken == ""
    assert not FindingEvent.objects.exists()
    assert not BenefitApplication.objects.exists()


def test_education_plan_pairing_assistance_and_rehab_in_one_step(chengguan_user, survey):
    child = factories.certified_person(
        household=survey.household, birth=today() - timedelta(days=365 * 9), in_school="no"
    )
    e01 = factories.FindingFactory(rule="E01", person=child.person, household=survey.household)
    plan = finding_actions.finding_open_education_plan(
        chengguan_user, e01, placement="home_teaching", verified_on=today(), school="城关镇中心小学"
    )
    assert EducationPlan.objects.get(person=child.person) == plan
    assert_handled(e01, chengguan_user, "送教上门")

    p01 = finding_for(survey, "P01")
    finding_actions.finding_open_pairing(
        chengguan_user, p01, helper_name="李支书", helper_kind="party_member", started_on=today()
    )
    assert Pairing.objects.get(household=survey.household).helper_name == "李支书"
    assert_handled(p01, chengguan_user, "李支书")

    q01 = finding_for(survey, "Q01")
    finding_actions.finding_record_assistance(
        chengguan_user, q01, kind="employment", responsible_unit="镇人社所", started_on=today()
    )
    assert AssistanceMeasure.objects.get(household=survey.household).kind == "employment"
    assert_handled(q01, chengguan_user, "就业")

    r01 = finding_for(survey, "R01")
    finding_actions.finding_record_rehab_service(
        chengguan_user, r01, service_type="康复训练", provider="城关镇卫生院", served_on=today()
    )
    assert RehabService.objects.get(person=survey.person).provider == "城关镇卫生院"
    assert_handled(r01, chengguan_user, "康复训练")


def test_finding_must_be_open_and_in_scope(chengguan_user, hekou_user, viewer_user, survey):
    finding = finding_for(survey, "M01", status=Finding.Status.DISMISSED)
    with pytest.raises(TransitionError, match="不予处理"):
        finding_actions.finding_open_case(chengguan_user, finding)
    other = finding_for(factories.certified_person(household=True), "M01")
    with pytest.raises(Http404):
        finding_actions.finding_open_case(hekou_user, other)
    with pytest.raises(Exception, match="只读"):
        finding_actions.finding_open_case(viewer_user, other)
    assert not MonitoringCase.objects.exists()


def test_finding_without_household_asks_for_one(chengguan_user):
    lone = factories.certified_person()
    finding = factories.FindingFactory(rule="M01", person=lone.person, household=None)
    with pytest.raises(CaseworkError, match="没有登记所属家庭"):
        finding_actions.finding_open_case(chengguan_user, finding)
