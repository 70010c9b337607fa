"""Production settings (docs/SECURITY.md): `check --deploy` clean, CSP, HSTS, secure cookies, key rotation."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import reverse

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery"


def env_example() -> dict[str, str]:
    """deploy/huoqiu.env.example as a dict (what operators copy to /etc/huoqiu/huoqiu.env)."""
    values = {}
    for line in (REPO / "deploy" / "huoqiu.env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def production_env(tmp_path, **overrides) -> dict:
    """The shipped env example with a fresh key and local paths; nothing from this process."""
    env = {
        **env_example(),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "huoqiu.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",  # check --deploy needs no server
        "REDIS_URL": "",
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def test_env_example_is_production_like():
    example = env_example()
    assert example["DEBUG"] == "0" and example["SECURE_SSL_REDIRECT"] == "1"
    assert int(example["SECURE_HSTS_SECONDS"]) >= 31536000
    assert int(example["AUDIT_RETENTION_DAYS"]) >= 183
    assert example["SECRET_KEY"].startswith("change-me")  # never a real key in the repository


def manage(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"SECRET_KEY": None}, "security.W009"),  # the development key
        ({"DEBUG": "1"}, "security.W018"),
        ({"SECURE_SSL_REDIRECT": "0"}, "security.W008"),
        ({"SECURE_HSTS_SECONDS": "0"}, "security.W004"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
    ],
)
def test_check_deploy_fails_when_production_settings_are_weakened(tmp_path, overrides, expected):
    result = manage(
        production_env(tmp_path, **overrides), "check", "--deploy", "--fail-level", "WARNING"
    )
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr


def _settings_value(tmp_path, name, **overrides) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print(repr(settings.{name}))"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=production_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_fallbacks_come_from_the_environment(tmp_path):
    old = "previous-key-" + "a" * 40
    result = _settings_value(tmp_path, "SECRET_KEY_FALLBACKS", SECRET_KEY_FALLBACKS=f"{old}, ")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr([old])


def test_audit_retention_below_six_months_is_refused(tmp_path):
    result = _settings_value(tmp_path, "AUDIT_RETENTION_DAYS", AUDIT_RETENTION_DAYS="30")
    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS" in result.stderr and "183" in result.stderr
    ok = _settings_value(tmp_path, "AUDIT_RETENTION_DAYS", AUDIT_RETENTION_DAYS="200")
    assert ok.stdout.strip() == "200"


def test_rotated_key_still_reads_values_signed_with_the_old_one():
    old, new = "old-key-" + "x" * 40, "new-key-" + "y" * 40
    token = signing.dumps({"user": 1}, key=old)
    with override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old]):
        assert signing.loads(token) == {"user": 1}
    with (
        override_settings(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[]),
        pytest.raises(signing.BadSignature),
    ):
        signing.loads(token)


# --- headers of a served page -------------------------------------------------------------------


@pytest.mark.django_db
def test_csp_and_security_headers_on_every_page(client, hekou_user):
    client.force_login(hekou_user)
    for url in (reverse("login"), reverse("home"), reverse("staff:person_list"), "/no-such-page/"):
        response = client.get(url)
        policy = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy, url
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@override_settings(
    SECURE_HSTS_SECONDS=31536000,
    SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
    SECURE_HSTS_PRELOAD=True,
    SESSION_COOKIE_SECURE=True,
    CSRF_COOKIE_SECURE=True,
)
def test_hsts_and_secure_cookies_over_https(client, hekou_user):
    login_page = client.get(reverse("login"), secure=True)
    assert (
        login_page.headers["Strict-Transport-Security"]
        == "max-age=31536000; includeSubDomains; preload"
    )
    assert login_page.cookies["csrftoken"]["secure"]
    response = client.post(
        reverse("login"), {"username": "hekou", "password": PASSWORD}, secure=True
    )
    assert response.status_code == 302
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["secure"] and session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"


def test_production_defaults_are_secure():
    """Without DEBUG the settings module turns on HSTS and secure cookies by itself."""
    from django.conf import settings

    if settings.DEBUG:
        pytest.skip("the test settings run with DEBUG on")
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    assert settings.SESSION_COOKIE_HTTPONLY
