"""The person page reads its timeline, benefits and every task-area section in one query
(`staff.selectors.person_records`): at most ten queries for an adult and for a child in
hardship whatever their history holds, showing exactly what the per-table reads showed, and
never a record outside the user's scope."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.http import SESSION_REFRESHED_KEY
from cases.models import (
    AccessibilityModification,
    BaseEmployment,
    CustodialCare,
    EmploymentBase,
    FamilyDoctorContract,
    RehabNeed,
    RehabService,
    TrackingVisit,
    Training,
    WelfarePostPlacement,
)
from monitoring.eligibility import civil_townships
from monitoring.populations import hardship_children
from staff.selectors.person_records import person_records
from staff.selectors.persons import person_page
from subsidies.models import BenefitRecord

from . import factories
from .test_hardship_children_definition import family

pytestmark = pytest.mark.django_db

PERIODS = itertools.count(1)

PERSON_PAGE_BUDGET = 10
# The photos of the timeline's visits and measures: one query, only when it shows any
# (staff/templatetags/photos.py).
TIMELINE_PHOTOS = 1
# Benefits that do not make a child one in hardship (低保 and 特困 would).
BENEFITS = ("living_subsidy", "care_subsidy", "temporary_relief", "medical_insurance")


def warm_json_feature() -> None:
    """Django checks once per connection that SQLite has JSON (`SELECT JSON(...)` in a
    savepoint: three statements); the page's `JSONObject` would pay it on a fresh one."""
    assert connection.features.supports_json_field


def history(user, person, *, child: bool, times: int = 3) -> None:
    """`times` records of every task area the person's page shows."""
    today = timezone.localdate()
    if not child:
        casework.labour_profile_save(
            user, person, ability="partial", willing=True, assessed_on=today, wanted_work="保洁"
        )
    base, _ = EmploymentBase.objects.get_or_create(
        name=f"基地{person.pk}", kind="base", township=person.township, leader_name="张"
    )
    for n in range(times):
        start = today - timedelta(days=150 * next(PERIODS))  # each a period of its own
        if not child:
            post = casework.welfare_post_place(
                user,
                person,
                post=f"岗位{n}",
                employer="镇政府",
                started_on=start,
                monthly_pay="1200.5",
            )
            casework.welfare_post_end(
                user, post, ended_on=start + timedelta(days=30), reason="期满"
            )
            job = casework.base_employment_add(user, base, person, job=f"采摘{n}", started_on=start)
            casework.base_employment_end(
                user, job, ended_on=start + timedelta(days=10), reason="季节"
            )
        casework.training_add(
            user,
            person,
            kind="practical",
            course=f"种植{n}",
            organiser="农技站",
            started_on=start,
            certificate_obtained=n % 2 == 0,
        )
        need = casework.rehab_need_add(user, person, kind="device", identified_on=start)
        casework.rehab_service_add(
            user, person, service_type=f"适配{n}", provider="卫生院", served_on=start, need=need
        )
        contract = casework.family_doctor_sign(
            user, person, institution=f"卫生院{n}", doctor="王", signed_on=start
        )
        casework.family_doctor_end(
            user, contract, ended_on=start + timedelta(days=100), reason="到期"
        )
        mod = casework.accessibility_apply(user, person, applied_on=start, items="扶手")
        casework.accessibility_advance(user, mod, "assessed", on=start, assessment="可改")
        casework.accessibility_advance(user, mod, "cancelled", on=start, reason=f"放弃{n}")
        care = casework.custodial_care_start(user, person, mode="day", started_on=start)
        casework.custodial_care_end(user, care, ended_on=start + timedelta(days=5), reason="结束")
        taken = set(
            BenefitRecord.objects.filter(person=person).values_list("benefit_type", flat=True)
        )
        free = [kind for kind in BENEFITS if kind not in taken]
        if free:  # one record per person, type and origin
            factories.BenefitRecordFactory(
                person=person,
                benefit_type=free[0],
                monthly_amount=Decimal("80"),
                start_month=None if n == 1 else start.replace(day=1),
            )
        if child:
            casework.child_care_record_add(
                user,
                person,
                kind="visit",
                cared_on=today - timedelta(days=n),
                provider="镇残联",
                content=f"探访{n}",
            )
    if child:
        casework.education_plan_save(user, person, placement="home_teaching", verified_on=today)


