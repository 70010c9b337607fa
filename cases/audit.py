"""The audit trail (docs/SECURITY.md): who did what, when, from which address, to what, with what result.

Service API — call these from views, services, admin actions and commands:

- `audit(request_or_user, action, *, target=None, details=None, result="ok")` — one event.
  `request_or_user` is the request (user, address, path are taken from it), a user
  (commands, tasks) or None (the system; inside a request the current request is used).
  `target` is a model instance, a `(model_label, object_id, label)` tuple or a label.
- `audit_view(request, instance)` — a person or household page was shown.
- `audit_list(request, queryset_label, filters, row_count)` — a list or search (filters and
  the number of rows shown); `action` is `search` when any filter has a value.
- `audit_export(request, queryset_label, filters, row_count, *, fmt)` — an export.
- `audit_download(request, target, filename)` — a stored file was downloaded.
- `audit_changes(request, instance, changes, *, action="update")` — field-level old → new,
  `changes` in the `cases.history.diff` shape `{field: [old, new]}`.
- `audit_import_batch(batch)` / `audit_crosscheck_run(run)` — called by those services.
- `audit_many(events)` with `build_event(...)` — many events in one bulk insert.

Automatic parts:
- `AuditMiddleware` keeps the current request in a context variable and, after the
  response, records an event for every authenticated request that did not record one
  itself: `view` for GET (path, query, status), `update` for a POST (the submitted
  fields, masked, no passwords), `denied`/`error` for refused or failed ones — so nothing
  goes unaudited even where a view or service forgot to call the API.
- `cases.history.record_change` calls `audit_change_record`, so every single-object write
  a service makes during a request is audited with its field-level diff (once per object
  and action per request, even if the view also calls `audit_changes`).
- Login, logout and failed logins are recorded by `cases.sessions` (auth signals).

Everything stored is masked first: ID numbers as 6 + ******** + 4, phone numbers as
3 + **** + 4 (`mask_data`), by field name and by pattern inside any text.

Every event is numbered and hashed into a chain as it is inserted (`cases.audit_chain`,
through `AuditEvent.save` and `bulk_create`); `audit_verify()` walks it and `prune_audit()`
is the one deletion, as the table's owner (docs/SECURITY.md "Audit trail").
"""

import contextvars
import ipaddress
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict, Unpack

import dj_database_url
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.models import Model
from django.db.utils import load_backend
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from . import audit_chain
from .identity import mask_id_number
from .masking import MaskingFilter, mask_data, mask_text
from .models import AuditChainHead, AuditEvent

__all__ = ["MaskingFilter", "mask_data", "mask_text"]

logger = logging.getLogger(__name__)

Action = AuditEvent.Action
Result = AuditEvent.Result

MINIMUM_RETENTION_DAYS = 183  # six months: the trigger refuses younger deletions too

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "huoqiu_audit_request", default=None
)

# --- who, where ----------------------------------------------------------------------------


def client_ip(request: HttpRequest | None) -> str | None:
    """The client address. Behind the TLS proxy (BEHIND_TLS_PROXY) the proxy appends the
    address it saw to X-Forwarded-For: the last entry is the one we can trust."""
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            candidate = forwarded[-1]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def current_request() -> HttpRequest | None:
    return _current_request.get()


def _is_request(value) -> bool:
    return isinstance(value, HttpRequest) or hasattr(value, "META")


def _resolve(request_or_user):
    """(request or None, user or None)."""
    if request_or_user is None:
        request = current_request()
        return request, getattr(request, "user", None) if request is not None else None
    if _is_request(request_or_user):
        return request_or_user, getattr(request_or_user, "user", None)
    # A user: inside that user's request, take the address and path from the request.
    request = current_request()
    if request is not None and getattr(request, "user", None) == request_or_user:
        return request, request_or_user
    return None, request_or_user


def _target(target) -> tuple[str, str, str]:
    if target is None:
        return "", "", ""
    if isinstance(target, Model):
        return target._meta.label_lower, str(target.pk or ""), audit_label(target)
    if isinstance(target, tuple):
        model, object_id, label = (*target, "", "", "")[:3]
        return str(model), str(object_id or ""), mask_text(str(label))
    return "", "", mask_text(str(target))


