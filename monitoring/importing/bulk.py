"""Set-based INSERT and UPDATE of plain dicts, without building model instances.

Imports write hundreds of thousands of rows; Django's bulk_create/bulk_update spend
most of their time creating and preparing model instances. These helpers adapt
values once per column and send:

- PostgreSQL: `COPY … FROM STDIN` for inserts (ids drawn from the table's sequence
  beforehand) and `UPDATE … FROM (VALUES …)`, up to 1000 rows per statement;
- SQLite: `executemany` of one-row statements (ids of new rows re-read by key).

SQL text is built only from model metadata (quoted table and column names) and
`%s` placeholders; every value travels as a query parameter or in COPY's data
stream (escaped).

Rows are dicts keyed by field attname (`township_id`, not `township`). Columns a
row leaves out get the field's default; `created_at`/`updated_at` get `now`.
"""

import io
import json
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, models

from cases.dbcopy import NULL, copy_escape

PG_ROWS_PER_STATEMENT = 1000
COPY_ROWS = 20000
KEY_CHUNK = 900
_MISSING = object()  # a column the row leaves out (it gets the field's default)
COPY_READ = 1 << 22  # bytes psycopg2 reads from a COPY payload at a time
# New ids from a table's serial sequence. The sequence is looked up once (MATERIALIZED):
# written inside nextval(), pg_get_serial_sequence runs for every id and costs four times
# the draw itself (~0.4 s of server CPU per 60,000 ids).
DRAW_IDS = (
    "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
    "SELECT nextval(s.seq) FROM s, generate_series(1, %s)"
)


