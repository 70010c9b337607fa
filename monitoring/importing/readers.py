"""Stream rows from `.xlsx`, `.xls` and `.csv` files (docs/IMPORTS.md).

`open_table(path)` looks at the file's first bytes (not its name: people rename
files) and returns a `Table` whose sheets yield `(row_number, cells)` with the
row number as the spreadsheet shows it (1-based, title rows counted).

Excel files are read with python-calamine; CSV with the csv module, the encoding
detected from a sample: UTF-8 with or without BOM, else GB18030 (a superset of
GBK). The delimiter is whichever of `,` `\\t` `;` the first lines use most.
"""

import codecs
import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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


def open_table(path: str | os.PathLike[str]) -> Table:
    path = Path(path)
    if not path.exists():
        raise ReadError(f"找不到文件：{path.name}")
    kind = detect_kind(path)
    if kind == "csv":
        return _open_csv(path)
    return _open_excel(path, kind)


# --- Excel -------------------------------------------------------------------------------------


def _open_excel(path: Path, kind: str) -> Table:
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
        sheets.append(_excel_sheet(workbook, meta.name, kind))
    if not sheets:
        raise ReadError("该Excel文件中没有可见的工作表")
    return Table(kind, sheets)


def _excel_sheet(workbook: CalamineWorkbook, name: str, kind: str) -> Sheet:
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


def _open_csv(path: Path) -> Table:
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
            reader = csv.reader(handle, delimiter=delimiter)
            number = 0
            try:
                for number, cells in enumerate(reader, start=1):
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


def decode_preview(path: str | os.PathLike[str], limit: int = 5) -> list[list]:
    """The first rows of the first sheet (for diagnostics and tests)."""
    table = open_table(path)
    out = []
    for _number, cells in table.sheets[0].rows():
        out.append(cells)
        if len(out) >= limit:
            break
    return out
