"""The one table `make bench` ends with: every goal of docs/PERFORMANCE.md, PostgreSQL and SQLite.

`bench/run_all.py` keeps each script's JSON line in bench/out/results.json; this module reads
the figures from them by the key names documented in bench/README.md and prints, per goal,
today's PostgreSQL figure, the SQLite figure and PASS/FAIL for PostgreSQL (only PostgreSQL
is gated; SQLite is reported). A figure that is missing — a script not run, a key renamed,
a run that failed — shows as "未测 / not measured" and fails the goal: a gate that passes
because nothing was measured would be no gate.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NOT_MEASURED = "未测 / not measured"
PG, SQLITE = "postgresql", "sqlite"

Figures = dict[str, dict[str, Any]]  # bench name ("http_pages", "load", …) → its JSON line
Reading = tuple[str, bool] | None  # (the figure as shown, goal met) or not measured


def dig(data: Any, *path: str) -> Any:
    """data[path[0]][path[1]]…, None when any step is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


# --- pages ---------------------------------------------------------------------------------

# Over HTTP (bench/http_pages_bench.py) first; the in-process figures of bench/pages_bench.py
# are shown when that is all there is, marked, and never pass a goal set "over HTTP".
PAGE_SOURCES = {
    "queue": ("queue", "queue_township"),
    "household": ("household", "household_township"),
    "person": ("person", "person_township"),
    "finding": ("finding", "finding_township"),
    "dashboard_county": ("dashboard_county",),
    "stats_county": ("stats_county",),
}


def page_figures(figures: Figures, page: str) -> tuple[dict, bool] | None:
    """The page's figures and whether they were measured over HTTP."""
    over_http = dig(figures, "http_pages", "pages", page)
    if isinstance(over_http, dict):
        return over_http, True
    for name in PAGE_SOURCES[page]:
        in_process = dig(figures, "pages", "pages", name)
        if isinstance(in_process, dict):
            return in_process, False
    return None


def detail_page(page: str) -> Callable[[Figures], Reading]:
    def read(figures: Figures) -> Reading:
        found = page_figures(figures, page)
        if not found:
            return None
        data, over_http = found
        p50, p95 = number(data.get("p50_ms")), number(data.get("p95_ms"))
        if p50 is None or p95 is None:
            return None
        text = f"{ms(p50)} / {ms(p95)}"
        if not over_http:
            return text + " (进程内, not HTTP)", False
        return text, p50 <= 20.0 and p95 <= 40.0

    return read


def aggregate_page(page: str) -> Callable[[Figures], Reading]:
    def read(figures: Figures) -> Reading:
        found = page_figures(figures, page)
        if not found:
            return None
        data, over_http = found
        p95 = number(data.get("p95_ms"))
        if p95 is None:
            return None
        if not over_http:
            return f"p95 {ms(p95)} (进程内, not HTTP)", False
        return f"p95 {ms(p95)}", p95 <= 100.0

    return read


def writes_per_view(figures: Figures) -> Reading:
    """The most writing commits any measured page made per view, apart from the session's
    renewal (the audit event's is one), and whether the session was renewed no more often
    than the idle timeout allows (once a minute: bench/http_pages_bench.py `renewals_allowed`)."""
    pages = dig(figures, "http_pages", "pages") or dig(figures, "pages", "pages")
    if not isinstance(pages, dict):
        return None
    values = {}
    renewals_ok = True
    for name, data in pages.items():
        if isinstance(data, dict):
            value = number(
                data.get(
                    "write_commits_per_view_without_session_renewal",
                    data.get("write_commits_per_view", data.get("commits_per_view")),
                )
            )
            if value is not None:
                values[name] = value
            renewals, allowed = (
                number(data.get("session_renewals")),
                number(data.get("session_renewals_allowed")),
            )
            if renewals is not None and allowed is not None and renewals > allowed:
                renewals_ok = False
    if not values:
        return None
    worst = max(values, key=lambda name: values[name])
    renewal_note = "" if renewals_ok else "; session renewed more than once a minute"
    return (
        f"≤ {values[worst]:g} ({worst}; {len(values)} pages{renewal_note})",
        values[worst] <= 1.0 and renewals_ok,
    )


# --- exports, load, imports, cross-check, upload ----------------------------------------


