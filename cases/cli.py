"""Command-line argument parsers shared by the management commands of every app.

Each turns one option's text into a value or stops the command with a `CommandError` that
says, in Chinese and English, what was expected.
"""

from datetime import date, datetime

from django.core.management.base import CommandError

from .geography import match_township
from .models import Township


def township_option(value: str | None) -> Township | None:
    if not value:
        return None
    name = match_township(value)
    if name is None:
        raise CommandError(f"未知的乡镇“{value}” / unknown township {value!r}")
    return Township.objects.get(name=name)


def month_option(value: str) -> date:
    """The first day of a month written 2026-07, 202607 or 2026年7月."""
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
