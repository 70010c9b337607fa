"""Shared fixtures: users per role, service gates, a real Celery worker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from cases import services
from huoqiu.celery import app as celery_app

from . import factories
from .audit_chain_support import flush_lifts_the_sqlite_audit_guard  # noqa: F401
from .staff_app_data import household_with_everything

REPO = Path(__file__).resolve().parent.parent


def service_unavailable(reason: str):
    """Skip with a clear reason, or fail when CI demands the services (REQUIRE_SERVICES=1)."""
    if settings.REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def redis_url():
    if not settings.REDIS_URL:
        service_unavailable("REDIS_URL is not set: Redis/Celery broker tests need a real Redis")
    return settings.REDIS_URL


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        service_unavailable("DATABASE_URL is not PostgreSQL: this test needs real PostgreSQL")


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: kept figures (staff/selectors/figures.py) are
    keyed by scope, date and data version, which another test's data can share."""
    cache.clear()


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Tasks run in-process in tests unless a test asks for the real worker."""
    if "celery_worker_process" in request.fixturenames:
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def database_url_for_subprocess() -> str:
    """The URL of the database this test session uses (the test database, not the dev one)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        return f"postgres://{user}@{host}:{port}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


@pytest.fixture
def celery_worker_process(redis_url):
    """A real `celery worker` process on the real Redis broker, using the test database.

    Tests that use it must use `transactional_db` so the worker sees committed rows.
    """
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url_for_subprocess(),
        REDIS_URL=redis_url,
        SECRET_KEY=settings.SECRET_KEY,
        DJANGO_SETTINGS_MODULE="huoqiu.settings",
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "huoqiu",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
        ],
        cwd=REPO,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                pytest.fail(f"celery worker exited with {worker.returncode}")
            if celery_app.control.ping(timeout=1.0):
                break
        else:
            pytest.fail("celery worker did not answer a ping within 60 s")
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.fixture
def admin_user(db):
    return factories.user_with_role("county_admin", username="admin")


@pytest.fixture
def county_admin(db):
    """A county admin made the way the system makes one: the role service sets `is_staff`."""
    user = factories.UserFactory(username="countyadmin")
    services.staff_profile_set(user, role="county_admin")
    user.refresh_from_db()
    assert user.is_staff
    return user


@pytest.fixture
def admin_client(client, county_admin):
    """The test client logged in as `county_admin` (also at `client.user`)."""
    client.force_login(county_admin)
    client.user = county_admin
    return client


@pytest.fixture
def viewer_user(db):
    return factories.user_with_role("county_viewer", username="viewer")


@pytest.fixture
def chengguan_user(db):
    return factories.user_with_role("township_staff", township="城关镇", username="chengguan")


@pytest.fixture
def hekou_user(db):
    return factories.user_with_role("township_staff", township="河口镇", username="hekou")


@pytest.fixture
def village_user(db):
    village = factories.village("城关镇", "东关村")
    return factories.user_with_role("village_member", village=village, username="cunwei")


@pytest.fixture
def home(db):
    """A 河口镇东风村 household with every kind of record (tests/staff_app_data.py)."""
    return household_with_everything()


@pytest.fixture
def elsewhere(db):
    """The same, in another township (城关镇东关村): out of 河口镇 staff's scope."""
    return household_with_everything("城关镇", "东关村", head_name="郑国强", tag="乙")


def pytest_collection_modifyitems(config, items):
    """Every transactional test starts with the rows that data migrations load.

    A transactional test (`transaction=True`, `transactional_db`, `live_server`) ends with a
    flush that also deletes what migrations loaded (the 31 townships, default policy years),
    so the next transactional test would find none, depending on test order. Turning on
    `serialized_rollback` for each of them makes Django restore that data at its start.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        fixtures = getattr(item, "fixturenames", ())
        kwargs = dict(marker.kwargs) if marker else {}
        if marker and marker.args:
            kwargs.setdefault("transaction", marker.args[0])
        transactional = kwargs.get("transaction") or any(
            name in fixtures for name in ("transactional_db", "live_server")
        )
        if transactional and not kwargs.get("serialized_rollback"):
            kwargs.update(transaction=True, serialized_rollback=True)
            item.add_marker(pytest.mark.django_db(**kwargs), append=False)