def export(rows: int) -> Callable[[Figures], Reading]:
    limit_ms = {6000: 1000.0, 60000: 10000.0}[rows]

    def read(figures: Figures) -> Reading:
        data = dig(figures, "exports", "sizes", str(rows), "streamed")
        if not isinstance(data, dict):
            return None
        first, total, rss = (
            number(data.get(key)) for key in ("first_byte_ms", "total_ms", "rss_mb")
        )
        if first is None or total is None or rss is None:
            return None
        text = f"{ms(first)} / {seconds(total / 1000)} / {rss:.0f} MB"
        return text, first <= 300.0 and total <= limit_ms and rss <= 150.0

    return read


def load(figures: Figures) -> Reading:
    data = figures.get("load")
    if not isinstance(data, dict):
        return None
    errors = number(data.get("errors"))
    floor_errors = number(dig(data, "floor", "errors")) or 0.0
    p95 = number(dig(data, "latency", "all", "p95_ms"))
    rate = number(data.get("throughput_per_s"))
    floor = number(dig(data, "floor", "throughput_per_s"))
    if errors is None or p95 is None or rate is None or not floor:
        return None
    ratio = rate / floor
    text = (
        f"{errors + floor_errors:.0f} errors, p95 {ms(p95)}, "
        f"{rate:.1f}/s = {ratio:.2f} × floor {floor:.1f}/s"
    )
    return text, errors + floor_errors == 0 and p95 <= 1000.0 and ratio >= 0.5


def import_ratio(source: str) -> Callable[[Figures], Reading]:
    def read(figures: Figures) -> Reading:
        data = dig(figures, "import", source)
        if not isinstance(data, dict):
            return None
        ratio, total = number(data.get("x_floor")), number(data.get("total_s"))
        if ratio is None or total is None:
            return None
        floor = number(dig(figures, "import", f"{source}_floor_s"))
        rows = number(data.get("rows"))
        text = f"{seconds(total)} = {ratio:.1f} × read"
        if floor is not None:
            text += f" {seconds(floor)}"
        if rows is not None:
            text += f" ({rows:,.0f} rows)"
        return text, ratio <= 5.0

    return read


def crosscheck(figures: Figures) -> Reading:
    full = number(dig(figures, "crosscheck", "full", "seconds"))
    rerun = number(dig(figures, "crosscheck", "rerun", "seconds"))
    if full is None or rerun is None:
        return None
    persons = number(dig(figures, "crosscheck", "persons"))
    text = f"{seconds(full)} / {seconds(rerun)}"
    if persons is not None and persons != 60000:
        text += f" ({persons:,.0f} persons)"
    return text, full <= 5.0 and rerun <= 2.0


def upload(figures: Figures) -> Reading:
    data = figures.get("upload")
    if not isinstance(data, dict):
        return None
    first = number(data.get("first_progress_s"))
    longest = number(data.get("longest_request_s"))
    limit = number(data.get("timeout_s"))
    if first is None or longest is None or limit is None:
        return None
    done = data.get("finished")
    text = f"progress after {seconds(first)}, longest request {seconds(longest)} (timeout {limit:.0f} s)"
    if done is False:
        text += ", import not finished"
    ok = first <= 1.0 and longest < limit and done is not False and not data.get("errors")
    return text, ok


def whatif(figures: Figures) -> Reading:
    """The policy what-if against the nightly cross-check (bench/whatif_bench.py)."""
    data = figures.get("whatif")
    if not isinstance(data, dict):
        return None
    ratio = number(data.get("ratio"))
    whatif_s, crosscheck_s = (
        number(data.get("whatif_seconds")),
        number(data.get("crosscheck_seconds")),
    )
    if ratio is None or whatif_s is None or crosscheck_s is None:
        return None
    return f"{seconds(whatif_s)} = {ratio:.2f} × cross-check {seconds(crosscheck_s)}", ratio <= 2.0


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    goal: str
    read: Callable[[Figures], Reading]


