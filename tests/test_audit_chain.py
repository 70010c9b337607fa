"""The audit trail cannot be rewritten (docs/SECURITY.md "Audit trail"): append-only triggers
on both databases, the database's time, the hash chain and `audit_verify`, the prune."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from cases import audit as audit_api
from cases import audit_chain
from cases.models import AuditChainHead, AuditEvent

from .audit_chain_support import backdated, trigger_off
from .conftest import database_url_for_subprocess, service_unavailable

TABLE = "cases_auditevent"


def raw(sql: str, params=None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def trail(user, n: int = 5) -> list[AuditEvent]:
    return [
        audit_api.audit(user, "view", target=("cases.person", k, f"甲{k}"), details={"k": k})
        for k in range(n)
    ]


def verify_output(capsys, *args) -> str:
    call_command("audit_verify", *args)
    return capsys.readouterr().out


def broken(*args) -> str:
    with pytest.raises(CommandError) as error:
        call_command("audit_verify", *args)
    return str(error.value)


# --- append-only on both databases ---------------------------------------------------------


def test_raw_update_and_delete_are_refused_by_the_database(db, hekou_user):
    """Before: on SQLite every raw UPDATE and DELETE succeeded."""
    event = trail(hekou_user, 1)[0]
    for sql in (
        f"UPDATE {TABLE} SET username = 'forged' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {TABLE} WHERE id = %s",  # noqa: S608
        f"DELETE FROM {TABLE}",  # noqa: S608
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            raw(sql, [event.pk] if "%s" in sql else None)
    assert AuditEvent.objects.get(pk=event.pk).username == "hekou"


def test_a_back_dated_insert_does_not_keep_its_time(db, hekou_user):
    """The caller's time never reaches the table: the ORM's is replaced by the database's;
    a raw back-dated insert is refused (SQLite) or stored with now() (PostgreSQL)."""
    past = timezone.now() - timedelta(days=400)
    event = AuditEvent(action="view", username="hekou", created_at=past)
    event.save()
    assert AuditEvent.objects.get(pk=event.pk).created_at > past + timedelta(days=399)

    head = AuditChainHead.objects.get(id=1)
    values = [past, "forger", head.seq + 1, "0" * 64]
    insert = (
        f"INSERT INTO {TABLE} (created_at, username, action, target_model, target_id, "  # noqa: S608
        "target_label, details, result, method, path, chain_seq, chain_hash) "
        "VALUES (%s, %s, 'view', '', '', '', '{}', 'ok', '', '', %s, %s)"
    )
    if connection.vendor == "sqlite":
        with pytest.raises(DatabaseError, match="审计记录时间不是当前时间"):
            raw(insert, values)
        assert not AuditEvent.objects.filter(username="forger").exists()
    else:
        raw(insert, values)
        forged = AuditEvent.objects.get(username="forger")
        assert forged.created_at > past + timedelta(days=399)
        # …and without the key its hash breaks the chain.
        assert f"序号 {head.seq + 1}" in broken()


def test_an_insert_outside_the_chain_is_refused(db, hekou_user):
    trail(hekou_user, 2)
    head = AuditChainHead.objects.get(id=1)
    columns = (
        f"INSERT INTO {TABLE} (created_at, username, action, target_model, target_id, "  # noqa: S608
        "target_label, details, result, method, path, chain_seq, chain_hash) "
        "VALUES (%s, 'forger', 'view', '', '', '', '{}', 'ok', '', '', %s, %s)"
    )
    for seq, chain_hash in ((None, ""), (head.seq, "a" * 64), (head.seq + 5, "a" * 64)):
        with pytest.raises(DatabaseError, match="审计"):
            raw(columns, [timezone.now(), seq, chain_hash])
    assert not AuditEvent.objects.filter(username="forger").exists()
    assert AuditChainHead.objects.get(id=1).seq == head.seq


@pytest.mark.services
def test_the_prune_session_variable_no_longer_deletes(postgres, db, hekou_user, monkeypatch):
    """Before: `SET LOCAL huoqiu.audit_prune = 'on'` let any role delete old rows."""
    with backdated(400, monkeypatch):
        old = AuditEvent.objects.create(action="view", username="old")
    role = throwaway_role("huoqiu_test_app", grants="SELECT, INSERT, DELETE")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("SET LOCAL huoqiu.audit_prune = 'on'")
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [old.pk])  # noqa: S608
    assert AuditEvent.objects.filter(pk=old.pk).exists()


def throwaway_role(name: str, *, grants: str) -> str:
    """A role created inside the test's transaction (gone at its rollback), granted
    `grants` on the audit table and what appending needs, but not its owner."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        )
        if not cursor.fetchone()[0]:
            service_unavailable("the test database user cannot create roles")
        cursor.execute(f"CREATE ROLE {name} NOLOGIN")
        cursor.execute(f"GRANT {grants} ON {TABLE} TO {name}")
        cursor.execute(f"GRANT SELECT, UPDATE ON cases_auditchainhead TO {name}")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {name}")
    return name


