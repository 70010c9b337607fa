"""The broker round trip: a task goes through the real Redis to a real worker and back."""

import pytest

from huoqiu.celery import ping

pytestmark = pytest.mark.services


def test_ping_round_trips_through_redis_and_a_real_worker(celery_worker_process):
    result = ping.delay("霍邱")
    assert result.get(timeout=30) == "pong:霍邱"


def test_ping_runs_in_process_without_a_broker(settings):
    # With no broker configured (the default for newcomers) tasks run eagerly.
    assert ping.delay("x").get(timeout=5) == "pong:x"
