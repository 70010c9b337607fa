"""The downloadable error report: the original sheet with an added 错误说明 column.

Every row of the original sheet is written back in place (same row numbers, title
rows included), the cells that caused an error are filled red and the row's
messages go in the last column. Warnings that do not stop the import (roster
households whose rows disagree) fill their cells orange and follow the errors in
that column, marked 提示. Streams with openpyxl's write-only mode.
When the file could not be read at all, the report is a plain list of the errors.
"""

import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.child import INVALID_TITLE_REGEX

from cases.text import clean_text

from .conflicts import HouseholdConflict
from .engine import RowError, ValidationResult
from .readers import ReadError, open_table

ERROR_HEADER = "错误说明"
WARNING_PREFIX = "提示（不影响导入）："
BAD_FILL = PatternFill("solid", fgColor="FFC7CE")
WARN_FILL = PatternFill("solid", fgColor="FCD5B4")
ERROR_FILL = PatternFill("solid", fgColor="FFEB9C")
HEADER_FONT = Font(bold=True, color="9C0006")


def _cell(sheet: Any, value: object, fill: Any = None) -> Any:  # openpyxl is untyped
    # The user's own cells come back as they were, so the report can be corrected and
    # uploaded again (no apostrophe before = here); only the characters a workbook cannot
    # hold and the bidi controls go, through the project's one sanitiser.
    if isinstance(value, str):
        value = clean_text(value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # keep text that looks like a formula as text
    if fill is not None:
        cell.fill = fill
    return cell


def write_error_report(
    source_path: str | os.PathLike[str],
    result: ValidationResult,
    out: str | os.PathLike[str] | IO[bytes],
) -> None:
    """Write the report for `result` (validated from `source_path`) to a path or binary file."""
    workbook = Workbook(write_only=True)
    try:
        table = open_table(source_path)
        sheet_source = table.sheets[result.sheet_index]
    except (ReadError, IndexError):
        _write_error_list(workbook, result.errors)
        workbook.save(out)
        return

    sheet = workbook.create_sheet(title=_sheet_title(sheet_source.name))
    header = result.header
    offset = sheet_source.first_column
    by_row: dict[int, list[RowError]] = defaultdict(list)
    file_level: list[RowError] = []
    for error in result.errors:
        if error.row is None:
            file_level.append(error)
        else:
            by_row[error.row].append(error)
    warned: dict[int, list[HouseholdConflict]] = defaultdict(list)
    for warning in result.warnings:
        for row in warning.rows:
            warned[row].append(warning)
    column_index = {}
    if header is not None:
        column_index = {header.names[key]: index for key, index in header.indexes.items()}
    width = len(header.cells) if header is not None else 0
    header_row = header.row_number if header is not None else 1
    sheet.column_dimensions["A"].width = 8

    for row_number, cells in sheet_source.rows():
        width = max(width, _used_width(cells))
        errors = by_row.get(row_number, [])
        if row_number == header_row:
            errors = file_level + errors
        warnings = warned.get(row_number, [])
        bad_columns = {column_index.get(error.column) for error in errors}
        warn_columns = {column_index.get(warning.column) for warning in warnings}
        out_cells = [_cell(sheet, None) for _ in range(offset)]
        for index, value in enumerate(cells[:width]):
            fill = BAD_FILL if index in bad_columns else None
            if fill is None and index in warn_columns:
                fill = WARN_FILL
            out_cells.append(_cell(sheet, value, fill))
        out_cells.extend(_cell(sheet, None) for _ in range(width - min(len(cells), width)))
        if row_number == header_row and header is not None:
            note = _cell(sheet, ERROR_HEADER, ERROR_FILL)
            note.font = HEADER_FONT
            if errors:
                note.value = f"{ERROR_HEADER}：" + "；".join(error.message for error in errors)
        elif errors or warnings:
            notes = [_join(errors)] if errors else []
            notes.extend(WARNING_PREFIX + warning.message for warning in warnings)
            note = _cell(sheet, "；".join(notes), ERROR_FILL)
            note.alignment = Alignment(wrap_text=True)
        else:
            note = _cell(sheet, None)
        out_cells.append(note)
        sheet.append(out_cells)
    workbook.save(out)


def _sheet_title(name: str | None) -> str:
    """The uploaded sheet's name as a title openpyxl accepts (it refuses [ ] : * ? / \\)."""
    title = INVALID_TITLE_REGEX.sub("_", clean_text(name or ""))[:31]
    return title or "Sheet1"


def _used_width(cells: Sequence[object]) -> int:
    width = len(cells)
    while width and (cells[width - 1] is None or cells[width - 1] == ""):
        width -= 1
    return width


def _join(errors: list[RowError]) -> str:
    return "；".join(
        f"{error.column}：{error.message}" if error.column else error.message for error in errors
    )


def _write_error_list(workbook: Workbook, errors: list[RowError]) -> None:
    sheet = workbook.create_sheet(title="错误说明")
    sheet.append([_cell(sheet, "行号"), _cell(sheet, "列"), _cell(sheet, ERROR_HEADER, ERROR_FILL)])
    for error in errors:
        sheet.append(
            [_cell(sheet, error.row), _cell(sheet, error.column), _cell(sheet, error.message)]
        )


def report_name(original_name: str) -> str:
    return f"{Path(original_name).stem or 'import'}-错误说明.xlsx"
