"""Test helpers for the audit trail's triggers and chain (docs/SECURITY.md "Audit trail").

- `backdated(days)`: events written inside are chained with a time `days` ago, as the
  owner would with the time trigger off — how prune tests get old rows, since the
  database refuses (SQLite) or overwrites (PostgreSQL) a back-dated time.
- `flush_lifts_the_sqlite_audit_guard`: Django's flush after a transactional test
  DELETEs every table; on SQLite the audit table's trigger refuses that, so the flush runs
  with the guard lifted, as `prune_audit` does. Imported by tests/conftest.py.
"""

from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta

import pytest
from django.db import connection
from django.test import TransactionTestCase

from cases import audit_chain

TIME_TRIGGER = "cases_auditevent_db_time"


def alter(cursor, what: str) -> None:
    # Deferred foreign-key checks of rows written earlier in the test would block the ALTER.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute(f"ALTER TABLE cases_auditevent {what}")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@contextmanager
def trigger_off(name: str, conn=connection):
    """The named trigger of the audit table off for the enclosed statements (as its owner)."""
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            alter(cursor, f"DISABLE TRIGGER {name}")
            try:
                yield
            finally:
                alter(cursor, f"ENABLE TRIGGER {name}")
            return
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        (sql,) = cursor.fetchone()
        cursor.execute(f"DROP TRIGGER {name}")
        try:
            yield
        finally:
            cursor.execute(sql)


@contextmanager
def backdated(days: float, monkeypatch: pytest.MonkeyPatch):
    original = audit_chain.lock_head

    def lock_head(conn):
        head = original(conn)
        return replace(head, now=head.now - timedelta(days=days))

    with monkeypatch.context() as patch, trigger_off(TIME_TRIGGER):
        patch.setattr(audit_chain, "lock_head", lock_head)
        yield


@pytest.fixture(autouse=True, scope="session")
def flush_lifts_the_sqlite_audit_guard():
    original = TransactionTestCase._fixture_teardown

    def teardown(self):
        with audit_chain.sqlite_delete_guard_lifted(connection):
            original(self)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original
