"""The audit trail's hash chain (docs/SECURITY.md "Audit trail").

Every `AuditEvent` gets `chain_seq` (1, 2, 3 … without gaps) and `chain_hash` =
HMAC-SHA256(key, previous event's hash + the event's canonical serialisation). The key
is `AUDIT_CHAIN_KEY` (or, unset, one derived from `SECRET_KEY` under a label of its own),
which lives in the application's environment and never in the database: someone who can
only reach the database cannot write an event, or change or remove one, without breaking
the chain that `manage.py audit_verify` walks.

Appends are serialised through the one-row head table `cases_auditchainhead` (the last
sequence number and hash): `lock_head` locks it (PostgreSQL `SELECT … FOR UPDATE`;
SQLite takes its database write lock) in the transaction that inserts the events; the
database's insert trigger checks each new row's number follows the head and advances
the head, so the append costs one extra statement and no extra UPDATE round trip.

The event's time is the database's: PostgreSQL's insert trigger sets `created_at :=
now()` (the transaction's start time), which `lock_head` reads in the same statement,
so the hash covers the stored value exactly; SQLite cannot change a row in a BEFORE
trigger, so its trigger refuses an insert whose time is more than
`SQLITE_CLOCK_TOLERANCE_SECONDS` from the database's clock, and the time is taken after
the write lock is held.

This module imports no models (`cases.models` uses it to chain every save and bulk
insert); `cases.audit` holds the verification and the prune.
"""

import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

EVENT_TABLE = "cases_auditevent"
HEAD_TABLE = "cases_auditchainhead"
HEAD_ID = 1
# The "previous hash" of event 1.
GENESIS = ""
# Bumped if the serialisation ever changes; part of every hashed message.
FORMAT = b"huoqiu-audit-v1"
KEY_LABEL = b"huoqiu.audit-chain-key.v1"
# SQLite: an insert whose created_at is further than this from the database's clock
# (back-dated or in the future) is refused by the trigger.
SQLITE_CLOCK_TOLERANCE_SECONDS = 60
# SQLite's DELETE guard; `sqlite_delete_guard_lifted` drops and re-creates it.
SQLITE_DELETE_TRIGGER = "cases_auditevent_no_delete"


class ChainedEvent(Protocol):
    """What the chain reads and writes on an event (an `AuditEvent`)."""

    created_at: Any
    actor_id: Any
    username: str
    ip_address: Any
    action: str
    target_model: str
    target_id: str
    target_label: str
    details: Any
    result: str
    method: str
    path: str
    chain_seq: int | None
    chain_hash: str


# --- keys ----------------------------------------------------------------------------------


def derive_key(secret: str) -> bytes:
    """The chain key derived from a secret (SECRET_KEY) under the chain's own label, so it is
    never the key that signs sessions."""
    return hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()


def chain_keys() -> list[bytes]:
    """The current key first, then the fallbacks (`verify` accepts any of them)."""
    configured = getattr(settings, "AUDIT_CHAIN_KEY", None)
    if configured:
        keys = [configured.encode()]
        keys += [key.encode() for key in getattr(settings, "AUDIT_CHAIN_KEY_FALLBACKS", [])]
        return keys
    return [derive_key(settings.SECRET_KEY)] + [
        derive_key(secret) for secret in getattr(settings, "SECRET_KEY_FALLBACKS", [])
    ]


# --- the serialisation ---------------------------------------------------------------------


