"""Pages over HTTP: gunicorn (2 workers, DEBUG off, the full middleware stack), one request at a time.

    BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench_pages \\
        .venv/bin/python bench/http_pages_bench.py [--persons 60000] [--requests 60] [--reseed]

BENCH_REDIS_URL (optional, e.g. redis://127.0.0.1:6379/3) gives the server the Redis cache
production has, shared by both workers; without it each worker has its own memory cache.

Seeds once and reuses: the database BENCH_POSTGRES_URL names is created and migrated when
missing, and filled like `bench/pages_bench.py` does (`seed_demo --persons N`, case work,
one cross-check, the month's indicator snapshot) only when it holds no findings yet or
with `--reseed`. Then gunicorn serves the project on a free local port and each page is
requested `--requests` times over a fresh TCP connection each (gunicorn's sync workers
close it after every response), after warm-up requests; the time is the client's, from
connect to the last byte. The household, person and finding pages are different records
of 城关镇 on every request.

Database transactions per page view come from PostgreSQL's own counters of the bench
database (`pg_stat_database`: `xact_commit`, `xact_rollback`, `tup_inserted` + `tup_updated`
+ `tup_deleted`), read before and after a batch of requests, once the workers' backends
have flushed their statistics (PostgreSQL does within 10 s of going idle); the baseline
drift of an empty batch is subtracted. Every committed transaction counts, read-only ones
too: a page that runs its SELECTs in autocommit shows one commit per statement.

Prints one JSON line like the other benches:

    {"bench": "http_pages", "pages": {"queue": {"p50_ms": …, "p95_ms": …, "n": …,
     "commits_per_view": …, "rows_written_per_view": …}, …}, "loadavg": […], …}

Targets (docs/PERFORMANCE.md, Pages): work queue, household, person and finding pages p50
≤ 20 ms and p95 ≤ 40 ms; county dashboard and /stats/ p95 ≤ 100 ms; at most one commit per
page view. The machine is shared: under load the figures are upper bounds. Exit status 1
when a target is missed.
"""

import argparse
import http.client
import json
import math
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import harness

ROOT = harness.ROOT
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_pages"
SECRET = "bench-only-secret-key-0123456789-abcdefghijkl"  # noqa: S105 (bench server only)

P50_DETAIL_MS = 20.0
P95_DETAIL_MS = 40.0
P95_AGGREGATE_MS = 100.0
DETAIL_PAGES = ("queue", "household", "person", "finding")
AGGREGATE_PAGES = ("dashboard_county", "stats_county")
COMMITS_MAX = 1.0
STATS_FLUSH_WAIT_S = 11.5  # PGSTAT_IDLE_INTERVAL (10 s) plus a margin
COMMITS_DIR = ROOT / "bench" / "out" / "http_pages_commits"


def database_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", DEFAULT_URL)


def psql(url: str, sql: str, database: str | None = None) -> str:
    parts = urlsplit(url)
    command = ["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    command += ["-U", parts.username or "postgres", "-d", database or parts.path.lstrip("/")]
    command += ["-v", "ON_ERROR_STOP=1", "-qAtX", "-c", sql]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def ensure_database(url: str, fresh: bool) -> None:
    """Create the bench database when missing (dropped first when `fresh`)."""
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(
            f"refusing to use {name!r}: the bench database's name must contain 'bench'"
        )
    if fresh:
        psql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "postgres")
    query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 (our own URL)
    exists = psql(url, query, "postgres")
    if not exists:
        psql(url, f'CREATE DATABASE "{name}"', "postgres")


def server_env(url: str) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "huoqiu.settings",
        "SECRET_KEY": SECRET,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on the loopback: the session cookie must travel without TLS.
        "SECURE_COOKIES": "0",
        "SECURE_HSTS_SECONDS": "0",
    }
    env.pop("REDIS_URL", None)
    if os.environ.get("BENCH_REDIS_URL"):
        # The cache production shares between workers (kept figures, fragments).
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


