"""Every task-area page in real Chromium, at desktop width and at 375 px: it renders with
its data, nothing scrolls sideways on the phone (outside a table's own scroll box), and no
console error. SCREENSHOTS=1 saves each page to docs/screenshots/ (linked from the README).
"""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.models import Household, Person
from monitoring.crosscheck import run_crosscheck
from monitoring.models import Finding
from monitoring.populations import hardship_children
from staff.demo import build_demo_county
from staff.views.task_lists import TASK_LISTS
from subsidies import referrals, services
from subsidies.models import BenefitType
from tests import factories

from .conftest import DESKTOP, PASSWORD, PHONE, log_in
from .test_staff_app import no_sideways_scroll

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOWNSHIP = "城关镇"


@pytest.fixture
def county():
    """The demo county with one record of each task area in 城关镇, made through the
    services as the county admin would; committed before the browser starts."""
    build_demo_county(persons=600, password=PASSWORD)
    run_crosscheck()
    admin = get_user_model().objects.get(username="admin")
    today = timezone.localdate()
    adults = Person.objects.filter(township__name=TOWNSHIP, certificate__isnull=False)
    person = adults.order_by("pk").first()
    modification = casework.accessibility_apply(admin, person, applied_on=today, items="扶手")
    casework.accessibility_advance(admin, modification, "assessed", on=today, assessment="可改")
    casework.welfare_post_place(
        admin, person, post="村级保洁员", employer="城关镇人民政府", started_on=today
    )
    household = Household.objects.get(members__person=person)
    measure = casework.assistance_add(
        admin, household, kind="employment", responsible_unit="人社所", started_on=today
    )
    unit = referrals.referral_units(active_only=True).first()
    referrals.referral_create(admin, household, unit=unit, request="安排公益岗", measure=measure)
    services.benefit_application_create(admin, person, benefit_type=BenefitType.TEMPORARY_RELIEF)
    # A certified 10-year-old heading a household of their own: no parent in the household.
    factories.certified_person(
        birth=date(today.year - 10, 3, 1), township=TOWNSHIP, household=True, name="小明"
    )
    child = hardship_children(today).filter(township__name=TOWNSHIP).first()
    assert child is not None
    casework.child_care_record_add(
        admin, child, kind="visit", cared_on=today, provider="城关镇残联", content="探访慰问"
    )
    finding = Finding.objects.filter(
        township__name=TOWNSHIP, status=Finding.Status.OPEN, rule__startswith="R"
    ).first()
    return {"person": person, "household": household, "child": child, "finding": finding}


def pages(county) -> list[tuple[str, str]]:
    """(screenshot name, URL) of every task-area page a township worker uses."""
    found = [
        ("person-task-areas", reverse("staff:person_detail", args=[county["person"].pk])),
        ("household-work", reverse("staff:household_detail", args=[county["household"].pk])),
        ("task-index", reverse("staff:task_index")),
        ("referrals", reverse("staff:referral_list")),
        ("rosters", reverse("staff:roster_downloads")),
        ("application-new", reverse("staff:application_create", args=[county["household"].pk])),
    ]
    found += [(f"task-{task.key.replace('_', '-')}", reverse(task.url_name)) for task in TASK_LISTS]
    found.append(("child-care", reverse("staff:person_detail", args=[county["child"].pk])))
    if county["finding"] is not None:
        act = reverse("staff:finding_act", args=[county["finding"].pk, "rehab-service"])
        found.append(("finding-act", act))
    return found


@pytest.mark.parametrize(
    ("viewport", "suffix", "is_mobile"), [(DESKTOP, "", False), (PHONE, "-phone", True)]
)
def test_every_task_area_page(browser, county, screenshot, viewport, suffix, is_mobile):
    page = browser.new_page(viewport=viewport, is_mobile=is_mobile)
    log_in(page, username="chengguan", township=TOWNSHIP)
    for name, url in pages(county):
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{url}: {response.status}"
        assert page.locator("h1").first.is_visible(), url
        if viewport == PHONE:
            no_sideways_scroll(page, viewport)
        screenshot(page, f"{name}{suffix}")
    assert browser.console_errors == []


def test_referral_units_page_for_the_county_admin(browser, county, screenshot):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page, username="admin", township="霍邱县（全县）")
    response = page.goto(reverse("staff:referral_units"))
    assert response is not None and response.status == 200
    assert page.get_by_text("民政办").first.is_visible()
    no_sideways_scroll(page, PHONE)
    screenshot(page, "referral-units-phone")
    assert browser.console_errors == []
