"""The S rules and the coverage gap lists say the same thing about the same persons.

Benefit receipt and "alive" are defined once (`monitoring.eligibility`); the cross-check's
loader reads them from there. These tests build a varied county — civil roster present or
not, records entered by staff, stopped and superseded rows, survey yes / no / blank, dead
persons by either source — and check, benefit by benefit, that a cross-check run's findings
are exactly the gap list `coverage_gaps(..., include_unknown=False)` on the same day and in
the same scope (docs/CROSSCHECK.md, "Benefit receipt").
"""

import random
from datetime import date
from decimal import Decimal

import pytest

from monitoring import eligibility
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding, SurveyRecord
from monitoring.rules import rules
from subsidies.models import BenefitRecord, BenefitType, PolicyYear

from . import factories as f

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)
# The rule that finds each benefit missing, from the rules' own metadata.
RULE_OF_BENEFIT = {rule.benefit: rule.code for rule in rules() if rule.benefit}
ANSWERS = (True, False, None)
# Births around the age limits the rules use (16, 18, 59 on the as-of date), a 29 February.
BIRTHS = (
    date(2010, 6, 30),  # 16 on the as-of date
    date(2010, 7, 1),  # 15
    date(2008, 6, 30),  # 18
    date(2008, 7, 1),  # 17
    date(1966, 7, 1),  # 59
    date(1966, 6, 30),  # 60
    date(2008, 2, 29),  # 18
    date(1980, 3, 15),
    date(1950, 11, 2),
)
EMPLOYMENT = ("unemployed", "no_ability", "farming", "")


def build_county(rng: random.Random, *, civil: bool, count: int = 160) -> None:
    """`count` certified persons with every mix of grade, answers, records and death."""
    for index in range(count):
        has_certificate = index % 23 != 0
        township = "河口镇" if index % 5 == 0 else "城关镇"
        answers = {flag: rng.choice(ANSWERS) for flag in eligibility.SURVEY_FLAG.values()} | {
            "employment_status": rng.choice(EMPLOYMENT),
            "income_per_capita": rng.choice((None, Decimal(3000), Decimal(6999), Decimal(7000))),
            "survival_status": "deceased" if index % 17 == 0 else rng.choice(("alive", "")),
        }
        birth = rng.choice(BIRTHS)
        if has_certificate:
            record = f.certified_person(
                category=rng.choice((4, 5, 6)),
                grade=rng.choice((1, 2, 3, 4)),
                birth=birth,
                township=township,
                **answers,
            )
        else:
            person = f.PersonFactory(
                birth=birth,
                id_number=f.unique_id_number(birth),
                township=f.township(township),
            )
            record = f.SurveyRecordFactory(person=person, **answers)
        person = record.person
        roster_death = index % 19 == 0
        if roster_death or index % 3 == 0:
            household = f.RosterHouseholdFactory(
                township=person.township, is_current=index % 38 != 0
            )
            f.RosterMemberFactory(
                household=household,
                person=person,
                status="deceased" if roster_death else rng.choice(("alive", "")),
                is_current=index % 57 != 0,
            )
        for benefit in eligibility.SURVEY_FLAG:
            choice = rng.random()
            if choice < 0.2:
                f.BenefitRecordFactory(person=person, benefit_type=benefit)  # entered by staff
            elif choice < 0.25:
                f.BenefitRecordFactory(
                    person=person, benefit_type=benefit, status=BenefitRecord.Status.STOPPED
                )
            elif choice < 0.3:
                f.BenefitRecordFactory(person=person, benefit_type=benefit, is_current=False)
            if civil and rng.random() < 0.35:
                f.BenefitRecordFactory(
                    person=person,
                    benefit_type=benefit,
                    origin=BenefitRecord.Origin.CIVIL,
                    township=person.township,
                    status=rng.choice((BenefitRecord.Status.ACTIVE, BenefitRecord.Status.STOPPED)),
                    is_current=rng.random() < 0.85,
                )
    if civil and not BenefitRecord.objects.filter(origin=BenefitRecord.Origin.CIVIL).exists():
        f.BenefitRecordFactory(
            person=SurveyRecord.objects.first().person, origin=BenefitRecord.Origin.CIVIL
        )


def findings_by_rule(township: str | None = None) -> dict[str, set[int]]:
    rows = Finding.objects.filter(status=Finding.Status.OPEN, rule__startswith="S")
    if township:
        rows = rows.filter(person__township__name=township)
    result: dict[str, set[int]] = {code: set() for code in RULE_OF_BENEFIT.values()}
    for code, person_id in rows.values_list("rule", "person_id"):
        result[code].add(person_id)
    return result


