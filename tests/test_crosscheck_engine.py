"""The cross-check service over the database: loader derivations, finding fields, policy."""

from datetime import date
from decimal import Decimal

import pytest

from monitoring.crosscheck import ALL, evaluate, load_dataset, load_policy, run_crosscheck
from monitoring.models import CrosscheckRun, Finding
from subsidies.models import PolicyYear
from subsidies.policy import PolicyMissing
from tests import factories as f

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def findings() -> set[tuple[str, str]]:
    return set(
        Finding.objects.filter(status=Finding.Status.OPEN).values_list("rule", "person__id_number")
    )


def rules_for(record) -> set[str]:
    return {rule for rule, id_number in findings() if id_number == record.person.id_number}


def monitored_member(record, **household):
    roster_household = f.RosterHouseholdFactory(**household)
    return f.RosterMemberFactory(household=roster_household, person=record.person)


def test_finding_carries_person_survey_household_township_and_village():
    record = f.certified_person(
        township="河口镇", village_name="王庄村", household=True, income_per_capita=Decimal(3121)
    )
    run = run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="M01")
    assert finding.person == record.person
    assert finding.household == record.household
    assert finding.township.name == "河口镇"
    assert finding.village.name == "王庄村"
    assert finding.status == Finding.Status.OPEN
    assert finding.first_run == run and finding.last_run == run
    assert finding.reason == (
        "调查家庭年人均收入3,121元，低于2026年监测线7,000元，且未纳入防返贫监测"
    )
    assert finding.events.get().to_status == Finding.Status.OPEN


def test_monitored_means_current_roster_monitored_household_with_risk_not_cleared():
    poor = {"income_per_capita": Decimal(3000)}
    monitored = f.certified_person(**poor)
    monitored_member(monitored, household_type="monitored", risk_cleared=False)
    blank_risk = f.certified_person(**poor)
    monitored_member(blank_risk, household_type="monitored", risk_cleared=None)
    cleared = f.certified_person(**poor)
    monitored_member(cleared, household_type="monitored", risk_cleared=True)
    left_poverty = f.certified_person(**poor)
    monitored_member(left_poverty, household_type="left_poverty", risk_cleared=None)
    stale = f.certified_person(**poor)
    monitored_member(stale, household_type="monitored", is_current=False)
    stale_member = f.certified_person(**poor)
    member = monitored_member(stale_member, household_type="monitored")
    member.is_current = False
    member.save()

    run_crosscheck(AS_OF)
    m01 = {id_number for rule, id_number in findings() if rule == "M01"}
    assert m01 == {r.person.id_number for r in (cleared, left_poverty, stale, stale_member)}
    assert "P01" in rules_for(monitored) and "P01" in rules_for(blank_risk)
    assert "P01" not in rules_for(cleared)


def test_a_person_the_roster_reports_dead_is_not_alive_and_d04_still_fires():
    record = f.certified_person(income_per_capita=Decimal(3000), survival_status="alive")
    member = monitored_member(record, household_type="left_poverty")
    member.status = "deceased"
    member.save()
    run_crosscheck(AS_OF)
    assert rules_for(record) == {"D04"}


def test_survey_death_suppresses_alive_only_rules():
    record = f.certified_person(income_per_capita=Decimal(3000), survival_status="deceased")
    run_crosscheck(AS_OF)
    assert rules_for(record) == set()


def test_m04_counts_living_certified_members_of_the_roster_household_across_townships():
    household = f.RosterHouseholdFactory(household_type="left_poverty", risk_cleared=None)
    adult = f.certified_person(grade=4, income_per_capita=Decimal(9000))
    child = f.certified_person(grade=3, township="河口镇", income_per_capita=Decimal(9000))
    f.RosterMemberFactory(household=household, person=adult.person)
    f.RosterMemberFactory(household=household, person=child.person)
    # a non-certified member does not count
    f.RosterMemberFactory(household=household, is_disabled=False)
    run_crosscheck(AS_OF)
    assert "M04" in rules_for(adult) and "M04" in rules_for(child)
    assert "2名在世持证残疾人" in Finding.objects.get(rule="M04", person=adult.person).reason

    # the second certified member dies: one grade-4 member is not enough any more
    child.survival_status = "deceased"
    child.save()
    run_crosscheck(AS_OF)
    assert "M04" not in rules_for(adult)


