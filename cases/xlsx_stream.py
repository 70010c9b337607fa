"""A one-sheet .xlsx written as a stream of bytes, row by row, with nothing buffered whole.

Why: an export used to be built whole in memory (openpyxl, then a BytesIO, then the
response), so the first byte came only after the last row and a 60,000-row export held a
worker and its memory for seconds (docs/PERFORMANCE.md "Exports"). Here the zip is written
by the standard library's `zipfile` into a write-only sink: on a stream that cannot seek,
`zipfile` puts each part's sizes in a data descriptor after its data, so nothing has to be
rewritten. The generator yields whatever the sink holds as the sheet grows.

Only what the exports need is written: inline strings (`t="inlineStr"`, no shared-strings
table that would have to be held until the end), numbers, booleans, dates and datetimes as
Excel serials with the same number formats openpyxl gives them (`yyyy-mm-dd`,
`yyyy-mm-dd h:mm:ss`: openpyxl reads them back as datetimes, as before), a bold header row
that stays frozen, text-format columns (`@`) and column widths.

This module only writes the format. Every value reaching `stream_xlsx` must already be what
the cell should hold: `cases.exports` passes each one through `safe_cell` (control and bidi
characters marked, formula prefixes escaped) with its `convert` argument.
"""

import math
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

SHEET_PATH = "xl/worksheets/sheet1.xml"

# Bytes gathered in the sink before the generator hands them on: large enough that a
# 60,000-row sheet is a few hundred chunks, small enough that memory stays flat.
CHUNK_BYTES = 64 * 1024
# Rows turned into XML before they are compressed in one `write` (fewer zlib calls).
ROWS_PER_WRITE = 200

# Style indexes into `cellXfs` of STYLES below.
STYLE_HEADER = 1  # bold
STYLE_TEXT = 2  # number format 49, "@": Excel keeps the cell as text
STYLE_DATE = 3  # yyyy-mm-dd, as openpyxl writes a `date`
STYLE_DATETIME = 4  # yyyy-mm-dd h:mm:ss, as openpyxl writes a `datetime`

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

CONTENT_TYPES = (
    _XML_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)

ROOT_RELS = (
    _XML_DECL + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)

WORKBOOK_RELS = (
    _XML_DECL + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)

STYLES = (
    _XML_DECL + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2">'
    '<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd h:mm:ss"/>'
    "</numFmts>"
    '<fonts count="2">'
    '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)

# Excel refuses these in a sheet name (openpyxl raises on them); they become "_".
_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))


def sheet_name(title: str) -> str:
    """A name Excel accepts: no []:*?/\\, at most 31 characters, never empty."""
    return title.translate(_SHEET_NAME_FORBIDDEN)[:31] or "数据"


def workbook_xml(title: str) -> str:
    return (
        _XML_DECL + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name={quoteattr(sheet_name(title))} sheetId="1" r:id="rId1"/></sheets>'
        "</workbook>"
    )


def sheet_head(widths: Sequence[float] | None, *, freeze_header: bool) -> str:
    """The sheet's XML up to the first row: the frozen header pane and the column widths."""
    if freeze_header:
        view = (
            '<sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView>'
        )
    else:
        view = '<sheetView workbookViewId="0"/>'
    cols = ""
    if widths:
        cols = (
            "<cols>"
            + "".join(
                f'<col min="{index}" max="{index}" width="{width}" customWidth="1"/>'
                for index, width in enumerate(widths, start=1)
            )
            + "</cols>"
        )
    return (
        _XML_DECL + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f"<sheetViews>{view}</sheetViews>"
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{cols}<sheetData>"
    )


SHEET_TAIL = (
    '</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" '
    'header="0.5" footer="0.5"/></worksheet>'
)


def _text(ref: str, text: str, style: int) -> str:
    styled = f' s="{style}"' if style else ""
    # Excel drops leading and trailing blanks of a <t> unless told to keep them.
    space = ' xml:space="preserve"' if text and (text[0].isspace() or text[-1].isspace()) else ""
    return f'<c r="{ref}"{styled} t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


