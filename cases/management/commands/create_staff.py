"""`manage.py create_staff USERNAME --role R [--township T] [--village V]`: add a staff user.

The password comes from the environment variable HUOQIU_STAFF_PASSWORD (for scripts) or
is asked twice at the terminal; it is checked by the password validators (at least 10
characters, not common, not only digits, not like the username). Roles:
county_admin, county_viewer, township_staff (needs --township), village_member (needs
--township and --village).
"""

import getpass
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from cases.accounts import AccountError, create_staff_user, password_problems
from cases.models import Role

PASSWORD_VARIABLE = "HUOQIU_STAFF_PASSWORD"  # noqa: S105 - a variable name, not a password


class Command(BaseCommand):
    help = "创建工作人员账号并分配角色与数据范围 / create a staff user with a role and scope"

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=[role.value for role in Role])
        parser.add_argument("--township", default=None, help="乡镇，如 城关镇 / township")
        parser.add_argument("--village", default=None, help="村（社区）/ village")
        parser.add_argument("--first-name", default="", help="名 / given name")
        parser.add_argument("--last-name", default="", help="姓 / family name")

    def _password(self, username: str) -> str:
        password = os.environ.get(PASSWORD_VARIABLE)
        if password is not None:
            return password
        if not self.stdin_is_tty():
            raise CommandError(
                f"请在终端运行以输入密码，或设置环境变量{PASSWORD_VARIABLE} / "
                f"no terminal: set {PASSWORD_VARIABLE}"
            )
        for _attempt in range(3):
            password = getpass.getpass("密码 / password: ")
            if getpass.getpass("再次输入 / again: ") != password:
                self.stderr.write("两次输入不一致 / passwords differ")
                continue
            problems = password_problems(password, username)
            if not problems:
                return password
            self.stderr.write("；".join(problems))
        raise CommandError("密码未设置 / no acceptable password given")

    @staticmethod
    def stdin_is_tty() -> bool:
        import sys

        return sys.stdin.isatty()

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):  # validator messages in Chinese
            self._create(options)

    def _create(self, options):
        username = options["username"]
        password = self._password(username)
        try:
            user, profile = create_staff_user(
                username,
                password,
                role=options["role"],
                township=options["township"],
                village=options["village"],
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except AccountError as error:
            raise CommandError(f"{error} / user not created") from None
        where = profile.village or profile.township or "全县"
        self.stdout.write(
            f"已创建账号 {user.username}：{profile.get_role_display()}，范围 {where} / created"
        )