@pytest.mark.services
def test_truncate_is_refused_to_a_role_that_does_not_own_the_table(postgres, db, hekou_user):
    """Before: `TRUNCATE cases_auditevent` committed. The role here even holds the TRUNCATE
    privilege; the trigger still refuses it because the role is not the owner."""
    trail(hekou_user, 2)
    role = throwaway_role("huoqiu_test_truncater", grants="SELECT, INSERT, TRUNCATE")
    with (
        pytest.raises(DatabaseError, match="TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows' deferred FK checks
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 2


@pytest.mark.services
def test_truncate_by_the_owner_passes_the_trigger(postgres, transactional_db, hekou_user):
    """Django's test runner flushes with TRUNCATE as the owner; the append goes on after."""
    trail(hekou_user, 2)
    raw(f"TRUNCATE {TABLE}, cases_auditchainhead")
    assert not AuditEvent.objects.exists()
    trail(hekou_user, 1)
    assert AuditEvent.objects.get().chain_seq == 1


# --- the chain and audit_verify ------------------------------------------------------------


def test_every_path_chains_and_verify_passes(db, hekou_user, capsys):
    trail(hekou_user, 3)
    audit_api.audit_many(
        audit_api.build_event(hekou_user, "list", target="cases.person") for _ in range(4)
    )
    AuditEvent.objects.create(action="login", username="hekou")
    events = list(AuditEvent.objects.order_by("id"))
    assert [event.chain_seq for event in events] == list(range(1, 9))
    assert all(len(event.chain_hash) == 64 for event in events)
    assert AuditChainHead.objects.get(id=1).last_hash == events[-1].chain_hash
    out = verify_output(capsys)
    assert "完整" in out and "已校验8条" in out and "0条建链前" in out


def test_verify_reports_a_changed_row_as_the_first_broken_link(db, hekou_user, monkeypatch):
    events = trail(hekou_user, 6)
    target = events[3]
    with trigger_off(_update_trigger()):
        raw(f"UPDATE {TABLE} SET username = 'someone-else' WHERE id = %s", [target.pk])  # noqa: S608
    message = broken()
    assert f"序号 {target.chain_seq}" in message and f"id {target.pk}" in message
    assert "哈希不符" in message and "类型 hash" in message


def test_verify_reports_a_removed_row_as_a_gap(db, hekou_user):
    events = trail(hekou_user, 6)
    with trigger_off(_delete_trigger()):
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[2].pk])  # noqa: S608
    message = broken()
    assert "类型 gap" in message and f"第{events[2].chain_seq}条" in message


def test_verify_reports_a_cut_off_tail(db, hekou_user):
    events = trail(hekou_user, 4)
    with trigger_off(_delete_trigger()):
        raw(f"DELETE FROM {TABLE} WHERE id = %s", [events[-1].pk])  # noqa: S608
    assert "类型 tail" in broken()


def test_verify_counts_legacy_rows_and_refuses_unchained_rows_after_the_chain(
    db, hekou_user, capsys
):
    insert = (
        f"INSERT INTO {TABLE} (created_at, username, action, target_model, target_id, "  # noqa: S608
        "target_label, details, result, method, path, chain_hash) "
        "VALUES (%s, 'legacy', 'view', '', '', '', '{}', 'ok', '', '', '')"
    )
    with trigger_off("cases_auditevent_chain"):
        raw(insert, [timezone.now()])  # a row from before the chain (migration 0008)
    trail(hekou_user, 2)
    assert "1条建链前" in verify_output(capsys)
    with trigger_off("cases_auditevent_chain"):
        raw(insert, [timezone.now()])  # written around the chain, by the owner
    assert "类型 unchained" in broken()


def test_verify_since_seq_starts_there(db, hekou_user, capsys):
    trail(hekou_user, 5)
    assert "已校验2条（序号4–5）" in verify_output(capsys, "--since-seq", "4")


def test_a_wrong_key_breaks_the_chain_and_a_fallback_key_verifies(db, hekou_user, settings):
    settings.AUDIT_CHAIN_KEY = "k" * 40
    trail(hekou_user, 2)
    settings.AUDIT_CHAIN_KEY = "n" * 40
    assert "类型 hash" in broken()
    settings.AUDIT_CHAIN_KEY_FALLBACKS = ["k" * 40]
    assert audit_api.audit_verify().ok


def test_details_round_trip_through_the_database_hash_the_same(db, hekou_user):
    audit_api.audit(
        hekou_user,
        "export",
        details={"rows": 3, "big": 1e20, "ratio": 0.1, "b": [1, "二", None, True], "a": {"z": 1.0}},
    )
    assert audit_api.audit_verify().ok


def _update_trigger() -> str:
    return (
        "cases_auditevent_append_only"
        if connection.vendor == "postgresql"
        else "cases_auditevent_no_update"
    )


def _delete_trigger() -> str:
    return (
        "cases_auditevent_append_only"
        if connection.vendor == "postgresql"
        else "cases_auditevent_no_delete"
    )


