"""Policy what-if benchmark: a what-if at county scale against the nightly cross-check.

    BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/bench_whatif python bench/whatif_bench.py
    python bench/whatif_bench.py --persons 60000 --skip-generate

Creates and migrates the database if needed, builds the synthetic county of
bench/crosscheck_bench.py (bench/county_data.py), then, each in a fresh process:

1. the nightly cross-check, first run (every finding new) and the re-run that follows it
   (the nightly steady state);
2. a what-if of the current parameters, which must add and clear nothing and leave the
   findings untouched (asserted);
3. a what-if with the monitoring line raised by 10%.

Prints one JSON line: {whatif_seconds, crosscheck_seconds, ratio, ...}; whatif_seconds is the
slower of the two what-ifs, crosscheck_seconds the faster of the two cross-check runs, so the
ratio errs high. Goal (docs/PERFORMANCE.md): ratio ≤ 2 at 60,000 persons.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import harness

ROOT = harness.ROOT
AS_OF = "2026-06-30"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_whatif"
GOAL_RATIO = 2.0


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist, then migrate it."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    if "postgresql" in config["ENGINE"]:
        conn = psycopg2.connect(
            dbname="postgres",
            user=config["USER"],
            host=config["HOST"],
            port=config["PORT"] or 5432,
            password=config["PASSWORD"] or None,
        )
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
        conn.close()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url},
    )


def phase_crosscheck() -> dict:
    harness.setup_django()
    from datetime import date

    from monitoring.crosscheck import run_crosscheck

    as_of = date.fromisoformat(AS_OF)
    started = time.perf_counter()
    first = run_crosscheck(as_of)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    rerun = run_crosscheck(as_of)
    rerun_s = time.perf_counter() - started
    return {
        "first_seconds": round(first_s, 2),
        "rerun_seconds": round(rerun_s, 2),
        "findings": first.new,
        "rerun_new": rerun.new,
        "rerun_cleared": rerun.cleared,
    }


def phase_whatif(raise_line: bool) -> dict:
    harness.setup_django()
    from decimal import Decimal

    from django.db.models import Max

    from monitoring.crosscheck import load_policy
    from monitoring.models import Finding, FindingEvent, WhatIfRun
    from monitoring.whatif import whatif_run

    year = int(AS_OF[:4])
    params = {}
    if raise_line:
        line = load_policy(year).monitoring_line * Decimal("1.1")
        params["monitoring_line"] = str(line.quantize(Decimal("0.01")))
    WhatIfRun.objects.filter(status__in=["pending", "running"]).update(status="failed")
    before = (
        Finding.objects.count(),
        FindingEvent.objects.count(),
        Finding.objects.aggregate(m=Max("updated_at"))["m"],
    )
    # Started as the page does, without the role check (the bench has no staff accounts).
    run = WhatIfRun.objects.create(year=year, parameters=params)
    started = time.perf_counter()
    run = whatif_run(run.pk)
    seconds = time.perf_counter() - started
    after = (
        Finding.objects.count(),
        FindingEvent.objects.count(),
        Finding.objects.aggregate(m=Max("updated_at"))["m"],
    )
    assert run.status == WhatIfRun.Status.DONE, run.message
    assert after == before, "a what-if changed the findings"
    totals = run.result["totals"]
    if not raise_line:
        assert not any(totals.values()), f"the current parameters changed findings: {totals}"
    return {"seconds": round(seconds, 2), "peak_mb": harness.peak_mb(), "totals": totals}


def child(*args) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit(f"{args[0]} {args[1] if len(args) > 1 else ''} failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--phase", choices=["crosscheck", "whatif-current", "whatif-raised"])
    parser.add_argument(
        "--skip-generate", action="store_true", help="reuse the county in the database"
    )
    args = parser.parse_args()
    if args.phase == "crosscheck":
        print(json.dumps(phase_crosscheck()))
        return 0
    if args.phase:
        print(json.dumps(phase_whatif(args.phase == "whatif-raised"), ensure_ascii=False))
        return 0

    url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    ensure_database(url)
    bench = str(ROOT / "bench" / "crosscheck_bench.py")
    backend = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    figures: dict = {"bench": "whatif", "backend": backend, "persons": args.persons}
    prepare = (
        ["--phase", "reset"]
        if args.skip_generate
        else ["--phase", "generate", "--persons", str(args.persons)]
    )
    completed = subprocess.run(
        [sys.executable, bench, *prepare], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit("preparing the county failed")
    figures["county"] = json.loads(completed.stdout.strip().splitlines()[-1])
    figures["crosscheck"] = child("--phase", "crosscheck")
    figures["whatif_current"] = child("--phase", "whatif-current")
    figures["whatif_raised"] = child("--phase", "whatif-raised")
    crosscheck_s = min(
        figures["crosscheck"]["first_seconds"], figures["crosscheck"]["rerun_seconds"]
    )
    whatif_s = max(figures["whatif_current"]["seconds"], figures["whatif_raised"]["seconds"])
    figures.update(
        {
            "whatif_seconds": whatif_s,
            "crosscheck_seconds": crosscheck_s,
            "ratio": round(whatif_s / crosscheck_s, 2) if crosscheck_s else None,
            "goal_ratio": GOAL_RATIO,
        }
    )
    figures["within_goal"] = figures["ratio"] is not None and figures["ratio"] <= GOAL_RATIO
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
