"""`manage.py pension_roster --year Y --output PATH [--on DATE] [--township NAME]`.

The annual pension-contribution roster (城乡居保代缴花名册) as .xlsx, full ID numbers:
a county-admin document. Calls `monitoring.rosters.write_pension_roster`.
"""

from django.core.management.base import BaseCommand, CommandError

from cases.cli import date_option, township_option
from monitoring.rosters import RosterError, write_pension_roster
from subsidies.policy import PolicyError


class Command(BaseCommand):
    help = "生成城乡居保代缴花名册（.xlsx）/ write the annual pension-contribution roster"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度 / year")
        parser.add_argument("--output", required=True, help="输出文件 .xlsx / output path")
        parser.add_argument(
            "--on", default=None, help="年龄计算日期，默认当年1月1日 / age date (YYYY-MM-DD)"
        )
        parser.add_argument("--township", default=None, help="只含某乡镇 / one township only")

    def handle(self, *args, **options):
        on = date_option(options["on"])
        township = township_option(options["township"])
        try:
            result = write_pension_roster(
                options["output"], options["year"], on=on, township=township
            )
        except (RosterError, PolicyError) as error:
            raise CommandError(f"{error} / roster not written") from None
        except OSError as error:
            raise CommandError(f"无法写入输出文件：{error} / cannot write output") from None
        self.stdout.write(
            f"{result.title}：{result.rows}人，合计{result.total:,.2f}元 → {options['output']}"
        )
