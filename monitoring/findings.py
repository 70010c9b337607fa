"""Services for a person's decision on findings (已处理 / 不予处理) and the findings export.

Every decision writes a `FindingEvent` (the finding's history: who, when, from which
status to which, and the action or reason). The job's own transitions (new, cleared,
reopened) are written by `monitoring.crosscheck`.
"""

from collections.abc import Iterable, Iterator

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from cases.audit import Action, audit_many, build_event
from cases.casework_base import REASON_MAX_LENGTH, too_long_message
from cases.scope import AnyUser, scope_for, scoped

from .models import Finding, FindingEvent
from .rules import REGISTRY


class FindingError(ValueError):
    """A decision that cannot be accepted; `str()` is the Chinese reason shown to the user."""


DECIDABLE = (Finding.Status.OPEN, Finding.Status.HANDLED, Finding.Status.DISMISSED)


def finding_handle(finding: Finding, user: User, action_taken: str) -> Finding:
    """Mark a finding 已处理 with the action taken (required)."""
    _decide_one(finding, user, Finding.Status.HANDLED, action_taken)
    finding.refresh_from_db()
    return finding


def finding_dismiss(finding: Finding, user: User, reason: str) -> Finding:
    """Mark a finding 不予处理; the reason is required."""
    _decide_one(finding, user, Finding.Status.DISMISSED, reason)
    finding.refresh_from_db()
    return finding


def findings_handle_bulk(ids: Iterable[int], user: User, action_taken: str) -> dict:
    """已处理 for many findings at once; returns {"updated": n, "skipped": m}.

    Findings outside the user's scope, already cleared (已消除) or unknown are skipped.
    """
    return _decide(list(ids), user, Finding.Status.HANDLED, action_taken)


def findings_dismiss_bulk(ids: Iterable[int], user: User, reason: str) -> dict:
    """不予处理 for many findings at once (one reason for all); same skipping rules."""
    return _decide(list(ids), user, Finding.Status.DISMISSED, reason)


def _decide_one(finding: Finding, user: User, status: str, text: str) -> None:
    result = _decide([finding.pk], user, status, text)
    if result["updated"]:
        return
    current = Finding.objects.filter(pk=finding.pk).values_list("status", flat=True).first()
    if current == Finding.Status.CLEARED and _in_scope(user, finding.pk):
        raise FindingError("该发现的比对条件已不成立（已消除），无需处理")
    raise FindingError("该发现不存在或不在您的数据范围内")


def _in_scope(user: AnyUser, finding_id: int) -> bool:
    return scoped(user, Finding.objects.filter(pk=finding_id)).exists()


def _decide(ids: list[int], user: User, status: str, text: str) -> dict:
    text = (text or "").strip()
    if not text:
        raise FindingError(
            "请填写处理措施" if status == Finding.Status.HANDLED else "不予处理必须填写原因"
        )
    if len(text) > REASON_MAX_LENGTH:
        label = "处理措施" if status == Finding.Status.HANDLED else "不予处理原因"
        raise FindingError(too_long_message(label, REASON_MAX_LENGTH, len(text)))
    if not scope_for(user).can_write:
        raise FindingError("您的账号没有处理比对发现的权限")
    now = timezone.now()
    field = "action_taken" if status == Finding.Status.HANDLED else "dismiss_reason"
    with transaction.atomic():
        rows = list(
            scoped(user, Finding.objects.filter(pk__in=ids, status__in=DECIDABLE))
            .select_for_update()
            .values_list("id", "status")
        )
        found = [fid for fid, _ in rows]
        values = {
            "status": status,
            "decided_by": user,
            "decided_at": now,
            "updated_at": now,
            "action_taken": text if status == Finding.Status.HANDLED else "",
            "dismiss_reason": text if status == Finding.Status.DISMISSED else "",
        }
        Finding.objects.filter(pk__in=found).update(**values)
        FindingEvent.objects.bulk_create(
            [
                FindingEvent(
                    finding_id=fid, actor=user, from_status=old, to_status=status, note=text
                )
                for fid, old in rows
            ],
            batch_size=1000,
        )
        # Audit trail (docs/SECURITY.md): one field-level event per decided finding, in bulk.
        audit_many(
            build_event(
                user,
                Action.UPDATE,
                target=("monitoring.finding", fid, f"比对发现#{fid}"),
                details={"changes": {"status": [old, status]}, field: text},
            )
            for fid, old in rows
        )
    return {"updated": len(found), "skipped": len(set(ids)) - len(found)}


# --- export (county admins: full ID numbers) --------------------------------------------

EXPORT_KEYS = ("rule", "id_number", "name", "township", "village", "status", "reason")
EXPORT_HEADERS = {
    "rule": "规则编号",
    "rule_name": "规则名称",
    "id_number": "公民身份号码",
    "name": "姓名",
    "township": "乡镇",
    "village": "村（社区）",
    "status": "状态",
    "status_label": "状态说明",
    "reason": "原因",
    "opened_at": "发现时间",
    "decision": "处理措施/不予处理原因",
}


def export_rows(status: str = "open") -> Iterator[dict]:
    """Findings for the county admins' export, ordered by township, rule and ID number.

    `status` is "open" (待处理 only) or "all". Streams from the database in chunks.
    """

    queryset = Finding.objects.all()
    if status == "open":
        queryset = queryset.filter(status=Finding.Status.OPEN)
    elif status != "all":
        raise FindingError(f"状态应为 open 或 all，收到“{status}”")
    labels = dict(Finding.Status.choices)
    rows = queryset.order_by("township__code", "rule", "person__id_number").values_list(
        "rule",
        "person__id_number",
        "person__name",
        "township__name",
        "village__name",
        "status",
        "reason",
        "opened_at",
        "action_taken",
        "dismiss_reason",
    )
    for (
        rule,
        id_number,
        name,
        township,
        village,
        row_status,
        reason,
        opened_at,
        action,
        dismiss,
    ) in rows.iterator(chunk_size=2000):
        rule_entry = REGISTRY.get(rule)
        yield {
            "rule": rule,
            "rule_name": rule_entry.name if rule_entry else "",
            "id_number": id_number,
            "name": name,
            "township": township or "",
            "village": village or "",
            "status": row_status,
            "status_label": labels.get(row_status, row_status),
            "reason": reason,
            "opened_at": timezone.localtime(opened_at).strftime("%Y-%m-%d %H:%M"),
            "decision": action or dismiss,
        }
