"""Writes of the monitoring app. Imports (docs/IMPORTS.md) live here; the engine is in `importing/`.

Import API (the upload page, admin and Celery task call these; keep the signatures):

- `import_create_batch(source, file, *, original_name, user=None, skip_invalid=False)`
  stores the original file under MEDIA_ROOT with its SHA-256: a pending batch.
- `import_run(batch_id, progress=None)` validates and writes a pending batch.
  Idempotent: a batch that is not pending is returned unchanged. While it waits for its
  turn and while it runs it beats (`heartbeat_at`); `monitoring.import_sweeper` fails a
  batch whose beats stopped.
- `import_refuse(source, *, original_name, reason, user=None, upload=None)` records an
  attempt refused before reading (too big, wrong type): a rejected batch and its audit event.
- `import_validate(source, path)` is a dry run (rows + errors, nothing written).
- `import_file(source, path, *, user=None, skip_invalid=False, progress=None)`: create + run;
  `import_survey_file` / `import_roster_file` / `import_civil_file` name the source.

Batch outcome:
- `done`: rows written (strict with no errors, or skip-invalid with the valid rows);
- `rejected`: strict import with row errors, or a file-level error (unreadable,
  empty, no header, missing required columns) — nothing written;
- `failed`: the database write failed — the transaction rolled back, nothing written.

Counts: `rows` = data rows of the file (blank, footer and title rows excluded);
`created` + `updated` + `unchanged` + `skipped` = `rows`, where `skipped` is every
row not written (all rows of a rejected batch, the invalid rows of a skip-invalid
one). What "created/updated/unchanged" means per source is in the docstrings of
`monitoring.importing.writer.write_survey` / `write_roster` / `write_civil`.
"""

import ctypes
import hashlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, connection, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from cases.audit import audit_import_batch
from cases.locks import LockBusy, process_lock
from cases.masking import mask_text
from cases.models import Township
from cases.scope import AnyUser
from cases.text import clean_text

from .importing import engine, writer
from .importing.bulk import copy_pipe
from .importing.engine import ValidationResult
from .importing.gcpause import gc_paused
from .importing.report import report_name, write_error_report
from .models import ImportBatch, Source

logger = logging.getLogger(__name__)

ERROR_LIMIT = 10000  # row errors kept on the batch; the error report holds them all
ALLOWED_SUFFIXES = (".xlsx", ".xls", ".csv")
VALIDATE_SPAN = 50  # progress: validation 0–50 %, writing 50–100 %
# A running or waiting import says it is alive this often (one UPDATE of its batch row);
# the sweeper's threshold (settings.IMPORT_STALE_MINUTES, at least a minute) is far above.
HEARTBEAT_SECONDS = 10

# A file on disk, as the CLI, the tests and the task hand it over.
FilePath = str | os.PathLike[str]
Progress = Callable[[int], None]


def township_lookup() -> dict[str, int]:
    """Full township name → Township id (the engine's only outside knowledge)."""
    return dict(Township.objects.values_list("name", "pk"))


def import_validate(
    source: str, path: FilePath, progress: Progress | None = None
) -> ValidationResult:
    """Dry run: the typed rows and every row error; nothing is written."""
    with gc_paused():
        return engine.validate(Source(source), path, township_lookup(), progress=progress)


def import_create_batch(
    source: str,
    file: FilePath | File,
    *,
    original_name: str,
    user: AnyUser | None = None,
    skip_invalid: bool = False,
) -> ImportBatch:
    """Keep the original file (with its SHA-256) as a pending batch.

    `file` is a path or a Django File/UploadedFile.
    """
    source = Source(source)
    if isinstance(file, str | os.PathLike):
        with open(file, "rb") as handle:
            return _create_batch(source, File(handle), original_name, user, skip_invalid)
    return _create_batch(source, file, original_name, user, skip_invalid)


def stored_file_name(original_name: str) -> str:
    """The uploader's file name as kept: control and bidi characters marked (PostgreSQL
    cannot store NUL, and the name is shown on pages and in downloads), at most 255."""
    return clean_text(original_name or "import")[:255]


