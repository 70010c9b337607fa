"""托养照护 on the person page: start and end forms, the history list; scope and role."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.models import ChangeRecord, CustodialCare

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def start_url(person):
    return reverse("staff:custodial_care_start", args=[person.pk])


def end_url(care):
    return reverse("staff:custodial_care_end", args=[care.pk])


def page(client, person):
    return client.get(reverse("staff:person_detail", args=[person.pk])).content.decode()


def test_start_end_and_history(client, hekou_user, home):
    client.force_login(hekou_user)
    person = home.head
    started = (TODAY() - timedelta(days=40)).isoformat()
    response = client.post(
        start_url(person),
        {"mode": "day", "institution": "河口镇阳光家园", "started_on": started},
    )
    assert response.status_code == 302
    care = CustodialCare.objects.get(person=person)
    assert (care.mode, care.institution, care.ended_on) == ("day", "河口镇阳光家园", None)
    html = page(client, person)
    assert "日间照料" in html and "托养中" in html
    assert 'data-testid="custodial-end"' in html and 'data-testid="custodial-start"' not in html

    response = client.post(end_url(care), {"ended_on": TODAY().isoformat(), "reason": "转入寄宿"})
    assert response.status_code == 302
    care.refresh_from_db()
    assert care.ended_on == TODAY()
    assert ChangeRecord.objects.filter(
        model="cases.custodialcare", object_id=str(care.pk), reason="转入寄宿", actor=hekou_user
    ).exists()

    client.post(
        start_url(person),
        {"mode": "residential", "institution": "县托养中心", "started_on": TODAY().isoformat()},
    )
    html = page(client, person)
    assert html.count('data-label="托养方式"') == 2  # the history keeps the ended care
    assert "寄宿制托养" in html and "日间照料" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mode": "", "started_on": "2026-01-05"}, "mode", "请选择托养方式"),
        ({"mode": "spa", "started_on": "2026-01-05"}, "mode", "托养方式的选项无效"),
        ({"mode": "home", "started_on": ""}, "started_on", "请填写开始日期"),
        ({"mode": "home", "started_on": "2099-01-01"}, "started_on", "开始日期不能晚于今天"),
    ],
)
def test_bad_start_writes_nothing(client, hekou_user, home, data, field, message):
    client.force_login(hekou_user)
    response = client.post(start_url(home.head), data)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not CustodialCare.objects.exists()


def test_a_second_current_care_is_refused(client, hekou_user, home):
    casework.custodial_care_start(hekou_user, home.head, mode="home", started_on=TODAY())
    client.force_login(hekou_user)
    response = client.post(start_url(home.head), {"mode": "day", "started_on": TODAY().isoformat()})
    assert response.status_code == 400
    assert "请先结束原托养" in response.content.decode()
    assert CustodialCare.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ended_on": "", "reason": "x"}, "请填写结束日期"),
        ({"reason": "", "ended_on": "TODAY"}, "请填写结束原因"),
        ({"reason": "x", "ended_on": "EARLY"}, "结束日期不能早于开始日期"),
    ],
)
def test_bad_end_writes_nothing(client, hekou_user, home, data, message):
    care = casework.custodial_care_start(
        hekou_user, home.head, mode="home", started_on=TODAY() - timedelta(days=5)
    )
    values = {"TODAY": TODAY().isoformat(), "EARLY": (TODAY() - timedelta(days=9)).isoformat()}
    data = {key: values.get(value, value) for key, value in data.items()}
    client.force_login(hekou_user)
    response = client.post(end_url(care), data)
    assert response.status_code == 400 and message in response.content.decode()
    care.refresh_from_db()
    assert care.ended_on is None


def test_scope_and_role(client, home, hekou_user, chengguan_user, viewer_user, village_user):
    care = casework.custodial_care_start(hekou_user, home.head, mode="home", started_on=TODAY())
    client.force_login(chengguan_user)
    assert client.get(start_url(home.head)).status_code == 404
    assert (
        client.post(end_url(care), {"ended_on": TODAY().isoformat(), "reason": "x"}).status_code
        == 404
    )
    client.force_login(viewer_user)
    assert client.get(start_url(home.head)).status_code == 403
    assert (
        client.post(end_url(care), {"ended_on": TODAY().isoformat(), "reason": "x"}).status_code
        == 403
    )
    assert 'data-testid="custodial-end"' not in page(client, home.head)
    care.refresh_from_db()
    assert care.ended_on is None
