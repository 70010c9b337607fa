"""Accounts (docs/SECURITY.md): audited logins, lockout, one session per account, idle timeout,
password rules, CSRF on every form."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.http import SESSION_REFRESHED_KEY
from cases.models import AuditEvent, UserSession

from .test_scope import iter_url_views

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # factories.UserFactory's password


def login(client, username, password, ip="10.0.0.8"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- audited logins ------------------------------------------------------------------------


def test_login_logout_and_failed_login_are_audited(client, hekou_user):
    assert login(client, "hekou", "wrong-password-1").status_code == 200
    assert login(client, "hekou", PASSWORD).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR="10.0.0.8")

    (failed,) = events("login_failed")
    assert failed.username == "hekou" and failed.actor is None
    assert failed.result == "denied" and failed.ip_address == "10.0.0.8"
    assert "wrong-password" not in str(failed.details) and PASSWORD not in str(failed.details)

    (logged_in,) = events("login")
    assert logged_in.actor == hekou_user and logged_in.result == "ok"
    assert logged_in.ip_address == "10.0.0.8" and logged_in.path == reverse("login")

    (logged_out,) = events("logout")
    assert logged_out.actor == hekou_user and logged_out.username == "hekou"


def test_lockout_is_audited_and_unknown_usernames_too(client, hekou_user):
    for attempt in range(5):
        login(client, "hekou", f"wrong-{attempt}-password")
    assert login(client, "hekou", PASSWORD).status_code == 429
    login(client, "no-such-user", "whatever-password")
    failed = events("login_failed")
    assert [e.username for e in failed].count("hekou") >= 6
    assert any(e.details.get("reason") == "locked_out" for e in failed)
    assert failed[-1].username == "no-such-user"
    assert not events("login")


def test_lockout_settings():
    assert settings.AXES_FAILURE_LIMIT == 5
    # Username and address together, and locks expire (tests/test_lockout.py).
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert timedelta(minutes=30) == settings.AXES_COOLOFF_TIME
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE


# --- one session per account ---------------------------------------------------------------


def test_a_new_login_ends_the_accounts_other_sessions(hekou_user, chengguan_user):
    phone, desktop, colleague = Client(), Client(), Client()
    assert login(phone, "hekou", PASSWORD).status_code == 302
    assert login(colleague, "chengguan", PASSWORD).status_code == 302
    assert phone.get(reverse("home")).status_code == 200

    assert login(desktop, "hekou", PASSWORD).status_code == 302
    # The phone's session is gone: it is sent to the login page.
    response = phone.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert desktop.get(reverse("home")).status_code == 200
    # Another account's session is untouched.
    assert colleague.get(reverse("home")).status_code == 200

    assert UserSession.objects.filter(user=hekou_user).count() == 1
    assert events("login")[-1].details == {"ended_sessions": 1}


def test_logout_forgets_the_session_key(client, hekou_user):
    login(client, "hekou", PASSWORD)
    assert UserSession.objects.filter(user=hekou_user).exists()
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=hekou_user).exists()


# --- idle timeout ----------------------------------------------------------------------------


def test_idle_timeout_is_thirty_minutes_and_renewed_by_page_views(client, hekou_user):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    login(client, "hekou", PASSWORD)
    key = client.session.session_key
    # A page view a refresh interval after the last renewal moves the expiry on.
    session = client.session
    session[SESSION_REFRESHED_KEY] = int(time.time()) - settings.SESSION_REFRESH_SECONDS
    session.save()
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timedelta(minutes=2)
    )
    client.get(reverse("home"))
    expires = Session.objects.get(session_key=key).expire_date
    assert timedelta(minutes=29) < expires - timezone.now() <= timedelta(minutes=30)

    # 31 idle minutes later the session has expired.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(minutes=1)
    )
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- passwords -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "too short (9 characters)"),
        ("12345678901234", "numeric"),
        ("password1234", "common"),
    ],
)
def test_password_validators_refuse_weak_passwords(hekou_user, password, reason):
    with pytest.raises(ValidationError):
        validate_password(password, user=hekou_user)


def test_password_validators_accept_a_strong_password(hekou_user):
    validate_password("river-lantern-7429", user=hekou_user)


def test_password_validator_settings():
    names = {v["NAME"].rsplit(".", 1)[-1]: v for v in settings.AUTH_PASSWORD_VALIDATORS}
    assert names["MinimumLengthValidator"]["OPTIONS"]["min_length"] >= 12
    assert {"CommonPasswordValidator", "NumericPasswordValidator"} <= set(names)


# --- CSRF ----------------------------------------------------------------------------------


def test_csrf_is_enforced_on_login_logout_and_reveal(hekou_user):
    client = Client(enforce_csrf_checks=True)
    assert login(client, "hekou", PASSWORD).status_code == 403
    client.force_login(hekou_user)
    assert client.post(reverse("logout")).status_code == 403
    assert client.post(reverse("staff:person_reveal", args=[1, "id_number"])).status_code == 403


def test_csrf_middleware_is_on_and_no_view_is_exempt():
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE
    exempt = [
        f"/{view.route}"
        for view in iter_url_views()
        if getattr(view.callback, "csrf_exempt", False)
        or getattr(getattr(view.callback, "view_class", None), "csrf_exempt", False)
    ]
    assert exempt == []


def test_page_views_within_the_refresh_interval_do_not_rewrite_the_session(client, hekou_user):
    login(client, "hekou", PASSWORD)
    client.get(reverse("home"))  # renewed now
    key = client.session.session_key
    before = Session.objects.get(session_key=key)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT", "DELETE"))]
    assert not any("django_session" in sql for sql in writes), writes
    assert Session.objects.get(session_key=key).expire_date == before.expire_date


def test_a_session_never_outlives_the_idle_timeout(client, hekou_user):
    """Renewed at most every SESSION_REFRESH_SECONDS: the expiry is never later than the
    idle timeout after the last page view."""
    login(client, "hekou", PASSWORD)
    for _ in range(3):
        client.get(reverse("home"))
        expires = Session.objects.get(session_key=client.session.session_key).expire_date
        assert expires - timezone.now() <= timedelta(seconds=settings.SESSION_COOKIE_AGE)
