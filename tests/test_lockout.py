"""Login lockout an outsider cannot turn into a denial of service (docs/SECURITY.md).

Locks are by username *and* address, expire after the cool-off, and a county admin sees
and lifts them in the staff app (audited); other roles cannot reach that page.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cases.accounts import lockout_lift
from cases.casework_base import NotPermitted
from cases.models import AuditEvent
from staff.selectors.lockouts import current_lockouts

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # factories.UserFactory's password
OFFICE = "10.20.0.1"  # the township office's NAT address
STRANGER = "203.0.113.9"


def login(client, username, password, ip):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def lock_out(username, ip, times=5):
    client = Client()
    for attempt in range(times):
        login(client, username, f"wrong-{attempt}-password", ip)
    return client


def test_a_strangers_failures_do_not_lock_the_office_out(hekou_user):
    stranger = lock_out("hekou", STRANGER)
    assert login(stranger, "hekou", PASSWORD, STRANGER).status_code == 429
    # The real user, at the office, still signs in.
    office = Client()
    assert login(office, "hekou", PASSWORD, OFFICE).status_code == 302


def test_the_county_admin_cannot_be_locked_out_from_outside(county_admin):
    lock_out("countyadmin", STRANGER, times=20)
    assert login(Client(), "countyadmin", PASSWORD, OFFICE).status_code == 302


def test_the_lock_holds_at_the_address_it_came_from(hekou_user):
    lock_out("hekou", OFFICE)
    assert login(Client(), "hekou", PASSWORD, OFFICE).status_code == 429


def test_the_lock_expires_after_the_cool_off(hekou_user, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    lock_out("hekou", OFFICE)
    assert login(Client(), "hekou", PASSWORD, OFFICE).status_code == 429
    # A failure during the lock restarts the cool-off; let it pass from the last one.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=6))
    assert current_lockouts() == []
    assert login(Client(), "hekou", PASSWORD, OFFICE).status_code == 302


def test_the_lock_still_holds_just_before_the_cool_off_ends(hekou_user, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=5)
    lock_out("hekou", OFFICE)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=4))
    assert login(Client(), "hekou", PASSWORD, OFFICE).status_code == 429


def test_the_county_admin_sees_the_lock_and_lifts_it_audited(client, county_admin, hekou_user):
    lock_out("hekou", OFFICE)
    client.force_login(county_admin)
    page = client.get(reverse("staff:lock_list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "hekou" in html and OFFICE in html and "解除锁定" in html
    (lock,) = current_lockouts()
    assert (lock.username, lock.ip_address, lock.failures) == ("hekou", OFFICE, 5)
    assert lock.expires_at == lock.last_failure + timedelta(minutes=30)

    response = client.post(reverse("staff:lock_lift", args=[lock.attempt_id]))
    assert response.status_code == 302
    assert response["Location"] == reverse("staff:lock_list")
    assert current_lockouts() == []
    assert not AccessAttempt.objects.exists()
    event = AuditEvent.objects.get(action="delete", target_model="axes.accessattempt")
    assert event.actor == county_admin and event.result == "ok"
    assert event.details["lockout_lifted"]["username"] == "hekou"
    assert event.details["lockout_lifted"]["ip_address"] == OFFICE
    assert "hekou" in event.target_label
    # Listing the locks is audited too.
    assert AuditEvent.objects.filter(
        username="countyadmin", action="list", target_label="axes.accessattempt"
    ).exists()
    # And the user signs in from the office again.
    assert login(Client(), "hekou", PASSWORD, OFFICE).status_code == 302


def test_lifting_one_lock_leaves_the_others(county_admin, hekou_user, chengguan_user):
    lock_out("hekou", OFFICE)
    lock_out("chengguan", STRANGER)
    hekou = next(lock for lock in current_lockouts() if lock.username == "hekou")
    lockout_lift(county_admin, hekou.attempt_id)
    assert [lock.username for lock in current_lockouts()] == ["chengguan"]


def test_a_lifted_or_expired_lock_is_404(client, county_admin):
    client.force_login(county_admin)
    assert client.post(reverse("staff:lock_lift", args=[999999])).status_code == 404


@pytest.mark.parametrize("user_fixture", ["hekou_user", "viewer_user", "village_user"])
def test_other_roles_cannot_reach_the_page_or_lift(client, request, user_fixture, chengguan_user):
    lock_out("chengguan", OFFICE)
    (lock,) = current_lockouts()
    client.force_login(request.getfixturevalue(user_fixture))
    assert client.get(reverse("staff:lock_list")).status_code == 403
    assert client.post(reverse("staff:lock_lift", args=[lock.attempt_id])).status_code == 403
    assert len(current_lockouts()) == 1
    assert not AuditEvent.objects.filter(target_model="axes.accessattempt", action="delete")
    with pytest.raises(NotPermitted):
        lockout_lift(request.getfixturevalue(user_fixture), lock.attempt_id)


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get(reverse("staff:lock_list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_lock_list_is_lift_only_by_post(client, county_admin):
    client.force_login(county_admin)
    assert client.get(reverse("staff:lock_lift", args=[1])).status_code == 405
