"""Validate a source file: stream rows → header → normalised values → typed rows + row errors.

Plain Python: the only outside knowledge is the `townships` lookup (full name →
Township id) the caller passes in, so the engine runs the same from the CLI, a
worker, the admin preview or a test, and never writes anything.

Rows the engine does not count as data: blank rows (every mapped cell blank),
footer rows (`合计…`, `填表人：…`, `审核人…` whose ID cell holds no ID) and repeated
header rows (multi-page exports).
"""

import operator
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cases.masking import shown_text
from cases.text import clean_text

from . import values as v
from .conflicts import HouseholdConflict, roster_conflicts
from .headers import AliasMap, HeaderMatch, describe_columns, find_header, header_key
from .readers import ReadError, open_table
from .sources import ROSTER, RowContext, SourceSpec, spec_for

_FOOTER = re.compile(
    r"^(合计|总计|小计|共计|总数|填表人|填报人|制表人|审核人|审批人|负责人|统计人|经办人|"
    r"联系人|联系电话|填表日期|制表日期|填报日期|单位负责人|分管领导|备注|注[:：]|说明[:：])"
)
PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class RowError:
    """One problem: spreadsheet row number (None for the whole file), column as in the file."""

    row: int | None
    column: str
    message: str

    def __post_init__(self) -> None:
        # Messages quote cells (`values.shown`) and a cell may hold an ID or certificate
        # number, even in a name column. Row and column already locate the cell, and the
        # messages reach pages and the batch, so every number in them is masked here; and
        # the control characters a cell may hold are marked (PostgreSQL's JSON cannot store
        # NUL, and a bidi override would reorder the message on the page).
        object.__setattr__(self, "message", shown_text(self.message))
        object.__setattr__(self, "column", clean_text(self.column))

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ValidationResult:
    source: str
    rows: list = field(default_factory=list)  # typed rows that passed their own checks
    errors: list[RowError] = field(default_factory=list)
    invalid_rows: set[int] = field(default_factory=set)
    data_rows: int = 0
    file_error: str | None = None
    header: HeaderMatch | None = None
    sheet_name: str = ""
    sheet_index: int = 0
    kind: str = ""
    encoding: str | None = None
    townships: set[int] = field(default_factory=set)  # named by any row, valid or not
    unattributed_rows: int = 0  # rows whose township is blank or unknown (scope of reports)
    seen_ids: set[str] = field(default_factory=set)  # IDs of every row, valid or not
    seen_households: set[str] = field(default_factory=set)  # roster 户编号 of every row
    seen_keys: set = field(default_factory=set)  # duplicate keys of every row (civil: ID+项目)
    # Roster households whose valid rows disagree on a household value: reported, not errors.
    warnings: list[HouseholdConflict] = field(default_factory=list)

    @property
    def valid_rows(self) -> list:
        if not self.invalid_rows:
            return self.rows
        return [row for row in self.rows if row.row not in self.invalid_rows]

    @property
    def ok(self) -> bool:
        return self.file_error is None and not self.errors

    @property
    def invalid_count(self) -> int:
        return len(self.invalid_rows)


def _first_text(cells: Sequence[object]) -> str:
    for cell in cells:
        if not v.is_blank(cell):
            return v.text(cell)
    return ""


def validate(
    source: str,
    path: str | os.PathLike[str],
    townships: dict[str, int],
    progress: Callable[[int], None] | None = None,
    progress_span: int = 100,
) -> ValidationResult:
    """Read and check a file. `townships` maps full township names to Township ids.

    `progress(percent)` is called now and then with 0…progress_span.
    """
    spec = spec_for(source)
    result = ValidationResult(source=spec.source)
    try:
        _validate(spec, path, townships, result, progress, progress_span)
    except ReadError as error:
        _file_error(result, str(error))
    result.errors.sort(key=lambda error: error.row or 0)
    return result


def _file_error(
    result: ValidationResult, message: str, row: int | None = None, column: str = ""
) -> None:
    result.file_error = message
    result.errors = [RowError(row, column, message)]
    result.rows = []
    result.invalid_rows = set()
    result.warnings = []


