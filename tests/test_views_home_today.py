"""The home page's 今日工作: counts of what waits on the worker, in their scope only."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import AccessibilityModification
from monitoring.models import Finding
from subsidies.models import BenefitApplication

from . import factories

pytestmark = pytest.mark.django_db


def person_in(township, village):
    return factories.certified_person(
        township=township, village_name=village, household=True
    ).person


def open_finding(rule, person):
    return factories.FindingFactory(
        rule=rule,
        person=person,
        household=person.membership.household,
        opened_at=timezone.now() - timedelta(days=2),
    )


@pytest.fixture
def work():
    here = person_in("河口镇", "东风村")
    there = person_in("城关镇", "东关村")
    for person in (here, there):
        open_finding("M01", person)
        open_finding("R01", person)
        AccessibilityModification.objects.create(person=person, applied_on=date(2026, 3, 1))
        BenefitApplication.objects.create(
            person=person, benefit_type="dibao", applied_on=date(2026, 3, 1)
        )
    open_finding("D01", here)
    return here


def test_home_shows_todays_work_of_the_scope_only(client, hekou_user, work):
    client.force_login(hekou_user)
    html = client.get(reverse("home")).content.decode()
    today = html.split('data-testid="work-today"', 1)[1].split("</section>", 1)[0]
    assert "待处理比对发现 <strong>3</strong> 条" in today
    # The most urgent first, in the queue's order (M before R before D).
    assert today.index("M01") < today.index("R01") < today.index("D01")
    assert "进行中的无障碍改造 <strong>1</strong> 户" in today
    assert "待审核/待办结 <strong>1</strong> 件" in today


def test_county_admin_counts_the_county(client, county_admin, work):
    client.force_login(county_admin)
    html = client.get(reverse("home")).content.decode()
    assert "待处理比对发现 <strong>5</strong> 条" in html
    assert "进行中的无障碍改造 <strong>2</strong> 户" in html


def test_nothing_waiting_says_so(client, hekou_user):
    client.force_login(hekou_user)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="today-nothing"' in html


def test_village_members_see_no_decisions(client, village_user):
    person = person_in("城关镇", "东关村")
    open_finding("M01", person)
    BenefitApplication.objects.create(
        person=person, benefit_type="dibao", applied_on=date(2026, 3, 1)
    )
    client.force_login(village_user)
    html = client.get(reverse("home")).content.decode()
    assert 'data-testid="today-findings"' not in html
    assert 'data-testid="today-applications"' not in html


def test_handled_findings_are_not_counted(client, hekou_user, work):
    Finding.objects.filter(rule="D01").update(status=Finding.Status.HANDLED)
    client.force_login(hekou_user)
    html = client.get(reverse("home")).content.decode()
    assert "待处理比对发现 <strong>2</strong> 条" in html