def seed(url: str, persons: int, reseed: bool) -> dict:
    """Migrate, and fill the database unless it already holds a cross-checked county."""
    env = server_env(url)
    python = str(ROOT / ".venv" / "bin" / "python")
    subprocess.run(
        [python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": SECRET})
    harness.setup_django()
    from django.db import connection
    from django.utils import timezone

    from monitoring.models import Finding

    figures: dict = {"reseeded": False}
    from django.contrib.auth import get_user_model

    seeded = get_user_model().objects.filter(username="chengguan").exists()
    if reseed or not (seeded and Finding.objects.exists()):
        sys.path.insert(0, str(ROOT / "bench"))
        import pages_bench

        from monitoring.crosscheck import run_crosscheck
        from staff.demo import build_demo_county
        from staff.snapshots import indicator_snapshot_take

        started = time.perf_counter()
        pages_bench.empty_tables()
        summary = build_demo_county(persons=persons)
        figures["households"] = summary.households
        figures["case_work"] = pages_bench.add_case_work()
        run_crosscheck(timezone.localdate())
        indicator_snapshot_take(timezone.localdate())
        figures["seed_s"] = round(time.perf_counter() - started, 1)
        figures["reseeded"] = True
    with connection.cursor() as cursor:
        # As autovacuum leaves a production database: statistics, and the visibility map
        # that lets the queue's counts read the index alone (as bench/crosscheck_bench.py).
        cursor.execute("VACUUM (ANALYZE)")
    figures["findings_open"] = Finding.objects.filter(status="open").count()
    return figures


def start_server(url: str, port: int) -> subprocess.Popen:
    gunicorn = str(ROOT / ".venv" / "bin" / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "huoqiu.wsgi:application",
            "--config",
            str(ROOT / "bench" / "gunicorn_commits.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env={**server_env(url), "BENCH_COMMITS_DIR": str(COMMITS_DIR)},
        stdout=subprocess.DEVNULL,
        stderr=open(ROOT / "bench" / "out" / "http_pages_gunicorn.log", "w"),  # noqa: SIM115
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit("gunicorn exited; see bench/out/http_pages_gunicorn.log") from None
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def session_cookie(username: str) -> str:
    """A signed-in session for `username`, as a login would leave it (`Client.force_login`)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def fetch(port: int, path: str, cookie: str) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}", "Host": "127.0.0.1"})
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    return elapsed, response.status, body


def pg_counters(url: str) -> dict:
    name = urlsplit(url).path.lstrip("/")
    columns = "xact_commit, xact_rollback, tup_inserted + tup_updated + tup_deleted"
    query = f"SELECT {columns} FROM pg_stat_database WHERE datname = '{name}'"  # noqa: S608
    row = psql(url, query, "postgres")
    commits, rollbacks, written = (int(value) for value in row.split("|"))
    return {"commits": commits, "rollbacks": rollbacks, "written": written}


def counters_delta(url: str, action) -> dict:
    """The pg_stat_database change across `action()`, after the backends flushed their stats."""
    time.sleep(STATS_FLUSH_WAIT_S)
    before = pg_counters(url)
    action()
    time.sleep(STATS_FLUSH_WAIT_S)
    after = pg_counters(url)
    return {key: after[key] - before[key] for key in before}


def worker_cpu_ms(server: subprocess.Popen) -> float:
    """CPU time (user + system) the gunicorn workers have used so far, in ms: unlike the
    wall-clock figures, hardly inflated by other processes on a shared machine."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def commit_lines() -> dict[str, list[list[str]]]:
    """Each worker's per-request lines so far, by log file (bench/gunicorn_commits.py)."""
    time.sleep(0.3)  # a worker writes its line after the response is sent
    return {
        log.name: [line.rstrip("\n").split("\t") for line in log.read_text().splitlines()]
        for log in sorted(COMMITS_DIR.glob("*.log"))
    }


def lines_since(seen: dict[str, list[list[str]]]) -> list[list[str]]:
    """The lines the workers wrote after `seen` (an earlier `commit_lines()`), taken per
    worker: each worker appends to its own file, so a slice of all files joined would mix
    in one worker's earlier lines when another has written since."""
    return [
        line for name, lines in commit_lines().items() for line in lines[len(seen.get(name, [])) :]
    ]


def summarise(samples: list[float]) -> dict:
    return {
        "n": len(samples),
        "p50_ms": round(harness.percentile(samples, 0.50), 1),
        "p95_ms": round(harness.percentile(samples, 0.95), 1),
        "max_ms": round(max(samples), 1),
    }


def page_paths(requests: int) -> dict[str, tuple[str, list[str], list[str]]]:
    """Page name → (user, the paths requested in turn, the paths of the warm-up).

    The warm-up visits other records of the same kind than the ones measured: a worker
    compiles a page's SQL once per scope and shape (staff/selectors/timeline.py
    `compiled_query`; a child's person page has other shapes than an adult's, and a
    hardship child's is compiled once a day), a cost a worker serving a township's day pays
    once and which would otherwise fall on the first measured views. The measured records'
    own rows are not read before they are measured."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from cases.models import Household, Person
    from monitoring.models import Finding

    township_id = get_user_model().objects.get(username="chengguan").staff_profile.township_id
    assert township_id is not None, "the demo's 城关镇 account has no township"
    rng = random.Random(7)
    warm_rng = random.Random(8)

    def sample(queryset, url_name: str) -> tuple[list[str], list[str]]:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        measured = rng.sample(ids, min(len(ids), requests))
        taken = set(measured)
        others = [pk for pk in ids if pk not in taken]
        warm = warm_rng.sample(others, min(len(others), requests))
        return (
            [reverse(url_name, args=[pk]) for pk in measured],
            [reverse(url_name, args=[pk]) for pk in warm],
        )

    households = sample(Household.objects.filter(township_id=township_id), "staff:household_detail")
    persons = sample(
        Person.objects.filter(township_id=township_id, certificate__isnull=False),
        "staff:person_detail",
    )
    findings = sample(
        Finding.objects.filter(township_id=township_id, status="open"), "staff:finding_detail"
    )
    queue, dashboard, stats = (
        [reverse("staff:finding_list")],
        [reverse("staff:dashboard")],
        [reverse("staff:stats")],
    )
    return {
        "queue": ("chengguan", queue, queue),
        "household": ("chengguan", *households),
        "person": ("chengguan", *persons),
        "finding": ("chengguan", *findings),
        "dashboard_township": ("chengguan", dashboard, dashboard),
        "dashboard_county": ("admin", dashboard, dashboard),
        "stats_county": ("admin", stats, stats),
    }


def bench(
    url: str,
    server: subprocess.Popen,
    port: int,
    requests: int,
    commit_views: int,
    only: set[str],
    aggregate_requests: int,
) -> dict:
    cookies: dict[str, str] = {}
    results = {}
    for name, (username, paths, warm_paths) in page_paths(requests).items():
        if only and name not in only:
            continue
        if username not in cookies:
            # Once per user: signing in again ends the user's other sessions (cases.sessions).
            cookies[username] = session_cookie(username)
        cookie = cookies[username]
        # Warm-up: both workers, templates and SQL compiled, caches filled (`page_paths`).
        for path in warm_paths[:2] * 3 + warm_paths:
            _elapsed, status, _body = fetch(port, path, cookie)
            assert status == 200, (name, path, status)
        count = aggregate_requests if name in AGGREGATE_PAGES else requests
        views_counted = max(3, commit_views * count // requests)
        samples = []
        seen = commit_lines()
        cpu = worker_cpu_ms(server)
        batch_started = time.perf_counter()
        for index in range(count):
            elapsed, status, _body = fetch(port, paths[index % len(paths)], cookie)
            assert status == 200, (name, status)
            samples.append(elapsed)
        batch_s = time.perf_counter() - batch_started
        cpu = worker_cpu_ms(server) - cpu
        results[name] = summarise(samples)
        results[name]["batch_s"] = round(batch_s, 1)
        results[name]["app_cpu_ms_per_view"] = round(cpu / count, 1)
        lines = lines_since(seen)
        results[name]["write_commits_per_view"] = round(
            sum(int(line[0]) for line in lines) / max(1, len(lines)), 2
        )
        results[name]["write_commits_max"] = max((int(line[0]) for line in lines), default=0)
        # The session is renewed at most once a minute (cases.http.IdleSessionMiddleware):
        # the commits left without those renewals are the page's own.
        renewals = sum(1 for line in lines if "django_session" in line[2])
        results[name]["session_renewals"] = renewals
        results[name]["session_renewals_allowed"] = renewals_allowed(batch_s)
        results[name]["write_commits_per_view_without_session_renewal"] = round(
            (sum(int(line[0]) for line in lines) - renewals) / max(1, len(lines)), 2
        )
        results[name]["writes_seen"] = sorted(
            {w for line in lines for w in line[2].split(";") if w}
        )

        def views(paths=paths, cookie=cookie, views_counted=views_counted):
            for index in range(views_counted):
                fetch(port, paths[index % len(paths)], cookie)

        delta = counters_delta(url, views)
        # Every committed transaction of the database, read-only ones included.
        results[name]["transactions_per_view"] = round(delta["commits"] / views_counted, 2)
        results[name]["rollbacks_per_view"] = round(delta["rollbacks"] / views_counted, 2)
        results[name]["rows_written_per_view"] = round(delta["written"] / views_counted, 2)
        print(name, json.dumps(results[name], ensure_ascii=False), file=sys.stderr, flush=True)
    return results


def renewals_allowed(batch_s: float) -> int:
    """Session renewals a batch may show: the idle-timeout middleware renews at most once per
    SESSION_REFRESH_SECONDS (60 s by default), and a batch may straddle one renewal point."""
    return math.floor(batch_s / 60) + 1


def check_targets(pages: dict) -> list[str]:
    missed = []
    for name, figures in pages.items():
        if name in DETAIL_PAGES and (
            figures["p50_ms"] > P50_DETAIL_MS or figures["p95_ms"] > P95_DETAIL_MS
        ):
            missed.append(f"{name}: p50/p95 {figures['p50_ms']}/{figures['p95_ms']} ms")
        if name in AGGREGATE_PAGES and figures["p95_ms"] > P95_AGGREGATE_MS:
            missed.append(f"{name}: p95 {figures['p95_ms']} ms")
        if figures["write_commits_per_view_without_session_renewal"] > COMMITS_MAX:
            missed.append(f"{name}: {figures['write_commits_per_view']} writing commits per view")
        if figures["session_renewals"] > figures["session_renewals_allowed"]:
            missed.append(f"{name}: session renewed {figures['session_renewals']} times")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--commit-views", type=int, default=20)
    parser.add_argument(
        "--aggregate-requests", type=int, default=20, help="for the county dashboard and /stats/"
    )
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--only", default="", help="comma-separated page names")
    args = parser.parse_args()
    if os.environ.get("DATABASE_URL", "").startswith("sqlite"):
        # `make bench` runs every script on SQLite too; gunicorn pages are a PostgreSQL figure.
        print(json.dumps({"bench": "http_pages", "skipped": "PostgreSQL only"}))
        return 0
    url = database_url()
    (ROOT / "bench" / "out").mkdir(exist_ok=True)
    ensure_database(url, args.reseed)
    figures: dict = {"bench": "http_pages", "persons": args.persons, "backend": "postgresql"}
    figures["seed"] = seed(url, args.persons, args.reseed)
    if args.seed_only:
        print(json.dumps(figures, ensure_ascii=False))
        return 0
    port = harness.free_port()
    figures["loadavg_before"] = [round(value, 2) for value in os.getloadavg()]
    COMMITS_DIR.mkdir(parents=True, exist_ok=True)
    for log in COMMITS_DIR.glob("*.log"):
        log.unlink()
    server = start_server(url, port)
    try:
        only = {name.strip() for name in args.only.split(",") if name.strip()}
        figures["pages"] = bench(
            url, server, port, args.requests, args.commit_views, only, args.aggregate_requests
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
    missed = check_targets(figures["pages"])
    figures["targets"] = {
        "detail_p50_ms_max": P50_DETAIL_MS,
        "detail_p95_ms_max": P95_DETAIL_MS,
        "aggregate_p95_ms_max": P95_AGGREGATE_MS,
        "commits_per_view_max": COMMITS_MAX,
    }
    figures["targets_met"] = not missed
    figures["missed"] = missed
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