def import_refuse(
    source: str,
    *,
    original_name: str,
    reason: str,
    user: AnyUser | None = None,
    upload: File | None = None,
) -> ImportBatch:
    """Record an import attempt refused before its file was read: a rejected batch
    (no file kept) with the reason, and its audit event (docs/SECURITY.md).

    `upload`, when given and within the upload limit, is hashed so the event names the
    file; a file over the limit is not read at all.
    """
    sha256 = ""
    if upload is not None and (upload.size or 0) <= settings.IMPORT_MAX_UPLOAD_BYTES:
        digest = hashlib.sha256()
        with suppress(AttributeError, OSError, ValueError):
            upload.seek(0)
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
            sha256 = digest.hexdigest()
    now = timezone.now()
    batch = ImportBatch.objects.create(
        source=Source(source),
        status=ImportBatch.Status.REJECTED,
        original_name=stored_file_name(original_name),
        sha256=sha256,
        # The check leaves out anonymous users, which mypy cannot see through getattr().
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,  # type: ignore[misc]
        message=mask_text(f"未导入：{reason}")[:500],
        progress=100,
        finished_at=now,
    )
    audit_import_batch(batch)
    return batch


def _create_batch(
    source: Source,
    django_file: File,
    original_name: str,
    user: AnyUser | None,
    skip_invalid: bool,
) -> ImportBatch:
    digest = hashlib.sha256()
    if hasattr(django_file, "seek"):
        django_file.seek(0)
    for chunk in django_file.chunks():
        digest.update(chunk)
    django_file.seek(0)
    sha256 = digest.hexdigest()
    suffix = Path(original_name).suffix.lower()
    suffix = suffix if suffix in ALLOWED_SUFFIXES else ""
    batch = ImportBatch(
        source=source,
        status=ImportBatch.Status.PENDING,
        skip_invalid=skip_invalid,
        original_name=stored_file_name(original_name),
        sha256=sha256,
        # The check leaves out anonymous users, which mypy cannot see through getattr().
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,  # type: ignore[misc]
    )
    batch.file.save(f"{source}-{sha256[:16]}{suffix}", django_file, save=False)
    batch.save()
    return batch


@contextmanager
def _local_path(field_file: FieldFile) -> Iterator[Path]:
    """A filesystem path for a stored file (copied to a temp file for remote storages)."""
    try:
        local = Path(field_file.path)
    except NotImplementedError:
        local = None
    if local is not None:
        yield local
        return
    suffix = Path(field_file.name or "").suffix  # a stored file always has a name
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        with field_file.open("rb") as stored:
            shutil.copyfileobj(stored, handle)
        handle.flush()
        yield Path(handle.name)


def import_heartbeat(batch_id: int, **fields: object) -> bool:
    """Tell the sweeper this batch's run is alive (one UPDATE; `fields` ride along).

    Best effort: a beat that cannot be written (SQLite busy with another import's write
    transaction beyond its timeout) is skipped, not fatal; the next one will do.
    """
    try:
        ImportBatch.objects.filter(pk=batch_id).update(heartbeat_at=timezone.now(), **fields)
    except DatabaseError:
        logger.warning("heartbeat of import batch %s skipped", batch_id, exc_info=True)
        return False
    return True


class _Progress:
    """Forward percentages to the caller; store them on the batch now and then, with a beat.

    `store=False` (inside the write transaction) neither stores nor beats: a row written
    there would only be seen at commit. A run in its write phase is recognised as alive by
    its lock instead (`monitoring.import_sweeper`).
    """

    def __init__(self, batch: ImportBatch, callback: Progress | None):
        self.batch_id = batch.pk
        self.callback = callback
        self.stored = 0
        self.last = -1
        self.beat = time.monotonic()

    def __call__(self, percent: int, store: bool = True) -> None:
        percent = max(0, min(100, int(percent)))
        if percent != self.last:
            self.last = percent
            if self.callback is not None:
                self.callback(percent)
        if not store:
            return
        due = time.monotonic() - self.beat >= HEARTBEAT_SECONDS
        if percent - self.stored >= 5 or (due and percent != self.stored):
            if import_heartbeat(self.batch_id, progress=percent):
                self.stored = percent
            self.beat = time.monotonic()
        elif due:
            import_heartbeat(self.batch_id)
            self.beat = time.monotonic()


def import_lock_name(source: str) -> str:
    """The process lock an import of `source` holds for its whole run (`cases.locks`).

    PostgreSQL: one per source (imports of different sources write different tables and
    may overlap). SQLite allows one writer at a time: a second import's write transaction
    would wait for the first one's and, past the connection's timeout, fail with
    "database is locked". There every import holds the same lock, so a second one waits
    its turn before it starts instead.
    """
    return f"import:{source}" if connection.vendor == "postgresql" else "import"


