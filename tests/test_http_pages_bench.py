"""The page bench's per-request commit lines (bench/http_pages_bench.py): a batch's lines are
the ones each worker wrote after the batch began, whatever the other worker wrote before."""

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

import http_pages_bench  # noqa: E402


def test_lines_since_takes_each_workers_new_lines_only(tmp_path, monkeypatch):
    monkeypatch.setattr(http_pages_bench, "COMMITS_DIR", tmp_path)
    monkeypatch.setattr(http_pages_bench.time, "sleep", lambda seconds: None)
    first, second = tmp_path / "1.log", tmp_path / "2.log"
    first.write_text("1\t1\told first\n")
    second.write_text("2\t2\tUPDATE django_session old\n1\t1\told second\n")
    seen = http_pages_bench.commit_lines()
    with first.open("a") as log:
        log.write("1\t1\tnew first\n1\t1\tnew first again\n")
    with second.open("a") as log:
        log.write("1\t1\tnew second\n")
    assert sorted(line[2] for line in http_pages_bench.lines_since(seen)) == [
        "new first",
        "new first again",
        "new second",
    ]
