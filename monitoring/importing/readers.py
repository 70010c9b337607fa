"""Stream rows from `.xlsx`, `.xls` and `.csv` files (docs/IMPORTS.md).

`open_table(path)` looks at the file's first bytes (not its name: people rename
files) and returns a `Table` whose sheets yield `(row_number, cells)` with the
row number as the spreadsheet shows it (1-based, title rows counted).

Excel files are read with python-calamine; CSV with the csv module, the encoding
detected from a sample: UTF-8 with or without BOM, else GB18030 (a superset of
GBK). The delimiter is whichever of `,` `\\t` `;` the first lines use most.

Before calamine sees a file, `ReadLimits` are checked on what the file declares
and on what it holds, without allocating for it: calamine sizes a sheet from its
declared range and its farthest cell (a single cell at XFD1048576 next to A1 asks
for 17 billion cells), and inflates zip members without a bound.
"""

import codecs
import csv
import functools
import os
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from python_calamine import (
    CalamineError,
    CalamineSheet,
    CalamineWorkbook,
    SheetTypeEnum,
    SheetVisibleEnum,
)

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SAMPLE_BYTES = 1 << 20


class ReadError(ValueError):
    """The file cannot be read at all; `str()` is the Chinese reason."""


@dataclass(frozen=True)
class ReadLimits:
    """What a file may hold before it is read (settings IMPORT_MAX_*, docs/IMPORTS.md "Limits").

    rows × columns: the roster, the largest source (~150,000 rows × 19 columns), twice
    over, with room for added columns. They bound what a declared range may ask
    calamine to reserve; a file really that full would still cost gigabytes, and
    the unpacked limit caps it nearer 25 million real cells. unpacked_bytes: the sum of a zip container's
    members once inflated (a 150,000-row roster sheet is ~100 MB of XML). ratio:
    inflated ÷ stored size of one member; real sheet XML compresses 5–30:1, so
    100:1 is only reached by filler (whitespace, repeated empty cells). Checked for
    members of 1 MB or more, where a high ratio can cost memory.
    """

    max_rows: int = 300_000
    max_columns: int = 200
    max_unpacked_bytes: int = 500 * 1024 * 1024
    max_ratio: int = 100


_RATIO_FLOOR = 1 << 20


def current_limits() -> ReadLimits:
    """The limits from Django settings when configured, else the defaults (plain scripts)."""
    defaults = ReadLimits()
    try:
        from django.conf import settings

        if not settings.configured:
            return defaults
        return ReadLimits(
            max_rows=getattr(settings, "IMPORT_MAX_ROWS", defaults.max_rows),
            max_columns=getattr(settings, "IMPORT_MAX_COLUMNS", defaults.max_columns),
            max_unpacked_bytes=getattr(
                settings, "IMPORT_MAX_UNPACKED_BYTES", defaults.max_unpacked_bytes
            ),
            max_ratio=getattr(settings, "IMPORT_MAX_ZIP_RATIO", defaults.max_ratio),
        )
    except ImportError:
        return defaults


def _too_large(rows: int, columns: int, limits: ReadLimits) -> ReadError:
    return ReadError(
        f"文件声明的表格范围为{rows:,}行×{columns:,}列，超过系统上限"
        f"（{limits.max_rows:,}行×{limits.max_columns:,}列）。"
        "请删除多余的空行空列（选中数据下方和右侧的空白行列后“删除”，而不是只清除内容），"
        "或按乡镇拆分后分别导入。"
    )


@dataclass
class Sheet:
    name: str
    kind: str
    _rows: Callable[[], Iterator[tuple[int, list]]]
    estimated_rows: int | None = None
    first_column: int = 0

    def rows(self) -> Iterator[tuple[int, list]]:
        return self._rows()


@dataclass
class Table:
    kind: str  # "xlsx", "xls" or "csv"
    sheets: list[Sheet]
    encoding: str | None = None


def detect_kind(path: Path) -> str:
    with open(path, "rb") as handle:
        head = handle.read(8)
    if not head:
        raise ReadError("文件是空的（0字节），请选择正确的文件")
    if head.startswith(_ZIP_MAGIC):
        return "xlsx"
    if head.startswith(_OLE_MAGIC):
        return "xls"
    return "csv"