ROWS = (
    Row(
        "page_queue",
        "work queue page, 60k persons, HTTP",
        "p50 ≤ 20 ms / p95 ≤ 40 ms",
        detail_page("queue"),
    ),
    Row("page_household", "household page", "p50 ≤ 20 ms / p95 ≤ 40 ms", detail_page("household")),
    Row("page_person", "person page", "p50 ≤ 20 ms / p95 ≤ 40 ms", detail_page("person")),
    Row("page_finding", "finding page", "p50 ≤ 20 ms / p95 ≤ 40 ms", detail_page("finding")),
    Row("page_dashboard", "county dashboard", "p95 ≤ 100 ms", aggregate_page("dashboard_county")),
    Row("page_stats", "indicator page (统计)", "p95 ≤ 100 ms", aggregate_page("stats_county")),
    Row(
        "writes_per_view", "database writes per page view", "≤ 1 (the audit event)", writes_per_view
    ),
    Row(
        "export_6000",
        ".xlsx export 6,000 rows",
        "first byte ≤ 300 ms / ≤ 1 s / ≤ 150 MB",
        export(6000),
    ),
    Row(
        "export_60000",
        ".xlsx export 60,000 rows",
        "first byte ≤ 300 ms / ≤ 10 s / ≤ 150 MB",
        export(60000),
    ),
    Row("load", "20 concurrent staff, 60 s, gunicorn", "0 errors, p95 ≤ 1 s, ≥ 0.5 × floor", load),
    Row("import_survey", "survey import", "≤ 5 × calamine read", import_ratio("survey")),
    Row("import_roster", "roster import", "≤ 5 × calamine read", import_ratio("roster")),
    Row("crosscheck", "cross-check full / re-run", "≤ 5 s / ≤ 2 s", crosscheck),
    Row("upload", ".xlsx upload in the browser, 60k rows", "progress ≤ 1 s, no timeout", upload),
    Row("whatif", "policy what-if (政策测算), 60k persons", "≤ 2 × the cross-check", whatif),
)


def latest_figures(results: list[dict]) -> dict[str, Figures]:
    """Per backend, the last JSON line each bench printed (results in run order)."""
    by_backend: dict[str, Figures] = {PG: {}, SQLITE: {}}
    for result in results:
        for line in result.get("figures") or []:
            if not isinstance(line, dict) or not isinstance(line.get("bench"), str):
                continue
            # The line's own backend wins: a script may use its own database.
            backend = str(line.get("backend") or result.get("backend") or "")
            backend = PG if backend.startswith("postgres") else SQLITE if backend else ""
            if backend:
                by_backend[backend][line["bench"]] = line
    return by_backend


def evaluate(results: list[dict]) -> list[dict]:
    figures = latest_figures(results)
    table = []
    for row in ROWS:
        readings: dict[str, Reading] = {}
        for backend in (PG, SQLITE):
            try:
                readings[backend] = row.read(figures[backend])
            except (TypeError, ValueError, KeyError, ZeroDivisionError):
                readings[backend] = None  # a changed format reads as not measured
        pg, lite = readings[PG], readings[SQLITE]
        table.append(
            {
                "key": row.key,
                "label": row.label,
                "goal": row.goal,
                "postgresql": pg[0] if pg else NOT_MEASURED,
                # Not gated, but marked when it misses the goal.
                "sqlite": (lite[0] + ("" if lite[1] else " ✗")) if lite else NOT_MEASURED,
                "passed": bool(pg and pg[1]),
                "sqlite_met": bool(lite and lite[1]),
            }
        )
    return table


def markdown(table: list[dict], measured_at: dict[str, str] | None = None) -> str:
    lines = [
        "| 指标 / goal row | 目标 / goal | PostgreSQL | SQLite (not gated) | PostgreSQL 结果 |",
        "|---|---|---|---|---|",
    ]
    for row in table:
        verdict = "PASS" if row["passed"] else "**FAIL**"
        lines.append(
            f"| {row['label']} | {row['goal']} | {row['postgresql']} | {row['sqlite']} | {verdict} |"
        )
    failed = [row["key"] for row in table if not row["passed"]]
    lines.append("")
    lines.append(
        f"PostgreSQL goals: {len(table) - len(failed)}/{len(table)} met"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if measured_at:
        lines.append("")
        lines.append(
            "Figures measured at (UTC): "
            + ", ".join(f"{k} {v}" for k, v in sorted(measured_at.items()))
        )
    return "\n".join(lines) + "\n"
