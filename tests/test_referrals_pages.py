"""The referral list (转办: what is waiting on whom), its export, and the county admins'
unit list page."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.models import AuditEvent, ChangeRecord
from subsidies import referrals
from subsidies.models import ReferralUnit

from .downloads import response_bytes

pytestmark = pytest.mark.django_db

LIST = reverse("staff:referral_list")
EXPORT = reverse("staff:referral_export")
UNITS = reverse("staff:referral_units")


def today():
    return timezone.localdate()


def unit(name="民政办"):
    return ReferralUnit.objects.get(name=name)


def html_of(response, status=200):
    assert response.status_code == status, response.status_code
    return response.content.decode()


@pytest.fixture
def county(hekou_user, chengguan_user, home, elsewhere):
    """河口镇: one referral waiting 12 days at 民政办, one accepted at 卫生院, one done at 人社所;
    城关镇: one waiting at 民政办."""
    household, measure = home.household, home.household.assistance.get()
    application = home.head.benefit_applications.get()
    referrals.referral_create(
        hekou_user,
        household,
        unit=unit(),
        application=application,
        request="请审核低保",
        referred_on=today() - timedelta(days=12),
    )
    accepted = referrals.referral_create(
        hekou_user, household, unit=unit("卫生院"), measure=measure, request="康复评估"
    )
    referrals.referral_update_status(hekou_user, accepted, status="accepted")
    done = referrals.referral_create(
        hekou_user, household, unit=unit("人社所"), measure=measure, request="就业培训"
    )
    referrals.referral_update_status(hekou_user, done, status="accepted")
    referrals.referral_update_status(hekou_user, done, status="done", response="已培训")
    referrals.referral_create(
        chengguan_user,
        elsewhere.household,
        unit=unit(),
        measure=elsewhere.household.assistance.get(),
        request="乙户事项",
    )
    return home, elsewhere


def test_list_shows_open_referrals_in_scope_with_counts(client, hekou_user, county):
    client.force_login(hekou_user)
    html = html_of(client.get(LIST))
    assert html.count('data-testid="referral-row"') == 2
    assert "请审核低保" in html and "康复评估" in html and "已等待" in html and "12天" in html
    assert "就业培训" not in html  # done: not open
    assert "乙户事项" not in html and "郑国强" not in html  # another township
    counts = html.split('data-testid="unit-counts"', 1)[1].split("</section>", 1)[0]
    assert counts.count('data-testid="unit-count"') == 2
    assert "民政办" in counts and "卫生院" in counts and "人社所" not in counts
    assert 'href="/referrals/"' in html  # the navigation entry


def test_list_filters_by_unit_and_status(client, hekou_user, county):
    client.force_login(hekou_user)
    html = html_of(client.get(LIST, {"unit": unit("卫生院").pk}))
    assert "康复评估" in html and "请审核低保" not in html
    html = html_of(client.get(LIST, {"status": "done"}))
    assert "就业培训" in html and "康复评估" not in html
    html = html_of(client.get(LIST, {"status": "all"}))
    assert html.count('data-testid="referral-row"') == 3
    html = html_of(client.get(LIST, {"status": "nonsense"}))
    assert 'data-testid="referral-row"' not in html


def test_county_roles_see_every_township(client, viewer_user, county):
    client.force_login(viewer_user)
    html = html_of(client.get(LIST))
    assert "乙户事项" in html and "请审核低保" in html
    assert "units-link" not in html


def test_village_member_sees_only_their_village(client, village_user, county):
    client.force_login(village_user)
    html = html_of(client.get(LIST))
    assert "乙户事项" in html and "请审核低保" not in html


def test_export_is_scoped_masked_and_audited(client, hekou_user, county):
    home, _elsewhere = county
    client.force_login(hekou_user)
    response = client.get(EXPORT, {"status": "all"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response_bytes(response))).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    text = "\n".join(str(cell) for row in rows for cell in row if cell is not None)
    assert rows[0][3] == "户主身份证号（脱敏）" and len(rows) == 4
    assert "请审核低保" in text and "乙户事项" not in text
    assert home.head.id_number not in text
    assert home.head.id_number[:6] + "********" + home.head.id_number[-4:] in text
    event = AuditEvent.objects.get(action="export", target_label="subsidies.referral")
    assert event.actor == hekou_user and event.details["rows"] == 3


# --- units ---


def test_county_admin_adds_and_deactivates_a_unit(admin_client):
    html = html_of(admin_client.get(UNITS))
    assert "民政办" in html and "医保部门" in html
    response = admin_client.post(
        UNITS, {"name": "县康复中心", "sort_order": "7", "is_active": "on"}
    )
    assert response.status_code == 302
    added = ReferralUnit.objects.get(name="县康复中心")
    assert added.is_active and added.sort_order == 7
    edit = reverse("staff:referral_unit_edit", args=[added.pk])
    assert "县康复中心" in html_of(admin_client.get(edit))
    response = admin_client.post(
        edit, {"name": "县残联康复中心", "sort_order": "7", "reason": "更名"}
    )
    assert response.status_code == 302
    added.refresh_from_db()
    assert (added.name, added.is_active) == ("县残联康复中心", False)
    row = ChangeRecord.objects.filter(
        model="subsidies.referralunit", object_id=str(added.pk)
    ).latest("pk")
    assert row.reason == "更名" and row.changes["is_active"] == [True, False]


def test_unit_bad_input_writes_nothing(admin_client):
    html = html_of(admin_client.post(UNITS, {"name": "", "sort_order": "x"}), 400)
    assert "请填写单位名称" in html and "排序应为整数" in html
    html = html_of(admin_client.post(UNITS, {"name": "民政办", "sort_order": "1"}), 400)
    assert "已有名为“民政办”的转办单位" in html
    edit = reverse("staff:referral_unit_edit", args=[unit().pk])
    html = html_of(admin_client.post(edit, {"name": "人社所", "sort_order": "1"}), 400)
    assert "已有名为“人社所”" in html
    assert ReferralUnit.objects.filter(name="民政办").count() == 1
    assert not ChangeRecord.objects.filter(model="subsidies.referralunit").exists()
    assert admin_client.get(reverse("staff:referral_unit_edit", args=[99999])).status_code == 404


@pytest.mark.parametrize("who", ["hekou_user", "viewer_user", "village_user"])
def test_only_county_admins_keep_the_units(request, client, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(UNITS).status_code == 403
    assert client.post(UNITS, {"name": "偷偷加", "sort_order": "1"}).status_code == 403
    edit = reverse("staff:referral_unit_edit", args=[unit().pk])
    assert client.post(edit, {"name": "改名", "sort_order": "1"}).status_code == 403
    assert not ReferralUnit.objects.filter(name__in=["偷偷加", "改名"]).exists()


def test_referral_admin_pages(admin_client, county):
    assert admin_client.get(reverse("admin:subsidies_referral_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:subsidies_referralunit_changelist")).status_code == 200
    response = admin_client.post(
        reverse("admin:subsidies_referralunit_add"),
        {"name": "民政办", "sort_order": "1", "is_active": "on", "change_reason": "x"},
    )
    assert response.status_code == 200 and "已有名为“民政办”" in response.content.decode()
    response = admin_client.post(
        reverse("admin:subsidies_referralunit_add"),
        {"name": "县残联", "sort_order": "1", "is_active": "on", "change_reason": "新增"},
    )
    assert response.status_code == 302
    assert ChangeRecord.objects.filter(
        model="subsidies.referralunit", object_id=str(ReferralUnit.objects.get(name="县残联").pk)
    ).exists()
