"""`manage.py prune_audit [--days N] [--dry-run] [--database-url URL]`: delete audit events
past the retention.

The retention is AUDIT_RETENTION_DAYS (default 365, never below 183 days = six months);
`--days` may lengthen it for one run but never shorten it below 183. Run it monthly
(deploy/huoqiu-prune-audit.timer). On PostgreSQL it connects as the audit table's owner
(`--database-url`, else AUDIT_OWNER_DATABASE_URL; deploy/postgres-roles.sql): the
application's role cannot delete audit rows. The chain stays verifiable (`audit_verify`
starts after the last pruned event). The prune itself is recorded in the audit trail.
"""

from django.core.management.base import BaseCommand, CommandError

from cases.audit import MINIMUM_RETENTION_DAYS, AuditPruneRefused, prune_audit, retention_days


class Command(BaseCommand):
    help = "清理超过保存期限的审计日志（至少保留183天）/ delete audit events past the retention"

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"保存天数，默认AUDIT_RETENTION_DAYS，最少{MINIMUM_RETENTION_DAYS} / retention days",
        )
        parser.add_argument("--dry-run", action="store_true", help="只统计不删除 / count only")
        parser.add_argument(
            "--database-url",
            default=None,
            help="审计表所有者的数据库连接，默认AUDIT_OWNER_DATABASE_URL / the owner's database URL",
        )

    def handle(self, *args, **options):
        days = options["days"] if options["days"] is not None else retention_days()
        if days < MINIMUM_RETENTION_DAYS:
            raise CommandError(
                f"审计日志至少保存{MINIMUM_RETENTION_DAYS}天，--days {days} 太短 / "
                f"retention must be at least {MINIMUM_RETENTION_DAYS} days"
            )
        try:
            count = prune_audit(
                days, dry_run=options["dry_run"], database_url=options["database_url"]
            )
        except AuditPruneRefused as error:
            raise CommandError(str(error)) from error
        if options["dry_run"]:
            self.stdout.write(
                f"将删除{count}条早于{days}天的审计日志 / {count} events would be deleted"
            )
        else:
            self.stdout.write(f"已删除{count}条早于{days}天的审计日志 / {count} events deleted")
