"""Load benchmark (docs/PERFORMANCE.md): 20 township staff working at once against gunicorn.

    BENCH_ONLY=load_bench .venv/bin/python bench/run_all.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/load_bench.py \
        [--persons 60000] [--users 20] [--seconds 60] [--workers 4] [--threads 2]

1. Empties the registry of the database DATABASE_URL names (its name must contain
   "bench"), seeds the demo county (`manage.py seed_demo --persons N`) and runs the
   cross-check so the work queue is full.
2. Creates `--users` township staff in the five townships with the most persons
   (`cases.accounts.create_staff_user`, validated passwords).
3. Starts gunicorn (`--workers` × `--threads`, gthread) on a free loopback port with
   production-like settings (DEBUG off; plain-HTTP cookies on loopback only).
4. Logs every user in through the login form (CSRF, django-axes) at the same time, then
   each user loops for `--seconds`: the work queue (page 1–3, by rule), a household page
   of their township, a person page, a finding page, and now and then an .xlsx export
   (their findings queue or their person list). Every request must answer 200 — an
   error is counted, never retried — and every request is audited as in production.
5. Prints one JSON line: requests, throughput, p50/p95/p99 per kind and overall, errors,
   audit events written during the run, plus seed and cross-check times.

Loopback only; bounded loops (deadline and an iteration cap per user).
"""

import argparse
import http.client
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode

import harness

ROOT = harness.ROOT

PASSWORD = "load-bench-pass-2026"  # noqa: S105 - a throw-away bench database
MAX_ITERATIONS = 100_000  # per user: a hard bound besides the deadline
KINDS = ("queue", "household", "person", "finding", "export")
WEIGHTS = (35, 30, 15, 12, 8)
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


def prepare_users(count: int) -> list[dict]:
    """`count` township staff over the five biggest townships, with their targets."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from cases.accounts import create_staff_user
    from cases.models import Household, Person, Township
    from monitoring.models import Finding

    townships = list(
        Township.objects.annotate(n=Count("persons")).filter(n__gt=0).order_by("-n")[:5]
    )
    users = []
    for index in range(count):
        township = townships[index % len(townships)]
        username = f"loadstaff{index:02d}"
        if not get_user_model().objects.filter(username=username).exists():
            create_staff_user(username, PASSWORD, role="township_staff", township=township.name)
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
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Client:
    """One user's keep-alive connection with its own cookies (loopback HTTP)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None):
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                content = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A gunicorn worker recycled the keep-alive connection: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt == 2:
                    raise
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


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 1)


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
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
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
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
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
    result = {
        "bench": "load",
        "backend": connection.vendor,
        "persons": args.persons,
        "users": args.users,
        "seconds": args.seconds,
        "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread)",
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

    port = free_port()
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "huoqiu.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--worker-class",
            "gthread",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log,
    )
    out: list = []
    try:
        wait_until_up(port, server, paths["login"])
        # Everyone logs in at once; the clock starts when all are in (the barrier).
        start = threading.Barrier(len(users) + 1)
        threads = [
            threading.Thread(
                target=_login_then_loop,
                args=(user, port, paths, args.seconds, start, out),
                daemon=True,
            )
            for user in users
        ]
        for thread in threads:
            thread.start()
        start.wait()
        started = time.monotonic()
        for thread in threads:
            thread.join(args.seconds + 300)
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    samples = [sample for user_samples, _ in out for sample in user_samples]
    errors = [error for _, user_errors in out for error in user_errors]
    result["elapsed_s"] = round(elapsed, 1)
    result["throughput_per_s"] = round(len(samples) / elapsed, 1) if elapsed else 0.0
    result["latency"] = figures(samples, elapsed)
    result["errors"] = len(errors)
    result["error_examples"] = [f"{kind}: {text}" for kind, text in errors[:5]]
    result["audit_events_written"] = AuditEvent.objects.count() - audit_before
    if errors:
        server_log.seek(0)
        tail = server_log.read().decode("utf-8", "replace").strip().splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if not errors and samples else 1


def _login_then_loop(user, port, paths, seconds, start, out):
    """Log in, wait for everyone, then drive requests for `seconds`."""
    rng = random.Random(user["username"])
    client = Client(port)
    errors: list = []
    try:
        client.login(paths["login"], user["username"])
    except Exception as error:
        errors.append(("login", str(error)))
    start.wait()
    if errors:
        out.append(([], errors))
        return
    _drive(client, rng, user["targets"], paths, time.monotonic() + seconds, out, errors)


def _drive(client, rng, targets, paths, deadline, out, errors):
    samples = []
    for _ in range(MAX_ITERATIONS):
        if time.monotonic() >= deadline:
            break
        kind, path = _next_request(rng, targets, paths)
        started = time.perf_counter()
        try:
            status, content_type, body = client.request("GET", path)
        except Exception as error:
            errors.append((kind, f"{path}: {type(error).__name__}: {error}"))
            continue
        elapsed = time.perf_counter() - started
        if status != 200 or (kind == "export" and "spreadsheetml" not in content_type):
            errors.append((kind, f"{path}: HTTP {status} {body[:200]!r}"))
        samples.append((kind, elapsed))
    out.append((samples, errors))


def _next_request(rng, targets, paths) -> tuple[str, str]:
    kind = rng.choices(KINDS, WEIGHTS)[0]
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
