"""Shared data for the staff-app view tests: one household of each kind of record.

`household_with_everything(township, village)` builds a certified head with survey answers,
a non-certified member, a roster household whose values differ from the survey in a few
places, findings, a monitoring case with steps, a visit, an assistance measure, a pairing,
a benefit, an application, an education plan and a rehabilitation service.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from cases.models import (
    Household,
    HouseholdMember,
    MonitoringCase,
    MonitoringCaseStep,
    Person,
    TrackingVisit,
)
from monitoring.models import Finding, SurveyRecord
from subsidies.models import BenefitApplication

from . import factories


@dataclass
class HouseholdData:
    household: Household
    head: Person
    spouse: Person
    survey: SurveyRecord
    findings: dict
    case: MonitoringCase
    visit: TrackingVisit


def household_with_everything(
    township="河口镇", village="东风村", head_name="周明亮", tag="甲"
) -> HouseholdData:
    record = factories.certified_person(
        township=township,
        village_name=village,
        name=head_name,
        household=True,
        category=4,
        grade=1,
        birth=date(1970, 5, 6),
        income_per_capita=Decimal("5200"),
        housing_safe=True,
        water_safe=False,
        rehab_needs=["康复训练"],
        rehab_received=False,
        medical_insured=True,
        surveyed_on=date(2026, 3, 1),
    )
    head = record.person
    household = head.membership.household
    spouse = factories.PersonFactory(
        name=f"配偶{tag}",
        birth=date(1972, 1, 2),
        township=head.township,
        village=head.village,
    )
    HouseholdMember.objects.create(household=household, person=spouse, relation="配偶")
    roster_household = factories.RosterHouseholdFactory(
        township=head.township,
        village=head.village,
        head_name=head_name,
        household_type="monitored",
        monitoring_category="unstable",
        risk_types=["因残"],
        income_per_capita=Decimal("6100"),
        risk_cleared=False,
    )
    # The station spells the name differently and records another grade: two differences.
    factories.RosterMemberFactory(
        household=roster_household,
        person=head,
        name=f"{head_name[:-1]}量",
        is_disabled=True,
        disability_category=4,
        disability_grade=2,
    )
    run = factories.CrosscheckRunFactory()
    now = timezone.now()

    def finding(rule, reason, days_ago, **fields):
        return factories.FindingFactory(
            rule=rule,
            person=head,
            household=household,
            first_run=run,
            reason=f"{tag}{reason}",
            opened_at=now - timedelta(days=days_ago),
            **fields,
        )

    findings = {
        "M01": finding("M01", "收入低于监测线：调查家庭年人均收入5,200元", 40),
        "R01": finding("R01", "有康复需求（康复训练）但未获服务", 3),
        "D01": finding(
            "D01",
            "姓名不一致",
            100,
            status=Finding.Status.DISMISSED,
            dismiss_reason="同音字，已核实为同一人",
        ),
    }
    case = MonitoringCase.objects.create(
        household=household,
        person=head,
        status=MonitoringCase.Status.PENDING,
        opened_on=date(2026, 4, 1),
        opening_reason=f"{tag}收入低于监测线",
    )
    MonitoringCaseStep.objects.create(
        case=case, from_status="", to_status="pending", acted_on=date(2026, 4, 1), reason="建立"
    )
    visit = TrackingVisit.objects.create(
        household=household,
        person=head,
        case=case,
        kind=TrackingVisit.Kind.TRACKING,
        visited_on=timezone.localdate() - timedelta(days=60),
        visitor_name="李娟",
        water=TrackingVisit.Check.PROBLEM,
        notes=f"{tag}饮用井水，水质待检",
        next_due=timezone.localdate() - timedelta(days=30),
    )
    factories.AssistanceMeasureFactory(
        household=household, kind="water", responsible_unit="镇水利站", description="接入自来水"
    )
    factories.PairingFactory(household=household, helper_name=f"王书记{tag}", helper_kind="cadre")
    factories.BenefitRecordFactory(person=head, benefit_type="care_subsidy", monthly_amount=90)
    BenefitApplication.objects.create(
        person=head, benefit_type="dibao", applied_on=date(2026, 4, 2), note="单人户低保"
    )
    factories.RehabServiceFactory(person=head, service_type="康复训练", provider="镇卫生院")
    return HouseholdData(household, head, spouse, record, findings, case, visit)


def user_of_each_scope(home: HouseholdData, county_admin) -> dict:
    """The users the compiled-SQL tests compare for (tests/test_household_*_sql.py,
    tests/test_person_page_sql.py): `home`'s township staff, the county, `home`'s village,
    another township's staff and a user without a scope."""
    return {
        "hekou": factories.user_with_role("township_staff", township="河口镇"),
        "county": county_admin,
        "village": factories.user_with_role("village_member", village=home.household.village),
        "other_township": factories.user_with_role("township_staff", township="城关镇"),
        "no_scope": factories.UserFactory(),
    }
