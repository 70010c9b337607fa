"""`manage.py import_sweep [--json]`: fail the import batches whose run died (docs/IMPORTS.md).

Same service as the nightly task and the imports page (`monitoring.import_sweeper`).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import DatabaseError

from monitoring.import_sweeper import sweep_stale_imports

from ._errors import database_error


class Command(BaseCommand):
    help = (
        "把长时间没有心跳的导入批次标为失败（导入中断）/ "
        "mark import batches whose run stopped beating as failed"
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="输出JSON / print JSON")

    def handle(self, *args, **options):
        try:
            swept = sweep_stale_imports()
        except DatabaseError as error:
            raise database_error(
                error, "未能清理中断的导入", "no interrupted import was marked"
            ) from None
        if options["json"]:
            self.stdout.write(json.dumps({"failed": [batch.pk for batch in swept]}))
            return
        minutes = int(settings.IMPORT_STALE_MINUTES.total_seconds() // 60)
        if not swept:
            self.stdout.write(f"没有超过{minutes}分钟无心跳的导入批次 / nothing to sweep")
            return
        for batch in swept:
            self.stdout.write(f"批次{batch.pk}（{batch.original_name}）：导入中断，已标为失败")
        self.stdout.write(f"共{len(swept)}个批次 / {len(swept)} batch(es) marked failed")
