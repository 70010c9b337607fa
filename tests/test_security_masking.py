"""Masking (docs/SECURITY.md): lists show masked numbers; the full number only through an audited
reveal on the detail page, for county admins and the township's staff."""

import pytest
from django.urls import reverse

from cases.models import AuditEvent

from . import factories

pytestmark = pytest.mark.django_db

PHONE = "13912345678"


@pytest.fixture
def person():
    person = factories.PersonFactory(
        name="王五",
        phone=PHONE,
        township=factories.township("河口镇"),
        village=factories.village("河口镇", "东风村"),
    )
    factories.CertificateFactory(person=person)
    return person


def masked(number):
    return f"{number[:6]}********{number[-4:]}"


def reveal(client, person, field="id_number", **headers):
    return client.post(reverse("staff:person_reveal", args=[person.pk, field]), **headers)


def test_list_and_detail_show_masked_numbers_only(client, hekou_user, person):
    client.force_login(hekou_user)
    for url in (reverse("staff:person_list"), reverse("staff:person_detail", args=[person.pk])):
        html = client.get(url).content.decode()
        assert person.id_number not in html and PHONE not in html, url
    detail = client.get(reverse("staff:person_detail", args=[person.pk])).content.decode()
    assert masked(person.id_number) in detail and "139****5678" in detail
    assert 'data-testid="reveal-id"' in detail


@pytest.mark.parametrize("role_user", ["hekou_user", "admin_user"])
def test_allowed_roles_reveal_and_the_reveal_is_audited(client, request, role_user, person):
    user = request.getfixturevalue(role_user)
    client.force_login(user)
    response = reveal(client, person, REMOTE_ADDR="10.4.4.4")
    assert response.status_code == 200
    assert person.id_number in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    (event,) = AuditEvent.objects.filter(action="reveal")
    assert event.actor == user and event.result == "ok" and event.ip_address == "10.4.4.4"
    assert event.target_id == str(person.pk) and event.details == {"field": "id_number"}
    # The audit row itself never holds the full number.
    assert person.id_number not in event.target_label + str(event.details)


def test_reveal_phone_as_json(client, hekou_user, person):
    client.force_login(hekou_user)
    response = reveal(client, person, "phone", HTTP_ACCEPT="application/json")
    assert response.json() == {"field": "phone", "label": "联系电话", "value": PHONE}
    assert AuditEvent.objects.filter(action="reveal", details__field="phone").count() == 1


@pytest.mark.parametrize("role_user", ["viewer_user", "village_user"])
def test_other_roles_are_refused_and_the_attempt_is_audited(client, request, role_user):
    user = request.getfixturevalue(role_user)
    # A person in the village member's own village, so scope is not the reason.
    person = factories.PersonFactory(
        township=factories.township("城关镇"), village=factories.village("城关镇", "东关村")
    )
    client.force_login(user)
    detail = client.get(reverse("staff:person_detail", args=[person.pk])).content.decode()
    assert 'data-testid="reveal-id"' not in detail
    response = reveal(client, person)
    assert response.status_code == 403
    assert person.id_number not in response.content.decode()
    (event,) = AuditEvent.objects.filter(action="reveal")
    assert event.result == "denied" and event.actor == user


def test_reveal_outside_the_scope_is_404(client, chengguan_user, person):
    client.force_login(chengguan_user)
    response = reveal(client, person)
    assert response.status_code == 404
    assert person.id_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action="reveal", result="ok").exists()
    # The refused request is still in the trail (the audit middleware).
    assert AuditEvent.objects.filter(
        path=reverse("staff:person_reveal", args=[person.pk, "id_number"]), result="denied"
    ).exists()


def test_reveal_is_post_only_and_knows_its_fields(client, hekou_user, person):
    client.force_login(hekou_user)
    assert (
        client.get(reverse("staff:person_reveal", args=[person.pk, "id_number"])).status_code == 405
    )
    assert reveal(client, person, "birth_date").status_code == 404


def test_views_audit_lists_searches_and_detail_pages(client, hekou_user, person):
    client.force_login(hekou_user)
    client.get(reverse("staff:person_list"))
    client.get(reverse("staff:person_list"), {"q": person.id_number})
    client.get(reverse("staff:person_detail", args=[person.pk]))
    listed = AuditEvent.objects.get(action="list")
    assert listed.details["rows"] == 1 and listed.target_label == "cases.person"
    searched = AuditEvent.objects.get(action="search")
    assert searched.details["filters"] == {"q": masked(person.id_number)}
    assert searched.details["rows"] == 1
    viewed = AuditEvent.objects.get(action="view")
    assert viewed.target_id == str(person.pk)
    assert viewed.target_label == f"王五（{masked(person.id_number)}）"
