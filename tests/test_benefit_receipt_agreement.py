"""The S rules and the coverage gap lists say the same thing about the same persons.

Benefit receipt and "alive" are defined once (`monitoring.eligibility`); the cross-check's
loader reads them from there. These tests build a varied county — no civil roster, one for
every township, or one for 城关镇 only (which also lists a few 河口镇 residents), records
entered by staff, stopped and superseded rows, survey yes / no / blank, dead
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
# Which townships the civil roster covers: none, every one, or 城关镇 only.
CIVIL_MODES = ("none", "all", "some")


def build_county(rng: random.Random, *, civil: str, count: int = 160) -> None:
    """`count` certified persons with every mix of grade, answers, records and death; with
    civil "some", also three persons without a township (never decided by the roster)."""
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
            # A "some" roster is 城关镇's; it also lists a few 河口镇 residents under 城关镇.
            listed_here = civil == "all" or (civil == "some" and township == "城关镇")
            listed_away = civil == "some" and township == "河口镇" and rng.random() < 0.3
            if (listed_here or listed_away) and rng.random() < 0.35:
                f.BenefitRecordFactory(
                    person=person,
                    benefit_type=benefit,
                    origin=BenefitRecord.Origin.CIVIL,
                    township=f.township("城关镇") if listed_away else person.township,
                    status=rng.choice((BenefitRecord.Status.ACTIVE, BenefitRecord.Status.STOPPED)),
                    is_current=rng.random() < 0.85,
                )
    if civil == "some":
        for index in range(3):
            birth = date(1980, 1, 1 + index)
            person = f.PersonFactory(
                birth=birth, id_number=f.unique_id_number(birth), township=None, village=None
            )
            f.CertificateFactory(person=person, grade=2)
            # S03-eligible; "no" (findings), unknown and 低保 without living subsidy (S02).
            f.SurveyRecordFactory(
                person=person,
                employment_status="unemployed",
                income_per_capita=Decimal(3000),
                receives_care_subsidy=False,
                receives_dibao=(False, None, True)[index],
                receives_tekun=(False, None, False)[index],
                receives_living_subsidy=False,
            )
            if index == 0:  # a civil row without township does not make a civil township
                f.BenefitRecordFactory(person=person, origin=BenefitRecord.Origin.CIVIL)
    for name in ("城关镇", "河口镇") if civil == "all" else ("城关镇",) if civil == "some" else ():
        record = SurveyRecord.objects.filter(person__township__name=name).first()
        f.BenefitRecordFactory(
            person=record.person,
            benefit_type=BenefitType.TEMPORARY_RELIEF,
            origin=BenefitRecord.Origin.CIVIL,
            township=record.person.township,
        )


def civil_townships_of(civil: str) -> set[int]:
    names = {"none": (), "all": ("城关镇", "河口镇"), "some": ("城关镇",)}[civil]
    return {f.township(name).pk for name in names}


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
@pytest.mark.parametrize("civil", CIVIL_MODES)
def test_s_rules_equal_the_gap_lists(civil, grade3_mental, admin_user, chengguan_user, hekou_user):
    PolicyYear.objects.filter(year=AS_OF.year).update(
        care_subsidy_includes_grade3_mental=grade3_mental
    )
    build_county(random.Random(f"{civil != 'none'}-{grade3_mental}"), civil=civil)
    assert eligibility.civil_townships() == civil_townships_of(civil)
    run_crosscheck(AS_OF)

    county = findings_by_rule()
    for benefit, code in RULE_OF_BENEFIT.items():
        assert county[code] == gaps(admin_user, benefit), code
        assert county[code], f"{code}: the mix should give findings"
        # Unknown receipt is on the work list (to verify) but never a finding.
        unknown = gaps(admin_user, benefit, include_unknown=True) - county[code]
        if not (civil == "all" and benefit in eligibility.CIVIL_TYPES):
            assert unknown, f"{code}: the mix should contain unknown receipt"
        for user, township in ((chengguan_user, "城关镇"), (hekou_user, "河口镇")):
            # A township's list is its share of the county's, person for person.
            mine = findings_by_rule(township)[code]
            assert mine == gaps(user, benefit), code
            # Where the civil roster decides, receipt is never unknown.
            decided = f.township(township).pk in civil_townships_of(civil)
            if decided and benefit in eligibility.CIVIL_TYPES:
                assert gaps(user, benefit, include_unknown=True) == mine, code


@pytest.mark.parametrize("civil", ["all", "some"])
def test_loader_reads_receipt_and_alive_from_eligibility(civil, admin_user):
    """The states the cross-check evaluates are the annotations `with_receipt` gives."""
    build_county(random.Random(7), civil=civil, count=60)
    townships = eligibility.civil_townships()
    rows = eligibility.with_receipt(SurveyRecord.objects.all(), townships).values(
        "person_id",
        "person__township_id",
        eligibility.ALIVE_FIELD,
        eligibility.CIVIL_FIELD,
        *(eligibility.receipt_field(b) for b in eligibility.RECEIPT_BENEFITS),
    )
    alive = set(eligibility.certified_alive(admin_user).values_list("person_id", flat=True))
    unknown_outside = 0
    for row in rows:
        assert row[eligibility.ALIVE_FIELD] is (row["person_id"] in alive)
        decided = row["person__township_id"] in townships
        assert row[eligibility.CIVIL_FIELD] is decided
        for benefit in eligibility.RECEIPT_BENEFITS:
            state = row[eligibility.receipt_field(benefit)]
            assert state in (True, False, None)
            if benefit in eligibility.CIVIL_TYPES and decided:  # the roster: never unknown
                assert state is not None
            elif benefit in eligibility.CIVIL_TYPES:
                unknown_outside += state is None
    assert (unknown_outside > 0) is (civil == "some")


def test_pension_roster_is_the_insured_part_of_s04s_population(admin_user):
    """The pension-contribution roster (insured) and S04 (known not insured) split the
    eligible persons, with the unknown ones in neither."""
    build_county(random.Random(11), civil="none")
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


@pytest.mark.parametrize("civil", ["all", "some"])
def test_nobody_paid_a_civil_benefit_has_its_s_finding(civil, admin_user):
    """The monthly payment roster pays the persons the receipt rule says receive (civil
    rows only where the civil roster decides, any origin elsewhere); none of them is
    flagged as not receiving."""
    build_county(random.Random(13), civil=civil)
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
