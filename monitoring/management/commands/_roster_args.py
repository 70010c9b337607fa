"""Argument parsing of the roster commands (thin: they call monitoring.rosters)."""

from django.core.management.base import CommandError

from subsidies.models import BenefitType


def benefit_option(value: str) -> str:
    text = (value or "").strip()
    for benefit in BenefitType:
        if text in (benefit.value, benefit.label):
            return benefit.value
    choices = "、".join(f"{b.value}（{b.label}）" for b in BenefitType)
    raise CommandError(f"未知的项目“{value}”，可选：{choices} / unknown benefit {value!r}")