def audit_label(instance: Model) -> str:
    """A short, masked description of a record: name and masked ID when it has one."""
    label = str(instance)
    id_number = getattr(instance, "id_number", None) or getattr(instance, "head_id_number", None)
    if id_number and isinstance(id_number, str):
        label = f"{label}（{mask_id_number(id_number)}）"
    return mask_text(label)[:200]


def _mark_audited(request) -> None:
    if request is not None:
        request._huoqiu_audited = True


class EventFields(TypedDict, total=False):
    """The keywords `audit` passes on to `build_event`."""

    target: Any
    details: Mapping | None
    result: str
    path: str | None


# No text in an audit row is longer than this: the services refuse longer free text
# (`cases.casework_base.NOTE_MAX_LENGTH`), so only a value that slipped past them is cut.
AUDIT_TEXT_MAX = 2000
# A submitted form field kept by the middleware: enough to see what was typed.
AUDIT_FORM_VALUE_MAX = 200
# How many values of one repeated form field are kept.
AUDIT_FORM_VALUES_MAX = 50


def clipped(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marked with the length it had."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…（已截断，原有{len(text)}个字）"


def _bounded(value):
    """`value` (details) with every string in it clipped to `AUDIT_TEXT_MAX`."""
    if isinstance(value, str):
        return clipped(value, AUDIT_TEXT_MAX)
    if isinstance(value, Mapping):
        return {key: _bounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_bounded(item) for item in value]
    return value


def build_event(
    request_or_user,
    action: str,
    *,
    target=None,
    details: Mapping | None = None,
    result: str = Result.OK,
    path: str | None = None,
) -> AuditEvent:
    """An unsaved, masked event (for `audit_many`)."""
    request, user = _resolve(request_or_user)
    authenticated = bool(getattr(user, "is_authenticated", False))
    model, object_id, label = _target(target)
    return AuditEvent(
        created_at=timezone.now(),
        actor=user if authenticated else None,
        username=(user.get_username() if authenticated else "")[:150],
        ip_address=client_ip(request),
        action=Action(action),
        target_model=model[:64],
        target_id=object_id[:64],
        target_label=label[:200],
        # Masked before it is clipped, so a cut never leaves part of a number unmasked.
        details=_bounded(mask_data(dict(details or {}))),
        result=Result(result),
        method=(request.method or "")[:8] if request is not None else "",
        path=mask_text(path if path is not None else (request.path if request else ""))[:500],
    )


def audit(request_or_user, action: str, **fields: Unpack[EventFields]) -> AuditEvent:
    """Record one event now (see the module docstring; `fields` as for `build_event`)."""
    event = build_event(request_or_user, action, **fields)
    event.save()
    request, _ = _resolve(request_or_user)
    _mark_audited(request)
    return event


def audit_many(events: Iterable[AuditEvent]) -> int:
    """Insert many prepared events in one statement per 500."""
    events = list(events)
    AuditEvent.objects.bulk_create(events, batch_size=500)
    _mark_audited(current_request())
    return len(events)


def plain_filters(filters) -> dict:
    """Request parameters as a JSON-safe dict (single values unwrapped, CSRF token dropped)."""
    if filters is None:
        return {}
    if isinstance(filters, QueryDict):
        items = {key: filters.getlist(key) for key in filters}
    else:
        items = dict(filters)
    plain = {}
    for key, value in items.items():
        if key == "csrfmiddlewaretoken":
            continue
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        plain[str(key)] = value
    return plain


def _has_filter_value(filters: dict) -> bool:
    return any(
        value not in ("", None, [], ()) for key, value in filters.items() if key not in ("page",)
    )


def audit_view(request, instance: Model, *, details: Mapping | None = None) -> AuditEvent:
    """A detail page (person, household, case…) was shown."""
    return audit(request, Action.VIEW, target=instance, details=details)


def audit_list(
    request, queryset_label: str, filters, row_count: int, *, details: Mapping | None = None
) -> AuditEvent:
    """A list page or search: what was listed, with which filters, how many rows were shown."""
    plain = plain_filters(filters)
    action = Action.SEARCH if _has_filter_value(plain) else Action.LIST
    return audit(
        request,
        action,
        target=queryset_label,
        details={"filters": plain, "rows": int(row_count), **(details or {})},
    )


def audit_export(
    request_or_user,
    queryset_label: str,
    filters,
    row_count: int,
    *,
    fmt: str = "",
    details: Mapping | None = None,
) -> AuditEvent:
    """An export (xlsx/csv/json…): what, with which filters, how many rows, which format."""
    return audit(
        request_or_user,
        Action.EXPORT,
        target=queryset_label,
        details={
            "filters": plain_filters(filters),
            "rows": int(row_count),
            "format": fmt,
            **(details or {}),
        },
    )


def audit_download(request, target, filename: str, *, result: str = Result.OK) -> AuditEvent:
    """A stored file (an import's original or error report…) was downloaded."""
    return audit(request, Action.DOWNLOAD, target=target, details={"file": filename}, result=result)


def _already(request, key) -> bool:
    """True when this request already audited `key`; remembers it otherwise."""
    if request is None:
        return False
    seen = getattr(request, "_huoqiu_audited_changes", None)
    if seen is None:
        seen = set()
        request._huoqiu_audited_changes = seen
    if key in seen:
        return True
    seen.add(key)
    return False


def audit_changes(
    request_or_user,
    instance: Model,
    changes: Mapping,
    *,
    action: str = Action.UPDATE,
    reason: str = "",
) -> AuditEvent | None:
    """Field-level old → new of one write (`changes` as `cases.history.diff` returns it).

    Once per object and action per request: a write already audited through
    `cases.history.record_change` is not recorded twice.
    """
    request, _ = _resolve(request_or_user)
    key = (instance._meta.label_lower, str(instance.pk), str(action))
    if _already(request, key):
        return None
    details = {"changes": dict(changes)}
    if reason:
        details["reason"] = reason
    return audit(request_or_user, action, target=instance, details=details)


def audit_change_record(record, instance: Model | None = None) -> AuditEvent | None:
    """Called by `cases.history.record_change`: audit a service's write made during a request.

    Outside a request (imports, commands, tasks) the history row itself is the record
    and the run is audited once (`audit_import_batch`, `audit_crosscheck_run`).
    """
    request = current_request()
    if request is None:
        return None
    key = (record.model, str(record.object_id), str(record.action))
    if _already(request, key):
        return None
    label = audit_label(instance) if instance is not None else f"{record.model}#{record.object_id}"
    target = (record.model, record.object_id, label)
    details = {"changes": record.changes}
    if record.reason:
        details["reason"] = record.reason
    if record.source:
        details["source"] = record.source
    return audit(request, record.action, target=target, details=details)


def _audit_run(run, request_or_user, by, action: str, label: str, details: dict) -> AuditEvent:
    """One event for an import or cross-check run, `done` or failed; without a request
    it is recorded as `by` (who started the run) and with no path."""
    return audit(
        request_or_user if request_or_user is not None else by,
        action,
        target=(run._meta.label_lower, run.pk, label),
        details=details,
        result=Result.OK if str(run.status) == "done" else Result.ERROR,
        path=None if request_or_user is not None else "",
    )


def audit_import_batch(batch, request_or_user=None) -> AuditEvent:
    """One event per import run: source, file, outcome and counts."""
    return _audit_run(
        batch,
        request_or_user,
        batch.uploaded_by,
        Action.IMPORT,
        f"导入批次{batch.pk}（{batch.original_name}）",
        {
            "source": str(batch.source),
            "status": str(batch.status),
            "sha256": batch.sha256,
            "rows": batch.rows,
            "created": batch.created,
            "updated": batch.updated,
            "unchanged": batch.unchanged,
            "skipped": batch.skipped,
            "errors": len(batch.errors or ()),
            "message": batch.message,
        },
    )


def audit_crosscheck_run(run, request_or_user=None) -> AuditEvent:
    """One event per finished or failed cross-check run."""
    return _audit_run(
        run,
        request_or_user,
        run.triggered_by,
        Action.CROSSCHECK,
        f"比对#{run.pk}（基准日{run.as_of}）",
        {
            "as_of": str(run.as_of),
            "status": str(run.status),
            "new": run.new,
            "still_open": run.still_open,
            "cleared": run.cleared,
            "message": run.message,
            # The event's user is the staff member, if any; a scheduled or command-line run
            # has none, so the trigger (and the OS user of a command) says who started it.
            "trigger": str(run.trigger),
            "started_by": run.started_by_label,
        },
    )


# --- the middleware ------------------------------------------------------------------------

_UNAUDITED_PREFIXES = ("/static/", "/favicon")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


_SECRET_FIELDS = re.compile(r"password|csrfmiddlewaretoken|token|secret", re.IGNORECASE)


def _submitted(request) -> dict:
    """The submitted form fields (not passwords or tokens), each value cut to 200 characters
    with a marker (a refused 1,000,000-character note must not make a megabyte row);
    uploaded files by name. Masked with the rest of the details when saved."""
    form = {}
    try:
        data = request.POST
        files = request.FILES
    except Exception:  # an unreadable body (e.g. too large): nothing to record
        return form
    for key in data:
        if _SECRET_FIELDS.search(key):
            continue
        values = [
            clipped(mask_data({key: value})[key], AUDIT_FORM_VALUE_MAX)
            for value in data.getlist(key)[:AUDIT_FORM_VALUES_MAX]
        ]
        form[key] = values[0] if len(values) == 1 else values
    for key in files:
        form[key] = [uploaded.name for uploaded in files.getlist(key)]
    return form


def _result_for(status: int) -> str:
    if status >= 500:
        return Result.ERROR
    if status in (401, 403, 404, 405):
        return Result.DENIED
    return Result.OK


class AuditMiddleware:
    """Keeps the request in a context variable; audits every request nobody audited explicitly.

    Place it after AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _current_request.reset(token)
        self._fallback(request, response)
        return response

    def _fallback(self, request, response) -> None:
        if getattr(request, "_huoqiu_audited", False):
            return
        if request.path.startswith(_UNAUDITED_PREFIXES):
            return
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return  # login page and anonymous redirects; logins are audited by signals
        status = response.status_code
        safe = request.method in _SAFE_METHODS
        details = {"status": status}
        query = plain_filters(request.GET)
        if query:
            details["query"] = query
        if not safe:
            # A write that recorded no event itself (services normally do, through
            # history → audit_change_record): keep what was submitted, masked.
            details["form"] = _submitted(request)
        try:
            audit(
                request,
                Action.VIEW if safe else Action.UPDATE,
                details=details,
                result=_result_for(status),
            )
        except Exception:
            # Never turn a served page into an error page; the failure itself is logged.
            logger.exception(
                "audit event for %s %s could not be written", request.method, request.path
            )


# --- retention -----------------------------------------------------------------------------


class AuditPruneRefused(Exception):
    """The prune's connection is not the audit table's owner (docs/OPERATIONS.md)."""


def retention_days() -> int:
    return max(
        int(getattr(settings, "AUDIT_RETENTION_DAYS", MINIMUM_RETENTION_DAYS)),
        MINIMUM_RETENTION_DAYS,
    )


OWNER_ALIAS = "audit_owner"


@contextmanager
def owner_connection(database_url: str | None) -> Iterator[Any]:
    """A connection as the audit table's owner (`--database-url`, else
    `AUDIT_OWNER_DATABASE_URL`), or the default connection when neither is set (SQLite,
    or a deployment whose application role still owns the tables). The owner's
    connection is made for the prune alone and closed after it, never registered for
    the rest of the process."""
    url = database_url or getattr(settings, "AUDIT_OWNER_DATABASE_URL", None)
    if not url:
        yield connection
        return
    config = connections.configure_settings(
        {
            DEFAULT_DB_ALIAS: connections.settings[DEFAULT_DB_ALIAS],
            OWNER_ALIAS: dj_database_url.parse(url),
        }
    )[OWNER_ALIAS]
    owner = load_backend(config["ENGINE"]).DatabaseWrapper(config, OWNER_ALIAS)
    try:
        yield owner
    finally:
        owner.close()


@contextmanager
def _one_transaction(conn) -> Iterator[None]:
    """`transaction.atomic` for the default connection; commit or roll back the owner's."""
    if conn is connection:
        with transaction.atomic():
            yield
        return
    conn.set_autocommit(False)
    try:
        yield
    except BaseException:
        conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.set_autocommit(True)