def test_roster_member_without_certificate_is_a_d05_lead_with_roster_location():
    household = f.RosterHouseholdFactory(household_type="left_poverty", risk_cleared=None)
    member = f.RosterMemberFactory(household=household, is_disabled=True, disability_category=4)
    member.person.township = None
    member.person.village = None
    member.person.save()
    certified_no_survey = f.RosterMemberFactory(household=household, is_disabled=True)
    f.CertificateFactory(person=certified_no_survey.person)
    f.RosterMemberFactory(household=household, is_disabled=False)
    run_crosscheck(AS_OF)
    finding = Finding.objects.get(rule="D05")
    assert finding.person == member.person
    assert finding.household is None
    assert finding.township == household.township and finding.village == household.village
    assert "肢体残疾" in finding.reason
    assert Finding.objects.count() == 1


def test_manual_benefit_record_counts_as_receiving_when_no_civil_roster():
    record = f.certified_person(grade=1, receives_care_subsidy=False)
    f.BenefitRecordFactory(person=record.person, benefit_type="care_subsidy")
    stopped = f.certified_person(grade=1, receives_care_subsidy=False)
    f.BenefitRecordFactory(person=stopped.person, benefit_type="care_subsidy", status="stopped")
    run_crosscheck(AS_OF)
    assert "S01" not in rules_for(record)
    assert "S01" in rules_for(stopped)


def test_civil_roster_decides_benefit_receipt_in_its_townships():
    says_yes = f.certified_person(grade=1, receives_care_subsidy=True)
    says_no = f.certified_person(grade=2, receives_care_subsidy=False)
    unknown = f.certified_person(grade=2, receives_care_subsidy=None)
    stopped = f.certified_person(grade=2, receives_care_subsidy=True)
    old = f.certified_person(grade=2, receives_care_subsidy=True)
    dibao = f.certified_person(grade=4, receives_dibao=False, receives_living_subsidy=True)
    # Everyone here lives in 城关镇, the township the civil rows are listed under.
    civil = {
        "origin": "civil",
        "batch": f.ImportBatchFactory(source="civil"),
        "township": f.township("城关镇"),
    }
    f.BenefitRecordFactory(person=says_no.person, benefit_type="care_subsidy", **civil)
    f.BenefitRecordFactory(
        person=stopped.person, benefit_type="care_subsidy", status="stopped", **civil
    )
    f.BenefitRecordFactory(
        person=old.person, benefit_type="care_subsidy", is_current=False, **civil
    )
    f.BenefitRecordFactory(person=dibao.person, benefit_type="dibao", **civil)
    run_crosscheck(AS_OF)
    s01 = {id_number for rule, id_number in findings() if rule == "S01"}
    assert s01 == {r.person.id_number for r in (says_yes, unknown, stopped, old)}
    assert "民政名册显示" in Finding.objects.get(rule="S01", person=says_yes.person).reason
    # 低保 from the civil roster, no living subsidy there: S02 despite the survey's "yes"
    assert "S02" in rules_for(dibao)
    # A 河口镇 resident is not decided by 城关镇's roster: the survey's "yes" stands.
    elsewhere = f.certified_person(grade=1, township="河口镇", receives_care_subsidy=True)
    run_crosscheck(AS_OF)
    assert "S01" not in rules_for(elsewhere)


