"""`manage.py set_policy --year Y [--monitoring-line N] [...]`: a year's policy parameters.

Calls `subsidies.policy.policy_set`, which records the change in the history and marks
the year as confirmed by the county (no longer a system default).
"""

from django.core.management.base import BaseCommand, CommandError

from subsidies.policy import FIELDS, PolicyError, policy_set

OPTIONS = {
    "monitoring_line": "--monitoring-line",
    "rigid_expenditure_threshold": "--rigid-threshold",
    "care_subsidy_includes_grade3_mental": "--care-grade3-mental",
    "dibao_standard_monthly": "--dibao-standard",
    "living_subsidy_monthly": "--living-subsidy",
    "care_subsidy_monthly": "--care-subsidy",
    "pension_contribution_tier": "--pension-tier",
}


class Command(BaseCommand):
    help = "设置年度政策参数（记录修改历史）/ set a year's policy parameters (recorded in history)"

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True, help="年度 / year")
        for field, flag in OPTIONS.items():
            label = FIELDS[field][0]
            if FIELDS[field][1] == "flag":
                parser.add_argument(flag, dest=field, choices=["yes", "no"], help=label)
            else:
                parser.add_argument(flag, dest=field, default=None, metavar="N", help=label)
        parser.add_argument("--reason", default="", help="修改原因 / reason for the change")

    def handle(self, *args, **options):
        values = {field: options[field] for field in OPTIONS if options[field] is not None}
        if not values:
            raise CommandError(
                "请至少指定一个参数（如 --monitoring-line 7000） / give at least one parameter"
            )
        flag = "care_subsidy_includes_grade3_mental"
        if flag in values:
            values[flag] = values[flag] == "yes"
        try:
            policy = policy_set(options["year"], reason=options["reason"], **values)
        except PolicyError as error:
            raise CommandError(str(error)) from None
        shown = "，".join(
            f"{FIELDS[field][0]} {_show(getattr(policy, field))}" for field in OPTIONS
        )
        self.stdout.write(f"已设置{policy.year}年度政策参数：{shown}")


def _show(value) -> str:
    if value is None:
        return "未设置"
    if isinstance(value, bool):
        return "是" if value else "否"
    return f"{value:,.2f}元".replace(".00元", "元")
