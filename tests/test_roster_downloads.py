"""Finance rosters in the browser (/tasks/rosters/): the same file as the command, cell for
cell; the place from the user's scope; audited as exports; roles (docs/SECURITY.md: the
files carry full ID numbers, so `monitoring.rosters` gives them to county users, and to
township staff for their own township only)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import AuditEvent
from cases.scope import scope_for
from monitoring.eligibility import PAYMENT_BENEFITS
from staff.views.task_lists import roster_township

from . import factories

pytestmark = pytest.mark.django_db
YEAR = 2026


def certified(township="城关镇", **answers):
    return factories.certified_person(grade=1, birth=date(1980, 6, 1), township=township, **answers)


@pytest.fixture
def county():
    cg = certified(pension_insured=True, name="城关甲")
    certified(pension_insured=True, name='=HYPERLINK("x")')
    hk = certified(township="河口镇", pension_insured=True, name="河口乙")
    for benefit, amount in (("care_subsidy", "95"), ("dibao", "520"), ("temporary_relief", "300")):
        for record in (cg, hk):
            factories.BenefitRecordFactory(
                person=record.person, benefit_type=benefit, monthly_amount=Decimal(amount)
            )
    return cg, hk


def cells(content_or_path):
    source = io.BytesIO(content_or_path) if isinstance(content_or_path, bytes) else content_or_path
    sheet = load_workbook(source).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    formats = [[cell.number_format for cell in row] for row in sheet.iter_rows()]
    return values, formats, sorted(str(r) for r in sheet.merged_cells.ranges)


def test_pension_roster_equals_the_command_cell_for_cell(client, admin_user, county, tmp_path):
    out = tmp_path / "cli.xlsx"
    call_command("pension_roster", year=YEAR, output=str(out))
    client.force_login(admin_user)
    response = client.get(reverse("staff:roster_pension"), {"year": YEAR})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    web = cells(response.content)
    assert web == cells(out)
    assert len(web[0]) == 3 + 3 + 3  # title, unit, header, 3 persons, total, blank, signatures
    assert county[0].person.id_number in str(web[0])  # the finance document: full numbers
    event = AuditEvent.objects.get(action="export", target_label="monitoring.pension_roster")
    assert event.actor == admin_user and event.details["rows"] == 3


@pytest.mark.parametrize("benefit", PAYMENT_BENEFITS)
def test_payment_roster_equals_the_command_cell_for_cell(
    client, admin_user, county, tmp_path, benefit
):
    out = tmp_path / "cli.xlsx"
    call_command(
        "payment_roster", benefit=benefit, month="2026-06", township="河口镇", output=str(out)
    )
    client.force_login(admin_user)
    hekou = factories.township("河口镇")
    response = client.get(
        reverse("staff:roster_payment"),
        {"benefit": benefit, "month": "2026-06", "township": hekou.pk},
    )
    assert response.status_code == 200
    assert cells(response.content) == cells(out)
    event = AuditEvent.objects.get(action="export", target_label="monitoring.payment_roster")
    assert event.details["township"] == "河口镇" and event.details["benefit"] == benefit


def test_county_roster_covers_every_township(client, admin_user, county, tmp_path):
    out = tmp_path / "cli.xlsx"
    call_command("payment_roster", benefit="dibao", month="2026-06", output=str(out))
    client.force_login(admin_user)
    response = client.get(reverse("staff:roster_payment"), {"benefit": "dibao", "month": "2026-06"})
    web = cells(response.content)
    assert web == cells(out)
    text = str(web[0])
    assert "城关甲" in text and "河口乙" in text


def test_page_offers_both_rosters_to_county_admins(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("staff:roster_downloads"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="pension-roster"' in html and 'data-testid="payment-roster"' in html
    for benefit in PAYMENT_BENEFITS:
        assert f'value="{benefit}"' in html


def test_bad_choices_are_told_and_nothing_is_exported(client, admin_user, county):
    client.force_login(admin_user)
    for url, params in (
        ("staff:roster_pension", {"year": "20x6"}),
        ("staff:roster_pension", {"year": YEAR, "township": "999999"}),
        ("staff:roster_payment", {"benefit": "medical_insurance", "month": "2026-06"}),
        ("staff:roster_payment", {"benefit": "dibao", "month": "June"}),
    ):
        response = client.get(reverse(url), params)
        assert response.status_code == 400, params
        assert 'data-testid="roster-error"' in response.content.decode()
    assert not AuditEvent.objects.filter(action="export").exists()


def test_missing_monthly_standard_is_the_commands_message(client, admin_user):
    record = certified()
    factories.BenefitRecordFactory(person=record.person, benefit_type="temporary_relief")
    client.force_login(admin_user)
    response = client.get(
        reverse("staff:roster_payment"), {"benefit": "temporary_relief", "month": "2026-06"}
    )
    assert response.status_code == 400
    assert "没有月标准" in response.content.decode()


def test_township_staff_get_their_townships_roster_only(client, county, chengguan_user):
    client.force_login(chengguan_user)
    hekou = factories.township("河口镇")
    response = client.get(
        reverse("staff:roster_payment"),
        {"benefit": "dibao", "month": "2026-06", "township": str(hekou.pk)},
    )
    assert response.status_code == 200
    values, _, _ = cells(response.content)
    text = repr(values)
    assert county[0].person.id_number in text
    assert county[1].person.id_number not in text
    assert "城关镇" in values[0][0]
    export = AuditEvent.objects.get(action="export")
    assert export.actor == chengguan_user


def test_county_viewer_gets_the_county_roster_audited(client, county, viewer_user):
    client.force_login(viewer_user)
    response = client.get(reverse("staff:roster_pension"), {"year": YEAR})
    assert response.status_code == 200
    text = repr(cells(response.content)[0])
    assert county[0].person.id_number in text and county[1].person.id_number in text
    assert AuditEvent.objects.filter(action="export", actor=viewer_user).count() == 1


def test_township_cannot_be_chosen_by_township_staff(client, chengguan_user):
    """Township staff's roster place is their own township, whatever the query says."""

    class Req:
        GET = {"township": str(factories.township("河口镇").pk)}

    assert roster_township(Req, scope_for(chengguan_user)).name == "城关镇"


def test_village_member_is_refused(client, village_user):
    client.force_login(village_user)
    for url, params in (
        ("staff:roster_downloads", {}),
        ("staff:roster_pension", {"year": YEAR}),
        ("staff:roster_payment", {"benefit": "dibao", "month": "2026-06"}),
    ):
        response = client.get(reverse(url), params)
        assert response.status_code == 403
        assert "无权访问" in response.content.decode()
