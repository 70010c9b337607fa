"""Count the database commits that wrote something, on one connection.

A page view should write one thing: its audit event (docs/PERFORMANCE.md, Pages). A write
is committed either by its own statement (autocommit, outside any `atomic` block) or by
the `commit()` that ends the transaction it ran in; a transaction that only read is not
counted. Used by tests/test_page_commits.py and by the HTTP page bench's gunicorn hooks
(bench/gunicorn_commits.py).
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


class CommitCounter:
    """`write_commits`: transactions that wrote; `commits`: every explicit commit()."""

    def __init__(self, connection: Any):
        self.connection = connection
        self.write_commits = 0
        self.commits = 0
        self.writes: list[str] = []
        self._pending = False

    def reset(self) -> None:
        self.write_commits = 0
        self.commits = 0
        self.writes = []

    def __call__(self, execute, sql, params, many, context):
        if WRITE.match(sql):
            self.writes.append(sql.split(" (", 1)[0][:80])
            if self.connection.get_autocommit() and not self.connection.in_atomic_block:
                self.write_commits += 1
            else:
                self._pending = True
        return execute(sql, params, many, context)

    def _commit(self, original):
        def commit():
            original()
            self.commits += 1
            if self._pending:
                self.write_commits += 1
                self._pending = False

        return commit

    def _rollback(self, original):
        def rollback():
            original()
            self._pending = False

        return rollback

    def install(self) -> None:
        """Count on this connection from now on (for the life of the connection object)."""
        self.connection.execute_wrappers.append(self)
        self.connection.commit = self._commit(self.connection.commit)
        self.connection.rollback = self._rollback(self.connection.rollback)

    def uninstall(self) -> None:
        self.connection.execute_wrappers.remove(self)
        del self.connection.commit
        del self.connection.rollback


@contextmanager
def counting_commits(connection: Any) -> Iterator[CommitCounter]:
    counter = CommitCounter(connection)
    counter.install()
    try:
        yield counter
    finally:
        counter.uninstall()
