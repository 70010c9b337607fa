"""Cross-check benchmark (speed goals: docs/PERFORMANCE.md), run by `make bench` or on its own:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/crosscheck_bench.py
    python bench/crosscheck_bench.py --persons 1000000

Builds a synthetic county (bench/county_data.py, staff/demo.py's generator: N certified
persons in survey households, about 2.5 × N roster members, a civil-affairs roster,
task-area records) in
the database DATABASE_URL names, after emptying its registry, import and findings
tables. Then, each in a fresh process so peak memory is the cross-check's own:

1. a full cross-check (first run: every finding is new);
2. a re-run with nothing changed, which must write nothing (asserted: no finding row
   updated, no event, no new finding);
3. the same re-run evaluated township by township (the fan-out's partitions run
   one after another in one process).

Prints one JSON line of figures. Targets on PostgreSQL with 2 cores (docs/PERFORMANCE.md):
full ≤ 5 s and re-run ≤ 2 s at 60,000 persons; ≤ 3 minutes each at 1,000,000.

Each figure is `run_crosscheck` itself, as the nightly Celery task runs it in a worker that
is already up: the run's lock, run record, reads, rules, writes and commit. `manage.py
crosscheck` also pays its process start and Django setup (about 1 s here), which no
figure includes.
"""

import argparse
import json
import subprocess
import sys
import time

import harness

ROOT = harness.ROOT
AS_OF = "2026-06-30"
TARGETS = {60000: {"full": 5.0, "rerun": 2.0}, 1000000: {"full": 180.0, "rerun": 180.0}}


def empty_tables():
    """Remove earlier data the cross-check would read (the bench database only)."""
    from django.db import connection

    from cases.models import (
        AssistanceMeasure,
        Certificate,
        EducationPlan,
        Household,
        HouseholdMember,
        Pairing,
        Person,
        RehabService,
    )
    from monitoring.models import (
        CrosscheckRun,
        Finding,
        FindingEvent,
        ImportBatch,
        RosterHousehold,
        RosterMember,
        SurveyRecord,
    )
    from subsidies.models import BenefitRecord

    models = [
        FindingEvent,
        Finding,
        CrosscheckRun,
        BenefitRecord,
        SurveyRecord,
        RosterMember,
        RosterHousehold,
        EducationPlan,
        RehabService,
        Pairing,
        AssistanceMeasure,
        HouseholdMember,
        Certificate,
        Household,
        Person,
        ImportBatch,
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        else:
            for model in models:
                model.objects.all()._raw_delete(model.objects.db)


def phase_generate(persons: int) -> dict:
    harness.setup_django()
    from bench.county_data import build

    started = time.perf_counter()
    empty_tables()
    counts = build(persons)
    number_source_rows()
    generated = time.perf_counter() - started
    settle = vacuum_analyze()
    return {"generate_s": round(generated, 1), "vacuum_analyze_s": settle, "rows": counts}


def number_source_rows() -> None:
    """Give the generated rows the file row numbers and sheet the importer records, so the
    findings carry full evidence (docs/CROSSCHECK.md#evidence) as in production."""
    from django.db import connection

    from monitoring.models import ImportBatch, RosterHousehold, RosterMember, SurveyRecord

    with connection.cursor() as cursor:
        for model in (SurveyRecord, RosterMember, RosterHousehold):
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"UPDATE {table} SET source_row = id - (SELECT MIN(id) FROM {table}) + 2 "  # noqa: S608 (identifiers from _meta)
                "WHERE source_row IS NULL"
            )
    ImportBatch.objects.filter(sheet_name="").update(sheet_name="Sheet1")


def vacuum_analyze() -> float | None:
    """Settle the freshly COPY-loaded tables (visibility map, hint bits, statistics) as
    autovacuum would have done long before a nightly run, so the measured first run does
    not pay for the bulk load."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    return round(time.perf_counter() - started, 1)


def phase_reset() -> dict:
    """Remove the findings and runs, keeping the county: the next run is a first run."""
    harness.setup_django()
    from django.db import connection

    from monitoring.models import CrosscheckRun, Finding, FindingEvent, SurveyRecord

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = [m._meta.db_table for m in (FindingEvent, Finding, CrosscheckRun)]
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
        else:
            for model in (FindingEvent, Finding, CrosscheckRun):
                model.objects.all()._raw_delete(model.objects.db)
    number_source_rows()  # a county generated before the rows were numbered
    return {"persons_in_db": SurveyRecord.objects.count()}


def phase_run(mode: str) -> dict:
    harness.setup_django()
    from datetime import date

    from django.db.models import Max

    from monitoring.crosscheck import run_crosscheck
    from monitoring.models import Finding, FindingEvent

    as_of = date.fromisoformat(AS_OF)
    before_events = FindingEvent.objects.count()
    before_updated = Finding.objects.aggregate(m=Max("updated_at"))["m"]
    started = time.perf_counter()
    run = run_crosscheck(as_of, partitioned=mode == "partitioned")
    seconds = time.perf_counter() - started
    result = {
        "seconds": round(seconds, 2),
        "peak_mb": harness.peak_mb(),
        "new": run.new,
        "still_open": run.still_open,
        "cleared": run.cleared,
    }
    if mode != "full":
        updated = (
            Finding.objects.filter(updated_at__gt=before_updated).count() if before_updated else 0
        )
        result["rows_written"] = updated + FindingEvent.objects.count() - before_events
        assert run.new == 0 and run.cleared == 0, "a re-run over unchanged data changed findings"
        assert result["rows_written"] == 0, "a re-run over unchanged data wrote finding rows"
    else:
        result["findings"] = Finding.objects.count()
    return result


def child(*args) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit(f"{args[0]} failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=60000)
    parser.add_argument("--phase", choices=["generate", "reset", "full", "rerun", "partitioned"])
    parser.add_argument(
        "--skip-generate",
        action="store_true",
        help="reuse the county already in the database (its findings are removed first)",
    )
    args = parser.parse_args()
    if args.phase == "generate":
        print(json.dumps(phase_generate(args.persons), ensure_ascii=False))
        return 0
    if args.phase == "reset":
        print(json.dumps(phase_reset()))
        return 0
    if args.phase:
        print(json.dumps(phase_run(args.phase)))
        return 0

    harness.setup_django()
    from django.db import connection

    figures = {"bench": "crosscheck", "persons": args.persons, "backend": connection.vendor}
    connection.close()
    if args.skip_generate:
        figures.update(child("--phase", "reset"))
    else:
        figures.update(child("--phase", "generate", "--persons", str(args.persons)))
    figures["full"] = child("--phase", "full")
    figures["rerun"] = child("--phase", "rerun")
    figures["rerun_partitioned"] = child("--phase", "partitioned")
    target = TARGETS.get(args.persons)
    if target and connection.vendor == "postgresql":
        figures["target_s"] = target
        figures["within_target"] = all(
            figures[mode]["seconds"] <= seconds for mode, seconds in target.items()
        )
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
