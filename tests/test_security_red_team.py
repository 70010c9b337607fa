"""Red-team findings (docs/SECURITY.md, "Attacks and what happens"): a placeholder
SECRET_KEY in production, weak staff passwords, cached pages with personal data."""

import secrets

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.password_validation import validate_password
from django.test import Client, override_settings
from django.urls import reverse

from cases.accounts import AccountError, create_staff_user
from cases.checks import check_secret_key_is_real, secret_key_problem
from staff.demo import DEFAULT_PASSWORD, DemoError, build_demo_county

from .test_security_settings import env_example, manage, production_env

# --- a placeholder SECRET_KEY fails `check --deploy` ------------------------------------------


def test_check_deploy_fails_with_the_example_key(tmp_path):
    key = env_example()["SECRET_KEY"]
    result = manage(production_env(tmp_path, SECRET_KEY=key), "check", "--deploy")
    assert result.returncode != 0  # an Error, so even without --fail-level WARNING
    assert "huoqiu.E001" in result.stderr + result.stdout


@pytest.mark.parametrize(
    "key",
    [
        "change-me-to-50-random-characters-change-me-to-50-random-chars",
        "CHANGEME_" + secrets.token_urlsafe(50),
        secrets.token_urlsafe(30) + "-example-" + secrets.token_urlsafe(30),
        "your-secret-key-" + secrets.token_urlsafe(50),
        "placeholder" + secrets.token_urlsafe(50),
        "django-insecure-development-key-set-SECRET_KEY-in-production",
        "huoqiu-2026-" + secrets.token_urlsafe(50),
        secrets.token_urlsafe(30),  # too short
        "abcdefghij" * 6,  # 60 characters, 10 distinct
        "ab" * 40,
    ],
)
def test_weak_or_placeholder_keys_are_errors(key):
    assert secret_key_problem(key)
    with override_settings(SECRET_KEY=key, SECRET_KEY_FALLBACKS=[]):
        (error,) = check_secret_key_is_real(None)
    assert error.id == "huoqiu.E001" and error.is_serious()
    assert "SECRET_KEY" in error.msg and "/" in error.msg  # Chinese / English


def test_a_placeholder_fallback_key_is_an_error_too():
    with override_settings(
        SECRET_KEY=secrets.token_urlsafe(50), SECRET_KEY_FALLBACKS=["change-me" * 8]
    ):
        (error,) = check_secret_key_is_real(None)
    assert error.id == "huoqiu.E002"


def test_random_keys_pass():
    for _ in range(200):
        key = secrets.token_urlsafe(50)
        assert secret_key_problem(key) is None, key
        with override_settings(SECRET_KEY=key, SECRET_KEY_FALLBACKS=[secrets.token_urlsafe(50)]):
            assert check_secret_key_is_real(None) == []


# --- weak passwords are refused wherever a password is set --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        (" " * 10, "空格"),
        (" " * 14, "空格"),
        ("huoqiu2026", "huoqiu"),
        ("Huoqiu-2026-admin", "huoqiu"),
        ("霍邱县残联2026年", "霍邱"),
        ("aaaaaaaaaaaa", "不同的字符"),
        ("abababababab", "不同的字符"),
        ("lantern-729", "太短"),  # 11 characters
    ],
)
def test_create_staff_refuses_weak_passwords_in_chinese(weak, reason):
    with pytest.raises(AccountError, match=reason) as refused:
        create_staff_user("weakling", weak, role="county_viewer")
    assert str(refused.value).startswith("密码不符合要求")
    assert not get_user_model().objects.filter(username="weakling").exists()


@pytest.mark.django_db
def test_create_staff_accepts_a_strong_password():
    user, _ = create_staff_user("strong", "river-lantern-7429", role="county_viewer")
    assert user.check_password("river-lantern-7429")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "password",
    [
        DEFAULT_PASSWORD,  # the demo logins of `make run`
        "correct-horse-battery",  # factories.UserFactory
        "Hekou-staff-2026!",  # the browser tests
        "load-bench-pass-2026",  # bench/load_bench.py
        "demo-password-xyz",  # tests/test_seed_demo.py
    ],
)
def test_the_projects_own_passwords_pass(password, hekou_user):
    validate_password(password, user=hekou_user)


