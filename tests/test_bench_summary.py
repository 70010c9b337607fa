"""`make bench`'s goals table (bench/summary.py, bench/run_all.py): every row, robust to gaps."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import run_all  # noqa: E402
import summary  # noqa: E402


def passing(backend: str = "postgresql") -> list[dict]:
    """One JSON line per script, every goal met (the figures of a good day)."""
    page = {
        "p50_ms": 12.0,
        "p95_ms": 30.0,
        "write_commits_per_view": 1.0,
        "session_renewals": 0,
        "session_renewals_allowed": 2,
    }
    lines = [
        {
            "bench": "http_pages",
            "backend": "postgresql",
            "pages": {
                "queue": page,
                "household": page,
                "person": page,
                "finding": page,
                "dashboard_county": {**page, "p95_ms": 80.0},
                "stats_county": {**page, "p95_ms": 90.0},
            },
        },
        {
            "bench": "exports",
            "backend": backend,
            "sizes": {
                "6000": {"streamed": {"first_byte_ms": 4.0, "total_ms": 300.0, "rss_mb": 90.0}},
                "60000": {"streamed": {"first_byte_ms": 4.0, "total_ms": 2800.0, "rss_mb": 92.0}},
            },
        },
        {
            "bench": "load",
            "backend": backend,
            "errors": 0,
            "latency": {"all": {"p95_ms": 700.0}},
            "throughput_per_s": 40.0,
            "floor": {"throughput_per_s": 60.0, "errors": 0},
        },
        {
            "bench": "import",
            "backend": backend,
            "survey": {"x_floor": 4.0, "total_s": 8.0, "rows": 62000},
            "survey_floor_s": 2.0,
            "roster": {"x_floor": 3.5, "total_s": 7.0, "rows": 95000},
            "roster_floor_s": 2.0,
        },
        {
            "bench": "crosscheck",
            "backend": backend,
            "persons": 60000,
            "full": {"seconds": 4.0},
            "rerun": {"seconds": 1.5},
        },
        {
            "bench": "upload",
            "backend": backend,
            "first_progress_s": 0.4,
            "longest_request_s": 0.9,
            "timeout_s": 120,
            "finished": True,
            "errors": 0,
        },
    ]
    # bench/whatif_bench.py prints no "backend": the pass it ran in names it.
    lines.append(
        {"bench": "whatif", "ratio": 1.1, "whatif_seconds": 8.8, "crosscheck_seconds": 8.0}
    )
    return [{"backend": backend, "script": line["bench"], "figures": [line]} for line in lines]


def rows(results: list[dict]) -> dict[str, dict]:
    return {row["key"]: row for row in summary.evaluate(results)}


def test_every_goal_of_the_issue_has_a_row():
    assert [row.key for row in summary.ROWS] == [
        "page_queue",
        "page_household",
        "page_person",
        "page_finding",
        "page_dashboard",
        "page_stats",
        "writes_per_view",
        "export_6000",
        "export_60000",
        "load",
        "import_survey",
        "import_roster",
        "crosscheck",
        "upload",
        "whatif",
    ]


def test_nothing_measured_reads_as_not_measured_and_fails():
    table = summary.evaluate([])
    assert all(row["postgresql"] == summary.NOT_MEASURED for row in table)
    assert all(row["sqlite"] == summary.NOT_MEASURED for row in table)
    assert not any(row["passed"] for row in table)


def test_good_figures_pass_every_row():
    table = rows(passing())
    assert all(row["passed"] for row in table.values()), table
    assert table["load"]["postgresql"] == "0 errors, p95 700 ms, 40.0/s = 0.67 × floor 60.0/s"
    assert table["crosscheck"]["postgresql"] == "4.00 s / 1.50 s"


@pytest.mark.parametrize(
    ("bench", "path", "value", "row"),
    [
        ("http_pages", ("pages", "person", "p95_ms"), 41.0, "page_person"),
        ("http_pages", ("pages", "stats_county", "p95_ms"), 101.0, "page_stats"),
        ("http_pages", ("pages", "queue", "write_commits_per_view"), 2.0, "writes_per_view"),
        (
            "http_pages",
            ("pages", "queue", "write_commits_per_view_without_session_renewal"),
            1.5,
            "writes_per_view",
        ),
        ("http_pages", ("pages", "person", "session_renewals"), 3, "writes_per_view"),
        ("exports", ("sizes", "60000", "streamed", "rss_mb"), 151.0, "export_60000"),
        ("load", ("errors",), 1, "load"),
        ("load", ("latency", "all", "p95_ms"), 1001.0, "load"),
        ("load", ("throughput_per_s",), 29.0, "load"),
        ("import", ("roster", "x_floor"), 5.1, "import_roster"),
        ("crosscheck", ("rerun", "seconds"), 2.1, "crosscheck"),
        ("upload", ("first_progress_s",), 1.2, "upload"),
        ("upload", ("finished",), False, "upload"),
        ("whatif", ("ratio",), 2.1, "whatif"),
    ],
)
def test_one_figure_over_its_goal_fails_that_row_only(bench, path, value, row):
    results = passing()
    line = next(r["figures"][0] for r in results if r["script"] == bench)
    target = line
    for key in path[:-1]:
        target[key] = dict(target[key])  # the page figures are shared between pages
        target = target[key]
    target[path[-1]] = value
    table = rows(results)
    assert not table[row]["passed"]
    assert [key for key, got in table.items() if not got["passed"]] == [row]


def test_a_session_renewal_once_a_minute_is_not_the_pages_write():
    """The idle timeout renews the session once a minute: a batch that crossed a renewal
    shows 1.02 commits per view, and the page's own are still the audit event alone."""
    results = passing()
    line = next(r["figures"][0] for r in results if r["script"] == "http_pages")
    line["pages"]["person"] = {
        **line["pages"]["person"],
        "write_commits_per_view": 1.02,
        "write_commits_per_view_without_session_renewal": 1.0,
        "session_renewals": 1,
    }
    assert rows(results)["writes_per_view"]["passed"]


