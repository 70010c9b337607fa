"""`manage.py indicator_snapshot [--month YYYY-MM]`: store one month's indicator snapshot.

Calls `staff.snapshots.indicator_snapshot_take`; without `--month`, the current month.
Running a month again replaces its rows.
"""

from django.core.management.base import BaseCommand, CommandError

from cases.casework_base import today
from cases.cli import month_option
from staff.snapshots import indicator_snapshot_take


class Command(BaseCommand):
    help = "生成指标月度快照 / snapshot every indicator per township for one month"

    def add_arguments(self, parser):
        parser.add_argument("--month", default=None, help="月份 YYYY-MM，默认本月 / month")

    def handle(self, *args, **options):
        month = month_option(options["month"]) if options["month"] else today().replace(day=1)
        if month > today():
            raise CommandError(f"不能为未来月份生成快照：{month:%Y-%m} / month is in the future")
        result = indicator_snapshot_take(month)
        self.stdout.write(
            f"{result.month:%Y年%m月}指标快照（截至{result.as_of:%Y-%m-%d}）："
            f"{result.tables}张表，{result.rows}条（替换{result.replaced}条）"
        )
