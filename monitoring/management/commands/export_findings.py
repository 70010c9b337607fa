"""`manage.py export_findings [--status open|all] [--format json|csv|xlsx] [--output PATH]`.

County admins' export (docs/RULES.md#roles): full ID numbers. Text cells of csv/xlsx pass
`cases.exports.safe_cell`: control and bidi characters become U+FFFD, and text that starts
with = + - @ tab or CR gets a leading apostrophe (formula injection).
"""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from cases.exports import safe_cell
from monitoring.findings import EXPORT_HEADERS, EXPORT_KEYS, export_rows

SHEET_COLUMNS = (
    "rule",
    "rule_name",
    "id_number",
    "name",
    "township",
    "village",
    "status_label",
    "reason",
    "opened_at",
    "decision",
)


class Command(BaseCommand):
    help = (
        "导出比对发现（含完整身份证号，仅县残联管理员使用）/ export findings with full ID numbers"
    )

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=["open", "all"], default="open")
        parser.add_argument("--format", choices=["json", "csv", "xlsx"], default="json")
        parser.add_argument("--output", default=None, help="输出文件；默认标准输出 / file")

    def handle(self, *args, **options):
        fmt, output = options["format"], options["output"]
        if fmt == "xlsx" and not output:
            raise CommandError("导出xlsx必须用--output指定文件 / xlsx export needs --output PATH")
        rows = export_rows(options["status"])
        try:
            if fmt == "xlsx":
                count = write_xlsx(rows, Path(output))
            elif output:
                with open(
                    output, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline=""
                ) as stream:
                    count = WRITERS[fmt](rows, stream)
            else:
                count = WRITERS[fmt](rows, _Raw(self.stdout))
        except OSError as error:
            raise CommandError(
                f"无法写入文件“{output}”：{error.strerror} / cannot write {output}"
            ) from None
        if output:
            self.stderr.write(f"已导出{count}条比对发现到{output}")


def write_json(rows, stream) -> int:
    """A JSON list of {"rule","id_number","name","township","village","status","reason"}."""
    count = 0
    stream.write("[")
    for row in rows:
        stream.write(("," if count else "") + "\n ")
        stream.write(json.dumps({key: row[key] for key in EXPORT_KEYS}, ensure_ascii=False))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count


def write_csv(rows, stream) -> int:
    writer = csv.writer(stream)
    writer.writerow([EXPORT_HEADERS[key] for key in SHEET_COLUMNS])
    count = 0
    for row in rows:
        writer.writerow([safe_cell(row[key]) for key in SHEET_COLUMNS])
        count += 1
    return count


def write_xlsx(rows, path: Path) -> int:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("比对发现")
    sheet.append([EXPORT_HEADERS[key] for key in SHEET_COLUMNS])
    count = 0
    for row in rows:
        cells = []
        for key in SHEET_COLUMNS:
            cell = WriteOnlyCell(sheet, value=safe_cell(row[key]))
            cell.number_format = "@"  # text: IDs never become numbers
            cells.append(cell)
        sheet.append(cells)
        count += 1
    workbook.save(path)
    return count


WRITERS = {"json": write_json, "csv": write_csv}


class _Raw:
    """The command's stdout without the newline Django adds to every write."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")