def _locked_head(conn, cursor) -> tuple[int, str, int, str]:
    """(seq, last_hash, anchor_seq, anchor_hash), the head locked for the transaction."""
    table = audit_chain.HEAD_TABLE
    for _attempt in range(2):
        if conn.vendor == "postgresql":
            cursor.execute(
                f"SELECT seq, last_hash, anchor_seq, anchor_hash FROM {table} "  # noqa: S608
                "WHERE id = 1 FOR UPDATE"
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET seq = seq WHERE id = 1 "  # noqa: S608
                "RETURNING seq, last_hash, anchor_seq, anchor_hash"
            )
        row = cursor.fetchone()
        if row is not None:
            return int(row[0]), str(row[1]), int(row[2]), str(row[3])
        audit_chain.ensure_head(cursor, conn.vendor)
    raise RuntimeError("audit chain head could not be created")


def _prune_through(cursor, cutoff, head_seq: int, anchor_seq: int) -> int:
    """The last sequence number the prune may remove: the chain is cut only before its
    first event that is still within the retention, so what stays is one unbroken run."""
    table = audit_chain.EVENT_TABLE
    cursor.execute(
        f"SELECT min(chain_seq) FROM {table} "  # noqa: S608
        "WHERE chain_seq IS NOT NULL AND created_at >= %s",
        [cutoff],
    )
    first_kept = cursor.fetchone()[0]
    through = head_seq if first_kept is None else int(first_kept) - 1
    return max(through, anchor_seq)


