"""`manage.py crosscheck [--as-of YYYY-MM-DD] [--json]`: run the cross-check now (docs/CROSSCHECK.md).

Same service as the nightly task (`monitoring.crosscheck.run_crosscheck`), in this process.
"""

import argparse
import getpass
import json
import os
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from monitoring.crosscheck import CrosscheckBusy, run_crosscheck, summary
from monitoring.models import CrosscheckRun
from monitoring.rules import REGISTRY
from subsidies.policy import PolicyError

from ._errors import database_error


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期应为YYYY-MM-DD格式，收到“{value}” / date must be YYYY-MM-DD"
        ) from None


def os_user() -> str:
    """The person at the shell, for the run record; blank when it cannot be told.

    Under sudo the login user is root, so SUDO_USER names the person; `getpass` reads
    LOGNAME/USER and then the password database, which a container's arbitrary uid
    may lack (it raises then, and the run is still recorded).
    """
    name = os.environ.get("SUDO_USER", "")
    if not name:
        try:
            name = getpass.getuser()
        except (OSError, KeyError, ImportError):
            name = ""
    return name.strip()


class Command(BaseCommand):
    help = "立即运行比对（与夜间任务相同）/ run the cross-check now (same as the nightly job)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=iso_date, default=None, help="比对基准日，默认今天 / as-of date"
        )
        parser.add_argument("--json", action="store_true", help="输出JSON / print JSON")

    def handle(self, *args, **options):
        try:
            run = run_crosscheck(
                options["as_of"], trigger=CrosscheckRun.Trigger.COMMAND, os_user=os_user()
            )
        except (CrosscheckBusy, PolicyError) as error:
            raise CommandError(str(error)) from None
        except DatabaseError as error:
            raise database_error(
                error,
                "本次比对未改动任何比对结果（已整体回滚）",
                "the cross-check changed nothing",
            ) from None
        result = summary(run)
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            return
        self.stdout.write(
            f"比对#{run.pk} 基准日{run.as_of:%Y-%m-%d} 完成，用时{run.duration_seconds:.1f}秒："
            f"新增{run.new}（其中重新出现{run.reopened}），仍待处理{run.still_open}，已消除{run.cleared}"
        )
        for code, counts in result["by_rule"].items():
            if any(counts.values()):
                self.stdout.write(
                    f"  {code} {REGISTRY[code].name}：新增{counts['new']}，"
                    f"仍待处理{counts['still_open']}，已消除{counts['cleared']}"
                )
        if run.message:
            self.stdout.write(f"注意：{run.message}")