def cell_xml(ref: str, value: Any, *, text_column: bool = False, style: int = 0) -> str:
    """One `<c>` element, or "" for an empty cell outside a text column.

    In a text column a number is written as its text (an ID or phone number must never
    turn into a number that Excel rounds or shows in exponent form) and an empty cell
    keeps the text format, so what is typed there later stays text too.
    """
    if text_column and not style:
        style = STYLE_TEXT
    if value is None or value == "":  # openpyxl writes "" as an empty cell too
        return f'<c r="{ref}" s="{style}"/>' if style else ""
    if isinstance(value, str):
        return _text(ref, value, style)
    if isinstance(value, bool):
        styled = f' s="{style}"' if style else ""
        return f'<c r="{ref}"{styled} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        if text_column:
            return _text(ref, str(value), style)
        number = float(value) if isinstance(value, Decimal) else value
        if isinstance(number, float) and not math.isfinite(number):
            return _text(ref, str(value), style)  # Excel has no NaN or infinity
        styled = f' s="{style}"' if style else ""
        return f'<c r="{ref}"{styled}><v>{number!r}</v></c>'
    if isinstance(value, datetime):
        # openpyxl's own conversion, so it reads the serial back as the same datetime.
        return f'<c r="{ref}" s="{STYLE_DATETIME}"><v>{to_excel(value)!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{STYLE_DATE}"><v>{to_excel(value)!r}</v></c>'
    return _text(ref, str(value), style)


class _Sink:
    """A write-only byte stream (no `seek`, no `tell`) whose contents the generator takes."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.size = 0

    def write(self, data: bytes, /) -> int:
        if data:
            self._chunks.append(bytes(data))
            self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self.size = 0
        return data


def stream_xlsx(
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    convert: Callable[[Any], Any],
    sheet_title: str = "数据",
    text_columns: Iterable[int] = (),
    widths: Sequence[float] | None = None,
    on_rows: Callable[[int], None] | None = None,
    before_end: Callable[[int], None] | None = None,
    compresslevel: int = 6,
) -> Iterator[bytes]:
    """The .xlsx file as chunks of bytes.

    `convert` is applied to every header and cell before it is written (the exports pass
    `safe_cell`'s conversion). `on_rows(n)` is called as rows are written (the caller's
    running count, for an export that stops half-way). `before_end(count)` is called once
    every row is written and before the zip's central directory: until that directory is
    sent, what the client holds is not a readable file, so a failure there (the audit
    event cannot be written) leaves the client without a usable export.
    """
    text_set = set(text_columns)
    sink = _Sink()
    archive = zipfile.ZipFile(
        sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel
    )
    archive.writestr("[Content_Types].xml", CONTENT_TYPES)
    archive.writestr("_rels/.rels", ROOT_RELS)
    archive.writestr("xl/workbook.xml", workbook_xml(str(convert(sheet_title))))
    archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
    archive.writestr("xl/styles.xml", STYLES)
    # The first bytes go out before the first row is read (time to first byte).
    yield sink.take()

    count = 0
    with archive.open(SHEET_PATH, "w") as part:
        part.write(sheet_head(widths, freeze_header=True).encode())
        letters: list[str] = []

        def letter(index: int) -> str:
            while len(letters) <= index:
                letters.append(get_column_letter(len(letters) + 1))
            return letters[index]

        header_cells = "".join(
            cell_xml(f"{letter(index)}1", convert(str(header)), style=STYLE_HEADER)
            for index, header in enumerate(headers)
        )
        pending = [f'<row r="1">{header_cells}</row>']
        for row in rows:
            number = count + 2
            cells = []
            for index, raw in enumerate(row):
                cells.append(
                    cell_xml(
                        f"{letter(index)}{number}",
                        convert(raw),
                        text_column=index in text_set,
                    )
                )
            pending.append(f'<row r="{number}">{"".join(cells)}</row>')
            count += 1
            if len(pending) >= ROWS_PER_WRITE:
                part.write("".join(pending).encode())
                pending.clear()
                if on_rows is not None:
                    on_rows(count)
                if sink.size >= CHUNK_BYTES:
                    yield sink.take()
        pending.append(SHEET_TAIL)
        part.write("".join(pending).encode())
    if on_rows is not None:
        on_rows(count)
    if before_end is not None:
        before_end(count)
    archive.close()  # the central directory
    yield sink.take()


def write_xlsx_stream(target, headers, rows, **options) -> int:
    """Write `stream_xlsx` to a path or a binary stream; returns the number of data rows."""
    counted: list[int] = [0]

    def remember(count: int) -> None:
        counted[0] = count

    chunks = stream_xlsx(headers, rows, before_end=remember, **options)
    if hasattr(target, "write"):
        for chunk in chunks:
            target.write(chunk)
    else:
        with open(target, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
    return counted[0]
