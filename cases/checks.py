"""System checks of the deployment (`manage.py check --deploy`).

Django's own `security.W009` only refuses a key shorter than 50 characters, with fewer than
5 distinct characters or with the `django-insecure-` prefix. The placeholder of
`deploy/huoqiu.env.example` is 63 characters of 20-odd distinct ones and passes it, so an
operator who copies the example without filling it in would sign every session with a key
that is public in this repository. This check is an Error (Django's is a Warning) so that
`check --deploy` fails even without `--fail-level WARNING`.
"""

import re

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

KEY_MIN_LENGTH = 50
# Django asks for 5; a key from `secrets.token_urlsafe(50)` has about 40.
KEY_MIN_DISTINCT = 16

# Compared with the key lowercased and without separators, so "change-me", "CHANGE_ME"
# and "changeme" are one marker.
PLACEHOLDER_MARKERS = (
    "changeme",
    "replaceme",
    "fillmein",
    "example",
    "placeholder",
    "secretkey",
    "yoursecret",
    "insecure",
    "dummy",
    "notsecret",
    "random",
    "huoqiu",
)


def secret_key_problem(key: str) -> str | None:
    """Why `key` must not sign anything in production (Chinese / English), or None."""
    squashed = re.sub(r"[\W_]+", "", key.lower())
    marker = next((m for m in PLACEHOLDER_MARKERS if m in squashed), None)
    if marker:
        return f"是占位值或可猜测的值（含“{marker}”） / is a placeholder or guessable ({marker!r})"
    if len(key) < KEY_MIN_LENGTH:
        return (
            f"只有 {len(key)} 个字符，至少需要 {KEY_MIN_LENGTH} 个 / "
            f"has {len(key)} characters, needs at least {KEY_MIN_LENGTH}"
        )
    if len(set(key)) < KEY_MIN_DISTINCT:
        return (
            f"只有 {len(set(key))} 种不同字符，至少需要 {KEY_MIN_DISTINCT} 种 / "
            f"has {len(set(key))} distinct characters, needs at least {KEY_MIN_DISTINCT}"
        )
    return None


HINT = (
    '用 python3 -c "import secrets; print(secrets.token_urlsafe(50))" 生成随机密钥，'
    "写入 /etc/huoqiu/huoqiu.env 的 SECRET_KEY / generate a random key with that command "
    "and put it in SECRET_KEY of /etc/huoqiu/huoqiu.env"
)


@register(Tags.security, deploy=True)
def check_secret_key_is_real(app_configs, **kwargs) -> list[Error]:
    try:
        key = settings.SECRET_KEY
        fallbacks = list(settings.SECRET_KEY_FALLBACKS)
    except (ImproperlyConfigured, AttributeError):
        return [Error("SECRET_KEY 未设置 / SECRET_KEY is not set", hint=HINT, id="huoqiu.E001")]
    errors = []
    problem = secret_key_problem(key)
    if problem:
        errors.append(Error(f"SECRET_KEY {problem}", hint=HINT, id="huoqiu.E001"))
    for index, fallback in enumerate(fallbacks):
        problem = secret_key_problem(fallback)
        if problem:
            errors.append(
                Error(f"SECRET_KEY_FALLBACKS[{index}] {problem}", hint=HINT, id="huoqiu.E002")
            )
    return errors