@contextmanager
def _import_turn(batch_id: int, source: str) -> Iterator[None]:
    """Hold the import lock of `source`; while waiting for it, keep the batch beating."""
    while True:
        with ExitStack() as stack:
            try:
                stack.enter_context(
                    process_lock(import_lock_name(source), timeout=HEARTBEAT_SECONDS)
                )
            except LockBusy:
                import_heartbeat(batch_id)
                continue
            yield
            return


def import_run(batch_id: int, progress: Callable[[int], None] | None = None) -> ImportBatch:
    """Run a pending batch. A batch that is not pending is returned as it is.

    Two runs of the same source never interleave: the whole run holds that source's
    process lock (`import_lock_name`: a PostgreSQL advisory lock; on SQLite one lock for
    every import), so a second import waits until the first has finished, beating while
    it waits. Each run is audited (docs/SECURITY.md).
    """
    source = ImportBatch.objects.filter(pk=batch_id).values_list("source", flat=True).first()
    with _import_turn(batch_id, str(source)), gc_paused():
        return _import_run(batch_id, progress)


def _import_run(batch_id: int, progress: Progress | None) -> ImportBatch:
    now = timezone.now()
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PENDING).update(
        status=ImportBatch.Status.RUNNING, started_at=now, heartbeat_at=now, progress=0
    )
    batch = ImportBatch.objects.get(pk=batch_id)
    if not claimed:
        return batch
    tracker = _Progress(batch, progress)
    try:
        with _local_path(batch.file) as path:
            _run(batch, path, tracker)
    except Exception as error:
        logger.exception("import batch %s failed", batch_id)
        batch.status = ImportBatch.Status.FAILED
        batch.created = batch.updated = batch.unchanged = 0
        batch.skipped = batch.rows
        # A database error may quote a row's values (an ID number in a key violation).
        batch.message = mask_text(
            f"导入失败，本批次未写入任何数据（已整体回滚）：{type(error).__name__}: {error}"
        )[:500]
        batch.finished_at = timezone.now()
        batch.save()
    audit_import_batch(batch)
    return batch


def _run(batch: ImportBatch, path: Path, tracker: _Progress) -> None:
    result = engine.validate(
        batch.source,
        path,
        township_lookup(),
        progress=tracker,
        progress_span=VALIDATE_SPAN,
    )
    _release_memory()
    batch.rows = result.data_rows
    # The sheet the header was found on; a CSV file has none (its "sheet" is the file name).
    batch.sheet_name = "" if result.kind == "csv" else result.sheet_name[:100]
    batch.errors = [error.as_dict() for error in result.errors[:ERROR_LIMIT]]
    batch.household_conflicts = [warning.as_dict() for warning in result.warnings[:ERROR_LIMIT]]
    notes = []
    if len(result.errors) > ERROR_LIMIT:
        notes.append(f"共{len(result.errors)}条错误，此处列出前{ERROR_LIMIT}条，全部错误见错误报告")
    same = (
        ImportBatch.objects.filter(
            source=batch.source, sha256=batch.sha256, status=ImportBatch.Status.DONE
        )
        .exclude(pk=batch.pk)
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    )
    if same:
        notes.append(f"文件内容与批次{same}完全相同")

    if result.file_error:
        batch.status = ImportBatch.Status.REJECTED
        batch.skipped = batch.rows
        batch.message = result.file_error
    elif result.errors and not batch.skip_invalid:
        batch.status = ImportBatch.Status.REJECTED
        batch.skipped = batch.rows
        batch.message = (
            f"{result.invalid_count}行有错误，按“严格模式”未写入任何数据。"
            "请按错误说明修改后重新导入，或选择“跳过错误行”只导入正确的行"
        )
    else:
        with transaction.atomic():
            counts = _write(batch, result, tracker)
        batch.status = ImportBatch.Status.DONE
        batch.created, batch.updated, batch.unchanged = (
            counts.created,
            counts.updated,
            counts.unchanged,
        )
        batch.skipped = result.invalid_count
        summary = f"新增{counts.created}行，更新{counts.updated}行，未变{counts.unchanged}行"
        if result.invalid_count:
            summary += f"，跳过错误行{result.invalid_count}行"
        if counts.created == counts.updated == 0 and result.data_rows:
            summary += "。数据与系统中已有的完全相同，没有任何改动"
        if result.warnings:
            households = len({warning.household for warning in result.warnings})
            counts.notes.append(
                f"{households}户的成员行在乡镇、村或户级信息上不一致，已采用户主行的值"
                "（没有户主行的户采用其第一行），详见“户内不一致”提示"
            )
        batch.message = "；".join([summary, *counts.notes])
    if notes:
        batch.message = "；".join([batch.message, *notes])
    batch.message = mask_text(batch.message)[:500]
    if result.errors or result.warnings:
        _save_report(batch, path, result)
    batch.progress = 100
    batch.finished_at = timezone.now()
    batch.unattributed_rows = result.unattributed_rows
    batch.save()
    batch.townships.set(result.townships)
    tracker(100, store=False)