class CopyPipe:
    """Send COPY data from a second thread while this one prepares the next rows.

    The database parses, checks and indexes a COPY's rows while Python builds the
    next table's rows and history (psycopg2 releases the GIL while it waits on the
    socket), instead of each waiting for the other. Both threads use the one
    connection, so the import stays one transaction; they never use it at the same
    time: every statement this thread runs first waits until the queued COPYs are
    done (`barrier`, installed as an execute wrapper by `copy_pipe`), so a query
    also sees every row sent before it. A failed COPY is raised in this thread at
    the next statement or at the end, and the transaction rolls back as before.
    """

    def __init__(self, raw_connection: Any, connect: Callable[[], Any] | None = None) -> None:
        self.cursor = raw_connection.cursor()
        self.raw_connection = raw_connection
        # Opens the second connection ids are drawn on (`draw_ids`); None: draw on this one.
        self.connect = connect
        self.ids_connection: Any = None
        # One COPY payload (COPY_ROWS rows) may wait while one is sent: bounded memory.
        self.queue: queue.Queue[tuple[str, io.BytesIO] | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.abandoned = False
        self.thread = threading.Thread(target=self._work, name="import-copy", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                # After a failure, or when the import has failed, the rest is dropped.
                if self.error is None and not self.abandoned:
                    # Few large reads: psycopg2 takes the GIL for each piece it reads, and
                    # each wait for the GIL can last a switch interval.
                    self.cursor.copy_expert(*item, size=COPY_READ)
            except BaseException as error:  # handed to the importing thread
                self.error = error
            finally:
                self.queue.task_done()

    def send(self, sql: str, data: io.BytesIO) -> None:
        self._raise()
        self.queue.put((sql, data))

    def drain(self) -> None:
        self.queue.join()
        self._raise()

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.cursor.close()
        if self.ids_connection is not None:
            self.ids_connection.close()

    def draw_ids(self, table: str, column: str, count: int) -> list[int]:
        """`count` new ids from the table's sequence, without waiting for the queued COPYs.

        A sequence is outside every transaction (a rolled-back import leaves a gap in the
        ids either way), so drawing on a second connection of the same database gives ids
        no other session can get; on this import's connection the draw would first wait
        for every COPY queued before it, and the database would then wait for Python.
        """
        if self.ids_connection is None and self.connect is not None:
            try:
                self.ids_connection = self.connect()
                self.ids_connection.autocommit = True
            except Exception:  # no second connection (e.g. none left): draw on this one
                self.connect = None
        if self.ids_connection is not None:
            try:
                with self.ids_connection.cursor() as cursor:
                    cursor.execute(DRAW_IDS, [table, column, count])
                    return [found[0] for found in cursor.fetchall()]
            except Exception:  # e.g. a role set on the import's connection only: draw there
                self.ids_connection.close()
                self.ids_connection = self.connect = None
        self.drain()
        with self.raw_connection.cursor() as cursor:
            cursor.execute(DRAW_IDS, [table, column, count])
            return [found[0] for found in cursor.fetchall()]

    def _raise(self) -> None:
        # Stays set: later COPYs are dropped and later statements raise it too.
        if self.error is not None:
            raise self.error

    def barrier(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.drain()
        return execute(sql, params, many, context)


_pipes: dict[int, CopyPipe] = {}


@contextmanager
def copy_pipe() -> Iterator[CopyPipe | None]:
    """While open, PostgreSQL COPYs of this thread's connection go through a `CopyPipe`.

    On leaving (normally or by an error) every queued COPY has finished, so the
    transaction around it commits or rolls back only what was sent. Elsewhere (SQLite)
    it does nothing.
    """
    if connection.vendor != "postgresql":
        yield None
        return
    connection.ensure_connection()
    params = connection.get_connection_params()
    # A plain driver connection (not Django's: that would reset this one's state).
    driver: Any = connection.Database  # type: ignore[attr-defined]  # on every backend
    pipe = CopyPipe(connection.connection, lambda: driver.connect(**params))
    key = threading.get_ident()
    _pipes[key] = pipe
    try:
        with connection.execute_wrapper(pipe.barrier):
            yield pipe
            pipe.drain()
    except BaseException:
        pipe.abandoned = True
        raise
    finally:
        del _pipes[key]
        pipe.close()


def _column(field: models.Field) -> str:
    # Concrete fields always have a column; the stubs allow None for every field.
    assert field.column is not None
    return field.column


class BulkTable:
    def __init__(self, model: type[models.Model], now: datetime) -> None:
        meta = model._meta
        self.model = model
        self.table = connection.ops.quote_name(meta.db_table)
        self.pk_column = connection.ops.quote_name(_column(meta.pk))
        self.fields = {
            field.attname: field for field in meta.concrete_fields if not field.primary_key
        }
        self.now = now
        self.adapters = {name: self._adapter(field) for name, field in self.fields.items()}
        self.defaults: dict[str, Any] = {}
        for name, field in self.fields.items():
            if name in ("created_at", "updated_at"):
                self.defaults[name] = now
            else:
                self.defaults[name] = field.get_default()
        self.postgres = connection.vendor == "postgresql"

    @staticmethod
    def _adapter(field: models.Field) -> Callable[[Any], Any] | None:
        ops = connection.ops
        if isinstance(field, models.JSONField):
            return lambda value: (
                None if value is None else ops.adapt_json_value(value, field.encoder)
            )
        if isinstance(field, models.DateTimeField):
            return ops.adapt_datetimefield_value
        if isinstance(field, models.DateField):
            return ops.adapt_datefield_value
        if isinstance(field, models.DecimalField):
            return lambda value: ops.adapt_decimalfield_value(
                value, field.max_digits, field.decimal_places
            )
        return None

    def _row_values(self, names: Sequence[str], row: dict) -> list:
        values = []
        for name in names:
            value = row[name] if name in row else self.defaults[name]
            adapter = self.adapters[name]
            values.append(adapter(value) if adapter is not None and value is not None else value)
        return values

    def insert(
        self,
        rows: list[dict],
        key: Sequence[str] = (),
        queryset: models.QuerySet | None = None,
        same: dict[str, Any] | None = None,
    ) -> list[int] | None:
        """Insert rows; with `key`, return the new ids in row order.

        `queryset` narrows the re-read of new ids by key where the key alone is not
        unique in the table (SQLite only; PostgreSQL takes the ids from the sequence).
        `same` holds values every row shares (left out of the rows themselves).
        """
        if not rows:
            return [] if key else None
        if self.postgres:
            return self._copy_postgres(rows, bool(key), same)
        if same:
            rows = [{**row, **same} for row in rows]
        names = list(self.fields)
        columns = ", ".join(connection.ops.quote_name(_column(self.fields[name])) for name in names)
        placeholders = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.executemany(sql, [self._row_values(names, row) for row in rows])
        if not key:
            return None
        return self._ids_by_key(rows, key, queryset)

    def _copy_postgres(
        self, rows: list[dict], want_ids: bool, same: dict[str, Any] | None = None
    ) -> list[int] | None:
        """COPY … FROM STDIN (text format); ids drawn from the table's sequence first.

        `same` holds values shared by every row (a history row's actor, source, model):
        converted once, not once per row.
        """
        meta = self.model._meta
        same = same or {}
        names = [name for name in self.fields if name not in same]
        columns = [connection.ops.quote_name(_column(self.fields[name])) for name in names]
        ids = None
        pipe = _pipes.get(threading.get_ident())
        with connection.cursor() as cursor:
            if want_ids:
                if pipe is not None:
                    ids = pipe.draw_ids(meta.db_table, _column(meta.pk), len(rows))
                else:
                    cursor.execute(DRAW_IDS, [meta.db_table, _column(meta.pk), len(rows)])
                    ids = [found[0] for found in cursor.fetchall()]
                columns.insert(0, self.pk_column)
            converters = [self._copy_converter(self.fields[name]) for name in names]
            defaults = [
                NULL if self.defaults[name] is None else convert(self.defaults[name])
                for name, convert in zip(names, converters, strict=True)
            ]
            # The shared columns go last: one text after every row's own cells.
            tail = "".join(
                "\t" + (NULL if value is None else self._copy_converter(self.fields[name])(value))
                for name, value in same.items()
            )
            columns.extend(connection.ops.quote_name(_column(self.fields[name])) for name in same)
            sql = f"COPY {self.table} ({', '.join(columns)}) FROM STDIN"
            columns_out = list(zip(names, converters, defaults, strict=True))
            for start in range(0, len(rows), COPY_ROWS):
                part = rows[start : start + COPY_ROWS]
                # Column by column (one comprehension each) rather than cell by cell: a
                # third of the interpreter's work per cell.
                cells = [list(map(str, ids[start : start + len(part)]))] if ids is not None else []
                for name, convert, default in columns_out:
                    cells.append(
                        [
                            default
                            if (value := row.get(name, _MISSING)) is _MISSING
                            else NULL
                            if value is None
                            else convert(value)
                            for row in part
                        ]
                    )
                lines = ["\t".join(line) + tail for line in zip(*cells, strict=True)]
                del cells
                lines.append("")
                # UTF-8 bytes (the connection's encoding): a third of a StringIO's memory
                # while a payload waits in the pipe.
                data = io.BytesIO("\n".join(lines).encode())
                del lines
                if pipe is not None:
                    pipe.send(sql, data)
                else:
                    cursor.copy_expert(sql, data)
        return ids

    @staticmethod
    def _copy_converter(field: models.Field) -> Callable[[Any], str]:
        if isinstance(field, models.JSONField):
            # One encoder for the whole COPY: json.dumps(cls=...) builds a new one per value.
            encode = (field.encoder or json.JSONEncoder)(ensure_ascii=False).encode
            return lambda value: copy_escape(encode(value))
        if isinstance(field, models.BooleanField):
            return lambda value: "t" if value else "f"
        if isinstance(field, models.DateField):  # DateTimeField too
            return lambda value: value.isoformat()
        if isinstance(field, models.CharField | models.TextField):
            return copy_escape
        return str

    def _ids_by_key(
        self, rows: list[dict], key: Sequence[str], queryset: models.QuerySet | None = None
    ) -> list[int]:
        queryset = queryset if queryset is not None else self.model._default_manager.all()
        wanted = {tuple(row[name] for name in key) for row in rows}
        firsts = sorted({value[0] for value in wanted}, key=str)
        found: dict[tuple, int] = {}
        for start in range(0, len(firsts), KEY_CHUNK):
            part = firsts[start : start + KEY_CHUNK]
            for pk, *values in queryset.filter(**{f"{key[0]}__in": part}).values_list("pk", *key):
                value = tuple(values)
                if value in wanted:
                    found[value] = pk
        return [found[tuple(row[name] for name in key)] for row in rows]

    def update(self, changes: list[tuple[int, dict]]) -> None:
        """UPDATE rows by id; each change is (pk, {attname: new value}). `updated_at` = now."""
        groups: dict[tuple, list[tuple[int, dict]]] = {}
        for pk, values in changes:
            groups.setdefault(tuple(sorted(values)), []).append((pk, values))
        for group_names, items in groups.items():
            names = list(group_names)
            if "updated_at" in self.fields and "updated_at" not in names:
                names.append("updated_at")
            if self.postgres:
                self._update_postgres(names, items)
            else:
                self._update_sqlite(names, items)

    def _update_sqlite(self, names: list[str], items: list[tuple[int, dict]]) -> None:
        assignments = ", ".join(
            f"{connection.ops.quote_name(_column(self.fields[name]))} = %s" for name in names
        )
        sql = f"UPDATE {self.table} SET {assignments} WHERE {self.pk_column} = %s"  # noqa: S608
        params = [[*self._row_values(names, values), pk] for pk, values in items]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)

    def _update_postgres(self, names: list[str], items: list[tuple[int, dict]]) -> None:
        quote = connection.ops.quote_name
        casts = ["%s::bigint"] + [f"%s::{self.fields[name].db_type(connection)}" for name in names]
        placeholder = "(" + ", ".join(casts) + ")"
        aliases = ", ".join(["id", *(f"c{i}" for i in range(len(names)))])
        assignments = ", ".join(
            f"{quote(_column(self.fields[name]))} = v.c{i}" for i, name in enumerate(names)
        )
        per_statement = min(PG_ROWS_PER_STATEMENT, 60000 // (len(names) + 1))
        with connection.cursor() as cursor:
            for start in range(0, len(items), per_statement):
                part = items[start : start + per_statement]
                params = []
                for pk, values in part:
                    params.append(pk)
                    params.extend(self._row_values(names, values))
                sql = (
                    f"UPDATE {self.table} AS t SET {assignments} FROM (VALUES "  # noqa: S608
                    + ", ".join([placeholder] * len(part))
                    + f") AS v({aliases}) WHERE t.{self.pk_column} = v.id"
                )
                cursor.execute(sql, params)

    def set_flag(self, pks: Sequence[int], **values: object) -> int:
        """UPDATE a few columns to the same values for many ids (snapshot flags)."""
        count = 0
        values = {**values, "updated_at": self.now} if "updated_at" in self.fields else values
        for start in range(0, len(pks), KEY_CHUNK):
            count += self.model._default_manager.filter(
                pk__in=pks[start : start + KEY_CHUNK]
            ).update(**values)
        return count
