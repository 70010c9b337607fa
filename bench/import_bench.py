"""Import benchmark (speed goals: docs/PERFORMANCE.md), run by `make bench` or on its own:

    BENCH_ONLY=import_bench .venv/bin/python bench/run_all.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/import_bench.py \
        [--persons 60000] [--members 150000] [--files DIR] [--die-rows N]

Generates a county-scale file pair with bench/generate_files.py (survey: `persons`
certified persons in households; roster: `members` members; every row valid, a few
per cent in messy spellings), empties the registry and import tables of the
database DATABASE_URL names (its name must contain "bench"), then runs each step
in a fresh process so its peak memory (ru_maxrss) is its own:

1. django-import-export: plain `resources.ModelResource`s for Person (ID, name,
   gender, birth date, township) and Certificate (number, category, grade, holder)
   importing the same survey file loaded with tablib, `dry_run=False`, inside a
   transaction rolled back afterwards (the database stays empty for step 2) — the
   flat part of what our survey import writes (it also writes households, members,
   survey answers and history rows);
2. our survey import (`import_create_batch` + `import_run`, the code path of the
   CLI, the admin and the upload page), then the same file again (nothing changes);
3. our roster import, then the same file again.

For our imports: read (streaming every row of the sheet), validate and write, each
as rows per second, total seconds, SQL statements and peak RSS; and the read floor,
a plain python-calamine read of the same file timed in its own process before and
after the imports of that file (the faster counts), with `x_floor` = total ÷ floor
(goal ≤ 5 × for the first imports on PostgreSQL). Prints a short summary, then one
JSON line. Targets on PostgreSQL with 2 cores: survey 60,000 ≤ 15 s, roster 150,000
≤ 30 s, peak RSS ≤ 500 MB, and the survey import ≥ 10 × faster than the
django-import-export import of the same file.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness

ROOT = harness.ROOT

TARGETS = {"survey_s": 15.0, "roster_s": 30.0, "peak_mb": 500.0, "speedup": 10.0, "x_floor": 5.0}
TARGET_SIZES = {"persons": 60000, "members": 150000}


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu_s(connection) -> float | None:
    """CPU seconds of this connection's PostgreSQL backend process (local server only)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rate(rows: int, seconds: float) -> int:
    return round(rows / seconds) if seconds > 0 else 0


def empty_tables():
    """Remove earlier registry and import data (the bench database only)."""
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if "bench" not in name:
        raise SystemExit(f"refusing to empty tables of database {name!r}: its name lacks 'bench'")
    from django.apps import apps

    labels = [
        "monitoring.FindingEvent",
        "monitoring.Finding",
        "monitoring.CrosscheckRun",
        "subsidies.BenefitRecord",
        "monitoring.SurveyRecord",
        "monitoring.RosterMember",
        "monitoring.RosterHousehold",
        "cases.EducationPlan",
        "cases.RehabService",
        "cases.Pairing",
        "cases.AssistanceMeasure",
        "cases.HouseholdMember",
        "cases.Certificate",
        "cases.Household",
        "cases.ChangeRecord",
        "cases.Person",
        "monitoring.ImportBatch",
    ]
    models = [apps.get_model(label) for label in labels]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
            cursor.execute(f"TRUNCATE {tables} CASCADE")
        else:
            for model in models:
                model.objects.all()._raw_delete(model.objects.db)


# --- phases (each in its own process) -------------------------------------------------------------


def phase_generate(out_dir: str, persons: int, members: int) -> dict:
    from bench.generate_files import generate

    started = time.perf_counter()
    result = generate(out_dir, persons, members)
    return {
        "generate_s": round(time.perf_counter() - started, 1),
        "survey_rows": result["survey_rows"],
        "roster_rows": result["roster_rows"],
        "survey_mb": round(result["survey"].stat().st_size / 2**20, 1),
        "roster_mb": round(result["roster"].stat().st_size / 2**20, 1),
    }


def phase_empty() -> dict:
    harness.setup_django()
    empty_tables()
    return {"emptied": True}


