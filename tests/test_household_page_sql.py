"""`household_detail` and `household_members`: the household and its members from SQL compiled
once per scope must be the records the querysets give when built on every call, for every
kind of user, each household its own, 404 outside the scope (docs/PERFORMANCE.md, Pages)."""

import pytest
from django.http import Http404

from cases.casework_base import today
from cases.models import HouseholdMember
from cases.scope import get_in_scope_or_404, in_scope_exists, scoped
from monitoring.models import RosterHousehold
from staff.selectors.households import (
    _household_detail_query,
    household_detail,
    household_members,
)
from staff.selectors.persons import comparison

from . import factories
from .staff_app_data import household_with_everything, user_of_each_scope

pytestmark = pytest.mark.django_db

ANNOTATIONS = (
    "case_id",
    "case_status",
    "case_category",
    "case_opened_on",
    "last_case_status",
    "pairing_helper",
    "pairing_open",
)


def detail_built_each_time(user, pk):
    return get_in_scope_or_404(user, _household_detail_query(today()), pk=pk)


def members_joined_each_time(user, household_id):
    """The members with every place joined (`select_related`), compared as the page does."""
    rows = scoped(
        user,
        HouseholdMember.objects.filter(household_id=household_id)
        .select_related(
            "person__township",
            "person__village",
            "person__certificate",
            "person__survey",
            "person__roster_member__household__township",
            "person__roster_member__household__village",
        )
        .annotate(
            roster_in_scope=in_scope_exists(
                user, RosterHousehold.objects.all(), "person__roster_member__household"
            )
        )
        .order_by("id"),
    )
    result = []
    for member in rows:
        roster = getattr(member.person, "roster_member", None)
        in_scope = bool(member.roster_in_scope)
        result.append(
            (
                member.pk,
                member.person.name,
                comparison(member.person, roster_in_scope=in_scope),
                roster.household if roster is not None and in_scope else None,
            )
        )
    return result


def shown(household):
    return (
        household.pk,
        household.head_name,
        household.township.name,
        household.village.name,
        *(getattr(household, name) for name in ANNOTATIONS),
    )


@pytest.mark.parametrize("who", ["hekou", "county", "village", "other_township", "no_scope"])
def test_detail_and_members_are_those_built_each_time(who, home, elsewhere, county_admin):
    user = user_of_each_scope(home, county_admin)[who]
    # The spouse's roster household lies in another township: other places on each side.
    factories.RosterMemberFactory(
        household=factories.RosterHouseholdFactory(), person=home.spouse, name=home.spouse.name
    )
    for data in (home, elsewhere):
        for _ in range(2):  # the second call runs the SQL compiled by the first
            try:
                expected = detail_built_each_time(user, data.household.pk)
            except Http404:
                with pytest.raises(Http404):
                    household_detail(user, data.household.pk)
                continue
            got = household_detail(user, data.household.pk)
            assert shown(got) == shown(expected)
            members = household_members(user, got)
            assert [
                (row.member.pk, row.person.name, row.compared, row.roster_household)
                for row in members
            ] == members_joined_each_time(user, data.household.pk)
    sees_home = who in ("hekou", "county", "village")
    if sees_home:
        assert household_detail(user, home.household.pk).case_id == home.case.pk
        assert [row.relation for row in household_members(user, home.household)] == ["户主", "配偶"]


def test_each_household_its_own_and_a_bad_id_is_404(hekou_user, home):
    other = household_with_everything("河口镇", "东风村", head_name="李四海", tag="丙")
    assert household_detail(hekou_user, home.household.pk).head_name == "周明亮"
    assert household_detail(hekou_user, other.household.pk).head_name == "李四海"
    assert household_detail(hekou_user, str(other.household.pk)).pairing_helper == "王书记丙"
    assert [row.person.pk for row in household_members(hekou_user, other.household)] == [
        other.head.pk,
        other.spouse.pk,
    ]
    for bad in ("x", -5, 0, 10**9):
        with pytest.raises(Http404):
            household_detail(hekou_user, bad)


def test_photos_are_those_of_the_timeline_tag_in_the_same_order(
    client, settings, tmp_path, hekou_user, home, elsewhere, county_admin
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from cases import photos
    from cases.photos import photos_by_owner
    from staff.selectors.timeline import household_photos, household_timeline

    from .test_photos import png_bytes

    settings.MEDIA_ROOT = tmp_path / "media"
    measure = home.household.assistance.get()
    chengguan = factories.user_with_role("township_staff", township="城关镇")
    added = [
        photos.photo_add(hekou_user, home.visit, SimpleUploadedFile("a.png", png_bytes())),
        photos.photo_add(hekou_user, measure, SimpleUploadedFile("b.png", png_bytes())),
        photos.photo_add(hekou_user, home.visit, SimpleUploadedFile("c.png", png_bytes((41, 30)))),
        photos.photo_add(chengguan, elsewhere.visit, SimpleUploadedFile("d.png", png_bytes())),
    ]

    def shown(found):
        return {
            key: [(p.pk, p.visit_id, p.measure_id, p.original_name, p.stage) for p in listed]
            for key, listed in found.items()
        }

    for user in (hekou_user, county_admin, chengguan):
        for data in (home, elsewhere):
            events = household_timeline(user, data.household.pk)
            expected = photos_by_owner(
                user,
                visit_ids=[e.pk for e in events if e.kind == "visit"],
                measure_ids=[e.pk for e in events if e.kind == "assistance"],
            )
            assert shown(household_photos(user, data.household.pk, events)) == shown(expected)
    events = household_timeline(hekou_user, home.household.pk)
    found = household_photos(hekou_user, home.household.pk, events)
    assert [p.pk for p in found[("visit", home.visit.pk)]] == [added[0].pk, added[2].pk]
    assert [p.pk for p in found[("measure", measure.pk)]] == [added[1].pk]
    client.force_login(hekou_user)
    html = client.get(reverse("staff:household_detail", args=[home.household.pk])).content.decode()
    thumbs = [reverse("staff:photo_thumbnail", args=[p.pk]) for p in added]
    assert all(thumb in html for thumb in thumbs[:3]) and thumbs[3] not in html
    assert html.index(thumbs[0]) < html.index(thumbs[2])
