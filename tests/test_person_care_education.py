"""一人一案 only for ages 3–17 on the plan's date: the service refuses others (so the page
and the admin refuse too); the person page shows the plan in its section."""

from datetime import date

import pytest
from django.urls import reverse

from cases import casework
from cases.casework_base import CaseworkError
from cases.models import EducationPlan

from . import factories

pytestmark = pytest.mark.django_db

PLAN_DAY = date(2026, 3, 5)


def child(birth):
    return factories.certified_person(birth=birth, township="河口镇", village_name="东风村").person


@pytest.mark.parametrize(
    ("birth", "age"),
    [(date(1930, 6, 1), 95), (date(2008, 3, 5), 18), (date(2023, 3, 6), 2)],
)
def test_the_service_refuses_outside_3_to_17(hekou_user, birth, age):
    with pytest.raises(CaseworkError) as refused:
        casework.education_plan_save(
            hekou_user, child(birth), placement="home_teaching", verified_on=PLAN_DAY
        )
    assert refused.value.field == "verified_on"
    assert str(refused.value) == (
        f"一人一案仅适用于3至17周岁的儿童，该人员在2026-03-05时为{age}周岁"
    )
    assert not EducationPlan.objects.exists()


@pytest.mark.parametrize("birth", [date(2023, 3, 5), date(2008, 3, 6)])  # 3 and 17
def test_the_bounds_are_accepted(hekou_user, birth):
    plan = casework.education_plan_save(
        hekou_user, child(birth), placement="home_teaching", verified_on=PLAN_DAY
    )
    assert plan.pk is not None


def test_the_page_shows_the_refusal_on_the_date_field(client, hekou_user):
    elder = child(date(1930, 6, 1))
    client.force_login(hekou_user)
    response = client.post(
        reverse("staff:education_plan", args=[elder.pk]),
        {"placement": "home_teaching", "verified_on": "2026-03-05"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["verified_on"] == [
        "一人一案仅适用于3至17周岁的儿童，该人员在2026-03-05时为95周岁"
    ]
    assert not EducationPlan.objects.exists()


def test_the_admin_refuses_too(admin_client):
    elder = child(date(1930, 6, 1))
    response = admin_client.post(
        reverse("admin:cases_educationplan_add"),
        {"person": elder.pk, "placement": "home_teaching", "verified_on": "2026-03-05"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "一人一案仅适用于3至17周岁的儿童，该人员在2026-03-05时为95周岁" in str(errors)
    assert not EducationPlan.objects.exists()


def test_the_section_shows_the_plan_of_a_school_age_child(client, hekou_user):
    pupil = child(date(2016, 4, 1))
    casework.education_plan_save(
        hekou_user, pupil, placement="mainstream", school="河口镇中心小学", verified_on=PLAN_DAY
    )
    client.force_login(hekou_user)
    html = client.get(reverse("staff:person_detail", args=[pupil.pk])).content.decode()
    assert 'data-testid="education-plan"' in html
    assert "随班就读" in html and "河口镇中心小学" in html and "2026-03-05" in html
    assert reverse("staff:education_plan", args=[pupil.pk]) in html
    adult = child(date(1970, 1, 1))
    html = client.get(reverse("staff:person_detail", args=[adult.pk])).content.decode()
    assert 'data-testid="education"' not in html