@pytest.mark.services
def test_concurrent_appends_make_one_gapless_chain(postgres, transactional_db, hekou_user):
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def writer(n: int):
        try:
            start.wait()
            for k in range(25):
                if k % 5 == 0:
                    audit_api.audit_many(
                        audit_api.build_event(hekou_user, "list", target=f"t{n}") for _ in range(3)
                    )
                else:
                    audit_api.audit(hekou_user, "view", target=f"t{n}-{k}")
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    seqs = list(AuditEvent.objects.order_by("chain_seq").values_list("chain_seq", flat=True))
    assert seqs == list(range(1, 3 * (20 + 5 * 3) + 1))
    assert audit_api.audit_verify().ok


# --- prune ---------------------------------------------------------------------------------


def test_prune_keeps_the_chain_verifiable(db, hekou_user, monkeypatch, capsys):
    with backdated(400, monkeypatch):
        trail(hekou_user, 3)
    with backdated(300, monkeypatch):
        trail(hekou_user, 2)
    trail(hekou_user, 2)
    call_command("prune_audit", "--days", "350")
    assert AuditEvent.objects.filter(action="view").count() == 4
    head = AuditChainHead.objects.get(id=1)
    assert head.anchor_seq == 3 and len(head.anchor_hash) == 64
    prune = AuditEvent.objects.get(action="delete")
    assert prune.details["pruned_through_seq"] == 3
    out = verify_output(capsys)
    assert "完整" in out and "序号4–" in out
    # The DELETE guard is back after the prune (SQLite re-creates it).
    with pytest.raises(DatabaseError, match="append-only"):
        raw(f"DELETE FROM {TABLE}")  # noqa: S608


def test_prune_cuts_the_chain_only_before_its_first_young_event(db, hekou_user, monkeypatch):
    """An old event numbered after a young one (a long transaction) stays until the young
    one goes: the chain is cut at a number, never in the middle."""
    with backdated(400, monkeypatch):
        trail(hekou_user, 2)
    trail(hekou_user, 1)
    with backdated(400, monkeypatch):
        trail(hekou_user, 1)
    assert audit_api.prune_audit(days=200) == 2
    assert AuditChainHead.objects.get(id=1).anchor_seq == 2
    assert audit_api.audit_verify().ok


def test_prune_removes_legacy_rows_past_the_retention(db, hekou_user):
    insert = (
        f"INSERT INTO {TABLE} (created_at, username, action, target_model, target_id, "  # noqa: S608
        "target_label, details, result, method, path, chain_hash) "
        "VALUES (%s, 'legacy', 'view', '', '', '', '{}', 'ok', '', '', '')"
    )
    with trigger_off("cases_auditevent_chain"), trigger_off("cases_auditevent_db_time"):
        raw(insert, [timezone.now() - timedelta(days=500)])
    trail(hekou_user, 1)
    assert audit_api.prune_audit(days=365) == 1
    assert audit_api.audit_verify().ok


@pytest.mark.services
def test_prune_as_the_application_role_is_refused(postgres, db, hekou_user, monkeypatch):
    with backdated(400, monkeypatch):
        old = AuditEvent.objects.create(action="view", username="old")
    role = throwaway_role("huoqiu_test_app_prune", grants="SELECT, INSERT, DELETE")
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {role}")
    try:
        with pytest.raises(audit_api.AuditPruneRefused, match="所有者"):
            audit_api.prune_audit(days=183)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert AuditEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.services
def test_prune_connects_as_the_owner_given_by_url(
    postgres, transactional_db, hekou_user, monkeypatch, capsys
):
    with backdated(400, monkeypatch):
        trail(hekou_user, 2)
    trail(hekou_user, 1)
    call_command("prune_audit", "--database-url", database_url_for_subprocess())
    assert "已删除2条" in capsys.readouterr().out
    assert audit_api.audit_verify().ok
    assert audit_api.OWNER_ALIAS not in connections


def test_the_chain_is_stable_for_one_event():
    """The serialisation is fixed: a change of it must bump FORMAT (and re-verify)."""
    fields = {
        "chain_seq": 1,
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "actor_id": 7,
        "username": "hekou",
        "ip_address": "10.1.2.3",
        "action": "view",
        "target_model": "cases.person",
        "target_id": "1",
        "target_label": "甲",
        "details": {"b": 1.0, "a": [1, "二"]},
        "result": "ok",
        "method": "GET",
        "path": "/persons/1/",
    }
    assert audit_chain.canonical(fields) == (
        b"huoqiu-audit-v1\x00"
        + '["1", "2026-01-02T03:04:05.000006Z", "7", "hekou", "10.1.2.3", "view", '
        '"cases.person", "1", "甲", "{\\"a\\":[1,\\"二\\"],\\"b\\":1}", "ok", "GET", '
        '"/persons/1/"]'.encode()
    )
    assert audit_chain.link_hash(b"k", "", fields) != audit_chain.link_hash(b"k", "x", fields)
