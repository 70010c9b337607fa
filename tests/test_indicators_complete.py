"""The indicators added for completeness (docs/INDICATORS.md) and every table's as-of date."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import (
    AccessibilityModification,
    BaseEmployment,
    CustodialCare,
    EmploymentBase,
    FamilyDoctorContract,
    LabourProfile,
    MonitoringCase,
    MonitoringCaseStep,
    Township,
    WelfarePostPlacement,
)
from monitoring.models import Finding
from staff.selectors import indicators
from staff.views.dashboard import stats_as_of

from . import factories

pytestmark = pytest.mark.django_db
MID_2025 = date(2025, 6, 30)
MID_2026 = date(2026, 6, 30)


def row(table, label):
    return next(r for r in table.rows if r.label == label)


def pair(rate):
    return rate.numerator, rate.denominator


def test_family_doctor_counts_contracts_valid_on_the_date(chengguan_user):
    only_2025 = factories.certified_person()
    FamilyDoctorContract.objects.create(
        person=only_2025.person,
        institution="城关镇卫生院",
        doctor="王医生团队",
        signed_on=date(2025, 1, 1),
        expires_on=date(2025, 12, 31),
    )
    open_ended = factories.certified_person()
    FamilyDoctorContract.objects.create(
        person=open_ended.person, institution="卫生院", doctor="李", signed_on=date(2024, 3, 1)
    )
    factories.certified_person(family_doctor=True)  # the survey says so, no contract
    dead = factories.certified_person(survival_status="deceased")
    FamilyDoctorContract.objects.create(
        person=dead.person, institution="卫生院", doctor="李", signed_on=date(2024, 3, 1)
    )

    in_2025 = indicators.family_doctor(chengguan_user, MID_2025).total.values
    assert pair(in_2025["rate"]) == (2, 3) and in_2025["persons"] == 3
    assert in_2025["survey_only"] == 1
    in_2026 = indicators.family_doctor(chengguan_user, MID_2026).total.values
    assert pair(in_2026["rate"]) == (1, 3)
    before = indicators.family_doctor(chengguan_user, date(2024, 2, 1)).total.values
    assert pair(before["rate"]) == (0, 3)


def test_custodial_care_need_is_the_survey_need_or_care_on_the_date(chengguan_user):
    needs_and_cared = factories.certified_person(grade=1, care_need=True)
    CustodialCare.objects.create(
        person=needs_and_cared.person, mode="day", started_on=date(2026, 1, 1)
    )
    factories.certified_person(grade=3, care_need=True)  # a need, no care
    cared_without_answer = factories.certified_person(grade=2)
    CustodialCare.objects.create(
        person=cared_without_answer.person,
        mode="home",
        started_on=date(2025, 1, 1),
        ended_on=date(2025, 12, 31),
    )
    factories.certified_person(care_need=False)

    in_2026 = indicators.custodial_care(chengguan_user, MID_2026).total.values
    assert in_2026["need"] == 2 and pair(in_2026["rate"]) == (1, 2)
    assert pair(in_2026["severe"]) == (1, 1)
    # In 2025 the second severe person was in care: a need, and met.
    in_2025 = indicators.custodial_care(chengguan_user, MID_2025).total.values
    assert in_2025["need"] == 3 and pair(in_2025["rate"]) == (1, 3)
    assert pair(in_2025["severe"]) == (1, 2)


def test_tekun_and_temporary_relief_read_the_one_receipt_definition(chengguan_user):
    factories.certified_person(receives_tekun=True, income_per_capita=Decimal("3000"))
    factories.certified_person(receives_tekun=False, income_per_capita=Decimal("3000"))
    unknown = factories.certified_person(income_per_capita=Decimal("90000"))
    factories.BenefitRecordFactory(person=unknown.person, benefit_type="temporary_relief")
    recorded = factories.certified_person(receives_tekun=False)
    factories.BenefitRecordFactory(person=recorded.person, benefit_type="tekun")

    values = indicators.tekun_relief(chengguan_user, MID_2026).total.values
    assert values["persons"] == 4 and values["low"] == 2
    # A current active record counts as receiving over the survey's 否 (receipt()).
    assert pair(values["tekun"]) == (2, 4) and pair(values["tekun_low"]) == (1, 2)
    assert values["tekun_unknown"] == 1
    assert pair(values["relief"]) == (1, 4) and pair(values["relief_low"]) == (0, 2)


def test_tekun_follows_the_civil_roster_in_its_townships(chengguan_user):
    # A civil-affairs roster for 城关镇 decides 特困 there: the survey's 是 no longer counts.
    survey_says = factories.certified_person(receives_tekun=True)
    other = factories.certified_person()
    factories.BenefitRecordFactory(
        person=other.person,
        benefit_type="dibao",
        origin="civil",
        township=Township.objects.get(name="城关镇"),
    )
    values = indicators.tekun_relief(chengguan_user, MID_2026).total.values
    assert pair(values["tekun"]) == (0, 2) and values["tekun_unknown"] == 0
    assert survey_says.person.township.name == "城关镇"


def test_employment_marks_what_came_from_the_survey(chengguan_user):
    factories.certified_person(employment_status="flexible", employment_willing=True)
    factories.certified_person(employment_status="unemployed", employment_willing=True)
    factories.certified_person(employment_status="no_ability", employment_willing=True)
    factories.certified_person(township="河口镇", employment_status="farming")
    # Recorded: on a welfare post though the survey said 未就业; the profile says unwilling.
    posted = factories.certified_person(employment_status="unemployed", employment_willing=True)
    WelfarePostPlacement.objects.create(
        person=posted.person, post="保洁", employer="村委", started_on=date(2026, 1, 1)
    )
    LabourProfile.objects.create(
        person=posted.person, ability="full", willing=False, assessed_on=date(2026, 1, 1)
    )
    base = EmploymentBase.objects.create(
        name="红薯合作社",
        kind="cooperative",
        township=Township.objects.get(name="城关镇"),
        leader_name="张",
    )
    on_base = factories.certified_person()
    BaseEmployment.objects.create(
        base=base, person=on_base.person, job="分拣", started_on=date(2026, 2, 1)
    )

    table = indicators.employment(chengguan_user, MID_2026)
    values = table.total.values
    assert (values["employed"], values["employed_survey"]) == (3, 1)
    assert (values["able_willing"], values["able_willing_survey"]) == (2, 2)
    assert (values["posts"], values["base_jobs"]) == (1, 1)
    assert "按调查" in dict(table.columns)["employed_survey"] + table.note
    # Before the post and the profile the survey decides for that person too.
    earlier = indicators.employment(chengguan_user, MID_2025).total.values
    assert (earlier["employed"], earlier["employed_survey"]) == (1, 1)
    assert (earlier["able_willing"], earlier["able_willing_survey"]) == (3, 3)


def test_county_employment_is_not_zero_when_only_the_survey_answers(admin_user):
    factories.certified_person(employment_status="flexible")
    factories.certified_person(township="河口镇", employment_status="farming")
    table = indicators.employment(admin_user, MID_2026)
    assert (table.total.values["employed"], table.total.values["employed_survey"]) == (2, 2)
    assert row(table, "河口镇").values["employed_survey"] == 1


def test_findings_monitoring_cases_and_modifications_as_of(chengguan_user):
    opened = timezone.make_aware(datetime(2026, 3, 1, 10))
    person = factories.certified_person(household=True)
    factories.FindingFactory(
        person=person.person,
        status=Finding.Status.HANDLED,
        opened_at=opened,
        decided_at=opened + timedelta(days=150),
    )
    factories.FindingFactory(
        person=factories.certified_person().person, opened_at=opened + timedelta(days=200)
    )
    before = indicators.findings_by_township(chengguan_user, date(2026, 6, 1)).total.values
    assert (before["open"], before["handled"], before["total"]) == (1, 0, 1)
    later = indicators.findings_by_township(chengguan_user, date(2026, 9, 30)).total.values
    assert (later["open"], later["handled"], later["total"]) == (1, 1, 2)
    by_rule = indicators.findings_by_rule(chengguan_user, date(2026, 6, 1))
    assert by_rule.total.values["total"] == 1

    case = MonitoringCase.objects.create(
        household=person.household,
        status="included",
        category="marginal",
        opened_on=date(2026, 2, 1),
        opening_reason="x",
    )
    MonitoringCaseStep.objects.create(
        case=case,
        from_status="pending",
        to_status="included",
        acted_on=date(2026, 5, 1),
        reason="y",
    )
    cases_on = indicators.monitoring_cases_by_type_status
    assert cases_on(chengguan_user, date(2026, 1, 1)).total.values["total"] == 0
    april = cases_on(chengguan_user, date(2026, 4, 1)).total.values
    assert (april["pending"], april["included"], april["type_marginal"]) == (1, 0, 0)
    june = cases_on(chengguan_user, MID_2026).total.values
    assert (june["pending"], june["included"], june["type_marginal"]) == (0, 1, 1)

    AccessibilityModification.objects.create(
        person=person.person,
        status="accepted",
        applied_on=date(2026, 1, 1),
        accepted_on=date(2026, 5, 1),
        cost=Decimal("3000"),
    )
    march = indicators.accessibility(chengguan_user, date(2026, 3, 1)).total.values
    assert (march["in_progress"], march["done_all"]) == (1, 0)


def test_dashboard_has_the_new_tables_and_passes_the_date(chengguan_user):
    tables = indicators.dashboard(chengguan_user, MID_2025)
    assert {"family_doctor", "custodial_care", "tekun_relief", "employment"} <= set(tables)
    assert tables["employment"].columns[-1][1] == "2025年培训人次"
    assert "2025" in tables["rehab_rate"].title


def test_stats_as_of_parsing():
    today = timezone.localdate()
    assert stats_as_of(None) == (today, "")
    assert stats_as_of("2025-06-30") == (date(2025, 6, 30), "")
    on, message = stats_as_of("2025-13-40")
    assert on == today and "格式不正确" in message
    on, message = stats_as_of((today + timedelta(days=3)).isoformat())
    assert on == today and "不能晚于今天" in message


def test_stats_page_shows_the_date_and_a_bad_date_message(client, hekou_user):
    client.force_login(hekou_user)
    response = client.get(reverse("staff:stats"), {"as_of": "2025-06-30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="2025-06-30"' in html and "统计日期：2025年6月30日" in html
    assert "2025年培训人次" in html and 'data-testid="table-family_doctor"' in html
    assert 'data-testid="as-of-error"' not in html

    response = client.get(reverse("staff:stats"), {"as_of": "明天"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "格式不正确" in html and 'data-testid="as-of-error"' in html
    today = timezone.localdate()
    assert f'value="{today:%Y-%m-%d}"' in html
