"""Spreadsheet exports shared by every view and command: .xlsx and .csv, formula-safe.

- `safe_cell(value)`: the one gate every text cell of every spreadsheet passes. Control
  characters XML cannot hold and bidi override/embedding/isolate characters become
  U+FFFD (`cases.text.clean_text`: one such character in a name used to make the whole
  export answer 500); then text beginning with = + - @ tab or carriage return gets a
  leading apostrophe so Excel/WPS shows it as text and never evaluates it (CSV/formula
  injection). Numbers, dates and None pass through unchanged.
- `write_xlsx(target, headers, rows, ...)` / `write_csv(stream, headers, rows)`: write a
  file or stream, return the number of data rows. `write_xlsx` and the `.xlsx` responses
  share one writer, `cases.xlsx_stream` (inline strings, text columns, widths, frozen
  header).
- `xlsx_response(...)` / `csv_response(...)`: an attachment response (CSV is UTF-8
  with a BOM so Excel opens Chinese correctly); with `request=` and `label=` the
  export is audited (`cases.audit.audit_export`: filters and row count). The `.xlsx`
  response is a `StreamingHttpResponse`: rows are read and sent as they come, and the
  audit event is written when the last row is out (`_AuditedXlsxStream`). The
  several-sheet `xlsx_book_response` (the 统计 export: a few hundred aggregate rows) is
  still built whole in memory with openpyxl.

Personal numbers in lists and exports are masked by the caller (`cases.identity.
mask_id_number` / `mask_phone`); only county-admin documents carry full numbers.
"""

import csv
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from .audit import _mark_audited, audit_export, current_request, plain_filters
from .text import clean_text
from .xlsx_stream import stream_xlsx, write_xlsx_stream

logger = logging.getLogger(__name__)

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def safe_cell(value):
    """Clean a cell and neutralise it against formula injection (see the module docstring)."""
    if isinstance(value, str):
        value = clean_text(value)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
        return value
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    return safe_cell(str(value))