def _validate(
    spec: SourceSpec,
    path: str | os.PathLike[str],
    townships: dict[str, int],
    result: ValidationResult,
    progress: Callable[[int], None] | None,
    progress_span: int,
) -> None:
    table = open_table(path)
    result.kind, result.encoding = table.kind, table.encoding
    alias_map = AliasMap(spec.columns)
    header = best_guess = None
    rows = None
    any_rows = False
    for index, sheet in enumerate(table.sheets):
        rows = sheet.rows()
        header, guess, consumed = find_header(rows, alias_map)
        any_rows = any_rows or any(not v.is_blank(cell) for _, cells in consumed for cell in cells)
        if best_guess is None or (guess and len(guess.indexes) > len(best_guess.indexes)):
            best_guess = guess
        if header is not None:
            result.sheet_name, result.sheet_index = sheet.name, index
            estimated = sheet.estimated_rows
            break
    if header is None:
        if not any_rows:
            _file_error(result, "文件中没有数据：工作表是空的，请检查是否选错了文件")
            return
        required = [column for column in spec.columns if column.required]
        found = ""
        if best_guess is not None and best_guess.indexes:
            found = (
                f"（第{best_guess.row_number}行只识别出：{'、'.join(best_guess.names.values())}）"
            )
        _file_error(
            result,
            f"找不到表头行：前30行中没有一行包含足够的{spec.label}列名{found}。"
            f"请确认文件类型是否选对，表头应包含：{describe_columns(required)}",
        )
        return
    result.header = header
    if header.missing_required:
        missing = "、".join(header.missing_required)
        required = [column for column in spec.columns if column.name in header.missing_required]
        _file_error(
            result,
            f"缺少必填列：{missing}（表头在第{header.row_number}行）。"
            f"请在表头中加上这些列，列名可写：{describe_columns(required)}",
            row=header.row_number,
            column=missing,
        )
        return

    assert rows is not None  # the sheet the header was found on
    names = {column.key: header.names.get(column.key, column.name) for column in spec.columns}
    mapped = [
        (column, header.indexes[column.key])
        for column in spec.columns
        if column.key in header.indexes
    ]
    key_index = header.indexes[spec.key_column]
    key_header = header_key(header.names[spec.key_column])
    first_seen: dict = {}
    parsers = [(column.key, column.parse) for column, _ in mapped]
    indexes = [i for _, i in mapped]
    # One C call picks a row's mapped cells (a row as long as the header, the usual case).
    pick = operator.itemgetter(*indexes) if len(indexes) > 1 else lambda cells: (cells[indexes[0]],)
    last = max(indexes)
    for row_number, cells in rows:
        width = len(cells)
        if width > last:
            raws = pick(cells)
        else:
            raws = tuple(cells[i] if i < width else None for i in indexes)
        if all(map(v.is_blank, raws)):
            continue
        key_raw = cells[key_index] if key_index < width else None
        key_text = "" if v.is_blank(key_raw) else v.text(key_raw)
        if len(key_text) < 10 and _FOOTER.match(_first_text(cells)):
            continue  # 合计 / 填表人 rows (a count such as “50人” may sit in any column)
        # A header name never starts with a digit (an ID always does): no key needed then.
        if key_text and not key_text[0].isdigit() and header_key(key_raw) == key_header:
            continue  # the header repeated (page breaks in an export)
        result.data_rows += 1
        if progress is not None and result.data_rows % PROGRESS_EVERY == 0 and estimated:
            progress(min(progress_span, progress_span * row_number // max(estimated, 1)))

        ctx = RowContext(row_number, names, spec, townships)
        parsed: dict = {}
        for (key, parse), raw in zip(parsers, raws, strict=True):
            try:
                parsed[key] = parse(raw)
            except v.ValueProblem as problem:
                ctx.error(key, str(problem))
                parsed[key] = None
        _remember(result, parsed, townships)
        typed = spec.build(parsed, ctx)
        if ctx.problems:
            result.invalid_rows.add(row_number)
            for key, message in ctx.problems:
                result.errors.append(RowError(row_number, names.get(key, key), message))
        if typed is not None:
            result.rows.append(typed)
        duplicate_key = spec.duplicate_key(parsed)
        if duplicate_key is not None:
            result.seen_keys.add(duplicate_key)
            brief = {
                "household_number": parsed.get("household_number"),
                "benefit_type": parsed.get("benefit_type"),
            }
            if duplicate_key in first_seen:
                first_row, first_brief = first_seen[duplicate_key]
                to_first, to_other = spec.duplicate_messages(
                    first_brief, brief, first_row, row_number
                )
                key_name = names[spec.key_column]
                result.errors.append(RowError(first_row, key_name, to_first))
                result.errors.append(RowError(row_number, key_name, to_other))
                result.invalid_rows.update((first_row, row_number))
            else:
                first_seen[duplicate_key] = (row_number, brief)
    if spec is ROSTER:
        result.warnings = roster_conflicts(result.valid_rows, names, townships)
    if progress is not None:
        progress(progress_span)


def _remember(result: ValidationResult, parsed: dict, townships: dict[str, int]) -> None:
    """IDs, townships and households named by any row (even an invalid one).

    A roster snapshot must not mark a member "no longer current" just because
    their row had an error in a skip-invalid import.
    """
    parsed_id = parsed.get("id_number")
    if parsed_id is not None:
        result.seen_ids.add(parsed_id.number)
    township_name = parsed.get("township")
    if township_name is not None and township_name in townships:
        result.townships.add(townships[township_name])
    else:
        result.unattributed_rows += 1
    household = parsed.get("household_number")
    if household is not None:
        result.seen_households.add(household)
