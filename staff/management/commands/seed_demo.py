"""`python manage.py seed_demo [--persons N] [--password PW] [--if-empty] [--seed S]
[--no-crosscheck]`.

Builds a synthetic Huoqiu county (staff.demo) for demos and benchmarks, then runs the
cross-check once, so the first login shows a full work queue (as the night's run would
leave it); `--no-crosscheck` skips the run. On a
registry that already holds certificates it refuses with a clear message (exit 1),
or with --if-empty says so and does nothing (exit 0): synthetic persons never mix
with real or earlier demo data. Demo users are updated if they already exist.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from monitoring.crosscheck import run_crosscheck
from monitoring.models import CrosscheckRun
from staff.demo import (
    DEFAULT_PASSWORD,
    DEFAULT_PERSONS,
    DEFAULT_SEED,
    DEMO_USERS,
    DemoError,
    build_demo_county,
    registry_has_certificates,
)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"日期格式应为YYYY-MM-DD：{value} / date must be YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "生成霍邱县演示数据（合成） / Build a synthetic Huoqiu county for demos and benchmarks"

    def add_arguments(self, parser):
        parser.add_argument(
            "--persons", type=int, default=DEFAULT_PERSONS, help="持证残疾人数 / certified persons"
        )
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="演示账号密码 / demo users' password"
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="已有持证数据时跳过 / do nothing if any certificate exists",
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子 / random seed")
        parser.add_argument(
            "--as-of",
            type=_date,
            default=None,
            help="年龄、调查日期的基准日（默认今天） / reference date for ages (default today)",
        )
        parser.add_argument(
            "--no-crosscheck",
            action="store_true",
            help="生成后不运行比对 / do not run the cross-check after building",
        )

    def handle(self, *args, **options):
        if options["if_empty"] and registry_has_certificates():
            self.stdout.write(
                "已有持证残疾人数据，未生成演示数据。 / Certificates exist already: nothing done."
            )
            self.stdout.write(
                "演示账号（若为演示库） / demo logins, if this is the demo database:\n"
                + "\n".join(f"  {name:<10} {text}" for name, _, _, text in DEMO_USERS)
            )
            return
        try:
            summary = build_demo_county(
                persons=options["persons"],
                password=options["password"],
                seed=options["seed"],
                as_of=options["as_of"],
            )
        except DemoError as error:
            raise CommandError(str(error)) from None
        lines = [
            f"演示数据已生成（{summary.seconds:.1f} 秒） / demo county built in {summary.seconds:.1f} s",
            f"  村（社区） villages: {summary.villages}（新建 new {summary.villages_created}）",
            f"  持证残疾人 certified persons: {summary.certified}",
            f"  人员（含家庭成员） persons incl. family members: {summary.persons}",
            f"  调查家庭 survey households: {summary.households}，成员 members: {summary.household_members}",
            f"  调查数据 survey records: {summary.survey_records}",
            f"  监测名单家庭 roster households: {summary.roster_households}"
            f"（脱贫户 left poverty {summary.roster_households_left_poverty}，"
            f"监测户 monitored {summary.roster_households_monitored}，"
            f"仅在名单中 roster only {summary.roster_only_households}）",
            f"  监测名单成员 roster members: {summary.roster_members}",
            f"  结对帮扶 pairings: {summary.pairings}，帮扶措施 assistance measures:"
            f" {summary.assistance_measures}，一人一案 education plans: {summary.education_plans}",
        ]
        if not options["no_crosscheck"]:
            run = run_crosscheck(options["as_of"], trigger=CrosscheckRun.Trigger.COMMAND)
            lines.append(f"  比对已运行 cross-check run: 新增发现 new findings {run.new}")
        lines += [f"演示账号 / demo logins（密码 password: {options['password']}）:"]
        lines += [
            f"  {username:<10} {description} · {scope}"
            for username, description, scope in summary.users
        ]
        self.stdout.write("\n".join(lines))
