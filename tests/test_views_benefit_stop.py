"""停保 of a staff-recorded benefit from the person page: the service's checks, scope, role."""

from datetime import date

import pytest
from django.urls import reverse

from cases.models import ChangeRecord
from subsidies.models import BenefitRecord

from . import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def record():
    person = factories.certified_person(township="河口镇", village_name="东风村").person
    return factories.BenefitRecordFactory(
        person=person,
        benefit_type="living_subsidy",
        origin="manual",
        status="active",
        start_month=date(2026, 1, 1),
    )


def stop_url(record):
    return reverse("staff:benefit_stop", args=[record.person_id, record.pk])


def test_person_page_lists_benefits_with_a_stop_button(client, hekou_user, record):
    client.force_login(hekou_user)
    html = client.get(reverse("staff:person_detail", args=[record.person_id])).content.decode()
    assert 'data-testid="person-benefits"' in html
    assert stop_url(record) in html


def test_stop_writes_status_end_month_and_history(client, hekou_user, record):
    client.force_login(hekou_user)
    response = client.post(stop_url(record), {"end_month": "2026-06", "reason": "本人已去世"})
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.end_month) == ("stopped", date(2026, 6, 1))
    change = ChangeRecord.objects.filter(object_id=str(record.pk)).latest("pk")
    assert change.reason == "本人已去世"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"end_month": "2026-06", "reason": ""}, "请填写停保原因"),
        ({"end_month": "2025-06", "reason": "测试"}, "终止年月不能早于起始年月"),
        ({"end_month": "六月", "reason": "测试"}, "终止年月格式不正确"),
    ],
)
def test_bad_input_is_told_on_the_field_and_nothing_changes(
    client, hekou_user, record, data, message
):
    client.force_login(hekou_user)
    response = client.post(stop_url(record), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    record.refresh_from_db()
    assert record.status == "active"


def test_civil_affairs_rows_are_refused(client, hekou_user, record):
    BenefitRecord.objects.filter(pk=record.pk).update(origin="civil")
    client.force_login(hekou_user)
    response = client.post(stop_url(record), {"end_month": "2026-06", "reason": "测试"})
    assert response.status_code == 400
    assert "以民政名册为准" in response.content.decode()


def test_scope_and_role(client, chengguan_user, viewer_user, record):
    client.force_login(chengguan_user)
    assert client.get(stop_url(record)).status_code == 404
    client.force_login(viewer_user)
    assert client.post(stop_url(record), {"end_month": "2026-06", "reason": "x"}).status_code == 403
    record.refresh_from_db()
    assert record.status == "active"