def prune_audit(
    days: int | None = None,
    *,
    user=None,
    dry_run: bool = False,
    database_url: str | None = None,
) -> int:
    """Delete audit events older than the retention (never fewer than 183 days).

    The only code path that deletes audit rows. On PostgreSQL it runs as the table's
    owner (`database_url` / `AUDIT_OWNER_DATABASE_URL`): the trigger lets only the owner
    delete, and only rows older than 183 days. On SQLite it lifts the DELETE trigger
    inside its transaction. The chain is cut at a sequence number, never in the middle:
    the number and hash of the last removed event become the head's anchor, where
    `audit_verify` starts. The prune itself is recorded as an event.
    """
    days = max(int(days if days is not None else retention_days()), MINIMUM_RETENTION_DAYS)
    cutoff = timezone.now() - timedelta(days=days)
    table = audit_chain.EVENT_TABLE
    delete_where = "created_at < %s AND (chain_seq IS NULL OR chain_seq <= %s)"
    with owner_connection(database_url) as conn:
        try:
            with (
                _one_transaction(conn),
                conn.cursor() as cursor,
                audit_chain.sqlite_delete_guard_lifted(conn),
            ):
                head_seq, last_hash, anchor_seq, anchor_hash = _locked_head(conn, cursor)
                through = _prune_through(cursor, cutoff, head_seq, anchor_seq)
                if dry_run:
                    cursor.execute(
                        f"SELECT count(*) FROM {table} WHERE {delete_where}",  # noqa: S608
                        [cutoff, through],
                    )
                    return int(cursor.fetchone()[0])
                if through > anchor_seq:
                    cursor.execute(
                        f"SELECT chain_hash FROM {table} WHERE chain_seq = %s",  # noqa: S608
                        [through],
                    )
                    row = cursor.fetchone()
                    anchor_hash = str(row[0]) if row else (last_hash if through == head_seq else "")
                cursor.execute(
                    f"DELETE FROM {table} WHERE {delete_where}",  # noqa: S608
                    [cutoff, through],
                )
                deleted = cursor.rowcount
                cursor.execute(
                    f"UPDATE {audit_chain.HEAD_TABLE} "  # noqa: S608
                    "SET anchor_seq = %s, anchor_hash = %s WHERE id = 1",
                    [through, anchor_hash],
                )
        except DatabaseError as error:
            # The trigger's refusal, or the role lacks DELETE: both insufficient_privilege.
            cause = error.__cause__
            code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
            refused = code == "42501"
            if not refused and "append-only" not in str(error):
                raise
            raise AuditPruneRefused(
                "数据库拒绝删除审计记录：清理须以审计表所有者的数据库角色运行"
                "（--database-url 或 AUDIT_OWNER_DATABASE_URL，见 docs/OPERATIONS.md）/ "
                "the prune must connect as the audit table's owner"
            ) from error
    audit(
        user,
        Action.DELETE,
        target=(AuditEvent._meta.label_lower, "", "审计日志清理"),
        details={
            "deleted": deleted,
            "older_than": cutoff.isoformat(),
            "retention_days": days,
            # Its hash is the head's anchor; not repeated here, where the masking would
            # take a run of its digits for an ID number.
            "pruned_through_seq": through,
        },
        path="",
    )
    return deleted