def gaps(user, benefit: str, *, include_unknown: bool = False) -> set[int]:
    return set(
        eligibility.coverage_gaps(
            user, benefit, as_of=AS_OF, include_unknown=include_unknown
        ).values_list("person_id", flat=True)
    )


@pytest.mark.parametrize("grade3_mental", [False, True])
@pytest.mark.parametrize("civil", [False, True])
def test_s_rules_equal_the_gap_lists(civil, grade3_mental, admin_user, chengguan_user):
    PolicyYear.objects.filter(year=AS_OF.year).update(
        care_subsidy_includes_grade3_mental=grade3_mental
    )
    build_county(random.Random(f"{civil}-{grade3_mental}"), civil=civil)
    assert eligibility.civil_roster_present() is civil
    run_crosscheck(AS_OF)

    county = findings_by_rule()
    chengguan = findings_by_rule("城关镇")
    for benefit, code in RULE_OF_BENEFIT.items():
        assert county[code] == gaps(admin_user, benefit), code
        assert county[code], f"{code}: the mix should give findings"
        # A township's list is its share of the county's, person for person.
        assert chengguan[code] == gaps(chengguan_user, benefit), code
        # Unknown receipt is on the work list (to verify) but never a finding.
        unknown = gaps(admin_user, benefit, include_unknown=True) - county[code]
        if not (civil and benefit in eligibility.CIVIL_TYPES):
            assert unknown, f"{code}: the mix should contain unknown receipt"


def test_loader_reads_receipt_and_alive_from_eligibility(admin_user):
    """The states the cross-check evaluates are the annotations `with_receipt` gives."""
    build_county(random.Random(7), civil=True, count=60)
    civil = eligibility.civil_roster_present()
    rows = eligibility.with_receipt(SurveyRecord.objects.all(), civil).values(
        "person_id",
        eligibility.ALIVE_FIELD,
        *(eligibility.receipt_field(b) for b in eligibility.RECEIPT_BENEFITS),
    )
    alive = set(eligibility.certified_alive(admin_user).values_list("person_id", flat=True))
    for row in rows:
        assert row[eligibility.ALIVE_FIELD] is (row["person_id"] in alive)
        for benefit in eligibility.RECEIPT_BENEFITS:
            assert row[eligibility.receipt_field(benefit)] in (True, False, None)
            if benefit in eligibility.CIVIL_TYPES:  # the civil roster decides: never unknown
                assert row[eligibility.receipt_field(benefit)] is not None


def test_pension_roster_is_the_insured_part_of_s04s_population(admin_user):
    """The pension-contribution roster (insured) and S04 (known not insured) split the
    eligible persons, with the unknown ones in neither."""
    build_county(random.Random(11), civil=False)
    run_crosscheck(AS_OF)
    _, rows = eligibility.pension_contribution_rows(AS_OF.year, on=AS_OF)
    insured = {row.id_number for row in rows}
    s04 = set(
        Finding.objects.filter(rule="S04", status=Finding.Status.OPEN).values_list(
            "person__id_number", flat=True
        )
    )
    rules = eligibility.coverage_rules(AS_OF)
    eligible = set(
        eligibility.certified_alive(admin_user)
        .filter(rules.eligible[BenefitType.PENSION_INSURANCE])
        .values_list("person__id_number", flat=True)
    )
    unknown = eligible - insured - s04
    assert insured and s04 and unknown
    assert insured.isdisjoint(s04)
    assert insured | s04 <= eligible
    # Unknown = no survey answer and no current active record: nothing says either way.
    answered = set(
        SurveyRecord.objects.filter(pension_insured__isnull=False).values_list(
            "person__id_number", flat=True
        )
    )
    recorded = set(
        BenefitRecord.objects.filter(
            benefit_type=BenefitType.PENSION_INSURANCE,
            status=BenefitRecord.Status.ACTIVE,
            is_current=True,
        ).values_list("person__id_number", flat=True)
    )
    assert unknown.isdisjoint(answered | recorded)


def test_nobody_paid_a_civil_benefit_has_its_s_finding(admin_user):
    """With the civil roster present, the monthly payment roster pays exactly the persons
    the civil roster says receive; none of them is flagged as not receiving."""
    build_county(random.Random(13), civil=True)
    run_crosscheck(AS_OF)
    findings = findings_by_rule()
    for benefit in (BenefitType.CARE_SUBSIDY, BenefitType.LIVING_SUBSIDY):
        _, _, rows = eligibility.payment_rows(benefit, AS_OF)
        paid = {row.id_number for row in rows}
        flagged = set(
            SurveyRecord.objects.filter(
                person_id__in=findings[RULE_OF_BENEFIT[benefit]]
            ).values_list("person__id_number", flat=True)
        )
        assert paid and flagged
        assert paid.isdisjoint(flagged), benefit
