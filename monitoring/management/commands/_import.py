"""Shared body of `import_survey`, `import_roster` and `import_civil` (docs/IMPORTS.md).

Thin: parse arguments, call `monitoring.services`, print. Exit status 0 when the
batch is done (a skip-invalid import with skipped rows included); 1 with a one-line
Chinese and English reason when it was rejected or failed (with --json the summary
is still printed on stdout, the reason goes to stderr).
"""

import json
import shutil
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from monitoring.models import ImportBatch, Source
from monitoring.services import import_create_batch, import_run, import_summary

from ._errors import database_error

LABELS = {
    Source.SURVEY: ("调查数据", "survey"),
    Source.ROSTER: ("监测名单", "monitoring roster"),
    Source.CIVIL: ("民政名册", "civil-affairs roster"),
}


class ImportCommand(BaseCommand):
    source: str = ""
    requires_system_checks: list = []  # a scripted import need not re-check the project

    def add_arguments(self, parser):
        parser.add_argument("file", help="导入文件（.xlsx、.xls 或 .csv）")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="跳过有错误的行，只写入正确的行（默认严格模式：有任何错误都不写入）",
        )
        parser.add_argument(
            "--errors-out", metavar="PATH", help="有错误时把错误报告（.xlsx）写到此路径"
        )
        parser.add_argument("--json", action="store_true", help="以 JSON 输出导入结果")

    def handle(self, *args, **options):
        label_zh, label_en = LABELS[Source(self.source)]
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"找不到文件：{path} / File not found: {path}")
        try:
            batch = import_create_batch(
                self.source, path, original_name=path.name, skip_invalid=options["skip_invalid"]
            )
            batch = import_run(batch.pk)
        except DatabaseError as error:
            raise database_error(error, "本次导入未写入任何数据", "nothing was imported") from None

        if options["errors_out"] and batch.error_report:
            with batch.error_report.open("rb") as report, open(options["errors_out"], "wb") as out:
                shutil.copyfileobj(report, out)

        summary = import_summary(batch)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            self._print_human(batch, label_zh)

        if batch.status == ImportBatch.Status.DONE:
            return
        if batch.status == ImportBatch.Status.REJECTED:
            count = len({error["row"] for error in batch.errors})
            reason = (
                f"{label_zh}导入被拒绝（批次{batch.pk}）：{batch.message} / "
                f"{label_en} import rejected (batch {batch.pk}): "
                + (
                    "the file could not be used, see the message"
                    if batch.rows == 0 or any(error["row"] is None for error in batch.errors)
                    else f"{count} row(s) have errors; nothing was written"
                )
            )
        else:
            reason = (
                f"{label_zh}导入失败（批次{batch.pk}）：{batch.message} / "
                f"{label_en} import failed (batch {batch.pk}); nothing was written"
            )
        self.stderr.write(" ".join(reason.split()))
        sys.exit(1)

    def _print_human(self, batch: ImportBatch, label: str) -> None:
        self.stdout.write(
            f"{label}导入批次{batch.pk}（{batch.get_status_display()}）：数据行{batch.rows}，"
            f"新增{batch.created}，更新{batch.updated}，未变{batch.unchanged}，跳过{batch.skipped}"
        )
        for error in batch.errors[:50]:
            where = f"第{error['row']}行" if error["row"] else "文件"
            column = f"【{error['column']}】" if error["column"] else ""
            self.stdout.write(f"  {where}{column}{error['message']}")
        if len(batch.errors) > 50:
            self.stdout.write(f"  ……共{len(batch.errors)}条错误，完整列表见错误报告")
        if batch.message:
            self.stdout.write(batch.message)
        # Warnings, not errors: the rows were imported with the head's values.
        for conflict in batch.household_conflicts[:50]:
            self.stdout.write(f"  提示：{conflict['message']}")
        if len(batch.household_conflicts) > 50:
            self.stdout.write(
                f"  ……共{len(batch.household_conflicts)}条户内不一致提示，完整列表见错误报告"
            )
