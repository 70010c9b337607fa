"""`make bench`: run every bench/*_bench.py on SQLite and (when reachable) PostgreSQL.

Each benchmark script is a standalone program that reads DATABASE_URL, builds its own
data and prints a JSON line of figures. This driver prepares a fresh database per
backend (migrated), runs the scripts one after another and keeps all figures in
bench/out/results.json so docs/PERFORMANCE.md can quote them: a run replaces the entries
of the scripts it ran and keeps the others (so `BENCH_ONLY=…` runs add up).

Then it prints one table — every goal of docs/PERFORMANCE.md with the PostgreSQL figure,
the SQLite figure and PASS/FAIL for PostgreSQL (bench/summary.py; the key names each
script must print are in bench/README.md) — and writes it to bench/out/summary.md.

    make bench          # run, print the table, exit 0 whatever the figures
    make bench-check    # the same, exit 1 when a PostgreSQL goal fails or was not measured
    .venv/bin/python bench/run_all.py --summary-only [--check]   # the table of results.json

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/bench; the
database is dropped and recreated), BENCH_ONLY (comma-separated script names),
BENCH_BACKENDS (default "postgres,sqlite").
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import summary

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable
# Scripts that measure PostgreSQL whatever DATABASE_URL says (their own database, its
# statistics views): run once, in the PostgreSQL pass.
POSTGRES_ONLY = {"http_pages_bench", "whatif_bench"}


def postgres_url() -> str | None:
    url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench")
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = ["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    admin += ["-U", parts.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
    try:
        subprocess.run(
            [*admin, "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
            check=True,
            capture_output=True,
        )
        subprocess.run([*admin, "-c", f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f"PostgreSQL not reachable for benchmarks ({error}); skipping it", file=sys.stderr)
        return None
    return url


def scripts() -> list[Path]:
    only = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
    found = sorted((ROOT / "bench").glob("*_bench.py"))
    return [path for path in found if not only or path.stem in only]


def run_backend(label: str, database_url: str) -> list[dict]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "huoqiu.settings"}
    env.pop("REDIS_URL", None)  # benchmarks measure the engines in-process
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    results = []
    for script in scripts():
        if label != "postgresql" and script.stem in POSTGRES_ONLY:
            continue
        print(f"== {label}: {script.name}", flush=True)
        completed = subprocess.run(
            [PY, str(script)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        sys.stdout.write(completed.stdout)
        sys.stderr.write(completed.stderr[-4000:])
        figures = [
            json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")
        ]
        results.append(
            {
                "backend": label,
                "script": script.stem,
                "exit": completed.returncode,
                "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                "figures": figures,
            }
        )
    return results


def merged(previous: list[dict], new: list[dict]) -> list[dict]:
    """`previous` without the (backend, script) pairs `new` ran, then `new`."""
    ran = {(result["backend"], result["script"]) for result in new}
    kept = [result for result in previous if (result["backend"], result["script"]) not in ran]
    return kept + new


def load_results() -> list[dict]:
    try:
        data = json.loads((OUT / "results.json").read_text())
    except (OSError, ValueError):
        return []
    return [item for item in data if isinstance(item, dict) and "script" in item]


def report(results: list[dict]) -> list[dict]:
    """Print the goals table and write it to bench/out/summary.md."""
    table = summary.evaluate(results)
    measured_at = {
        f"{result['script']} ({result['backend']})": result.get("measured_at", "?")
        for result in results
    }
    text = "# make bench\n\n" + summary.markdown(table, measured_at)
    (OUT / "summary.md").write_text(text)
    (OUT / "summary.json").write_text(json.dumps(table, ensure_ascii=False, indent=1))
    print()
    print(text)
    print(f"table written to {OUT / 'summary.md'}")
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when a PostgreSQL goal fails (make bench-check)",
    )
    parser.add_argument(
        "--summary-only", action="store_true", help="print the table of bench/out/results.json"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    if not args.summary_only:
        backends = os.environ.get("BENCH_BACKENDS", "postgres,sqlite").split(",")
        if "postgres" in backends and (url := postgres_url()):
            results += run_backend("postgresql", url)
        if "sqlite" in backends:
            with tempfile.TemporaryDirectory() as tmp:
                results += run_backend("sqlite", f"sqlite:///{tmp}/bench.sqlite3")
    results = merged(load_results(), results)
    (OUT / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"figures written to {OUT / 'results.json'}")
    failed_scripts = [f"{r['script']} ({r['backend']})" for r in results if r.get("exit")]
    if failed_scripts:
        print("scripts that exited non-zero: " + ", ".join(failed_scripts))
    table = report(results)
    if args.check:
        return 0 if all(row["passed"] for row in table) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
