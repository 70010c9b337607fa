"""Argument parsing shared by the roster commands (thin: they call monitoring.rosters)."""

from datetime import date, datetime

from django.core.management.base import CommandError

from cases.geography import match_township
from cases.models import Township
from subsidies.models import BenefitType


def township_option(value: str | None) -> Township | None:
    if not value:
        return None
    name = match_township(value)
    if name is None:
        raise CommandError(f"未知的乡镇“{value}” / unknown township {value!r}")
    return Township.objects.get(name=name)


def benefit_option(value: str) -> str:
    text = (value or "").strip()
    for benefit in BenefitType:
        if text in (benefit.value, benefit.label):
            return benefit.value
    choices = "、".join(f"{b.value}（{b.label}）" for b in BenefitType)
    raise CommandError(f"未知的项目“{value}”，可选：{choices} / unknown benefit {value!r}")


def month_option(value: str) -> date:
    for pattern in ("%Y-%m", "%Y%m", "%Y年%m月"):
        try:
            return datetime.strptime(value.strip(), pattern).date().replace(day=1)
        except ValueError:
            continue
    raise CommandError(f"月份应写成YYYY-MM，如2026-07，收到“{value}” / month must be YYYY-MM")


def date_option(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            f"日期应写成YYYY-MM-DD，收到“{value}” / date must be YYYY-MM-DD"
        ) from None
