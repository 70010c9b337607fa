"""Load benchmark (docs/PERFORMANCE.md): 20 township staff working at once against gunicorn.

    BENCH_ONLY=load_bench .venv/bin/python bench/run_all.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load python bench/load_bench.py \
        [--persons 60000] [--users 20] [--seconds 60] [--floor-seconds 20] \
        [--workers 3] [--threads 2] [--keep-alive] [--exports] [--skip-seed]

1. Empties the registry of the database DATABASE_URL names (its name must contain
   "bench"), seeds the demo county (`manage.py seed_demo --persons N`) and runs the
   cross-check so the work queue is full.
2. Creates `--users` township staff in the five townships with the most persons
   (`cases.accounts.create_staff_user`, validated passwords).
3. Starts gunicorn (`--workers` × `--threads`, gthread) on a free loopback port with
   production-like settings (DEBUG off; plain-HTTP cookies on loopback only).
4. Logs every user in through the login form (CSRF, django-axes) at the same time. Then,
   each phase started by all clients together: the floor page (staff/views/floor.py, an
   authenticated empty page through the same middleware, audit event included) for half
   of `--floor-seconds`; the pages for `--seconds` — the work queue (page 1–3, half by
   rule), a household page of their township, a person page, a finding page (and with
   `--exports` now and then an .xlsx export); the floor again for the other half. Every
   request must answer 200 — an error is counted, never retried — and every request is
   audited as in production. By default each request opens its own connection, as nginx
   does towards gunicorn (deploy/nginx-huoqiu.conf); `--keep-alive` reuses it.
5. Prints one JSON line (keys: bench/README.md): requests, throughput, p50/p95/p99 per
   kind and overall, errors, the floor's throughput and latency, `floor_ratio` (pages'
   throughput / the floor's), the CPU the load generator and gunicorn used, audit events
   written, plus seed and cross-check times. Goals: 0 errors, p95 ≤ 1 s, `floor_ratio`
   ≥ 0.5; exit status 1 when one is missed.

Loopback only; bounded loops (deadline and an iteration cap per user).
"""

import argparse
import http.client
import json
import os
import random
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode

import harness

ROOT = harness.ROOT