def open_table(path: str | os.PathLike[str], limits: ReadLimits | None = None) -> Table:
    path = Path(path)
    if not path.exists():
        raise ReadError(f"找不到文件：{path.name}")
    limits = limits or current_limits()
    kind = detect_kind(path)
    if kind == "csv":
        return _open_csv(path, limits)
    if kind == "xlsx":
        check_zip(path, limits)
    return _open_excel(path, kind, limits)


# --- Zip containers (.xlsx, .ods) ----------------------------------------------------------------

_CHUNK = 1 << 16
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?\""
)
# Where calamine places a cell: at its own r="B7", else after the previous cell or row.
# The fast path: r= as the first attribute, as Excel, WPS, LibreOffice and openpyxl write
# it. Any other cell tag (r= later, or none) switches the member to the tag-by-tag walk.
# Only references long enough to pass the limit are collected (a 19-column sheet under
# 100,000 rows yields none), which keeps the pass near the cost of inflating.


@functools.cache
def _long_refs(
    limits: ReadLimits, prefixed: bool = True
) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    letters = len(_column_letters(limits.max_columns))
    digits = len(str(limits.max_rows))
    prefix = rb"(?:\w+:)?" if prefixed else b""
    return (
        re.compile(rb'<%sc r="([A-Z]{%d,3})\d' % (prefix, letters)),
        re.compile(rb'<%sc r="[A-Z]{1,3}(\d{%d,7})"' % (prefix, digits)),
    )


def _column_letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=\"(\d{1,7})\"")
_UNPLACED_CELL = re.compile(rb"<(?:\w+:)?c(?:>|/|\s(?!r=\"))")
# The same without the namespace prefix, for the windows that hold no `:c` or `:row` (where
# no prefixed cell or row tag can be): a pattern that starts with a literal `<c`/`<row` is
# found by a fast scan instead of trying every `<` of the XML (four times less CPU).
_ROW_REF_PLAIN = re.compile(rb"<row\b[^>]*?\br=\"(\d{1,7})\"")
_UNPLACED_CELL_PLAIN = re.compile(rb"<c(?:>|/|\s(?!r=\"))")
_TAG = re.compile(rb"<(?:\w+:)?(row|c)[\s>/]([^>]*)")
_R_ATTR = re.compile(rb"\br=\"([A-Z]{0,3})(\d{1,7})\"")
_OVERLAP = 64  # longer than any one tag prefix the patterns must see whole


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _damaged() -> ReadError:
    return ReadError(
        "无法读取该Excel文件（.xlsx）：文件可能已损坏、加密或不是Excel文件。"
        "请用Excel打开后另存为.xlsx再导入"
    )


