"""The first-visit deadline (PolicyYear.visit_due_days): policy_set, the county admin's page."""

import pytest
from django.urls import reverse

from cases.models import ChangeRecord
from subsidies.models import PolicyYear
from subsidies.policy import PolicyError, policy_set

pytestmark = pytest.mark.django_db

BASE = {
    "monitoring_line": "7000",
    "rigid_expenditure_threshold": "20000",
    "pension_contribution_tier": "200",
    "reason": "县残联2027年通知",
}


def edit_url(year: int) -> str:
    return reverse("staff:policy_edit", args=[PolicyYear.objects.get(year=year).pk])


def test_policy_set_accepts_whole_days_and_records_them(admin_user):
    policy = policy_set(2027, actor=admin_user, visit_due_days="45", reason="调整")
    assert policy.visit_due_days == 45 and policy.is_default is False
    record = ChangeRecord.objects.get(model="subsidies.policyyear", object_id=str(policy.pk))
    assert record.changes["visit_due_days"] == [30, 45]


@pytest.mark.parametrize("value", [0, 366, -3, "十天", 12.5, True, None])
def test_policy_set_refuses_other_values_in_chinese(value):
    with pytest.raises(PolicyError, match=r"首次走访期限.*应为1～365之间的整数天数"):
        policy_set(2027, visit_due_days=value)
    assert PolicyYear.objects.get(year=2027).visit_due_days == 30


def test_the_page_shows_saves_and_records_the_deadline(client, admin_user):
    client.force_login(admin_user)
    url = edit_url(2027)
    page = client.get(url).content.decode()
    assert "纳入监测后首次走访期限（天）" in page and 'name="visit_due_days" value="30"' in page
    response = client.post(url, {**BASE, "visit_due_days": "20"})
    assert response.status_code == 302
    assert PolicyYear.objects.get(year=2027).visit_due_days == 20
    page = client.get(url).content.decode()
    assert "县残联2027年通知" in page and "纳入监测后首次走访期限（天）：30 → 20" in page
    listing = client.get(reverse("staff:policy_list")).content.decode()
    assert "20天" in listing


def test_a_blank_deadline_keeps_the_years_value(client, admin_user):
    PolicyYear.objects.filter(year=2027).update(visit_due_days=40)
    client.force_login(admin_user)
    response = client.post(edit_url(2027), {**BASE, "visit_due_days": ""})
    assert response.status_code == 302
    assert PolicyYear.objects.get(year=2027).visit_due_days == 40


@pytest.mark.parametrize("value", ["0", "366", "两周", "7.5"])
def test_the_page_refuses_a_bad_deadline_in_chinese_and_writes_nothing(client, admin_user, value):
    client.force_login(admin_user)
    response = client.post(edit_url(2027), {**BASE, "visit_due_days": value})
    assert response.status_code == 400
    assert "纳入监测后首次走访期限应为1～365之间的整数天数" in response.content.decode()
    policy = PolicyYear.objects.get(year=2027)
    assert (policy.visit_due_days, policy.is_default) == (30, True)
    assert not ChangeRecord.objects.filter(model="subsidies.policyyear").exists()


def test_a_new_year_takes_the_deadline_or_the_default(client, admin_user):
    client.force_login(admin_user)
    data = {**BASE, "year": "2031", "visit_due_days": "15"}
    assert client.post(reverse("staff:policy_create"), data).status_code == 302
    assert PolicyYear.objects.get(year=2031).visit_due_days == 15
    data = {**BASE, "year": "2032"}
    assert client.post(reverse("staff:policy_create"), data).status_code == 302
    assert PolicyYear.objects.get(year=2032).visit_due_days == 30


@pytest.mark.parametrize("user_fixture", ["hekou_user", "viewer_user", "village_user"])
def test_only_county_admins_change_it(client, request, user_fixture):
    client.force_login(request.getfixturevalue(user_fixture))
    response = client.post(edit_url(2027), {**BASE, "visit_due_days": "10"})
    assert response.status_code == 403
    assert PolicyYear.objects.get(year=2027).visit_due_days == 30


def test_the_django_admin_refuses_zero_days_through_the_same_check(admin_client):
    policy = PolicyYear.objects.get(year=2027)
    url = reverse("admin:subsidies_policyyear_change", args=[policy.pk])
    data = {**BASE, "visit_due_days": "0", "change_reason": "调整"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "应为1～365之间的整数天数" in response.content.decode()
    assert PolicyYear.objects.get(year=2027).visit_due_days == 30
    assert admin_client.post(url, {**data, "visit_due_days": "60"}).status_code == 302
    assert PolicyYear.objects.get(year=2027).visit_due_days == 60
