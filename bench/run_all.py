"""`make bench`: run every bench/*_bench.py on SQLite and (when reachable) PostgreSQL.

Each benchmark script is a standalone program that reads DATABASE_URL, builds its own
data and prints a JSON line of figures. This driver prepares a fresh database per
backend (migrated), runs the scripts one after another and writes all figures to
bench/out/results.json so docs/PERFORMANCE.md can quote them.

Environment: BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/bench; the
database is dropped and recreated), BENCH_ONLY (comma-separated script names),
BENCH_BACKENDS (default "postgres,sqlite").
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PY = sys.executable


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
                "figures": figures,
            }
        )
    return results


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    backends = os.environ.get("BENCH_BACKENDS", "postgres,sqlite").split(",")
    results: list[dict] = []
    if "postgres" in backends and (url := postgres_url()):
        results += run_backend("postgresql", url)
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            results += run_backend("sqlite", f"sqlite:///{tmp}/bench.sqlite3")
    (OUT / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"figures written to {OUT / 'results.json'}")
    return 0 if all(result["exit"] == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
