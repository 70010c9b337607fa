"""`manage.py create_staff` (docs/OPERATIONS.md): validated passwords, roles, scope, audit."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cases.models import AuditEvent, ChangeRecord, StaffProfile

from . import factories

pytestmark = pytest.mark.django_db

GOOD = "river-lantern-7429"


@pytest.fixture
def password(monkeypatch):
    def set_password(value):
        monkeypatch.setenv("HUOQIU_STAFF_PASSWORD", value)

    set_password(GOOD)
    return set_password


def test_creates_a_township_staff_user(password, capsys):
    call_command("create_staff", "zhangsan", "--role", "township_staff", "--township", "河口")
    user = get_user_model().objects.get(username="zhangsan")
    profile = StaffProfile.objects.get(user=user)
    assert profile.role == "township_staff" and profile.township.name == "河口镇"
    assert user.is_active and not user.is_staff
    assert user.check_password(GOOD)
    assert "已创建账号 zhangsan" in capsys.readouterr().out
    event = AuditEvent.objects.get(action="create", target_model="auth.user")
    assert event.details["role"] == "township_staff" and event.details["township"] == "河口镇"
    assert GOOD not in str(event.details)
    assert ChangeRecord.objects.filter(model="auth.user", object_id=str(user.pk)).exists()
    assert GOOD not in str(list(ChangeRecord.objects.values_list("changes", flat=True)))


def test_county_admin_gets_the_admin_flag(password):
    call_command("create_staff", "boss", "--role", "county_admin")
    assert get_user_model().objects.get(username="boss").is_staff


def test_village_member_needs_an_existing_village(password):
    factories.village("城关镇", "东关村")
    call_command(
        "create_staff",
        "cunwei2",
        "--role",
        "village_member",
        "--township",
        "城关镇",
        "--village",
        "东关村",
    )
    assert StaffProfile.objects.get(user__username="cunwei2").village.name == "东关村"
    with pytest.raises(CommandError, match="没有村（社区）“西天村”"):
        call_command(
            "create_staff",
            "cunwei3",
            "--role",
            "village_member",
            "--township",
            "城关",
            "--village",
            "西天村",
        )


@pytest.mark.parametrize(
    ("weak", "reason"),
    [("short-pw1", "短|too short"), ("12345678901234", "数字"), ("password1234", "常见")],
)
def test_weak_passwords_are_refused(password, weak, reason):
    password(weak)
    with pytest.raises(CommandError, match=reason):
        call_command("create_staff", "weakling", "--role", "county_viewer")
    assert not get_user_model().objects.filter(username="weakling").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "township_staff"], "须指定所属乡镇"),
        (["--role", "township_staff", "--township", "火星镇"], "找不到乡镇"),
        (["--role", "village_member", "--village", "东关村"], "同时用 --township"),
    ],
)
def test_incomplete_scope_is_refused(password, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_staff", "nobody", *args)
    assert not get_user_model().objects.filter(username="nobody").exists()


def test_existing_username_is_refused(password):
    factories.UserFactory(username="taken")
    with pytest.raises(CommandError, match="已存在"):
        call_command("create_staff", "taken", "--role", "county_viewer")


def test_without_terminal_or_variable_it_refuses(monkeypatch):
    monkeypatch.delenv("HUOQIU_STAFF_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="HUOQIU_STAFF_PASSWORD"):
        call_command("create_staff", "someone", "--role", "county_viewer")
