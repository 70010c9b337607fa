"""A password validator for what Django's four miss (AUTH_PASSWORD_VALIDATORS in settings).

Ten spaces, "aaaaaaaaaaaa" or "huoqiu2026" pass Django's length, common-list, numeric and
user-similarity validators, yet they are the first guesses against a county system: blank
or one-key passwords, and the county's or product's name with a year. Messages are Chinese
(Django's own validators are translated through LANGUAGE_CODE = zh-hans, except the
minimum length, whose Django 5 wording has no Chinese translation yet: it is subclassed here).
"""

import re

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

# The county's name in pinyin and characters; compared with separators and case removed,
# so "Huoqiu-2026", "HUO QIU" and "霍邱县2026" all match.
LOCAL_NAMES = ("huoqiu", "霍邱")


class HuoqiuPasswordValidator:
    def __init__(self, min_distinct: int = 4):
        self.min_distinct = min_distinct

    def validate(self, password: str, user=None) -> None:
        if not password.strip():
            raise ValidationError("密码不能全是空格。", code="password_blank")
        if len(set(password)) < self.min_distinct:
            raise ValidationError(
                f"密码至少要包含 {self.min_distinct} 个不同的字符，不能由一个或几个字符重复组成。",
                code="password_repetitive",
            )
        squashed = re.sub(r"[\W_]+", "", password.lower())
        if any(name in squashed for name in LOCAL_NAMES):
            raise ValidationError(
                "密码不能包含“霍邱”或 huoqiu（县名加年份等组合容易被猜到）。",
                code="password_local_name",
            )

    def get_help_text(self) -> str:
        return (
            f"密码不能全是空格，至少包含 {self.min_distinct} 个不同的字符，"
            "不能包含“霍邱”或 huoqiu。"
        )


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with a Chinese message (its catalogue lacks the Django 5 wording)."""

    def get_error_message(self) -> str:
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self) -> str:
        return f"密码至少需要 {self.min_length} 个字符。"
