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
    # Before the cross-check: imports whose run died are failed ("导入中断，请重新导入"),
    # so the night's rules never read around a batch left 导入中 (monitoring/import_sweeper.py).
    "nightly-import-sweep": {
        "task": "monitoring.import_sweep",
        "schedule": crontab(hour=1, minute=30),
        "options": {"expires": 3600},
    },
}