def queries(client, person, user) -> tuple[int, str]:
    """The page's statements in the worst case: its session due for a refresh, so saved
    too (`cases.http.IdleSessionMiddleware` does it at most once a minute otherwise)."""
    client.force_login(user)
    session = client.session
    session[SESSION_REFRESHED_KEY] = 0
    session.save()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("staff:person_detail", args=[person.pk]))
    assert response.status_code == 200
    return len(captured.captured_queries), response.content.decode()


@pytest.fixture
def child():
    """A certified 10-year-old living with the grandparents only: a child in hardship."""
    ten = timezone.localdate() - timedelta(days=365 * 10)
    person, _ = family("孙子", others=(("户主", False), ("配偶", False)), birth=ten)
    return person


def test_an_adults_page_stays_within_ten_queries_however_long_the_history(client, hekou_user, home):
    warm_json_feature()
    client.force_login(hekou_user)
    history(hekou_user, home.head, child=False, times=1)
    few, _ = queries(client, home.head, hekou_user)
    history(hekou_user, home.head, child=False, times=4)
    many, html = queries(client, home.head, hekou_user)
    assert many == few <= PERSON_PAGE_BUDGET + TIMELINE_PHOTOS
    assert html.count('<td data-label="培训内容"') == 5
    assert "岗位3" in html and "采摘3" in html and "放弃3" in html and "适配3" in html


def test_a_child_in_hardships_page_stays_within_ten_queries(client, chengguan_user, child):
    warm_json_feature()
    client.force_login(chengguan_user)
    history(chengguan_user, child, child=True, times=1)
    few, _ = queries(client, child, chengguan_user)
    history(chengguan_user, child, child=True, times=4)
    many, html = queries(client, child, chengguan_user)
    assert many == few <= PERSON_PAGE_BUDGET
    assert "属于困境残疾儿童：父母均不在户" in html
    assert html.count('data-testid="child-care-table"') == 1 and "探访3" in html
    assert 'data-testid="education-plan"' in html and "送教上门" in html


def per_table(user, person):
    """What the sections showed when each table was read on its own (the reference)."""
    on = timezone.localdate()
    of = {"person": person}
    return {
        "p_post": list(WelfarePostPlacement.objects.filter(**of).order_by("-started_on", "-id")),
        "p_training": list(Training.objects.filter(**of).order_by("-started_on", "-id")),
        "p_base_job": list(BaseEmployment.objects.filter(**of).order_by("-started_on", "-id")),
        "p_need": list(RehabNeed.objects.filter(**of).order_by("-identified_on", "-id")),
        "p_service": list(RehabService.objects.filter(**of).order_by("-served_on", "-id")),
        "p_contract": list(FamilyDoctorContract.objects.filter(**of).order_by("-signed_on", "-id")),
        "p_mod": list(AccessibilityModification.objects.filter(**of).order_by("-id")),
        "p_custodial": list(CustodialCare.objects.filter(**of).order_by("-started_on", "-id")),
        "p_benefit": list(BenefitRecord.objects.filter(**of).order_by("-start_month", "-id")),
    }, on


