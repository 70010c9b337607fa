"""Celery beat schedule of the monitoring app (read by huoqiu/settings.py).

Times are Asia/Shanghai (CELERY_TIMEZONE). Kept free of Django imports so settings
can import it.
"""

from celery.schedules import crontab

BEAT_SCHEDULE = {
    "nightly-crosscheck": {
        "task": "monitoring.crosscheck",
        "schedule": crontab(hour=2, minute=0),
        # Plain values only (Django stays out of this module): CrosscheckRun.Trigger.SCHEDULE.
        "kwargs": {"trigger": "schedule"},
        # A nightly run that could not start within the hour is dropped, not stacked.
        "options": {"expires": 3600},
    },
}