def phase_floor(path: str) -> dict:
    """The read floor: a plain python-calamine read of every row of the file's first
    sheet (no header search, no cell conversion), timed in its own process."""
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = sum(1 for _ in sheet.iter_rows())
    return {"rows": rows, "floor_s": round(time.perf_counter() - started, 3)}


def phase_import(source: str, path: str, again: bool) -> dict:
    """One import through the service API; read/validate/write split by the progress marks."""
    harness.setup_django()
    from django.db import connection

    from monitoring.importing.readers import open_table
    from monitoring.models import ImportBatch
    from monitoring.services import VALIDATE_SPAN, import_create_batch, import_run

    started = time.perf_counter()
    sheet_rows = sum(1 for _ in open_table(path).sheets[0].rows())
    read_s = time.perf_counter() - started

    batch = import_create_batch(source, path, original_name=Path(path).name)
    marks: list[tuple[float, int]] = []
    statements = [0]

    def progress(percent: int) -> None:
        marks.append((time.perf_counter(), percent))

    def count(execute, sql, params, many, context):
        statements[0] += 1
        return execute(sql, params, many, context)

    backend_started = backend_cpu_s(connection)
    started, cpu_started = time.perf_counter(), cpu_s()
    with connection.execute_wrapper(count):
        batch = import_run(batch.pk, progress=progress)
    total_s = time.perf_counter() - started
    python_cpu_s = cpu_s() - cpu_started
    backend_ended = backend_cpu_s(connection)
    database_cpu_s = (
        backend_ended - backend_started if backend_started is not None and backend_ended else None
    )
    validated = max((when for when, percent in marks if percent <= VALIDATE_SPAN), default=started)
    validate_s = validated - started
    write_s = total_s - validate_s
    if batch.status != ImportBatch.Status.DONE:
        raise SystemExit(
            f"{source} import ended {batch.status}: {batch.message} {batch.errors[:5]}"
        )
    if again and (batch.created or batch.updated):
        raise SystemExit(f"re-importing the same {source} file changed rows: {batch.message}")
    rows = batch.rows
    return {
        "rows": rows,
        "sheet_rows": sheet_rows,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "read_s": round(read_s, 2),
        "read_rows_per_s": rate(sheet_rows, read_s),
        "validate_s": round(validate_s, 2),
        "validate_rows_per_s": rate(rows, validate_s),
        "write_s": round(write_s, 2),
        "write_rows_per_s": rate(rows, write_s),
        "total_s": round(total_s, 2),
        "rows_per_s": rate(rows, total_s),
        "python_cpu_s": round(python_cpu_s, 2),
        "database_cpu_s": None if database_cpu_s is None else round(database_cpu_s, 2),
        "sql_statements": statements[0],
        "peak_mb": harness.peak_mb(),
    }


