"""deploy/postgres-roles.sql: the application role reads and appends the audit trail and can
do nothing else to it; the owner prunes (docs/OPERATIONS.md "Database roles").

The script runs inside the test's transaction with throwaway role names (roles and
ownership roll back with it), as the superuser the test suite connects as.
"""

import uuid
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction

from cases import audit as audit_api
from cases.models import AuditEvent

from .audit_chain_support import backdated
from .conftest import service_unavailable

SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "postgres-roles.sql"
TABLE = "cases_auditevent"


@pytest.fixture
def roles(postgres, db):
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"huoqiu_owner_t{suffix}", f"huoqiu_app_t{suffix}"
    sql = SCRIPT.read_text().replace("huoqiu_owner", owner).replace("huoqiu_app", app)
    body = sql.replace("\nBEGIN;\n", "\n").replace("\nCOMMIT;\n", "\n")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            service_unavailable("the test database user is not a superuser: cannot run the script")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(body)
    try:
        yield owner, app
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


def as_role(role: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")


def refused(sql: str, params=None, match: str = "permission denied|must be owner|append-only"):
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)


@pytest.mark.services
def test_the_application_role_appends_and_reads_only(roles, hekou_user, monkeypatch):
    owner, app = roles
    with backdated(400, monkeypatch):
        old = AuditEvent.objects.create(action="view", username="old")
    as_role(app)
    event = audit_api.audit(hekou_user, "view", target=("cases.person", 1, "甲"))
    audit_api.audit_many([audit_api.build_event(hekou_user, "list", target="cases.person")])
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    refused(f"UPDATE {TABLE} SET username = 'x' WHERE id = %s", [event.pk])  # noqa: S608
    refused(f"DELETE FROM {TABLE} WHERE id = %s", [old.pk])  # noqa: S608
    refused(f"TRUNCATE {TABLE}")
    refused(f"ALTER TABLE {TABLE} DISABLE TRIGGER cases_auditevent_append_only")
    refused(f"DROP TRIGGER cases_auditevent_chain ON {TABLE}")
    refused("UPDATE cases_auditchainhead SET anchor_seq = 0, anchor_hash = ''")
    with pytest.raises(audit_api.AuditPruneRefused):
        audit_api.prune_audit(days=183)
    assert AuditEvent.objects.filter(pk=old.pk).exists()

    # The owner prunes the old row; the chain still verifies.
    as_role(owner)
    assert audit_api.prune_audit(days=183) == 1
    assert audit_api.audit_verify().ok


@pytest.mark.services
def test_the_owner_owns_every_table_and_the_app_none(roles):
    owner, app = roles
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
        assert [row[0] for row in cursor.fetchall()] == [owner]
        cursor.execute(
            "SELECT privilege_type FROM information_schema.role_table_grants "
            "WHERE grantee = %s AND table_name = %s ORDER BY 1",
            [app, TABLE],
        )
        assert [row[0] for row in cursor.fetchall()] == ["INSERT", "SELECT"]