def check_zip(path: Path, limits: ReadLimits) -> None:
    """Refuse a zip container that would inflate or spread beyond `limits`, before calamine.

    The declared sizes are checked first (no inflating at all); then every member
    is inflated in 64 KB pieces and dropped, so a member larger than it declares
    fails its CRC, and worksheets are scanned for their declared range and their
    farthest cell.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _damaged() from None
    with archive:
        members = archive.infolist()
        total = sum(member.file_size for member in members)
        if total > limits.max_unpacked_bytes:
            raise ReadError(
                f"文件解压后约{total / 1048576:,.0f} MB，超过系统上限"
                f"（{limits.max_unpacked_bytes / 1048576:,.0f} MB）。"
                "请删除多余的空行空列、图片和不需要的工作表，或按乡镇拆分后分别导入。"
            )
        for member in members:
            if member.file_size >= _RATIO_FLOOR and member.file_size > limits.max_ratio * max(
                member.compress_size, 1
            ):
                raise ReadError(
                    f"文件内容的压缩比异常（{member.file_size // max(member.compress_size, 1):,}:1，"
                    f"上限{limits.max_ratio}:1），其中大部分是空白或重复的填充内容。"
                    "请把数据复制到新建的表格中另存后再导入。"
                )
        for member in members:
            _scan_member(archive, member, limits)


def _check_dimension(found: re.Match[bytes], limits: ReadLimits) -> None:
    # calamine reserves room for the declared range before reading a cell, so a
    # range declared beyond the limit is refused even when most of it is empty
    # formatting: there is no way to read the data without that allocation.
    first_column, first_row, last_column, last_row = found.groups()
    if last_column is None or last_row is None:
        return
    rows = int(last_row) - int(first_row) + 1
    columns = _column_number(last_column) - _column_number(first_column) + 1
    if rows > limits.max_rows or columns > limits.max_columns:
        raise _too_large(rows, columns, limits)


def _scan_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limits: ReadLimits) -> None:
    """Inflate one member piece by piece; for a worksheet, find its range and farthest cell."""
    sheet = member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")
    max_row = max_column = 0
    head: bytes | None = b""
    tail = b""
    # Cells without r= (rare writers) are placed after the previous one: then every
    # tag is walked in order to count them (positions differ from Excel's by at most
    # the tail overlap, and only in such files).
    walk = False
    row = column = 0
    prefixed_refs, plain_refs = _long_refs(limits), _long_refs(limits, prefixed=False)
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                if not sheet:
                    continue
                if head is not None:
                    head += chunk
                    found = _DIMENSION.search(head)
                    if found is not None:
                        _check_dimension(found, limits)
                    if found is not None or len(head) >= 4 * _CHUNK:
                        head = None
                window = tail + chunk
                # A lone `:` is found at memory speed (most windows hold none); the two
                # searches for `:c` and `:row` cost as much as one of the patterns.
                if b":" in window and (b":c" in window or b":row" in window):
                    (long_columns, long_rows), row_ref, unplaced = (
                        prefixed_refs,
                        _ROW_REF,
                        _UNPLACED_CELL,
                    )
                else:
                    (long_columns, long_rows), row_ref, unplaced = (
                        plain_refs,
                        _ROW_REF_PLAIN,
                        _UNPLACED_CELL_PLAIN,
                    )
                columns = set(long_columns.findall(window))
                if columns:
                    max_column = max(max_column, max(map(_column_number, columns)))
                cell_rows = long_rows.findall(window)
                if cell_rows:
                    max_row = max(max_row, max(map(int, cell_rows)))
                rows = row_ref.findall(window)
                if rows:
                    max_row = max(max_row, max(map(int, rows)))
                # The last bytes may hold a tag cut in two: the next window sees it whole.
                if not walk:
                    cut = len(window) - 8
                    walk = any(m.start() < cut for m in unplaced.finditer(window))
                if walk:
                    for match in _TAG.finditer(window, len(tail)):
                        ref = _R_ATTR.search(match.group(2))
                        if match.group(1) == b"row":
                            row = int(ref.group(2)) if ref else row + 1
                            column = 0
                        else:
                            column = _column_number(ref.group(1)) if ref else column + 1
                            max_column = max(max_column, column)
                    max_row = max(max_row, row)
                if max_row > limits.max_rows or max_column > limits.max_columns:
                    raise _too_large(max_row, max_column, limits)
                tail = window[-_OVERLAP:]
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError):
        raise _damaged() from None


# --- Excel -------------------------------------------------------------------------------------


def _open_excel(path: Path, kind: str, limits: ReadLimits) -> Table:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        metadata = workbook.sheets_metadata
    except (CalamineError, OSError, ValueError) as error:
        label = "xlsx" if kind == "xlsx" else "xls"
        raise ReadError(
            f"无法读取该Excel文件（.{label}）：文件可能已损坏、加密或不是Excel文件。"
            f"请用Excel打开后另存为.xlsx再导入（{type(error).__name__}）"
        ) from None
    sheets = []
    for meta in metadata:
        if meta.typ != SheetTypeEnum.WorkSheet or meta.visible != SheetVisibleEnum.Visible:
            continue
        sheets.append(_excel_sheet(workbook, meta.name, kind, limits))
    if not sheets:
        raise ReadError("该Excel文件中没有可见的工作表")
    return Table(kind, sheets)


def _excel_sheet(workbook: CalamineWorkbook, name: str, kind: str, limits: ReadLimits) -> Sheet:
    sheet_box: dict = {}

    def load() -> CalamineSheet:
        if "sheet" not in sheet_box:
            try:
                sheet_box["sheet"] = workbook.get_sheet_by_name(name)
            except (CalamineError, OSError, ValueError) as error:
                raise ReadError(
                    f"无法读取工作表“{name}”：文件可能已损坏（{type(error).__name__}）"
                ) from None
        return sheet_box["sheet"]

    def rows() -> Iterator[tuple[int, list]]:
        sheet = load()
        # iter_rows starts at the sheet's first row (row numbers stay absolute) but
        # at its first used column; the offset is kept for the error report.
        try:
            yield from enumerate(sheet.iter_rows(), start=1)
        except (CalamineError, ValueError) as error:
            raise ReadError(f"读取工作表“{name}”时出错：{type(error).__name__}") from None

    sheet = load()
    # An .xls cannot be measured before calamine loads it (python-calamine has no
    # range without the cells), but its format caps a sheet at 65,536 × 256 cells;
    # refusing here still spares the row-by-row work on a sheet beyond the limit.
    if sheet.height > limits.max_rows or sheet.width > limits.max_columns:
        raise _too_large(sheet.height, sheet.width, limits)
    return Sheet(
        name=name,
        kind=kind,
        _rows=rows,
        estimated_rows=sheet.height,
        first_column=sheet.start[1] if sheet.start else 0,
    )


# --- CSV -----------------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig (BOM), utf-8, else gb18030 (GBK superset); unreadable otherwise."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ReadError("无法识别CSV文件的编码：请另存为UTF-8或GBK编码的CSV，或直接导入.xlsx文件")


def _detect_delimiter(text_sample: str) -> str:
    lines = [line for line in text_sample.splitlines()[:20] if line.strip()]
    best, best_count = ",", 0
    for delimiter in (",", "\t", ";"):
        count = max((line.count(delimiter) for line in lines), default=0)
        if count > best_count:
            best, best_count = delimiter, count
    return best


def _open_csv(path: Path, limits: ReadLimits) -> Table:
    with open(path, "rb") as handle:
        sample = handle.read(_SAMPLE_BYTES)
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("文件不是Excel或CSV表格（含二进制内容），请选择.xlsx、.xls或.csv文件")
    encoding = detect_encoding(sample)
    decoded_sample = sample.decode(encoding, errors="ignore")
    delimiter = _detect_delimiter(decoded_sample)
    estimate = None
    if sample:
        lines_in_sample = max(decoded_sample.count("\n"), 1)
        size = path.stat().st_size
        estimate = int(lines_in_sample * size / len(sample))

    def rows() -> Iterator[tuple[int, list]]:
        with open(path, encoding=encoding, newline="") as handle:
            reader = csv.reader(_bounded_lines(handle, limits), delimiter=delimiter)
            number = 0
            try:
                for number, cells in enumerate(reader, start=1):
                    # Blank lines past the limit are skipped, not counted: only data stops it.
                    if number > limits.max_rows and any(cells):
                        raise _too_large_csv(limits)
                    if len(cells) > limits.max_columns and any(cells[limits.max_columns :]):
                        raise _too_large_csv(limits)
                    yield number, cells
            except UnicodeDecodeError:
                raise ReadError(
                    f"CSV文件第{number + 1}行附近有无法识别的字符：文件编码混杂，"
                    "请整体另存为UTF-8或GBK编码后再导入"
                ) from None
            except csv.Error as error:
                raise ReadError(f"CSV文件格式错误：{error}") from None

    name = path.stem
    return Table(
        "csv", [Sheet(name=name, kind="csv", _rows=rows, estimated_rows=estimate)], encoding
    )


def _bounded_lines(handle: TextIO, limits: ReadLimits) -> Iterator[str]:
    """Physical lines, each refused past a length no real row reaches (4,096 characters a
    column): a file of one endless line would otherwise be held whole to be split."""
    longest = limits.max_columns * 4096
    while line := handle.readline(longest + 1):
        if len(line) > longest:
            raise _too_large_csv(limits)
        yield line


def _too_large_csv(limits: ReadLimits) -> ReadError:
    return ReadError(
        f"CSV文件超过系统上限（{limits.max_rows:,}行×{limits.max_columns:,}列）。"
        "请删除多余的行列，或按乡镇拆分后分别导入。"
    )


def decode_preview(path: str | os.PathLike[str], limit: int = 5) -> list[list]:
    """The first rows of the first sheet (for diagnostics and tests)."""
    table = open_table(path)
    out = []
    for _number, cells in table.sheets[0].rows():
        out.append(cells)
        if len(out) >= limit:
            break
    return out