# --- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What `audit_verify` found: the rows checked, the legacy rows, the head, the first break."""

    checked: int
    legacy: int
    first_seq: int
    head_seq: int
    head_hash: str
    broken: audit_chain.Break | None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _links(first_seq: int) -> Iterator[audit_chain.Link]:
    rows = (
        AuditEvent.objects.filter(chain_seq__gte=first_seq)
        .order_by("chain_seq")
        .values("id", "chain_hash", *audit_chain.HASHED_FIELDS)
        .iterator(chunk_size=2000)
    )
    for row in rows:
        row_id = row.pop("id")
        stored = row.pop("chain_hash")
        yield audit_chain.Link(id=row_id, fields=row, stored_hash=stored)


def _hash_of(seq: int) -> str | None:
    return AuditEvent.objects.filter(chain_seq=seq).values_list("chain_hash", flat=True).first()


def audit_verify(*, since_seq: int | None = None) -> ChainReport:
    """Walk the chain in sequence order (streamed), recompute every hash, and report the
    first broken link: a changed or foreign row (hash), a removed one (gap), removed rows
    at the start (start) or at the end (tail), or an unchained row written after the
    chain began (unchained)."""
    head = AuditChainHead.objects.filter(id=1).first()
    head_seq = head.seq if head else 0
    head_hash = head.last_hash if head else ""
    anchor_seq = head.anchor_seq if head else 0
    previous = (head.anchor_hash if head else "") if anchor_seq else audit_chain.GENESIS
    first_seq = anchor_seq + 1
    legacy = AuditEvent.objects.filter(chain_seq__isnull=True).count()

    def report(checked: int, broken: audit_chain.Break | None) -> ChainReport:
        return ChainReport(checked, legacy, first_seq, head_seq, head_hash, broken)

    if since_seq is not None and since_seq > first_seq:
        first_seq = since_seq
        stored = _hash_of(since_seq - 1)
        if stored is None:
            return report(
                0,
                audit_chain.Break(
                    since_seq - 1,
                    None,
                    "gap",
                    f"缺少第{since_seq - 1}条记录 / missing seq {since_seq - 1}",
                ),
            )
        previous = stored
    outcome = list(
        audit_chain.verify_links(
            _links(first_seq),
            first_seq=first_seq,
            previous=previous,
            keys=audit_chain.chain_keys(),
        )
    )[-1]
    if isinstance(outcome, audit_chain.Break):
        return report(0, outcome)
    checked = outcome
    last_seq = first_seq + checked - 1
    if head_seq > last_seq or (checked and _hash_of(last_seq) != head_hash):
        return report(
            checked,
            audit_chain.Break(
                last_seq + 1,
                None,
                "tail",
                f"链头记到第{head_seq}条，但记录只到第{last_seq}条：最后的记录被删除 / "
                f"the head says {head_seq} but the rows end at {last_seq}",
            ),
        )
    chained_from = (
        AuditEvent.objects.filter(chain_seq__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)
    ).first()
    if chained_from is not None:
        stray = (
            AuditEvent.objects.filter(chain_seq__isnull=True, id__gt=chained_from)
            .order_by("id")
            .values_list("id", flat=True)
            .first()
        )
        if stray is not None:
            return report(
                checked,
                audit_chain.Break(
                    0,
                    stray,
                    "unchained",
                    f"id {stray} 的记录没有链序号，却写在审计链开始之后：不是由本系统写入 / "
                    f"id {stray} has no chain number but was written after the chain began",
                ),
            )
    return report(checked, None)