def test_a_missing_or_malformed_key_is_not_measured():
    results = passing()
    load = next(r["figures"][0] for r in results if r["script"] == "load")
    del load["floor"]
    crosscheck = next(r["figures"][0] for r in results if r["script"] == "crosscheck")
    crosscheck["full"] = {"seconds": "4.0"}
    table = rows(results)
    for key in ("load", "crosscheck"):
        assert table[key]["postgresql"] == summary.NOT_MEASURED
        assert not table[key]["passed"]


def test_sqlite_figures_are_shown_but_never_gate():
    results = passing("sqlite")  # only SQLite ran (http_pages says postgresql itself)
    table = rows(results)
    assert table["load"]["sqlite"].startswith("0 errors")
    assert not table["load"]["sqlite"].endswith("✗")
    assert table["load"]["postgresql"] == summary.NOT_MEASURED
    assert not table["load"]["passed"]
    # The line's own backend wins over the pass it ran in.
    assert table["page_queue"]["passed"]
    assert table["page_queue"]["sqlite"] == summary.NOT_MEASURED


def test_in_process_page_figures_are_shown_but_do_not_pass_a_goal_set_over_http():
    results = [r for r in passing() if r["script"] != "http_pages"]
    results.append(
        {
            "backend": "postgresql",
            "script": "pages_bench",
            "figures": [
                {
                    "bench": "pages",
                    "backend": "postgresql",
                    "pages": {"queue_township": {"p50_ms": 5.0, "p95_ms": 9.0, "queries": 9}},
                }
            ],
        }
    )
    table = rows(results)
    assert "not HTTP" in table["page_queue"]["postgresql"]
    assert not table["page_queue"]["passed"]
    assert table["page_household"]["postgresql"] == summary.NOT_MEASURED


def test_markdown_has_one_line_per_row_and_names_the_failures():
    results = [r for r in passing() if r["script"] != "upload"]
    text = summary.markdown(summary.evaluate(results))
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + len(summary.ROWS)
    assert text.count("**FAIL**") == 1
    assert "failed: upload" in text


def test_a_partial_run_keeps_the_other_scripts_figures():
    old = [
        {"backend": "postgresql", "script": "load_bench", "figures": [{"bench": "load"}]},
        {"backend": "postgresql", "script": "export_bench", "figures": [{"bench": "exports"}]},
    ]
    new = [
        {"backend": "postgresql", "script": "load_bench", "figures": [{"bench": "load", "n": 2}]}
    ]
    assert run_all.merged(old, new) == [old[1], new[0]]


def run_summary(monkeypatch, tmp_path, results, *flags) -> int:
    monkeypatch.setattr(run_all, "OUT", tmp_path)
    (tmp_path / "results.json").write_text(json.dumps(results))
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--summary-only", *flags])
    return run_all.main()


def test_bench_check_exits_1_when_a_postgresql_goal_fails_and_bench_exits_0(
    monkeypatch, tmp_path, capsys
):
    results = passing()
    assert run_summary(monkeypatch, tmp_path, results, "--check") == 0
    results = [r for r in results if r["script"] != "crosscheck"]
    assert run_summary(monkeypatch, tmp_path, results) == 0
    assert run_summary(monkeypatch, tmp_path, results, "--check") == 1
    written = (tmp_path / "summary.md").read_text()
    assert "cross-check" in written and summary.NOT_MEASURED in written
    assert "| cross-check full / re-run |" in capsys.readouterr().out


def test_a_sqlite_figure_that_misses_its_goal_is_marked_but_does_not_fail_the_row():
    sqlite_line = [
        {
            "backend": "sqlite",
            "script": "crosscheck",
            "figures": [
                {
                    "bench": "crosscheck",
                    "backend": "sqlite",
                    "full": {"seconds": 9.0},
                    "rerun": {"seconds": 3.0},
                }
            ],
        }
    ]
    row = rows([*passing(), *sqlite_line])["crosscheck"]
    assert row["sqlite"] == "9.00 s / 3.00 s ✗"
    assert row["passed"]
