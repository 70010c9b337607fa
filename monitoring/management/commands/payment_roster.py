"""`manage.py payment_roster --benefit X --month YYYY-MM [--township NAME] --output PATH`.

A monthly payment roster (发放花名册) of one benefit as .xlsx, full ID numbers: a
county-admin document. Calls `monitoring.rosters.write_payment_roster`.
"""

from django.core.management.base import BaseCommand, CommandError

from cases.cli import month_option, township_option
from monitoring.rosters import RosterError, write_payment_roster

from ._roster_args import benefit_option


class Command(BaseCommand):
    help = "生成救助与补贴月度发放花名册（.xlsx）/ write a monthly payment roster"

    def add_arguments(self, parser):
        parser.add_argument(
            "--benefit",
            required=True,
            help="项目：dibao/tekun/living_subsidy/care_subsidy/temporary_relief 或中文名称",
        )
        parser.add_argument("--month", required=True, help="月份 YYYY-MM / month")
        parser.add_argument("--township", default=None, help="只含某乡镇 / one township only")
        parser.add_argument("--output", required=True, help="输出文件 .xlsx / output path")

    def handle(self, *args, **options):
        benefit = benefit_option(options["benefit"])
        month = month_option(options["month"])
        township = township_option(options["township"])
        try:
            result = write_payment_roster(options["output"], benefit, month, township=township)
        except RosterError as error:
            raise CommandError(f"{error} / roster not written") from None
        except OSError as error:
            raise CommandError(f"无法写入输出文件：{error} / cannot write output") from None
        self.stdout.write(
            f"{result.title}：{result.rows}人，合计{result.total:,.2f}元 → {options['output']}"
        )
