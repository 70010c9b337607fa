"""`household_work_sections`: the household page's measures, applications and referrals from
SQL compiled once per scope must be exactly the rows of the union built on every call, for
every kind of user, each household its own (docs/PERFORMANCE.md, Pages)."""

import pytest
from django.db.models import QuerySet

from cases.scope import scope_for
from staff.selectors.household_work import _applications, _measures, _referrals, _work_rows
from subsidies import referrals
from subsidies.models import ReferralUnit

from . import factories
from .staff_app_data import household_with_everything, user_of_each_scope

pytestmark = pytest.mark.django_db


def built_each_time(user, household_id) -> list[tuple]:
    query: QuerySet = _measures(user, household_id).union(
        _applications(user, household_id), _referrals(user, household_id), all=True
    )
    return sorted(query, key=repr)


@pytest.mark.parametrize("who", ["hekou", "county", "village", "other_township", "no_scope"])
def test_same_rows_as_the_union_built_each_time(who, home, elsewhere, county_admin):
    unit = ReferralUnit.objects.get(name="民政办")
    for data in (home, elsewhere):
        writer = factories.user_with_role("township_staff", township=data.head.township.name)
        referrals.referral_create(
            writer,
            data.household,
            unit=unit,
            measure=data.household.assistance.get(),
            request="接自来水",
        )
        referrals.referral_create(
            writer,
            data.household,
            unit=unit,
            application=data.head.benefit_applications.get(),
            request="低保",
        )
    user = user_of_each_scope(home, county_admin)[who]
    for data in (home, elsewhere):
        for _ in range(2):  # the second call runs the SQL compiled by the first
            rows = sorted(_work_rows(user, data.household.pk), key=repr)
            assert rows == built_each_time(user, data.household.pk)
    kinds = {row[0] for row in _work_rows(user, home.household.pk)}
    sees_home = who in ("hekou", "county", "village")
    assert kinds == ({"measure", "application", "referral"} if sees_home else set())


def test_each_household_gets_its_own_rows_and_one_query(
    hekou_user, home, django_assert_num_queries
):
    other = household_with_everything("河口镇", "东风村", head_name="李四海", tag="丙")
    scope_for(hekou_user)
    first = _work_rows(hekou_user, home.household.pk)
    with django_assert_num_queries(1):
        second = _work_rows(hekou_user, other.household.pk)
    measures = {row[1] for row in first if row[0] == "measure"}
    assert measures == {home.household.assistance.get().pk}
    assert {row[1] for row in second if row[0] == "measure"} == {
        other.household.assistance.get().pk
    }


def test_who_did_each_step_is_named_family_name_first_else_by_username(hekou_user, home):
    """The user names of the union (read per row in a subquery, `_own_row`)."""
    from staff.selectors.household_work import household_work_sections

    named = factories.user_with_role("township_staff", township="河口镇", username="zhang")
    named.last_name, named.first_name = "张", "伟"
    named.save()
    unnamed = factories.user_with_role("township_staff", township="河口镇", username="li_w")
    measure = home.household.assistance.get()
    measure.recorded_by = named
    measure.save()
    application = home.head.benefit_applications.get()
    application.applied_by, application.reviewed_by = unnamed, named
    application.reviewed_on = application.applied_on
    application.save()
    referrals.referral_create(
        unnamed,
        home.household,
        unit=ReferralUnit.objects.get(name="民政办"),
        measure=measure,
        request="接自来水",
    )
    for _ in range(2):  # the second call runs the SQL compiled by the first
        work = household_work_sections(hekou_user, home.household)
        (shown_measure,) = work["work_measures"]
        assert shown_measure.recorded_by == "张伟"
        assert [referral.referred_by for referral in shown_measure.referrals] == ["li_w"]
        (member,) = work["work_applications"]
        steps = member.applications[0].steps
        assert [(step.label, step.by) for step in steps] == [("申请", "li_w"), ("审核", "张伟")]