def phase_die(path: str, limit: int) -> dict:
    """Plain django-import-export ModelResource imports of the survey file's persons and
    certificates (two passes over one tablib dataset, as a county admin would run them)."""
    harness.setup_django()
    import tablib
    from django.db import transaction
    from import_export import fields, resources, widgets

    from cases.geography import match_township
    from cases.identity import IdentityError, parse_certificate_number, parse_id_number
    from cases.models import Certificate, Person, Township

    categories = {"视力": 1, "听力": 2, "言语": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}
    grades = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}

    class PersonResource(resources.ModelResource):
        id_number = fields.Field(attribute="id_number", column_name="身份证号")
        name = fields.Field(attribute="name", column_name="姓名")
        gender = fields.Field(attribute="gender", column_name="gender")
        birth_date = fields.Field(
            attribute="birth_date", column_name="birth_date", widget=widgets.DateWidget()
        )
        township = fields.Field(
            attribute="township",
            column_name="乡镇",
            widget=widgets.ForeignKeyWidget(Township, "name"),
        )

        class Meta:
            model = Person
            import_id_fields = ("id_number",)
            fields = ("id_number", "name", "gender", "birth_date", "township")

        def before_import_row(self, row, **kwargs):
            try:
                parsed = parse_id_number(row["身份证号"])
            except IdentityError:
                return
            row["身份证号"] = parsed.number
            row["gender"] = parsed.gender
            row["birth_date"] = parsed.birth_date
            row["乡镇"] = match_township(row["乡镇"]) or row["乡镇"]

    class CertificateResource(resources.ModelResource):
        number = fields.Field(attribute="number", column_name="残疾人证号")
        category = fields.Field(
            attribute="category", column_name="残疾类别", widget=widgets.IntegerWidget()
        )
        grade = fields.Field(
            attribute="grade", column_name="残疾等级", widget=widgets.IntegerWidget()
        )
        reissue = fields.Field(attribute="reissue", column_name="reissue")
        person = fields.Field(
            attribute="person",
            column_name="身份证号",
            widget=widgets.ForeignKeyWidget(Person, "id_number"),
        )

        class Meta:
            model = Certificate
            import_id_fields = ("number",)
            fields = ("number", "category", "grade", "reissue", "person")

        def before_import_row(self, row, **kwargs):
            category = str(row["残疾类别"]).removesuffix("残疾")
            grade = str(row["残疾等级"]).removesuffix("级")
            row["残疾类别"] = categories.get(category, category)
            row["残疾等级"] = grades.get(grade + "级", grade)
            try:
                number = parse_id_number(row["身份证号"]).number
                certificate = parse_certificate_number(
                    row["残疾人证号"],
                    id_number=number,
                    category=row["残疾类别"],
                    grade=int(row["残疾等级"]),
                )
            except (IdentityError, ValueError):
                return
            row["身份证号"] = number
            row["残疾人证号"] = certificate.number
            row["reissue"] = certificate.reissue

    from openpyxl import load_workbook

    started = time.perf_counter()
    # tablib wants the header on the first line it reads: skip the title rows.
    workbook = load_workbook(path, read_only=True)
    top = workbook.active.iter_rows(max_row=10, values_only=True)
    skip = next(index for index, row in enumerate(top) if "姓名" in row)
    workbook.close()
    with open(path, "rb") as handle:
        raw = tablib.Dataset().load(handle, format="xlsx", skip_lines=skip)
    header = list(raw.headers)
    id_column = header.index("身份证号")
    body = [row for row in raw if row[id_column] not in (None, "")]  # footer rows
    if limit:
        body = body[:limit]
    dataset = tablib.Dataset(*body, headers=header)
    load_s = time.perf_counter() - started

    started, cpu_started = time.perf_counter(), cpu_s()
    with transaction.atomic():
        persons = PersonResource().import_data(dataset, dry_run=False, raise_errors=False)
        persons_s = time.perf_counter() - started
        certificates = CertificateResource().import_data(dataset, dry_run=False, raise_errors=False)
        written = {"persons": Person.objects.count(), "certificates": Certificate.objects.count()}
        transaction.set_rollback(True)  # leave the database empty for our import
    import_s = time.perf_counter() - started
    python_cpu_s = cpu_s() - cpu_started
    total_s = load_s + import_s
    return {
        "rows": len(body),
        "written": written,
        "row_errors": len(persons.row_errors()) + len(certificates.row_errors()),
        "invalid_rows": len(persons.invalid_rows) + len(certificates.invalid_rows),
        "load_s": round(load_s, 2),
        "persons_s": round(persons_s, 2),
        "certificates_s": round(import_s - persons_s, 2),
        "import_s": round(import_s, 2),
        "total_s": round(total_s, 2),
        "persons_only_s": round(load_s + persons_s, 2),
        "rows_per_s": rate(len(body), total_s),
        "import_python_cpu_s": round(python_cpu_s, 2),
        "peak_mb": harness.peak_mb(),
    }


