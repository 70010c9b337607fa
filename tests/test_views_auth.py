"""Login, lockout, logout, the root redirect, and the base page (header, navigation, CSP)."""

import re

import pytest
from django.urls import reverse

from . import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # factories.UserFactory's password

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def assert_csp_safe(response):
    html = response.content.decode()
    assert "Content-Security-Policy" in response.headers
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not INLINE_STYLE.search(html), INLINE_STYLE.search(html).group(0)


def test_anonymous_root_goes_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_login_page_is_chinese_and_csp_safe(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-Hans">' in html
    assert "霍邱县残疾人防返贫监测与帮扶" in html
    assert 'name="username"' in html
    assert 'name="password"' in html
    assert "用户名" in html and "密码" in html
    assert_csp_safe(response)


def test_login_with_real_password_lands_on_home_with_scope(client, hekou_user):
    response = login(client, "hekou", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = client.get(reverse("home"))
    assert home.status_code == 200
    html = home.content.decode()
    assert "河口镇" in html
    assert "乡镇工作人员" in html
    assert_csp_safe(home)


def test_login_honours_a_safe_next_and_refuses_an_offsite_one(client, hekou_user):
    response = client.post(
        reverse("login") + "?next=/persons/",
        {"username": "hekou", "password": PASSWORD, "next": "/persons/"},
    )
    assert response["Location"] == "/persons/"
    client.post(reverse("logout"))
    response = client.post(
        reverse("login"),
        {"username": "hekou", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")


def test_wrong_password_shows_a_chinese_error(client, hekou_user):
    response = login(client, "hekou", "wrong-password-123")
    assert response.status_code == 200
    html = response.content.decode()
    assert "用户名或密码不正确" in html
    assert "连续输错 5 次后账号将被锁定" in html
    assert "_auth_user_id" not in client.session


def test_five_failures_lock_the_account_even_for_the_right_password(client, hekou_user):
    for attempt in range(1, 5):
        response = login(client, "hekou", f"wrong-{attempt}-password")
        assert response.status_code == 200, attempt
    locked = login(client, "hekou", "wrong-5-password")
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "账号已锁定" in html
    assert "连续 5 次登录失败" in html
    assert "联系县残联管理员" in html
    assert_csp_safe(locked)

    again = login(client, "hekou", PASSWORD)
    assert again.status_code == 429
    assert "账号已锁定" in again.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lock_does_not_reach_other_accounts_at_the_same_address(
    client, hekou_user, chengguan_user
):
    for attempt in range(5):
        login(client, "hekou", f"wrong-{attempt}-password")
    # Same client address, another account: township offices share one NAT address.
    response = login(client, "chengguan", PASSWORD)
    assert response.status_code == 302


def test_logged_in_user_visiting_login_goes_home(client, hekou_user):
    client.force_login(hekou_user)
    response = client.get(reverse("login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_logout_is_post_only_and_ends_the_session(client, hekou_user):
    client.force_login(hekou_user)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_header_names_user_role_and_scope(client):
    user = factories.user_with_role("township_staff", township="河口镇", username="zhang")
    user.last_name = "张"
    user.first_name = "三"
    user.save()
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert 'class="who-name">张三<' in html
    assert 'class="who-role">乡镇工作人员<' in html
    assert 'data-testid="scope-label">河口镇<' in html
    assert f'action="{reverse("logout")}"' in html


def test_header_falls_back_to_username_and_latin_names(client, hekou_user):
    client.force_login(hekou_user)
    assert 'class="who-name">hekou<' in client.get(reverse("home")).content.decode()
    hekou_user.first_name, hekou_user.last_name = "Ming", "Li"
    hekou_user.save()
    assert 'class="who-name">Ming Li<' in client.get(reverse("home")).content.decode()


def nav_keys(html: str) -> list[str]:
    return re.findall(r'data-nav="([a-z_]+)"', html)


TOWNSHIP_NAV = [
    "home",
    "workbench",
    "findings",
    "persons",
    "households",
    "visits",
    "tasks",
    "referrals",
    "stats",
]


@pytest.fixture
def nobody(db):
    return factories.UserFactory(username="nobody")


@pytest.mark.parametrize(
    ("user_fixture", "expected"),
    [
        # Township staff: their work; no imports, runs, policy or admin (staff-app pages).
        ("hekou_user", TOWNSHIP_NAV),
        # Village committee members: their village's persons, households and visits.
        ("village_user", ["home", "workbench", "persons", "households", "visits"]),
        ("county_admin", [*TOWNSHIP_NAV, "imports", "runs", "policy", "locks", "admin"]),
        ("viewer_user", TOWNSHIP_NAV),
        ("nobody", ["home"]),
    ],
)
def test_navigation_shows_only_what_the_role_may_use(client, request, user_fixture, expected):
    client.force_login(request.getfixturevalue(user_fixture))
    assert nav_keys(client.get(reverse("home")).content.decode()) == expected


def test_county_admin_without_staff_flag_gets_no_admin_link(client):
    admin = factories.user_with_role("county_admin", username="boss")
    client.force_login(admin)
    assert "admin" not in nav_keys(client.get(reverse("home")).content.decode())


def test_not_found_page_is_chinese(client, hekou_user):
    client.force_login(hekou_user)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html
    assert "不在您的数据范围内" in html
    assert_csp_safe(response)
