"""Eligibility, receipt and coverage gaps (应保尽保、应补尽补) per benefit and township."""

from datetime import date

import pytest

from monitoring import eligibility as selectors
from subsidies.models import BenefitRecord, PolicyYear
from subsidies.policy import PolicyMissing

from . import factories

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 30)


def person(grade=2, category=4, age=40, township="城关镇", **answers):
    birth = date(AS_OF.year - age, 1, 15)
    return factories.certified_person(
        category=category, grade=grade, birth=birth, township=township, **answers
    ).person


@pytest.fixture
def county():
    people = {
        "a": person(
            grade=1,
            receives_care_subsidy=True,
            medical_insured=True,
            pension_insured=True,
            employment_status="unemployed",
            income_per_capita=5000,
            receives_dibao=False,
            receives_tekun=False,
        ),
        "b": person(grade=2, age=30, medical_insured=False),
        "c": person(
            grade=3, category=5, age=50, receives_dibao=True, receives_living_subsidy=False
        ),
        "dead": person(grade=1, survival_status="deceased", medical_insured=False),
        "old": person(grade=1, age=70, pension_insured=False, receives_care_subsidy=True),
        "hekou": person(grade=2, township="河口镇", receives_care_subsidy=False),
    }
    return people


def cells(user, benefit):
    coverage = selectors.coverage_summary(user, AS_OF)
    return coverage, coverage.total.cells[benefit]


def test_coverage_per_benefit_for_a_township(county, chengguan_user):
    coverage, care = cells(chengguan_user, "care_subsidy")
    assert [row.township for row in coverage.rows] == ["城关镇"]
    # a (yes), b (unknown), old (yes); c is grade 3, the dead and 河口 are not counted.
    assert (care.eligible, care.receiving, care.unknown, care.gap) == (3, 2, 1, 1)
    living = coverage.total.cells["living_subsidy"]
    assert (living.eligible, living.receiving) == (1, 0)  # c receives 低保, not the subsidy
    dibao = coverage.total.cells["dibao"]
    assert (dibao.eligible, dibao.receiving) == (1, 0)  # a: 18+, grade 1, 未就业, 5000 < 7000
    pension = coverage.total.cells["pension_insurance"]
    assert (pension.eligible, pension.receiving, pension.unknown) == (2, 1, 1)  # a yes, b ?
    medical = coverage.total.cells["medical_insurance"]
    assert (medical.eligible, medical.receiving) == (4, 1)
    assert medical.rate == pytest.approx(0.25)


def test_county_sees_every_township_and_a_total(county, admin_user):
    coverage, care = cells(admin_user, "care_subsidy")
    assert len(coverage.rows) == 31 and coverage.total.township == "全县合计"
    assert (care.eligible, care.receiving) == (4, 2)
    hekou = next(row for row in coverage.rows if row.township == "河口镇")
    assert (hekou.cells["care_subsidy"].eligible, hekou.cells["care_subsidy"].receiving) == (1, 0)


def test_staff_record_counts_and_grade3_follows_the_policy(county, chengguan_user):
    factories.BenefitRecordFactory(person=county["b"], benefit_type="care_subsidy")
    PolicyYear.objects.filter(year=2026).update(care_subsidy_includes_grade3_mental=True)
    _, care = cells(chengguan_user, "care_subsidy")
    assert (care.eligible, care.receiving) == (4, 3)  # c now eligible; b receives (staff record)


def test_civil_roster_decides_in_its_townships(county, chengguan_user, hekou_user):
    # A civil row listed under 城关镇 makes the roster decide the civil types there: survey
    # answers stop counting in 城关镇 and nowhere else.
    factories.BenefitRecordFactory(
        person=county["c"],
        benefit_type="dibao",
        origin=BenefitRecord.Origin.CIVIL,
        township=factories.township("城关镇"),
    )
    assert selectors.civil_townships() == {factories.township("城关镇").pk}
    coverage, care = cells(chengguan_user, "care_subsidy")
    assert (care.eligible, care.receiving, care.unknown) == (3, 0, 0)
    # Insurance is not in the civil roster: the survey still answers it.
    assert coverage.total.cells["medical_insurance"].receiving == 1
    # 河口镇 has no civil roster: its survey "no" stays a known "no".
    _, hekou_care = cells(hekou_user, "care_subsidy")
    assert (hekou_care.eligible, hekou_care.receiving, hekou_care.unknown) == (1, 0, 0)


def test_civil_row_without_township_decides_nowhere(county, chengguan_user):
    factories.BenefitRecordFactory(
        person=county["hekou"], benefit_type="dibao", origin=BenefitRecord.Origin.CIVIL
    )
    assert selectors.civil_townships() == frozenset()
    _, care = cells(chengguan_user, "care_subsidy")
    assert (care.eligible, care.receiving, care.unknown) == (3, 2, 1)


def test_gap_list_marks_unknown_receipt(county, chengguan_user, hekou_user):
    gaps = list(selectors.coverage_gaps(chengguan_user, "care_subsidy", as_of=AS_OF))
    assert [(g.person, g.receipt_unknown) for g in gaps] == [(county["b"], True)]
    known = selectors.coverage_gaps(
        chengguan_user, "medical_insurance", as_of=AS_OF, include_unknown=False
    )
    assert [g.person for g in known] == [county["b"]]
    hekou = selectors.coverage_gaps(hekou_user, "care_subsidy", as_of=AS_OF)
    assert [(g.person, g.receipt_unknown) for g in hekou] == [(county["hekou"], False)]


def test_dead_in_roster_is_not_eligible(county, chengguan_user):
    factories.RosterMemberFactory(person=county["b"], status="deceased")
    _, care = cells(chengguan_user, "care_subsidy")
    assert care.eligible == 2


def test_missing_policy_year_is_a_clear_error(county, chengguan_user):
    with pytest.raises(PolicyMissing, match="2035年度政策参数未设置"):
        selectors.coverage_summary(chengguan_user, date(2035, 1, 1))
