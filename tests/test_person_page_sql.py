"""The person page's person and its records from SQL compiled once per scope
(`staff.selectors.persons.person_page`, `staff.selectors.person_records`) must be what the
querysets built on every call give: the same person with the same related objects and scope
flags, the same records, a child's hardship row included (docs/PERFORMANCE.md, Pages)."""

import json
from datetime import timedelta

import pytest
from django.db.models import Model
from django.http import Http404
from django.utils import timezone

from cases import casework
from cases.casework_base import today
from cases.models import HouseholdMember
from cases.scope import get_in_scope_or_404, scope_for
from staff.selectors import persons as persons_module
from staff.selectors import timeline as timeline_module
from staff.selectors.person_records import (
    CHILD_KINDS,
    EDUCATION_KINDS,
    KINDS,
    _query,
    person_records,
)
from staff.selectors.persons import _person_page_query, person_page

from . import factories
from .staff_app_data import user_of_each_scope
from .test_hardship_children_definition import family

pytestmark = pytest.mark.django_db

# Everything `person_page` joins: each must come loaded, as the queryset loads it.
RELATED = (
    "township",
    "village",
    "certificate",
    "survey",
    "roster_member",
    "roster_member.household",
    "roster_member.household.township",
    "roster_member.household.village",
    "membership",
    "membership.household",
)


def values(instance: Model | None) -> dict | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def related(person, path: str):
    value = person
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def built_each_time(user, pk):
    return get_in_scope_or_404(user, _person_page_query(user), pk=pk)


def assert_same_person(got, expected, django_assert_num_queries) -> None:
    assert type(got) is type(expected)
    assert values(got) == values(expected)
    assert got.household_in_scope == expected.household_in_scope
    assert got.roster_household_in_scope == expected.roster_household_in_scope
    with django_assert_num_queries(0):  # every joined object came with the row
        for path in RELATED:
            assert values(related(got, path)) == values(related(expected, path)), path


@pytest.mark.parametrize("who", ["hekou", "county", "village", "other_township", "no_scope"])
def test_person_page_from_reused_sql_is_the_person_built_each_time(
    who, home, elsewhere, county_admin, django_assert_num_queries
):
    user = user_of_each_scope(home, county_admin)[who]
    # A person of 河口镇 recorded in 城关镇's household: joined, but out of a 河口镇 scope.
    lodger = factories.PersonFactory(township=home.head.township, village=home.head.village)
    HouseholdMember.objects.create(household=elsewhere.household, person=lodger, relation="其他")
    seen = 0
    for person in (home.head, home.spouse, elsewhere.head, lodger):
        for _ in range(2):  # the second call runs the SQL compiled by the first
            try:
                expected = built_each_time(user, person.pk)
            except Http404:
                with pytest.raises(Http404):
                    person_page(user, person.pk)
                continue
            seen += 1
            assert_same_person(person_page(user, person.pk), expected, django_assert_num_queries)
    assert seen == {"hekou": 6, "county": 8, "village": 6, "other_township": 2, "no_scope": 0}[who]


def test_person_page_keeps_its_404s(hekou_user, home):
    for pk in (home.head.pk + 10_000, "x", "-1", timeline_module.PERSON_MARKER, 10**30):
        with pytest.raises(Http404):
            person_page(hekou_user, pk)
    assert person_page(hekou_user, str(home.head.pk)).pk == home.head.pk


def test_person_page_compiles_without_a_query_of_its_own(
    hekou_user, home, django_assert_num_queries
):
    scope_for(hekou_user)
    timeline_module._compiled.clear()
    persons_module._shapes.clear()
    with django_assert_num_queries(1):
        person_page(hekou_user, home.head.pk)
    with django_assert_num_queries(1):
        person_page(hekou_user, home.spouse.pk)


def child_with_history(user, *, birth_years: int, grandparents: bool):
    """A certified child in hardship (living with the grandparents, or with a certified
    father) with a care record and an education plan."""
    birth = timezone.localdate() - timedelta(days=365 * birth_years + 30)
    others = (("户主", False), ("配偶", False)) if grandparents else (("父亲", True),)
    person, _ = family("孙子" if grandparents else "子", others=others, birth=birth)
    casework.child_care_record_add(
        user, person, kind="visit", cared_on=today(), provider="镇残联", content="探访"
    )
    casework.education_plan_save(user, person, placement="home_teaching", verified_on=today())
    return person


def records_built_each_time(user, person, household_id):
    kinds = [*KINDS, *CHILD_KINDS, *EDUCATION_KINDS]
    rows = _query(user, person, household_id, kinds, today(), hardship=True)
    return sorted((row[1], row[2], row[6] if row[1] == "p_hardship" else None) for row in rows)


def test_a_childs_records_and_hardship_row_from_reused_sql(chengguan_user):
    """Two children of the same kinds share the compiled SQL; each gets its own rows and
    its own hardship reasons."""
    first = child_with_history(chengguan_user, birth_years=10, grandparents=True)
    second = child_with_history(chengguan_user, birth_years=9, grandparents=False)
    flags = {}
    for child in (first, second, first):
        household_id = child.membership.household_id
        records = person_records(chengguan_user, child, household_id=household_id)
        got = sorted(
            [(event.kind, event.pk, None) for event in records.events]
            + [(key, item.pk, None) for key, items in records.by_kind.items() for item in items]
        )
        expected = records_built_each_time(chengguan_user, child, household_id)
        hardship = [json.loads(row[2]) for row in expected if row[0] == "p_hardship"]
        assert got == [row for row in expected if row[0] != "p_hardship"]
        assert records.of("p_child_care") and records.of("p_education")
        assert records.hardship_flags == {name: bool(v) for name, v in hardship[0].items()}
        flags[child.pk] = records.hardship_flags
    assert flags[first.pk]["hardship_absent_parent"] is True
    assert flags[second.pk]["hardship_absent_parent"] is False
    assert flags[second.pk]["hardship_disabled_parent"] is True


def test_compiled_instances_refuses_a_values_queryset(hekou_user, home):
    from cases.models import Person

    with pytest.raises(ValueError):
        persons_module.compiled_instances(
            ("test_values", "default"),
            "default",
            lambda: Person.objects.filter(pk=timeline_module.PERSON_MARKER).values("pk"),
            {timeline_module.PERSON_MARKER: home.head.pk},
        )