def child(*args) -> dict:
    completed = subprocess.run(
        [sys.executable, __file__, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr[-4000:])
        raise SystemExit(f"phase {args[1]} failed")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=TARGET_SIZES["persons"])
    parser.add_argument("--members", type=int, default=TARGET_SIZES["members"])
    parser.add_argument("--files", help="keep the generated files in this folder (reused)")
    parser.add_argument(
        "--die-rows", type=int, default=0, help="limit the django-import-export rows (0 = all)"
    )
    parser.add_argument("--skip-die", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("phase_args", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        phases = {
            "generate": lambda a: phase_generate(a[0], int(a[1]), int(a[2])),
            "empty": lambda a: phase_empty(),
            "import": lambda a: phase_import(a[0], a[1], again=a[2] == "again"),
            "floor": lambda a: phase_floor(a[0]),
            "die": lambda a: phase_die(a[0], int(a[1])),
        }
        print(json.dumps(phases[args.phase](args.phase_args), ensure_ascii=False))
        return 0

    harness.setup_django()
    from django.db import connection

    figures = {
        "bench": "import",
        "backend": connection.vendor,
        "persons": args.persons,
        "members": args.members,
        "cpus": os.cpu_count(),
        "load_avg_start": round(os.getloadavg()[0], 2),
    }
    connection.close()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.files or tmp)
        survey, roster = folder / "survey.xlsx", folder / "roster.xlsx"
        if not (args.files and survey.exists() and roster.exists()):
            figures["files"] = child("--phase", "generate", folder, args.persons, args.members)
        child("--phase", "empty")
        if not args.skip_die:
            figures["die_survey"] = child("--phase", "die", survey, args.die_rows)
        for source, path in (("survey", survey), ("roster", roster)):
            # The floor is read right before each import, so both see the same load.
            floor = child("--phase", "floor", path)
            figures[source] = child("--phase", "import", source, path, "first")
            figures[f"{source}_again"] = child("--phase", "import", source, path, "again")
            floor_s = min(floor["floor_s"], child("--phase", "floor", path)["floor_s"])
            figures[f"{source}_floor_s"] = floor_s
            for run in (source, f"{source}_again"):
                figures[run]["x_floor"] = round(figures[run]["total_s"] / floor_s, 1)
    figures["load_avg_end"] = round(os.getloadavg()[0], 2)

    if "die_survey" in figures:
        die = figures["die_survey"]
        ours = figures["survey"]
        # Per row: django-import-export may have run on a subset (--die-rows).
        die_per_row = die["total_s"] / max(die["rows"], 1)
        ours_per_row = ours["total_s"] / max(ours["rows"], 1)
        figures["speedup_vs_django_import_export"] = round(die_per_row / ours_per_row, 1)
        persons_per_row = die["persons_only_s"] / max(die["rows"], 1)
        figures["speedup_vs_django_import_export_persons_only"] = round(
            persons_per_row / ours_per_row, 1
        )
    at_target_size = (
        args.persons == TARGET_SIZES["persons"] and args.members == TARGET_SIZES["members"]
    )
    if at_target_size and figures["backend"] == "postgresql":
        peak = max(figures[key]["peak_mb"] for key in ("survey", "roster"))
        checks = {
            "survey_s": figures["survey"]["total_s"] <= TARGETS["survey_s"],
            "roster_s": figures["roster"]["total_s"] <= TARGETS["roster_s"],
            "peak_mb": peak <= TARGETS["peak_mb"],
        }
        for source in ("survey", "roster"):
            checks[f"{source}_x_floor"] = figures[source]["x_floor"] <= TARGETS["x_floor"]
        if "speedup_vs_django_import_export" in figures:
            checks["speedup"] = figures["speedup_vs_django_import_export"] >= TARGETS["speedup"]
        figures["targets"] = TARGETS
        figures["within_targets"] = checks
    for run in ("survey", "survey_again", "roster", "roster_again"):
        source = run.split("_")[0]
        print(
            f"{figures['backend']} {run}: {figures[run]['total_s']:.2f} s, read floor "
            f"{figures[f'{source}_floor_s']:.2f} s, {figures[run]['x_floor']} × floor "
            f"(load average {figures['load_avg_start']}–{figures['load_avg_end']})"
        )
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