def _plain_json(value: Any) -> Any:
    """`value` as JSON gives it back, with integral floats as integers: PostgreSQL's jsonb
    prints 1e20 as 100000000000000000000, SQLite's text keeps the float."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_json(item) for item in value]
    return value


def canonical_details(details: Any) -> str:
    plain = _plain_json(json.loads(json.dumps(details if details is not None else {})))
    return json.dumps(plain, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_time(value: datetime) -> str:
    if timezone.is_naive(value):  # SQLite without USE_TZ; the project sets USE_TZ
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_ip(value: Any) -> str:
    if not value:
        return ""
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return str(value)


def canonical(fields: dict[str, Any]) -> bytes:
    """The hashed form of one event: its sequence number and every stored field but `id`."""
    parts = [
        str(fields["chain_seq"]),
        canonical_time(fields["created_at"]),
        "" if fields["actor_id"] is None else str(fields["actor_id"]),
        str(fields["username"]),
        canonical_ip(fields["ip_address"]),
        str(fields["action"]),
        str(fields["target_model"]),
        str(fields["target_id"]),
        str(fields["target_label"]),
        canonical_details(fields["details"]),
        str(fields["result"]),
        str(fields["method"]),
        str(fields["path"]),
    ]
    return FORMAT + b"\x00" + json.dumps(parts, ensure_ascii=False).encode()


HASHED_FIELDS = (
    "chain_seq",
    "created_at",
    "actor_id",
    "username",
    "ip_address",
    "action",
    "target_model",
    "target_id",
    "target_label",
    "details",
    "result",
    "method",
    "path",
)


def event_fields(event: ChainedEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in HASHED_FIELDS}


def link_hash(key: bytes, previous: str, fields: dict[str, Any]) -> str:
    message = previous.encode() + b"\x00" + canonical(fields)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --- appending -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    seq: int
    last_hash: str
    now: datetime


def ensure_head(cursor: Any, vendor: str) -> None:
    """Re-create the head row when it is missing (a test database flushed between tests),
    from the last chained event, so numbering continues where the events end."""
    select = (
        f"SELECT {HEAD_ID}, coalesce(max(chain_seq), 0), "  # noqa: S608
        f"coalesce((SELECT chain_hash FROM {EVENT_TABLE} WHERE chain_seq IS NOT NULL "
        f"ORDER BY chain_seq DESC LIMIT 1), ''), 0, '' FROM {EVENT_TABLE}"
    )
    columns = "(id, seq, last_hash, anchor_seq, anchor_hash)"
    if vendor == "postgresql":
        cursor.execute(f"INSERT INTO {HEAD_TABLE} {columns} {select} ON CONFLICT (id) DO NOTHING")
    else:
        cursor.execute(f"INSERT OR IGNORE INTO {HEAD_TABLE} {columns} {select}")


def lock_head(connection: BaseDatabaseWrapper) -> Head:
    """Lock the chain head for the rest of the transaction and read it with the time.

    PostgreSQL: `SELECT … FOR UPDATE` (waits for a concurrent append to commit, then reads
    its head) and `now()`, the value the insert trigger stores. SQLite: a no-op UPDATE
    takes the database's write lock first (waiting up to the busy timeout), so the time
    read afterwards is the time of the insert, within the trigger's tolerance.
    """
    vendor = connection.vendor
    with connection.cursor() as cursor:
        for _attempt in range(2):
            if vendor == "postgresql":
                cursor.execute(
                    f"SELECT seq, last_hash, now() FROM {HEAD_TABLE} "  # noqa: S608
                    f"WHERE id = {HEAD_ID} FOR UPDATE"
                )
            else:
                cursor.execute(
                    f"UPDATE {HEAD_TABLE} SET seq = seq WHERE id = {HEAD_ID} "  # noqa: S608
                    "RETURNING seq, last_hash"
                )
            row = cursor.fetchone()
            if row is not None:
                now = row[2] if vendor == "postgresql" else timezone.now()
                return Head(seq=int(row[0]), last_hash=str(row[1]), now=now)
            ensure_head(cursor, vendor)
    raise RuntimeError("audit chain head could not be created")


def assign(events: Sequence[ChainedEvent], connection: BaseDatabaseWrapper) -> None:
    """Number, time and hash `events` in order, after the head. Call inside the transaction
    that inserts them (the head stays locked until it ends)."""
    if not events:
        return
    head = lock_head(connection)
    key = chain_keys()[0]
    previous = head.last_hash
    for offset, event in enumerate(events, start=1):
        event.chain_seq = head.seq + offset
        event.created_at = head.now
        event.chain_hash = link_hash(key, previous, event_fields(event))
        previous = event.chain_hash


# --- verifying -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """One chained row as `verify_links` reads it."""

    id: int
    fields: dict[str, Any]
    stored_hash: str

    @property
    def seq(self) -> int:
        return int(self.fields["chain_seq"])


@dataclass(frozen=True)
class Break:
    seq: int
    id: int | None
    kind: str  # "hash", "gap", "start", "tail"
    message: str


def verify_links(
    links: Iterable[Link], *, first_seq: int, previous: str, keys: Sequence[bytes]
) -> Iterator[Break | int]:
    """Walk `links` (in sequence order) from `first_seq` whose predecessor's hash is
    `previous`; yield the first break and stop, or yield the number of rows checked."""
    expected = first_seq
    checked = 0
    for link in links:
        if link.seq != expected:
            kind = "start" if checked == 0 else "gap"
            missing = (
                f"第{expected}条" if link.seq == expected + 1 else f"第{expected}–{link.seq - 1}条"
            )
            yield Break(
                expected,
                link.id,
                kind,
                f"缺少{missing}记录（序号{link.seq}的记录之前）/ "
                f"missing seq {expected}..{link.seq - 1} before id {link.id}",
            )
            return
        if not any(
            hmac.compare_digest(link_hash(key, previous, link.fields), link.stored_hash)
            for key in keys
        ):
            yield Break(
                link.seq,
                link.id,
                "hash",
                f"第{link.seq}条记录（id {link.id}）的哈希不符：该记录被改动，"
                f"或不是由本系统写入 / hash mismatch at seq {link.seq} (id {link.id})",
            )
            return
        previous = link.stored_hash
        expected += 1
        checked += 1
    yield checked


# --- SQLite: the DELETE guard --------------------------------------------------------------


@contextmanager
def sqlite_delete_guard_lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """On SQLite, drop the DELETE trigger for the enclosed statements and re-create it
    from its own stored definition afterwards. SQLite has no roles, so this is how the
    prune (and the test runner's flush) deletes; inside a transaction the DDL commits or
    rolls back with the deletion. A no-op on other databases."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
            [SQLITE_DELETE_TRIGGER],
        )
        row = cursor.fetchone()
        if row is not None:
            cursor.execute(f"DROP TRIGGER {SQLITE_DELETE_TRIGGER}")
    try:
        yield
    finally:
        if row is not None:
            with connection.cursor() as cursor:
                cursor.execute(row[0])
