"""Reads of import batches, scoped (docs/RULES.md#roles: downloads of import error reports too).

An import batch holds personal data of every township its file named (the original
file and the error report are copies of the sheet), so a user sees a batch only
when all of its townships lie within their scope:

- county admins and county viewers: every batch;
- township staff: batches whose townships (`ImportBatch.townships`, filled by the
  engine from the rows' township column) are their own township only — a batch
  naming no township (a file that could not be read) or another township stays hidden,
  and so does one with a row whose township is blank or unknown
  (`unattributed_rows`): that row could be anyone's;
- village committee members and users without a role: none (a batch covers whole
  townships, never a single village).

The files themselves (original and error report) carry every row's full ID numbers, so
seeing a batch is not enough to download them: only county admins may
(`can_download_batch_files`), and each download is audited as an export
(`batch_file_download`, the one path of the staff page and the admin).
"""

from pathlib import PurePath

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import FileResponse, Http404, HttpRequest

from cases.audit import Action, audit
from cases.masking import shown_text
from cases.scope import AnyUser, scope_for

from .importing.report import report_name
from .models import ImportBatch

BatchTownship = ImportBatch.townships.through


def shown_rows(rows: list[dict], limit: int) -> list[dict]:
    """The first `limit` stored row errors or household warnings of a batch as pages and
    the admin show them: message masked and cleaned, the cell's column and household code
    cleaned (`cases.masking.shown_text`). Batches imported before messages were masked
    keep full numbers in the database; they never leave it unmasked."""
    return [
        {
            **row,
            **{
                key: shown_text(str(row[key]))
                for key in ("message", "column", "household")
                if row.get(key) not in (None, "")
            },
        }
        for row in rows[:limit]
    ]


def import_batches(user: AnyUser) -> QuerySet[ImportBatch]:
    """The batches the user may see, newest first."""
    queryset = ImportBatch.objects.select_related("uploaded_by").order_by("-pk")
    scope = scope_for(user)
    if scope.sees_nothing:
        return queryset.none()
    if scope.is_county:
        return queryset
    if scope.village_id is not None or scope.township_id is None:
        return queryset.none()
    township_id = scope.township_id
    own = BatchTownship.objects.filter(importbatch_id=OuterRef("pk"), township_id=township_id)
    other = BatchTownship.objects.filter(importbatch_id=OuterRef("pk")).exclude(
        township_id=township_id
    )
    return queryset.filter(Exists(own), unattributed_rows=0).exclude(Exists(other))


def import_batch_or_404(user: AnyUser, pk: int | str) -> ImportBatch:
    """One batch in the user's scope, or 404 (never 403: existence is private)."""

    try:
        return import_batches(user).get(pk=pk)
    except (ImportBatch.DoesNotExist, ValueError, TypeError):
        raise Http404("不存在或不在您的数据范围内") from None


def can_import(user: AnyUser) -> bool:
    """Only county admins upload (docs/RULES.md#roles)."""
    scope = scope_for(user)
    return scope.is_county_admin and scope.can_write


def batch_file_response(batch: ImportBatch, kind: str) -> FileResponse:
    """The batch's original file or error report as an attachment (caller checked scope)."""
    if kind == "original":
        field, name = batch.file, batch.original_name or f"batch-{batch.pk}"
    elif kind == "errors":
        field, name = batch.error_report, report_name(batch.original_name)
    else:
        raise Http404("没有这种文件")
    if not field:
        raise Http404("该批次没有错误报告" if kind == "errors" else "该批次没有原文件")
    try:
        handle = field.open("rb")
    except (FileNotFoundError, OSError):
        raise Http404("文件已不存在，请联系管理员") from None
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["Cache-Control"] = "no-store"
    return response


FILE_KINDS = {"original": "原文件", "errors": "错误报告"}


def can_download_batch_files(user: AnyUser) -> bool:
    """Only county admins download a batch's files: they hold full ID numbers of every row."""
    return scope_for(user).is_county_admin


def batch_file_download(request: HttpRequest, batch: ImportBatch, kind: str) -> FileResponse:
    """The batch's original or error report for a county admin, audited as an export.

    The caller has already found the batch in the user's scope (out of scope stays 404);
    any other role gets 403, which the audit middleware records as denied.
    """
    if kind not in FILE_KINDS:
        raise Http404("没有这种文件")
    if not can_download_batch_files(request.user):
        raise PermissionDenied("只有县残联管理员可以下载导入的原文件和错误报告（含完整身份证号）")
    response = batch_file_response(batch, kind)
    name = batch.original_name if kind == "original" else report_name(batch.original_name)
    audit(
        request,
        Action.EXPORT,
        target=batch,
        details={
            "batch": batch.pk,
            "file": FILE_KINDS[kind],
            "filename": name,
            "rows": batch.rows,
            "format": PurePath(name or "").suffix.lstrip(".").lower(),
        },
    )
    return response
