"""`manage.py audit_verify [--since-seq N]`: walk the audit trail's hash chain.

Recomputes every event's hash in sequence order (streamed) and reports the first broken
link — a changed or foreign row, a missing number, rows removed at the start or the end,
an unchained row written after the chain began — with exit code 1; otherwise 完整, the
number of events checked, the legacy (pre-chain) rows and the head, which is worth
keeping off the database (docs/OPERATIONS.md) since only it reveals a cut-off tail.
"""

from django.core.management.base import BaseCommand, CommandError

from cases.audit import audit_verify


class Command(BaseCommand):
    help = "校验审计日志哈希链 / verify the audit trail's hash chain"

    def add_arguments(self, parser):
        parser.add_argument(
            "--since-seq",
            type=int,
            default=None,
            help="从该链序号开始校验（信任其前一条）/ start at this sequence number",
        )

    def handle(self, *args, **options):
        report = audit_verify(since_seq=options["since_seq"])
        legacy = f"；另有{report.legacy}条建链前的记录未入链 / {report.legacy} legacy rows"
        if report.broken is not None:
            broken = report.broken
            raise CommandError(
                f"审计链断裂 / chain broken: {broken.message}"
                f"（类型 {broken.kind}，序号 {broken.seq}，id {broken.id or '-'}；"
                f"此前已校验{report.checked}条）{legacy}"
            )
        span = (
            f"（序号{report.first_seq}–{report.first_seq + report.checked - 1}）"
            if report.checked
            else ""
        )
        self.stdout.write(
            f"完整 / intact: 已校验{report.checked}条{span}{legacy}；"
            f"链头 seq {report.head_seq} hash {report.head_hash or '-'}"
        )
