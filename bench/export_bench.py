"""Export benchmark: the streamed person export (`.xlsx`) at 6,000 and 60,000 rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python bench/export_bench.py
    python bench/export_bench.py --rows 6000,60000 --repeat 3

For each size, in the database DATABASE_URL names (emptied of registry, import, findings
and case-work rows first, as `bench/pages_bench.py` does): `seed_demo --persons N`, then the
county admin's `/persons/export.xlsx` (every certified person of the county: N rows) is
requested `--repeat` times, each in a fresh process so that its peak RSS is that export's
own. Inside it Django's test Client (`force_login`, the whole middleware stack) makes the
request and reads the streamed body chunk by chunk:

- `first_byte_ms`: from the request to the first chunk of the body (what a browser waits
  before the download starts);
- `total_ms`: to the last chunk; `mb`: the file's size;
- `rss_mb`: peak resident memory of the process (`VmHWM`), `rss_growth_mb`: that
  peak minus the resident memory just before the request (Django loaded, user logged in).

The row count is read back from the export's audit event (which must exist: it is written
as the body ends). With `--legacy` the same rows also go through the former writer (openpyxl
write-only into a BytesIO, then one response), for comparison. Prints one JSON line.

Goals: first byte ≤ 300 ms; total ≤ 1 s at 6,000 rows and ≤ 10 s at 60,000;
peak RSS ≤ 150 MB. Exit status 1 when one is missed.
"""

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import time

import harness

FIRST_BYTE_MS_MAX = 300.0
TOTAL_MS_MAX = {6000: 1000.0, 60000: 10000.0}
RSS_MB_MAX = 150.0


def rss_now_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 1024 / 1024


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM), in MB.

    Not `ru_maxrss`: Linux keeps that across fork and exec, so a child started by a parent
    that has just seeded 60,000 persons would report the parent's peak as its own.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return harness.peak_mb()


def legacy_response(
    filename,
    headers,
    rows,
    *,
    sheet_title="数据",
    text_columns=(),
    widths=None,
    request=None,
    label="",
    filters=None,
):
    """The export as it was built before streaming (openpyxl write-only into memory), for comparison."""
    from django.http import HttpResponse
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from cases.audit import audit_export
    from cases.exports import _xlsx_value, safe_cell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    for index, width in enumerate(widths or (), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(str(header)))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    text = set(text_columns)
    count = 0
    for row in rows:
        cells = []
        for index, raw in enumerate(row):
            value = _xlsx_value(raw)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
            if index in text:
                cell.number_format = "@"
            cells.append(cell)
        sheet.append(cells)
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit_export(request, label, request.GET, count, fmt="xlsx")
    return HttpResponse(buffer.getvalue(), content_type="application/octet-stream")


def measure(legacy: bool) -> dict:
    """One export in this process (the child): timings, size, memory, audited row count."""
    harness.setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from cases.models import AuditEvent

    setup_test_environment()
    if legacy:
        from staff.views import persons

        persons.xlsx_response = legacy_response  # type: ignore[assignment]
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    client.get(reverse("staff:person_list"))  # warm: URLconf, templates, first queries
    before_pk = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    rss_before = rss_now_mb()
    started = time.perf_counter()
    response = client.get(reverse("staff:person_export"))
    assert response.status_code == 200, response.status_code
    size = 0
    first = None
    if response.streaming:
        for chunk in response.streaming_content:
            if first is None:
                first = time.perf_counter()
            size += len(chunk)
    else:
        size = len(response.content)
        first = time.perf_counter()
    total = time.perf_counter()
    event = AuditEvent.objects.filter(pk__gt=before_pk, action="export").get()
    return {
        "rows": event.details["rows"],
        "first_byte_ms": round((first - started) * 1000, 1),
        "total_ms": round((total - started) * 1000, 1),
        "mb": round(size / 1024 / 1024, 2),
        "rss_mb": peak_rss_mb(),
        "rss_growth_mb": round(peak_rss_mb() - rss_before, 1),
        "streamed": response.streaming,
    }


def child(legacy: bool) -> dict:
    command = [sys.executable, __file__, "--measure"] + (["--legacy"] if legacy else [])
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode:
        raise RuntimeError(completed.stderr[-3000:])
    return json.loads(completed.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict]) -> dict:
    return {
        "rows": runs[0]["rows"],
        "mb": runs[0]["mb"],
        "first_byte_ms": statistics.median(run["first_byte_ms"] for run in runs),
        "total_ms": statistics.median(run["total_ms"] for run in runs),
        "total_ms_max": max(run["total_ms"] for run in runs),
        "rss_mb": max(run["rss_mb"] for run in runs),
        "rss_growth_mb": max(run["rss_growth_mb"] for run in runs),
        "n": len(runs),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="6000,60000", help="comma-separated county sizes")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--legacy", action="store_true", help="also time the former writer")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.legacy)))
        return 0

    harness.setup_django()
    from django.db import connection
    from pages_bench import empty_tables

    from staff.demo import build_demo_county

    figures: dict = {"bench": "exports", "backend": connection.vendor, "sizes": {}}
    missed: list[str] = []
    for persons in [int(part) for part in args.rows.split(",") if part.strip()]:
        empty_tables()
        started = time.perf_counter()
        build_demo_county(persons=persons)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        size = {"seed_s": round(time.perf_counter() - started, 1)}
        size["streamed"] = summarise([child(False) for _ in range(args.repeat)])
        if args.legacy:
            size["legacy"] = summarise([child(True)])
        figures["sizes"][str(persons)] = size
        got = size["streamed"]
        if got["first_byte_ms"] > FIRST_BYTE_MS_MAX:
            missed.append(f"{persons}: first byte {got['first_byte_ms']} ms")
        limit = TOTAL_MS_MAX.get(persons)
        if limit is not None and got["total_ms"] > limit:
            missed.append(f"{persons}: total {got['total_ms']} ms > {limit}")
        if got["rss_mb"] > RSS_MB_MAX:
            missed.append(f"{persons}: peak RSS {got['rss_mb']} MB")
    figures["goals"] = {
        "first_byte_ms_max": FIRST_BYTE_MS_MAX,
        "total_ms_max": TOTAL_MS_MAX,
        "rss_mb_max": RSS_MB_MAX,
    }
    figures["missed"] = missed
    figures["goals_met"] = not missed
    print(json.dumps(figures, ensure_ascii=False))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