def test_task_area_records_clear_their_rules():
    child = f.certified_person(birth=date(2015, 3, 1), household=True, in_school="no")
    planned = f.certified_person(birth=date(2015, 3, 1), household=True, in_school="no")
    f.EducationPlanFactory(person=planned.person)
    needs = {"rehab_needs": ["康复训练"], "rehab_received": False}
    unserved = f.certified_person(**needs)
    served = f.certified_person(**needs)
    f.RehabServiceFactory(person=served.person, served_on=date(2026, 2, 1))
    last_year = f.certified_person(**needs)
    f.RehabServiceFactory(person=last_year.person, served_on=date(2025, 12, 31))
    later = f.certified_person(**needs)
    f.RehabServiceFactory(person=later.person, served_on=date(2026, 7, 1))
    run_crosscheck(AS_OF)
    assert "E01" in rules_for(child) and "E01" not in rules_for(planned)
    r01 = {id_number for rule, id_number in findings() if rule == "R01"}
    assert r01 == {r.person.id_number for r in (unserved, last_year, later)}


def test_pairing_and_assistance_of_the_survey_household():
    def monitored():
        record = f.certified_person(household=True)
        monitored_member(record, identified_on=date(2026, 1, 5))
        return record

    bare = monitored()
    paired = monitored()
    f.PairingFactory(household=paired.household, started_on=date(2026, 1, 10))
    ended = monitored()
    f.PairingFactory(household=ended.household, ended_on=date(2026, 6, 29))
    ends_today = monitored()
    f.PairingFactory(household=ends_today.household, ended_on=AS_OF)
    future = monitored()
    f.PairingFactory(household=future.household, started_on=date(2026, 7, 1))
    assisted = monitored()
    f.AssistanceMeasureFactory(household=assisted.household, ended_on=date(2026, 3, 1))
    run_crosscheck(AS_OF)
    p01 = {id_number for rule, id_number in findings() if rule == "P01"}
    assert p01 == {r.person.id_number for r in (bare, ended, future, assisted)}
    q01 = {id_number for rule, id_number in findings() if rule == "Q01"}
    assert assisted.person.id_number not in q01 and bare.person.id_number in q01


def test_policy_of_the_as_of_year_is_read():
    record = f.certified_person(income_per_capita=Decimal(8000))
    run_crosscheck(AS_OF)
    assert "M01" not in rules_for(record)
    PolicyYear.objects.filter(year=2025).update(monitoring_line=Decimal(9000))
    run_crosscheck(date(2025, 12, 31))
    assert "9,000元" in Finding.objects.get(rule="M01", person=record.person).reason


def test_missing_policy_year_is_a_clear_error_and_a_failed_run():
    f.certified_person(income_per_capita=Decimal(3000))
    with pytest.raises(PolicyMissing, match="2031年度政策参数未设置") as error:
        run_crosscheck(date(2031, 1, 1))
    assert "no policy parameters for 2031" in str(error.value)
    run = CrosscheckRun.objects.get()
    assert run.status == CrosscheckRun.Status.FAILED
    assert "2031" in run.message
    assert not Finding.objects.exists()
    # the lock was released: the next run goes ahead
    assert run_crosscheck(AS_OF).status == CrosscheckRun.Status.DONE


def test_the_loader_uses_a_fixed_number_of_queries(django_assert_max_num_queries):
    def build(n):
        for _ in range(n):
            record = f.certified_person(household=True, income_per_capita=Decimal(3000))
            monitored_member(record)
            f.BenefitRecordFactory(person=record.person)
            f.RehabServiceFactory(person=record.person)

    build(2)
    policy = load_policy(2026)
    with django_assert_max_num_queries(10) as small:
        evaluate(load_dataset(AS_OF, policy, ALL))
    build(10)
    with django_assert_max_num_queries(10) as large:
        hits = evaluate(load_dataset(AS_OF, policy, ALL))
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len({hit[1] for hit in hits}) == 12


def test_reasons_with_backslashes_and_tabs_are_stored_exactly():
    record = f.certified_person(name="张\\三")
    member = monitored_member(record, household_type="left_poverty", risk_cleared=None)
    member.name = "李\t四\\n"
    member.save()
    run_crosscheck(AS_OF)
    assert Finding.objects.get(rule="D01").reason == "调查姓名“张\\三”与监测名单姓名“李四\\n”不一致"