def _release_memory() -> None:
    """Hand the spreadsheet reader's freed memory back to the OS before writing.

    python-calamine holds a whole sheet in memory while it is read (about 80 bytes a
    cell); glibc keeps that memory after it is freed unless asked to trim, which
    would add it to the writer's peak. A no-op where glibc is not available.
    """
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _write(batch: ImportBatch, result: ValidationResult, tracker: _Progress) -> writer.WriteCounts:
    def write_progress(percent: int) -> None:
        # Inside the transaction: tell the caller, but do not touch the batch row.
        tracker(VALIDATE_SPAN + percent * (100 - VALIDATE_SPAN) // 100, store=False)

    if connection.vendor == "postgresql":
        # The batch row is saved with a normal (synchronous) commit right after this
        # transaction, which makes the import durable too; skipping the flush here
        # saves seconds on a big import.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # Foreign keys checked as each COPY ends (every table is written after the
            # tables it points to), while Python prepares the next one (bulk.CopyPipe),
            # instead of all at once at commit while nothing else can run.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    out = writer.Writer(batch, user=batch.uploaded_by, progress=write_progress)
    rows = result.valid_rows
    # PostgreSQL takes in one table's rows while Python prepares the next (bulk.CopyPipe).
    with copy_pipe():
        if batch.source == Source.SURVEY:
            counts = writer.write_survey(rows, out)
        elif batch.source == Source.ROSTER:
            counts = writer.write_roster(
                rows,
                out,
                townships=result.townships,
                seen_ids=result.seen_ids,
                seen_households=result.seen_households,
                conflicts=result.warnings,
            )
        else:
            counts = writer.write_civil(
                rows, out, townships=result.townships, seen_keys=result.seen_keys
            )
    if connection.vendor == "postgresql":
        # Back to the schema's setting (every deferrable constraint here is a foreign key,
        # initially deferred) in case a caller's transaction goes on after the import.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return counts


def _save_report(batch: ImportBatch, path: Path, result: ValidationResult) -> None:
    try:
        with tempfile.TemporaryFile() as handle:
            write_error_report(path, result, handle)
            handle.seek(0)
            batch.error_report.save(
                f"batch-{batch.pk}-errors.xlsx",
                File(handle, name=report_name(batch.original_name)),
                save=False,
            )
    except Exception:  # the import result stands even if the report cannot be written
        logger.exception("error report for import batch %s could not be written", batch.pk)
        batch.message = (batch.message + "；错误报告生成失败，请联系管理员")[:500]


def _row_counts(batch: ImportBatch) -> dict:
    return {
        "rows": batch.rows,
        "created": batch.created,
        "updated": batch.updated,
        "unchanged": batch.unchanged,
        "skipped": batch.skipped,
    }


def import_summary(batch: ImportBatch) -> dict:
    """The summary the CLI prints with --json (docs/IMPORTS.md)."""
    return {
        "batch": batch.pk,
        "source": batch.source,
        **_row_counts(batch),
        "errors": list(batch.errors),
    }


def import_batch_counts(batch: ImportBatch) -> dict:
    """A batch's outcome in numbers: the import task's result and the progress bar's JSON."""
    return {
        "batch": batch.pk,
        "status": batch.status,
        **_row_counts(batch),
        "errors": len(batch.errors),
    }


def import_file(
    source: str,
    path: FilePath,
    *,
    user: AnyUser | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportBatch:
    """Create a batch from a file on disk and run it (`import_create_batch` + `import_run`)."""
    batch = import_create_batch(
        source, path, original_name=Path(path).name, user=user, skip_invalid=skip_invalid
    )
    return import_run(batch.pk, progress=progress)


import_survey_file = partial(import_file, Source.SURVEY)
import_roster_file = partial(import_file, Source.ROSTER)
import_civil_file = partial(import_file, Source.CIVIL)