def _xlsx_value(value):
    value = safe_cell(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; local time expected
    if isinstance(value, Decimal):
        return float(value)
    return value


def write_xlsx(
    target,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    sheet_title: str = "数据",
    text_columns: Iterable[int] = (),
    widths: Sequence[int] | None = None,
) -> int:
    """Write a one-sheet workbook to a path or binary stream; returns the number of data rows.

    The same writer as the streamed downloads (`cases.xlsx_stream`), so a command's file
    and the page's download are alike: every string cell is stored as text (an inline
    string), never as a formula; columns in `text_columns` (0-based, e.g. ID numbers) get
    the text number format `@` and numbers in them are written as text.
    """
    return write_xlsx_stream(
        target,
        headers,
        rows,
        convert=_xlsx_value,
        sheet_title=sheet_title,
        text_columns=text_columns,
        widths=widths,
    )


class Heading(tuple):
    """A row of a workbook sheet written in bold (a table's title or column headers)."""


def write_xlsx_book(target, sheets: Iterable[tuple[str, Iterable[Sequence]]]) -> int:
    """Write a workbook of several sheets (streaming mode): `(title, rows)` per sheet.

    Cells are made formula-safe and stored as text exactly as in `write_xlsx`; a `Heading`
    row is bold. Titles are cut to Excel's 31 characters. Returns the number of rows that
    are not headings.
    """
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    count = 0
    for title, rows in sheets:
        sheet = workbook.create_sheet(title[:31] or "数据")
        sheet.column_dimensions["A"].width = 24
        for row in rows:
            cells = []
            for raw in row:
                value = _xlsx_value(raw)
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text, even if it looks like a formula
                if isinstance(row, Heading):
                    cell.font = bold
                cells.append(cell)
            sheet.append(cells)
            count += 0 if isinstance(row, Heading) or not row else 1
    workbook.save(target)
    return count


def write_csv(stream, headers: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Write CSV rows (header first) to a text stream; returns the number of data rows."""
    writer = csv.writer(stream)
    writer.writerow([safe_cell(str(header)) for header in headers])
    count = 0
    for row in rows:
        writer.writerow(["" if value is None else safe_cell(value) for value in row])
        count += 1
    return count


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def _audit(request, label, filters, count, fmt):
    if request is not None and label:
        audit_export(
            request, label, filters if filters is not None else request.GET, count, fmt=fmt
        )


class _AuditedXlsxStream:
    """The chunks of a streamed .xlsx and its export audit event, written exactly once.

    The row count is known only when the last row is written, so the event is written
    then: after the sheet and before the zip's central directory (`stream_xlsx`'s
    `before_end`), so no client holds a readable file whose export went unrecorded — a
    failed audit INSERT breaks the download instead. A download that stops early (the
    client went away, a query failed half-way) is recorded when the server closes the
    response (`close`, which Django's `StreamingHttpResponse` calls for every response
    it has served), with the rows written so far and `"complete": false`.
    """

    def __init__(self, chunks_for, audit: Callable[[int, bool], object] | None) -> None:
        self.rows_written = 0
        self.audited = audit is None
        self._audit = audit
        self._chunks: Iterator[bytes] = chunks_for(self._progress, self._finish)

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def _progress(self, count: int) -> None:
        self.rows_written = count

    def _finish(self, count: int) -> None:
        self.rows_written = count
        self._record(complete=True)

    def _record(self, *, complete: bool) -> None:
        if self.audited or self._audit is None:
            return
        self._audit(self.rows_written, complete)
        # Only once written: when the INSERT at the end fails, `close` tries again as an
        # interrupted export (what was sent before it can be recovered from the parts).
        self.audited = True

    def close(self) -> None:
        try:
            self._chunks.close()  # type: ignore[attr-defined]  # a generator
        finally:
            if not self.audited:
                try:
                    self._record(complete=False)
                except Exception:
                    # Django swallows a closer's exception silently: log it at least.
                    logger.exception("audit event of an interrupted export not written")


def _streamed_xlsx(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    audit: Callable[[int, bool], object] | None,
    request,
    **options,
) -> StreamingHttpResponse:
    stream = _AuditedXlsxStream(
        lambda on_rows, before_end: stream_xlsx(
            headers, rows, convert=_xlsx_value, on_rows=on_rows, before_end=before_end, **options
        ),
        audit,
    )
    response = StreamingHttpResponse(stream, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    if audit is not None:
        # The export event is this request's audit event: the middleware, which runs
        # before the body is sent, must not add a second (`view`) one.
        _mark_audited(request)
    return response


def xlsx_response(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    sheet_title: str = "数据",
    text_columns: Iterable[int] = (),
    widths: Sequence[int] | None = None,
    request=None,
    label: str = "",
    filters=None,
) -> StreamingHttpResponse:
    """An .xlsx attachment streamed as its rows are read (`cases.xlsx_stream`).

    Audited as an export when `request` and `label` are given: the event, with the row
    count, is written when the last row has been written (see `_AuditedXlsxStream`).
    `rows` is read while the response is sent, after the view has returned.
    """
    audit = None
    if request is not None and label:
        plain = plain_filters(filters if filters is not None else request.GET)

        def audit(count: int, complete: bool) -> None:
            audit_export(
                request,
                label,
                plain,
                count,
                fmt="xlsx",
                details=None if complete else {"complete": False},
            )

    return _streamed_xlsx(
        filename,
        headers,
        rows,
        audit,
        request,
        sheet_title=sheet_title,
        text_columns=text_columns,
        widths=widths,
    )


def xlsx_book_response(
    filename: str,
    sheets: Iterable[tuple[str, Iterable[Sequence]]],
    *,
    request=None,
    label: str = "",
    filters=None,
) -> HttpResponse:
    """A workbook of several sheets as an attachment; audited like `xlsx_response`."""
    buffer = io.BytesIO()
    count = write_xlsx_book(buffer, sheets)
    _audit(request, label, filters, count, "xlsx")
    response = _attachment(buffer.getvalue(), XLSX_TYPE, filename)
    response.row_count = count
    return response


def csv_response(
    filename: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    *,
    request=None,
    label: str = "",
    filters=None,
) -> HttpResponse:
    """A .csv attachment, UTF-8 with BOM (Excel opens Chinese text correctly)."""
    buffer = io.StringIO()
    count = write_csv(buffer, headers, rows)
    _audit(request, label, filters, count, "csv")
    response = _attachment(("\ufeff" + buffer.getvalue()).encode("utf-8"), CSV_TYPE, filename)
    response.row_count = count
    return response


# --- exports of the cases app ----------------------------------------------------------------

PERSON_HEADERS = (
    "姓名",
    "公民身份号码",
    "性别",
    "出生日期",
    "乡镇",
    "村（社区）",
    "联系电话",
    "残疾人证号",
    "残疾类别",
    "残疾等级",
)


def person_rows(queryset):
    """Rows of the person export with full numbers (county-admin documents only)."""
    queryset = queryset.select_related("township", "village", "certificate")
    for person in queryset.iterator(chunk_size=2000):
        certificate = getattr(person, "certificate", None)  # None when not certified
        yield (
            person.name,
            person.id_number,
            person.get_gender_display(),
            person.birth_date,
            person.township.name if person.township_id else "",
            person.village.name if person.village_id else "",
            person.phone,
            certificate.number if certificate else "",
            certificate.get_category_display() if certificate else "",
            certificate.get_grade_display() if certificate else "",
        )


def persons_xlsx_response(queryset, *, user=None, request=None) -> StreamingHttpResponse:
    """The admin's person export (full ID numbers; the admin is for county admins only).

    Audited as an export with the row count; `user` (the admin user) or `request`.
    """

    request = request or current_request()
    who = request if request is not None else user

    def audit(count: int, complete: bool) -> None:
        audit_export(
            who,
            "cases.person",
            {"selected": count},
            count,
            fmt="xlsx",
            details={"full_numbers": True} | ({} if complete else {"complete": False}),
        )

    return _streamed_xlsx(
        "人员名单.xlsx",
        PERSON_HEADERS,
        person_rows(queryset),
        audit,
        request,
        sheet_title="人员",
        text_columns=(1, 6, 7),
        widths=(10, 22, 6, 12, 12, 14, 14, 26, 9, 9),
    )