PASSWORD = "load-bench-pass-2026"  # noqa: S105 - a throw-away bench database
MAX_ITERATIONS = 100_000  # per user: a hard bound besides the deadline
KINDS = ("queue", "household", "person", "finding", "export")
WEIGHTS = (35, 30, 15, 12, 8)
# The default mix: the four pages with a latency goal (docs/PERFORMANCE.md). Exports have
# their own goal and bench (bench/export_bench.py); `--exports` mixes them in.
PAGE_MIX = {"queue": 38, "household": 33, "person": 16, "finding": 13}
GOALS = {"errors_max": 0, "p95_ms_max": 1000.0, "floor_ratio_min": 0.5}
# Two cores: three workers keep both busy while one waits on the database; two threads
# each overlap a request's database wait with another's Python (docs/PERFORMANCE.md, Load).
DEFAULT_WORKERS = 3
DEFAULT_THREADS = 2
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def empty_registry() -> None:
    """Every table of the project's apps except the ones data migrations fill."""
    from django.apps import apps
    from django.db import connection

    from cases.audit_chain import sqlite_delete_guard_lifted

    name = str(connection.settings_dict["NAME"])
    if "bench" not in name:
        raise SystemExit(f"refusing to empty {name!r}: the database name must contain 'bench'")
    keep = {"cases_township", "subsidies_policyyear", "cases_auditevent"}
    models = [
        model
        for label in ("cases", "monitoring", "subsidies")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.db_table not in keep and not model._meta.proxy
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            cursor.execute(f"TRUNCATE {tables} CASCADE")
            # The audit trail is append-only for the application; a bench resets it.
            cursor.execute("TRUNCATE cases_auditevent")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            # SQLite's audit DELETE trigger is lifted as the prune does (docs/SECURITY.md).
            with sqlite_delete_guard_lifted(connection):
                for model in [*models, apps.get_model("cases", "AuditEvent")]:
                    cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
            cursor.execute("PRAGMA foreign_keys = ON")


def manage(*args: str, env: dict) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return round(time.monotonic() - started, 1)


def ensure_staff(username: str, role: str, township=None) -> None:
    """The bench user with its role and scope; emptying the registry removes profiles."""
    from django.contrib.auth import get_user_model

    from cases.accounts import create_staff_user
    from cases.models import StaffProfile
    from cases.services import staff_profile_set

    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        create_staff_user(
            username, PASSWORD, role=role, township=township.name if township else None
        )
    elif not StaffProfile.objects.filter(user=user).exists():
        staff_profile_set(user, role=role, township=township, reason="bench", source="bench")


def prepare_users(count: int) -> list[dict]:
    """`count` township staff over the five biggest townships, with their targets."""
    from django.db.models import Count

    from cases.models import Household, Person, Township
    from monitoring.models import Finding

    townships = list(
        Township.objects.annotate(n=Count("persons")).filter(n__gt=0).order_by("-n")[:5]
    )
    users = []
    for index in range(count):
        township = townships[index % len(townships)]
        username = f"loadstaff{index:02d}"
        ensure_staff(username, "township_staff", township)
        users.append({"username": username, "township": township.pk})
    targets = {}
    for township in townships:
        targets[township.pk] = {
            "households": list(
                Household.objects.filter(township=township).values_list("pk", flat=True)[:300]
            ),
            "persons": list(
                Person.objects.filter(township=township, certificate__isnull=False).values_list(
                    "pk", flat=True
                )[:300]
            ),
            "findings": list(
                Finding.objects.filter(township=township, status="open").values_list(
                    "pk", flat=True
                )[:300]
            ),
            "rules": sorted(
                set(Finding.objects.filter(township=township).values_list("rule", flat=True))
            ),
        }
    for user in users:
        user["targets"] = targets[user["township"]]
    return users


def urls() -> dict:
    from django.urls import reverse

    return {
        "login": reverse("login"),
        "queue": reverse("staff:finding_list"),
        "queue_export": reverse("staff:finding_export"),
        "person_export": reverse("staff:person_export"),
        "household": reverse("staff:household_detail", args=[0]).replace("/0/", "/{}/"),
        "person": reverse("staff:person_detail", args=[0]).replace("/0/", "/{}/"),
        "finding": reverse("staff:finding_detail", args=[0]).replace("/0/", "/{}/"),
        "floor": reverse("staff:bench_floor"),
    }


def start_gunicorn(
    port: int, env: dict, workers: int, threads: int, timeout_s: int, log
) -> subprocess.Popen:
    """gunicorn as in production (gthread, DEBUG off through `env`) on a loopback port."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "huoqiu.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            "gthread",
            "--timeout",
            str(timeout_s),
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


class Client:
    """One user's connection (kept alive, or one per request) with its own cookies (loopback)."""

    def __init__(self, port: int, keep_alive: bool = True):
        self.port = port
        self.keep_alive = keep_alive
        self.cookies: dict[str, str] = {}
        self.location = ""  # the last response's Location header
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(
        self, method: str, path: str, body: dict | bytes | None = None, content_type: str = ""
    ):
        """`body`: form fields (urlencoded) or bytes sent as `content_type` (multipart)."""
        headers = {"Host": "127.0.0.1"}
        if not self.keep_alive:
            headers["Connection"] = "close"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data: str | bytes | None = None
        if isinstance(body, bytes):
            data = body
            headers["Content-Type"] = content_type
        elif body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                content = response.read()
                if not self.keep_alive:
                    self.connection.close()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A gunicorn worker recycled the keep-alive connection: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
        self.location = response.getheader("Location", "")
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value in ('""', ""):
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return response.status, response.getheader("Content-Type", ""), content

    def login(self, login_url: str, username: str) -> None:
        status, _, page = self.request("GET", login_url)
        token = _CSRF.search(page.decode())
        if status != 200 or not token:
            raise RuntimeError(f"login page answered {status}")
        status, _, _ = self.request(
            "POST",
            login_url,
            {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed with {status}")


def percentile_ms(values: list[float], fraction: float) -> float:
    """`harness.percentile` of durations in seconds, in milliseconds."""
    return round(harness.percentile(values, fraction) * 1000, 1)


def figures(samples: list[tuple[str, float]], seconds: float) -> dict:
    by_kind = defaultdict(list)
    for kind, elapsed in samples:
        by_kind[kind].append(elapsed)
    every = [elapsed for _, elapsed in samples]

    def summary(values):
        return {
            "requests": len(values),
            "per_s": round(len(values) / seconds, 1),
            "mean_ms": round(statistics.fmean(values) * 1000, 1) if values else 0.0,
            "p50_ms": percentile_ms(values, 0.50),
            "p95_ms": percentile_ms(values, 0.95),
            "p99_ms": percentile_ms(values, 0.99),
        }

    return {"all": summary(every), **{kind: summary(by_kind[kind]) for kind in KINDS}}


def wait_until_up(port: int, server: subprocess.Popen, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer within 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--floor-seconds",
        type=float,
        default=20.0,
        help="floor page, same clients: half before the pages, half after",
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument(
        "--keep-alive",
        action="store_true",
        help="reuse each client's connection (default: one connection per request, as nginx)",
    )
    parser.add_argument(
        "--exports", action="store_true", help="mix .xlsx exports (8 %%) into the page requests"
    )
    parser.add_argument("--skip-seed", action="store_true", help="reuse the seeded database")
    args = parser.parse_args()

    harness.setup_django()
    from django.db import connection

    from cases.models import AuditEvent

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "huoqiu.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_COOKIES": "0",  # plain HTTP on loopback; production cookies are Secure
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    result: dict = {
        "bench": "load",
        "backend": connection.vendor,
        "persons": args.persons,
        "users": args.users,
        "seconds": args.seconds,
        "floor_seconds": args.floor_seconds,
        "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread)",
        "connections": "keep-alive" if args.keep_alive else "one per request",
        "mix": dict(zip(KINDS, WEIGHTS, strict=True)) if args.exports else dict(PAGE_MIX),
        "cpus": os.cpu_count(),
        "loadavg_before": [round(value, 2) for value in os.getloadavg()],
    }
    if not args.skip_seed:
        empty_registry()
        connection.close()
        result["seed_s"] = manage(
            "seed_demo", "--persons", str(args.persons), "--password", PASSWORD, env=env
        )
        result["crosscheck_s"] = manage("crosscheck", env=env)
    users = prepare_users(args.users)
    paths = urls()
    audit_before = AuditEvent.objects.count()
    connection.close()

    port = harness.free_port()
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
    server = start_gunicorn(port, env, args.workers, args.threads, 120, server_log)
    plan = Plan(
        floor_half=args.floor_seconds / 2,
        seconds=args.seconds,
        keep_alive=args.keep_alive,
        exports=args.exports,
        phases=threading.Barrier(len(users) + 1, timeout=args.seconds + 600),
    )
    out: list = []
    marks: list[float] = []
    cpu_marks: list[float] = []  # gunicorn's CPU seconds at each phase change
    cpu_before = _cpu_s()
    try:
        wait_until_up(port, server, paths["login"])
        threads = [
            threading.Thread(target=_user, args=(user, port, paths, plan, out), daemon=True)
            for user in users
        ]
        for thread in threads:
            thread.start()
        # Phases: everyone logged in | floor | pages | floor | done (the clock of each phase
        # starts when every client has finished the one before).
        for _ in range(4):
            plan.phases.wait()
            marks.append(time.monotonic())
            cpu_marks.append(_process_tree_cpu_s(server.pid))
        for thread in threads:
            thread.join(60)
        server_cpu = _process_tree_cpu_s(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    generator_cpu = _cpu_s() - cpu_before
    pages_s = marks[2] - marks[1]
    floor_s = (marks[1] - marks[0]) + (marks[3] - marks[2])
    samples = [sample for record in out for sample in record["samples"]]
    floor_samples = [sample for record in out for sample in record["floor"]]
    errors = [error for record in out for error in record["errors"]]
    floor_errors = [error for record in out for error in record["floor_errors"]]
    result["elapsed_s"] = round(pages_s, 1)
    result["requests"] = len(samples)
    result["throughput_per_s"] = round(len(samples) / pages_s, 1) if pages_s else 0.0
    result["latency"] = figures(samples, pages_s)
    result["errors"] = len(errors)
    result["error_examples"] = [f"{kind}: {text}" for kind, text in errors[:5]]
    floor_figures = figures([("floor", elapsed) for elapsed in floor_samples], floor_s)["all"]
    result["floor"] = {
        "elapsed_s": round(floor_s, 1),
        "throughput_per_s": round(len(floor_samples) / floor_s, 1) if floor_s else 0.0,
        **{key: floor_figures[key] for key in ("requests", "p50_ms", "p95_ms", "p99_ms")},
        "errors": len(floor_errors),
        "error_examples": [f"floor: {text}" for _, text in floor_errors[:5]],
    }
    floor_rate = result["floor"]["throughput_per_s"]
    result["floor_ratio"] = round(result["throughput_per_s"] / floor_rate, 2) if floor_rate else 0.0
    # The generator runs on the same cores as gunicorn and the database: what it costs.
    wall = marks[3] - marks[0]
    result["generator_cpu_s"] = round(generator_cpu, 1)
    result["generator_cpu_share"] = round(generator_cpu / (wall * (os.cpu_count() or 1)), 3)
    result["server_cpu_s"] = round(server_cpu, 1)
    # gunicorn's own CPU per request (the database's is not in it): what the ratio comes from.
    floor_cpu = (cpu_marks[1] - cpu_marks[0]) + (cpu_marks[3] - cpu_marks[2])
    result["server_cpu_ms_per_request"] = round(
        (cpu_marks[2] - cpu_marks[1]) * 1000 / max(1, len(samples)), 1
    )
    result["floor"]["server_cpu_ms_per_request"] = round(
        floor_cpu * 1000 / max(1, len(floor_samples)), 1
    )
    result["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
    result["audit_events_written"] = AuditEvent.objects.count() - audit_before
    result["goals"] = GOALS
    missed = []
    if errors or floor_errors:
        missed.append(f"{len(errors) + len(floor_errors)} errors")
    if result["latency"]["all"]["p95_ms"] > GOALS["p95_ms_max"]:
        missed.append(f"p95 {result['latency']['all']['p95_ms']} ms")
    if result["floor_ratio"] < GOALS["floor_ratio_min"]:
        missed.append(f"throughput {result['floor_ratio']} x the floor")
    result["missed"] = missed
    result["goals_met"] = not missed
    if errors or floor_errors:
        server_log.seek(0)
        tail = server_log.read().decode("utf-8", "replace").strip().splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if samples and not missed else 1


class Plan:
    """What every client does, and the barrier that separates the phases."""

    def __init__(self, *, floor_half, seconds, keep_alive, exports, phases):
        self.floor_half = floor_half
        self.seconds = seconds
        self.keep_alive = keep_alive
        self.exports = exports
        self.phases = phases


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_tree_cpu_s(pid: int) -> float:
    """CPU seconds of a live process and its children so far (gunicorn's master and workers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo += [int(child) for child in children]
    return total


def _user(user, port, paths, plan, out):
    """Log in, then floor, pages, floor — each phase started with everyone else's."""
    rng = random.Random(user["username"])
    client = Client(port, keep_alive=plan.keep_alive)
    record: dict = {"samples": [], "floor": [], "errors": [], "floor_errors": []}
    out.append(record)
    try:
        client.login(paths["login"], user["username"])
    except Exception as error:
        record["errors"].append(("login", str(error)))
    logged_in = not record["errors"]
    try:
        plan.phases.wait()
        if logged_in:
            _floor(client, paths["floor"], time.monotonic() + plan.floor_half, record)
        plan.phases.wait()
        if logged_in:
            deadline = time.monotonic() + plan.seconds
            _drive(client, rng, user["targets"], paths, deadline, plan.exports, record)
        plan.phases.wait()
        if logged_in:
            _floor(client, paths["floor"], time.monotonic() + plan.floor_half, record)
        plan.phases.wait()
    except Exception:
        # A client that dies must not leave the others waiting at the barrier for ever.
        plan.phases.abort()
        raise


def _floor(client, path, deadline, record):
    for _ in range(MAX_ITERATIONS):
        if time.monotonic() >= deadline:
            break
        started = time.perf_counter()
        try:
            status, _, body = client.request("GET", path)
        except Exception as error:
            record["floor_errors"].append(("floor", f"{type(error).__name__}: {error}"))
            continue
        elapsed = time.perf_counter() - started
        if status != 200:
            record["floor_errors"].append(("floor", f"HTTP {status} {body[:200]!r}"))
        record["floor"].append(elapsed)


def _drive(client, rng, targets, paths, deadline, exports, record):
    for _ in range(MAX_ITERATIONS):
        if time.monotonic() >= deadline:
            break
        kind, path = _next_request(rng, targets, paths, exports)
        started = time.perf_counter()
        try:
            status, content_type, body = client.request("GET", path)
        except Exception as error:
            record["errors"].append((kind, f"{path}: {type(error).__name__}: {error}"))
            continue
        elapsed = time.perf_counter() - started
        if status != 200 or (kind == "export" and "spreadsheetml" not in content_type):
            record["errors"].append((kind, f"{path}: HTTP {status} {body[:200]!r}"))
        record["samples"].append((kind, elapsed))


def _next_request(rng, targets, paths, exports=False) -> tuple[str, str]:
    if exports:
        kind = rng.choices(KINDS, WEIGHTS)[0]
    else:
        kind = rng.choices(list(PAGE_MIX), list(PAGE_MIX.values()))[0]
    if kind == "queue":
        params = {"page": rng.randint(1, 3)}
        if targets["rules"] and rng.random() < 0.5:
            params["rule"] = rng.choice(targets["rules"])
        return kind, f"{paths['queue']}?{urlencode(params)}"
    if kind == "household" and targets["households"]:
        return kind, paths["household"].format(rng.choice(targets["households"]))
    if kind == "person" and targets["persons"]:
        return kind, paths["person"].format(rng.choice(targets["persons"]))
    if kind == "finding" and targets["findings"]:
        return kind, paths["finding"].format(rng.choice(targets["findings"]))
    return "export", rng.choice([paths["queue_export"], paths["person_export"]])


if __name__ == "__main__":
    sys.exit(main())
