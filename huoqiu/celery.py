import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huoqiu.settings")

app = Celery("huoqiu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="huoqiu.ping", time_limit=30, soft_time_limit=25)
def ping(value: str) -> str:
    """Health check: proves a message round-trips through the broker to a worker."""
    return f"pong:{value}"
