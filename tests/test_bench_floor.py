"""The load bench's floor page (staff/views/floor.py): login required, tiny, audited, no data."""

import pytest
from django.urls import reverse

from cases.models import AuditEvent
from staff.views.floor import FLOOR_BODY

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("staff:bench_floor"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AuditEvent.objects.filter(path=reverse("staff:bench_floor")).exists()


def test_a_signed_in_user_gets_a_tiny_page_that_is_audited_like_any_view(client, hekou_user):
    client.force_login(hekou_user)
    before = AuditEvent.objects.count()
    response = client.get(reverse("staff:bench_floor"))
    assert response.status_code == 200
    assert response.content.decode() == FLOOR_BODY
    assert response["Content-Type"].startswith("text/plain")
    # Through the same middleware as the real pages: no-store and one audit event.
    assert "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.count() == before + 1
    event = AuditEvent.objects.latest("pk")
    assert event.path == reverse("staff:bench_floor")
    assert event.actor_id == hekou_user.pk


def test_the_floor_only_answers_get(client, hekou_user):
    client.force_login(hekou_user)
    assert client.post(reverse("staff:bench_floor")).status_code == 405


@pytest.mark.parametrize("role_user", ["viewer_user", "village_user", "county_admin"])
def test_every_role_can_use_the_floor(client, request, role_user):
    client.force_login(request.getfixturevalue(role_user))
    assert client.get(reverse("staff:bench_floor")).status_code == 200
