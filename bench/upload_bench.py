"""Upload benchmark (docs/PERFORMANCE.md): a 60,000-row survey .xlsx through the real import page.

    BENCH_ONLY=upload_bench .venv/bin/python bench/run_all.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_upload python bench/upload_bench.py \
        [--persons 60000] [--workers 3] [--threads 2] [--poll 0.2] [--keep-registry]

1. Generates the survey file with bench/generate_files.py (the same rows as the import
   bench's survey.xlsx, 33 columns), empties the registry of the database DATABASE_URL
   names (its name must contain "bench"; `--keep-registry` keeps it) and creates a county
   admin.
2. Starts gunicorn as bench/load_bench.py does (gthread, DEBUG off, `--timeout` 120 s as
   in deploy/huoqiu-web.service) and, without Redis, so the import runs in a background
   thread of the worker that took the upload (monitoring/tasks.py `queue_import`).
3. Logs in through the login form, opens the import page (CSRF token), uploads the file
   as a browser does (multipart POST, source 调查数据, strict mode), follows the redirect
   to the batch page, then polls the batch's status JSON — the endpoint the page's
   script polls (static/js/progress.js) — every `--poll` seconds until the batch
   has finished.
4. Prints one JSON line (keys: bench/README.md): `upload_s` (the POST, file sent to
   redirect received), `first_progress_s` (from the redirect to the first answer that shows
   the batch running with its progress bar: the batch page, or the status JSON),
   `first_percent_s` (to the first progress above 0 %), `import_s` (to finished),
   `longest_request_s` (the slowest single request, which must stay below `timeout_s`),
   the final status and counts, the polls that failed.

Goals: progress shown within 1 s of the upload; no request near the gunicorn timeout; the
import finishes (status 已完成). Exit status 1 when one is missed. Loopback only; bounded
(a deadline of `--deadline` seconds for the import).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import harness
from load_bench import (
    Client,
    empty_registry,
    ensure_staff,
    start_gunicorn,
    wait_until_up,
)

ROOT = harness.ROOT
GUNICORN_TIMEOUT_S = 120  # deploy/huoqiu-web.service
FIRST_PROGRESS_S_MAX = 1.0
USERNAME = "uploadadmin"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_PROGRESS_BAR = re.compile(r'<progress id="import-progress-bar"[^>]*value="(\d+)"')


def survey_file(folder: Path, persons: int) -> tuple[Path, int]:
    """Only the survey of bench/generate_files.py (its roster is not needed here)."""
    import random

    import generate_files as gen

    rng = random.Random(7)
    households = gen.survey_households(persons, rng, gen.County(rng))
    path = folder / "survey.xlsx"
    rows = gen._write(
        path,
        "霍邱县持证残疾人基本状况调查数据（2026年）",
        gen.SURVEY_HEADER,
        gen.survey_rows(households, rng),
        footer=True,
    )
    return path, rows


def multipart(fields: dict[str, str], file_field: str, path: Path) -> tuple[bytes, str]:
    boundary = f"----bench{uuid.uuid4().hex}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{path.name}"\r\nContent-Type: '
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        ).encode()
        + path.read_bytes()
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between status polls")
    parser.add_argument("--deadline", type=float, default=600.0, help="the most to wait, s")
    parser.add_argument("--keep-registry", action="store_true")
    parser.add_argument("--files", help="keep the generated file in this folder (reused)")
    args = parser.parse_args()

    harness.setup_django()
    from django.db import connection
    from django.urls import reverse

    from cases.models import Role
    from monitoring.models import ImportBatch, Source

    result: dict = {
        "bench": "upload",
        "backend": connection.vendor,
        "persons": args.persons,
        "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread)",
        "timeout_s": GUNICORN_TIMEOUT_S,
        "loadavg_before": [round(value, 2) for value in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.files or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "survey.xlsx"
        started = time.monotonic()
        if not (args.files and path.exists()):
            path, result["rows"] = survey_file(folder, args.persons)
            result["generate_s"] = round(time.monotonic() - started, 1)
        result["file_mb"] = round(path.stat().st_size / 2**20, 1)
        if not args.keep_registry:
            empty_registry()
        ensure_staff(USERNAME, Role.COUNTY_ADMIN)
        paths = {
            "login": reverse("login"),
            "imports": reverse("staff:import_list"),
            "status": reverse("staff:import_status", args=[0]).replace("/0/", "/{}/"),
        }
        running, done = ImportBatch.Status.RUNNING.label, ImportBatch.Status.DONE.label
        connection.close()
        result.update(_run(args, path, paths, running, done, Source.SURVEY.value))
    result["loadavg_after"] = [round(value, 2) for value in os.getloadavg()]
    missed = []
    if result.get("first_progress_s") is None or result["first_progress_s"] > FIRST_PROGRESS_S_MAX:
        missed.append(f"progress shown after {result.get('first_progress_s')} s")
    if result.get("longest_request_s", GUNICORN_TIMEOUT_S) >= GUNICORN_TIMEOUT_S:
        missed.append(f"a request took {result.get('longest_request_s')} s")
    if not result.get("finished") or result.get("status") != done:
        missed.append(f"import ended as {result.get('status')!r}")
    if result.get("errors"):
        missed.append(f"{result['errors']} failed requests")
    result["goals"] = {
        "first_progress_s_max": FIRST_PROGRESS_S_MAX,
        "longest_request_s_below": GUNICORN_TIMEOUT_S,
    }
    result["missed"] = missed
    result["goals_met"] = not missed
    print(json.dumps(result, ensure_ascii=False))
    return 0 if not missed else 1


def _run(args, path: Path, paths: dict, running: str, done: str, source: str) -> dict:
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
    env.pop("REDIS_URL", None)  # no broker: the import runs in the worker's background thread
    port = harness.free_port()
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
    server = start_gunicorn(port, env, args.workers, args.threads, GUNICORN_TIMEOUT_S, server_log)
    out: dict = {"errors": 0}
    durations: list[float] = []

    def timed(client: Client, method: str, url: str, body=None, content_type: str = ""):
        started = time.monotonic()
        answer = client.request(method, url, body, content_type)
        durations.append(time.monotonic() - started)
        return answer

    try:
        wait_until_up(port, server, paths["login"])
        client = Client(port, keep_alive=False)
        client.login(paths["login"], USERNAME)
        status, _, page = timed(client, "GET", paths["imports"])
        token = _CSRF.search(page.decode())
        if status != 200 or not token:
            raise RuntimeError(f"import page answered {status}")
        body, content_type = multipart(
            {"csrfmiddlewaretoken": token.group(1), "source": source}, "file", path
        )
        status, _, page = timed(client, "POST", paths["imports"], body, content_type)
        uploaded = time.monotonic()
        out["upload_s"] = round(durations[-1], 2)
        if status != 302 or "/imports/" not in client.location:
            raise RuntimeError(f"upload answered {status}: {page[:300]!r}")
        detail = client.location
        batch_id = int(detail.rstrip("/").rsplit("/", 1)[1])
        status, _, page = timed(client, "GET", detail)
        html = page.decode()
        if status != 200:
            out["errors"] += 1
        # The batch page itself: its label and its progress bar, as first rendered.
        bar = _PROGRESS_BAR.search(html)
        out["page_shows_progress_bar"] = bar is not None
        if bar and running in html:
            out["first_progress_s"] = round(time.monotonic() - uploaded, 2)
            if int(bar.group(1)) > 0:
                out["first_percent_s"] = out["first_progress_s"]
        out["polls"] = 0
        deadline = uploaded + args.deadline
        last: dict = {}
        while time.monotonic() < deadline:
            status, _, page = timed(client, "GET", paths["status"].format(batch_id))
            out["polls"] += 1
            if status != 200:
                out["errors"] += 1
                time.sleep(args.poll)
                continue
            last = json.loads(page)
            since = round(time.monotonic() - uploaded, 2)
            if last.get("status_label") == running:
                out.setdefault("first_progress_s", since)
                if last.get("progress", 0) > 0:
                    out.setdefault("first_percent_s", since)
            if last.get("finished"):
                out["import_s"] = since
                break
            time.sleep(args.poll)
        out["finished"] = bool(last.get("finished"))
        out["status"] = last.get("status_label")
        out["counts"] = {
            key: value
            for key, value in last.items()
            if type(value) is int and key not in ("progress", "batch")
        }
        out["message"] = last.get("message", "")
    except Exception as error:
        out["errors"] += 1
        out["error"] = f"{type(error).__name__}: {error}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    out["requests"] = len(durations)
    out["longest_request_s"] = round(max(durations, default=0.0), 2)
    if out.get("error") or not out.get("finished"):
        server_log.seek(0)
        tail = server_log.read().decode("utf-8", "replace").strip().splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
    return out


if __name__ == "__main__":
    sys.exit(main())
