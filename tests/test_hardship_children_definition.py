"""The one definition of children in hardship (`monitoring.populations.hardship_children`):
each reason, the age and certificate bounds, and the scoped list built on it."""

from datetime import date

import pytest

from cases.models import HouseholdMember
from monitoring.populations import hardship_children
from staff.selectors.hardship_children import hardship_list, reason_labels
from staff.selectors.places import places

from . import factories

pytestmark = pytest.mark.django_db

ON = date(2026, 6, 1)
CHILD_BIRTH = date(2016, 4, 1)  # 10 on ON


def person(birth=date(1985, 1, 1), township="城关镇", village="东关村", certified=False):
    if certified:
        return factories.certified_person(
            birth=birth, township=township, village_name=village
        ).person
    return factories.PersonFactory(
        birth=birth,
        id_number=factories.unique_id_number(birth),
        township=factories.township(township),
        village=factories.village(township, village),
    )


def family(
    relation="子",
    others=(("户主", False), ("配偶", False)),
    birth=CHILD_BIRTH,
    certified=True,
    township="城关镇",
):
    """A child (`relation` to the head) and other members (relation, certified); returns
    (child, {relation: person})."""
    child = person(birth, township=township, certified=certified)
    members = {rel: person(township=township, certified=cert) for rel, cert in others}
    head = child if relation == "户主" or not members else next(iter(members.values()))
    household = factories.HouseholdFactory(head=head)
    for rel, member in [*members.items(), (relation, child)]:
        HouseholdMember.objects.create(household=household, person=member, relation=rel)
        survey = getattr(member, "survey", None)
        if survey is not None:
            survey.household = household
            survey.save()
    return child, members


def reasons(child, on=ON):
    row = hardship_children(on).filter(pk=child.pk).first()
    return reason_labels(row) if row is not None else None


def test_a_child_with_both_parents_at_home_and_no_hardship_does_not_count():
    child, _ = family()
    assert reasons(child) is None


def test_monitored_through_the_childs_own_roster_row():
    child, _ = family()
    household = factories.RosterHouseholdFactory(household_type="monitored", risk_cleared=False)
    factories.RosterMemberFactory(household=household, person=child)
    assert reasons(child) == ["监测户家庭"]


def test_monitored_through_a_certified_member_of_the_household():
    child, members = family(others=(("户主", True), ("配偶", False)))
    roster = factories.RosterHouseholdFactory(household_type="monitored", risk_cleared=False)
    factories.RosterMemberFactory(household=roster, person=members["户主"])
    assert "监测户家庭" in reasons(child)


def test_a_household_whose_risk_is_cleared_is_not_monitored():
    child, _ = family()
    roster = factories.RosterHouseholdFactory(household_type="monitored", risk_cleared=True)
    factories.RosterMemberFactory(household=roster, person=child)
    assert reasons(child) is None


def test_dibao_or_tekun_of_the_household_by_the_receipt_rule():
    child, members = family(others=(("户主", False), ("配偶", False)))
    child.survey.receives_tekun = True
    child.survey.save()
    assert reasons(child) == ["家庭享受低保或特困供养"]

    other, members = family(others=(("户主", True), ("配偶", False)))
    head_survey = members["户主"].survey
    head_survey.receives_dibao = False
    head_survey.save()
    factories.BenefitRecordFactory(person=members["户主"], benefit_type="dibao")
    # A current active record counts as receiving whatever the survey says; the head's
    # certificate makes him a disabled parent too.
    assert reasons(other) == ["家庭享受低保或特困供养", "父母残疾"]


def test_a_stopped_dibao_does_not_count():
    child, _ = family()
    factories.BenefitRecordFactory(person=child, benefit_type="dibao", status="stopped")
    assert reasons(child) is None


def test_disabled_parent_by_relation_to_the_head():
    child, _ = family("女", others=(("户主", False), ("配偶", True)))
    assert reasons(child) == ["父母残疾"]
    # The head's own father is the child's grandfather, not a parent.
    grandchild, _ = family("子", others=(("户主", False), ("配偶", False), ("父亲", True)))
    assert reasons(grandchild) is None


def test_disabled_parent_of_a_grandchild_and_of_a_child_who_is_the_head():
    grandchild, _ = family("孙女", others=(("户主", False), ("子", True), ("儿媳", False)))
    assert reasons(grandchild) == ["父母残疾"]
    head_child, _ = family("户主", others=(("母亲", True),))
    assert reasons(head_child) == ["父母残疾"]


def test_absent_parents():
    # A grandchild living with the grandparents only.
    left_behind, _ = family("孙子", others=(("户主", False), ("配偶", False)))
    assert reasons(left_behind) == ["父母均不在户"]
    # The only parent at home is reported dead by the roster.
    orphan, members = family("子", others=(("户主", False),))
    roster = factories.RosterHouseholdFactory(household_type="left_poverty")
    factories.RosterMemberFactory(household=roster, person=members["户主"], status="deceased")
    assert reasons(orphan) == ["父母均不在户"]
    # An unknown relation decides nothing about parents.
    nephew, _ = family("侄子", others=(("户主", False),))
    assert reasons(nephew) is None


def test_age_and_certificate_bounds():
    seventeen, _ = family("孙子", others=(("户主", False),), birth=date(2008, 6, 2))
    eighteen, _ = family("孙子", others=(("户主", False),), birth=date(2008, 6, 1))
    newborn, _ = family("孙子", others=(("户主", False),), birth=ON)
    unborn, _ = family("孙子", others=(("户主", False),), birth=date(2026, 6, 2))
    uncertified, _ = family("孙子", others=(("户主", False),), certified=False)
    assert reasons(seventeen) == ["父母均不在户"]
    assert reasons(newborn) == ["父母均不在户"]
    assert reasons(eighteen) is None
    assert reasons(unborn) is None
    assert reasons(uncertified) is None


def test_a_child_reported_dead_does_not_count():
    child, _ = family("孙子", others=(("户主", False),))
    child.survey.survival_status = "deceased"
    child.survey.save()
    assert reasons(child) is None


def test_the_list_is_scoped_to_the_users_township(chengguan_user, hekou_user, county_admin):
    here, _ = family("孙子", others=(("户主", False),))
    there, _ = family("孙子", others=(("户主", False),), township="河口镇")

    def listed(user):
        rows, _ = hardship_list(user, {}, places(user))
        return {row.pk for row in rows}

    assert listed(chengguan_user) == {here.pk}
    assert listed(hekou_user) == {there.pk}
    assert listed(county_admin) == {here.pk, there.pk}