@pytest.mark.django_db
@pytest.mark.parametrize("weak", [" " * 12, "huoqiu2026!!", "aaaaaaaaaaaa", "short-pw-11"])
def test_admin_password_change_form_refuses_weak_passwords(hekou_user, weak):
    form = AdminPasswordChangeForm(hekou_user, {"password1": weak, "password2": weak})
    assert not form.is_valid()
    assert any("密码" in message for message in form.errors.get("password2", []))


@pytest.mark.django_db
def test_admin_pages_refuse_a_weak_password(admin_client, hekou_user):
    change = admin_client.post(
        reverse("admin:auth_user_password_change", args=[hekou_user.pk]),
        {"password1": "huoqiu2026", "password2": "huoqiu2026"},
    )
    assert change.status_code == 200  # the form again, with the error
    assert "huoqiu" in change.content.decode()
    hekou_user.refresh_from_db()
    assert not hekou_user.check_password("huoqiu2026")

    add = admin_client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "newbie",
            "usable_password": "true",
            "password1": "aaaaaaaaaaaa",
            "password2": "aaaaaaaaaaaa",
            "staff_profile-TOTAL_FORMS": "0",
            "staff_profile-INITIAL_FORMS": "0",
        },
    )
    assert add.status_code == 200
    assert "不同的字符" in add.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_seed_demo_refuses_a_weak_demo_password(db):
    with pytest.raises(DemoError, match="演示账号密码不符合要求"):
        build_demo_county(persons=1, password="huoqiu2026")


# --- no page with personal data is kept in a browser cache ------------------------------------


def assert_no_store(response, url):
    assert response.status_code == 200, (url, response.status_code)
    assert "no-store" in response.headers.get("Cache-Control", ""), url
    assert response.headers.get("Pragma") == "no-cache", url


@pytest.mark.django_db
def test_authenticated_pages_exports_and_json_are_no_store(client, hekou_user, home):
    client.force_login(hekou_user)
    for url in (
        reverse("home"),
        reverse("staff:person_list"),
        reverse("staff:person_detail", args=[home.head.pk]),
        reverse("staff:household_detail", args=[home.household.pk]),
        reverse("staff:finding_list"),
        reverse("staff:person_export"),
        reverse("staff:household_export"),
    ):
        assert_no_store(client.get(url), url)


@pytest.mark.django_db
def test_the_admin_is_no_store(admin_client, home):
    for url in (
        reverse("admin:index"),
        reverse("admin:cases_person_changelist"),
        reverse("admin:cases_person_change", args=[home.head.pk]),
    ):
        assert_no_store(admin_client.get(url), url)


@pytest.mark.django_db
def test_login_redirect_is_no_store_and_anonymous_login_page_is_never_cached(hekou_user):
    client = Client()
    login_page = client.get(reverse("login"))
    # Django's LoginView is never_cache: the page carries a CSRF token.
    assert "no-store" in login_page.headers["Cache-Control"]
    signed_in = client.post(
        reverse("login"), {"username": "hekou", "password": "correct-horse-battery"}
    )
    assert signed_in.status_code == 302
    assert signed_in.headers["Cache-Control"] == "no-store"


def test_no_store_runs_after_authentication_and_never_sees_static_files():
    """WhiteNoise answers /static/ before it, so static files stay cacheable."""
    order = settings.MIDDLEWARE.index
    assert order("whitenoise.middleware.WhiteNoiseMiddleware") < order(
        "cases.http.NoStoreMiddleware"
    )
    assert order("django.contrib.auth.middleware.AuthenticationMiddleware") < order(
        "cases.http.NoStoreMiddleware"
    )
