"""gunicorn hooks for bench/http_pages_bench.py: count each request's writing commits.

Loaded with `gunicorn -c bench/gunicorn_commits.py`. Every database connection a worker
opens gets a `tests.commit_counter.CommitCounter`; after each request the worker appends
`<writing commits>\t<commits>\t<written statements>` as one line to
`$BENCH_COMMITS_DIR/<pid>.log`, which the bench reads between its batches of requests.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_counters: list = []


def post_fork(server, worker):
    from django.db.backends.signals import connection_created

    from tests.commit_counter import CommitCounter

    def install(sender, connection, **kwargs):
        if not any(counter.connection is connection for counter in _counters):
            counter = CommitCounter(connection)
            counter.install()
            _counters.append(counter)

    connection_created.connect(install, weak=False)


def pre_request(worker, req):
    for counter in _counters:
        counter.reset()


def post_request(worker, req, environ, resp):
    folder = os.environ.get("BENCH_COMMITS_DIR")
    if not folder:
        return
    write_commits = sum(counter.write_commits for counter in _counters)
    commits = sum(counter.commits for counter in _counters)
    writes = ";".join(sql for counter in _counters for sql in counter.writes)
    with open(Path(folder) / f"{os.getpid()}.log", "a") as log:
        log.write(f"{write_commits}\t{commits}\t{writes}\n")
