"""Current login lockouts for the county admin's 账号锁定 page.

django-axes keeps one `AccessAttempt` row per (username, address, browser) and, with
`AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]`, adds up the failures of all
rows of one username and address that are younger than the cool-off. A lock is such a
group at or above `AXES_FAILURE_LIMIT`; each failure restarts the cool-off, so it expires
`AXES_COOLOFF_TIME` after the group's last failure. No personal data: usernames of staff
accounts (or what a stranger typed) and addresses.
"""

from dataclasses import dataclass
from datetime import datetime

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone


@dataclass(frozen=True)
class Lockout:
    attempt_id: int  # the group's newest row: what the 解除锁定 button sends
    username: str
    ip_address: str
    failures: int
    last_failure: datetime
    expires_at: datetime | None  # None: no cool-off configured, only an admin lifts it


def current_lockouts() -> list[Lockout]:
    """The locks in force now, newest first."""
    cool_off = get_cool_off()
    attempts = AccessAttempt.objects.all()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    groups = (
        attempts.values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"), newest=Max("id"))
        .filter(failures__gte=settings.AXES_FAILURE_LIMIT)
        .order_by("-last")
    )
    return [
        Lockout(
            attempt_id=group["newest"],
            username=group["username"] or "",
            ip_address=group["ip_address"] or "",
            failures=group["failures"],
            last_failure=group["last"],
            expires_at=group["last"] + cool_off if cool_off is not None else None,
        )
        for group in groups
    ]
