"""Staff accounts from the command line (`manage.py create_staff`): create, validate, audit.

`create_staff_user(username, password, role=…, township=…, village=…)` validates the
password with the configured validators (length ≥ 12, not common, not numeric, not
like the username, not blank or repetitive, no county name), creates the user, gives the role and scope through
`cases.services.staff_profile_set` (history rows) and records a `create` audit event.
The password never appears in history, audit or logs.

`lockout_lift(actor, attempt_id)` lifts a login lock (django-axes) for a county admin,
audited.
"""

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import translation

from .audit import Action, audit
from .casework_base import NotPermitted
from .geography import match_township
from .history import diff, record_change
from .models import Role, Township, Village
from .scope import scope_for
from .services import ServiceError, staff_profile_set

USER_FIELDS = ("username", "first_name", "last_name", "is_active", "is_staff")


class AccountError(ValueError):
    """A staff account that cannot be created; `str()` is a one-line Chinese reason."""


def resolve_scope(role: str, township: str | None, village: str | None):
    """(Township | None, Village | None) from names, with clear errors."""
    try:
        role = Role(role)
    except ValueError:
        choices = "、".join(f"{r.value}（{r.label}）" for r in Role)
        raise AccountError(f"未知角色“{role}”，可选：{choices}") from None
    township_obj = village_obj = None
    if township:
        full = match_township(township)
        if full is None:
            raise AccountError(f"找不到乡镇“{township}”，请写霍邱县的乡镇名，如 城关镇 或 城关")
        township_obj = Township.objects.get(name=full)
    if village:
        if township_obj is None:
            raise AccountError("指定村（社区）时须同时用 --township 指定所属乡镇")
        village_obj = Village.objects.filter(township=township_obj, name=village.strip()).first()
        if village_obj is None:
            known = "、".join(
                Village.objects.filter(township=township_obj).values_list("name", flat=True)[:20]
            )
            raise AccountError(
                f"{township_obj.name}没有村（社区）“{village}”"
                + (f"，已有：{known}" if known else "")
            )
    return role, township_obj, village_obj


def password_problems(password: str, username: str) -> list[str]:
    """The configured validators' messages (empty when the password is acceptable)."""
    probe = get_user_model()(username=username)
    # A command runs outside a request, where Django's validators would answer in English;
    # operators read Chinese.
    with translation.override(settings.LANGUAGE_CODE):
        try:
            validate_password(password, user=probe)
        except ValidationError as error:
            return [str(message) for message in error.messages]
    return []


def create_staff_user(
    username: str,
    password: str,
    *,
    role: str,
    township: str | None = None,
    village: str | None = None,
    first_name: str = "",
    last_name: str = "",
    actor=None,
):
    """Create an active staff user with a role and scope; raises AccountError."""
    username = (username or "").strip()
    if not username:
        raise AccountError("用户名不能为空")
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise AccountError(f"用户名“{username}”已存在")
    role, township_obj, village_obj = resolve_scope(role, township, village)
    problems = password_problems(password, username)
    if problems:
        raise AccountError("密码不符合要求：" + "；".join(problems))
    with transaction.atomic():
        user = User(username=username, first_name=first_name, last_name=last_name, is_active=True)
        user.set_password(password)
        user.save()
        changes = diff({}, {field: getattr(user, field) for field in USER_FIELDS})
        record_change(
            user, "create", changes, actor=actor, reason="命令行创建账号", source="create_staff"
        )
        try:
            profile = staff_profile_set(
                user,
                role=role,
                township=township_obj,
                village=village_obj,
                actor=actor,
                reason="命令行创建账号",
                source="create_staff",
            )
        except ServiceError as error:
            raise AccountError(error.message) from None
        audit(
            actor,
            Action.CREATE,
            target=user,
            details={
                "changes": changes,
                "role": role.value,
                "township": township_obj.name if township_obj else "",
                "village": village_obj.name if village_obj else "",
            },
            path="manage.py create_staff",
        )
    user.refresh_from_db()
    return user, profile


def lockout_lift(actor, attempt_id: int) -> int:
    """Lift the login lock of the username and address of `attempt_id`; the number of
    attempt rows removed. County admins only (NotPermitted); an unknown id is 404 (the
    lock has expired or someone lifted it already)."""
    if not scope_for(actor).is_county_admin:
        raise NotPermitted("只有县残联管理员可以解除登录锁定")
    with transaction.atomic():
        attempt = AccessAttempt.objects.filter(pk=attempt_id).first()
        if attempt is None:
            raise Http404("该锁定已过期或已被解除")
        username, ip_address = attempt.username, attempt.ip_address
        if username and ip_address:
            removed = axes_reset(ip=ip_address, username=username)
        else:
            # axes' reset ignores an empty value and would clear every username (or every
            # address) of the other one: remove exactly this group instead.
            removed, _ = AccessAttempt.objects.filter(
                username=username, ip_address=ip_address
            ).delete()
        audit(
            actor,
            Action.DELETE,
            target=(
                "axes.accessattempt",
                attempt_id,
                f"{username or '（无用户名）'}@{ip_address or '未知地址'}的登录锁定",
            ),
            details={
                "lockout_lifted": {"username": username, "ip_address": ip_address, "rows": removed}
            },
        )
    return removed