def test_the_one_query_gives_the_same_records_field_for_field(hekou_user, home):
    history(hekou_user, home.head, child=False, times=3)
    person = person_page(hekou_user, home.head.pk)
    records = person_records(hekou_user, person, household_id=None)
    reference, _ = per_table(hekou_user, person)
    for key, expected in reference.items():
        got = records.of(key)
        assert [r.pk for r in got] == [r.pk for r in expected], key
        for mine, theirs in zip(got, expected, strict=True):
            for model_field in type(theirs)._meta.concrete_fields:
                name = model_field.attname
                assert getattr(mine, name) == getattr(theirs, name), (key, name)
    posts = records.of("p_post")
    assert posts[0].monthly_pay == Decimal("1200.50") and str(posts[0].monthly_pay) == "1200.50"
    jobs = records.of("p_base_job")
    assert jobs[0].base.name == f"基地{person.pk}"
    steps = records.of("p_step")
    assert {row.actor.username for row in steps} == {hekou_user.username}
    assert [row.pk for row in steps] == sorted(row.pk for row in steps)


def test_records_outside_the_scope_never_show(client, hekou_user, chengguan_user, home):
    """A 城关镇 user sees nothing of a 河口镇 person; a record of another person never
    comes with this one's."""
    history(hekou_user, home.head, child=False, times=1)
    client.force_login(chengguan_user)
    assert client.get(reverse("staff:person_detail", args=[home.head.pk])).status_code == 404
    other = factories.certified_person(township="河口镇", village_name="东风村").person
    history(hekou_user, other, child=False, times=1)
    person = person_page(hekou_user, home.head.pk)
    records = person_records(hekou_user, person, household_id=None)
    for key, found in records.by_kind.items():
        assert all(getattr(r, "person_id", person.pk) == person.pk for r in found), key
    mods = {m.pk for m in records.of("p_mod")}
    assert {int(row.object_id) for row in records.of("p_step")} == mods
    # Moved out of the user's township: every record of the person is out of scope too.
    person.township = factories.township("城关镇")
    person.village = factories.village("城关镇", "东关村")
    person.save()
    outside = person_records(hekou_user, person, household_id=None)
    assert not any(outside.by_kind.values())


def test_a_village_member_sees_only_their_villages_records(village_user, home):
    history_user = factories.user_with_role("county_admin")
    history(history_user, home.head, child=False, times=1)
    person = home.head
    records = person_records(village_user, person, household_id=None)
    assert not any(records.by_kind.values())  # the village user's village is another


def test_the_timeline_keeps_its_newest_first_order_and_limit(hekou_user, home, monkeypatch):
    for n in range(5):
        TrackingVisit.objects.create(
            household=home.household, visited_on=date(2025, 1, 1 + n), visitor_name=f"走访{n}"
        )
    history(hekou_user, home.head, child=False, times=1)
    monkeypatch.setattr("staff.selectors.person_records.TIMELINE_LIMIT", 3)
    records = person_records(hekou_user, home.head, household_id=home.household.pk)
    assert len(records.events) == 3
    dates = [event.on for event in records.events]
    assert dates == sorted(dates, reverse=True)
    assert records.of("p_training")  # the record rows are not cut by the timeline's limit


def test_hardship_by_the_civil_roster_is_read_in_the_same_query(client, chengguan_user, child):
    """In a township the civil-affairs roster covers, it decides 低保: the survey's "yes"
    no longer counts without a 在保 row there (`monitoring.eligibility.receipt`). The page
    reads the roster's townships as a subquery of its one query, and decides as the set
    read on its own does."""
    warm_json_feature()
    client.force_login(chengguan_user)
    child.survey.receives_dibao = True
    child.survey.save()
    count, html = queries(client, child, chengguan_user)
    assert "家庭享受低保或特困供养" in html
    # A civil roster row of someone else in 城关镇: the roster now decides for the child.
    neighbour = factories.certified_person(township="城关镇", village_name="东关村").person
    factories.BenefitRecordFactory(
        person=neighbour, origin="civil", township=neighbour.township, status="active"
    )
    count, html = queries(client, child, chengguan_user)
    assert count <= PERSON_PAGE_BUDGET
    assert "属于困境残疾儿童：父母均不在户" in html and "家庭享受低保或特困供养" not in html
    row = hardship_children(timezone.localdate(), civil_townships()).get(pk=child.pk)
    assert row.hardship_dibao is False and row.hardship_absent_parent is True
