"""Celery beat schedule of the staff app (merged into CELERY_BEAT_SCHEDULE by settings).

Times are Asia/Shanghai. Kept free of Django imports so settings can import it.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    # After the 02:00 cross-check (which may wait up to an hour to start and run for up to
    # 55 minutes), so the snapshot's findings tables are the night's. The current month is
    # rewritten every night: the month's last run is the figure that stays.
    "nightly-indicator-snapshot": {
        "task": "staff.indicator_snapshot",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 3600},
    },
}
