"""Policy parameters per year: the selector the rules use and the one service that writes them.

`policy_for_year(year)` returns the year's `PolicyYear` or raises `PolicyMissing`
(never a silent default). `policy_set(year, ...)` is the only writer: the CLI
(`set_policy`) and the admin both call it; it records every change in
`cases.ChangeRecord` and marks the year as confirmed (`is_default=False`).
"""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet

from cases.casework_base import REASON_MAX_LENGTH, too_long_message
from cases.history import diff, record_change, snapshot
from cases.models import ChangeRecord
from cases.scope import AnyUser

from .models import PolicyYear

# Field → (Chinese label, kind). Kinds: "amount" (a positive yuan amount), "flag", or
# "days" (whole days, 1 to MAX_DAYS).
FIELDS: dict[str, tuple[str, str]] = {
    "monitoring_line": ("防返贫监测收入线", "amount"),
    "rigid_expenditure_threshold": ("大额刚性支出阈值", "amount"),
    "care_subsidy_includes_grade3_mental": ("护理补贴含三级智力/精神残疾", "flag"),
    "dibao_standard_monthly": ("农村低保标准", "amount"),
    "living_subsidy_monthly": ("困难残疾人生活补贴标准", "amount"),
    "care_subsidy_monthly": ("重度残疾人护理补贴标准", "amount"),
    "pension_contribution_tier": ("城乡居保代缴档次", "amount"),
    # Overdue visits (monitoring/visits_due.py): the first visit is due this many days after
    # a household is identified for monitoring.
    "visit_due_days": ("纳入监测后首次走访期限（天）", "days"),
}
LABELS = {**{field: label for field, (label, _) in FIELDS.items()}, "is_default": "系统默认值"}
# Parameters that every year must have (the rules read them); the others are optional.
REQUIRED = ("monitoring_line", "rigid_expenditure_threshold", "pension_contribution_tier")
MAX_AMOUNT = Decimal("99999999.99")
MAX_DAYS = 365


class PolicyError(ValueError):
    """A policy change that cannot be accepted; `str()` is a one-line Chinese / English reason."""


class PolicyMissing(PolicyError):
    """The year has no policy parameters (or lacks one a rule needs)."""

    def __init__(self, year: int, field: str | None = None):
        self.year = year
        self.field = field
        if field:
            label = FIELDS[field][0]
            message = (
                f"{year}年度政策参数缺少“{label}”，请县残联管理员在后台“年度政策参数”中补充，"
                f"或运行 set_policy --year {year} / "
                f"policy parameter {field} is not set for {year}"
            )
        else:
            message = (
                f"{year}年度政策参数未设置，请县残联管理员在后台“年度政策参数”中设置，"
                f"或运行 set_policy --year {year} --monitoring-line N / "
                f"no policy parameters for {year}"
            )
        super().__init__(message)


def policy_for_year(year: int, require: tuple[str, ...] = REQUIRED) -> PolicyYear:
    """The year's parameters; raises PolicyMissing when the year or a required value is absent."""
    policy = PolicyYear.objects.filter(year=year).first()
    if policy is None:
        raise PolicyMissing(year)
    for field in require:
        if getattr(policy, field) is None:
            raise PolicyMissing(year, field)
    return policy


def clean_days(field: str, value: object) -> int:
    """Whole days 1–MAX_DAYS (an int or its digits), or PolicyError."""
    label = FIELDS[field][0]
    text = str(value).strip().removesuffix("天") if value is not None else ""
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise PolicyError(
            f"“{label}”应为1～{MAX_DAYS}之间的整数天数，收到“{value}” / "
            f"{field} must be a whole number of days from 1 to {MAX_DAYS}"
        )
    return int(text)


def clean_value(field: str, value: object) -> Decimal | bool | int | None:
    """A parameter value checked and converted (Decimal amounts, bool flags, int days) or
    PolicyError."""
    if field not in FIELDS:
        raise PolicyError(f"未知的政策参数“{field}” / unknown policy parameter {field}")
    label, kind = FIELDS[field]
    if kind == "flag":
        if not isinstance(value, bool):
            raise PolicyError(f"“{label}”应为是或否 / {field} must be yes or no")
        return value
    if kind == "days":
        return clean_days(field, value)
    if value is None:
        if field in REQUIRED:
            raise PolicyError(f"“{label}”不能为空 / {field} cannot be empty")
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("，", "").removesuffix("元"))
    except InvalidOperation:
        raise PolicyError(f"“{label}”应为金额，收到“{value}” / {field} must be an amount") from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise PolicyError(
            f"“{label}”应为大于0的金额，收到“{value}” / {field} must be a positive amount"
        )
    return amount.quantize(Decimal("0.01"))


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise PolicyError(f"年度应为2000～2100之间的整数，收到“{year}” / year must be 2000–2100")
    return year


@transaction.atomic
def policy_set(
    year: int, *, actor: AnyUser | None = None, reason: str = "", **values: object
) -> PolicyYear:
    """Create or change a year's parameters, record the change, mark the year confirmed.

    A year that does not exist yet needs `monitoring_line` (no silent default for L).
    Calling it with values equal to the current ones still confirms the year
    (`is_default` becomes False), which is recorded too.
    """
    year = _check_year(year)
    reason = " ".join(str(reason or "").split())
    if len(reason) > REASON_MAX_LENGTH:
        raise PolicyError(too_long_message("修改原因", REASON_MAX_LENGTH, len(reason)))
    cleaned = {field: clean_value(field, value) for field, value in values.items()}
    policy = PolicyYear.objects.select_for_update().filter(year=year).first()
    fields = [*FIELDS, "is_default"]
    if policy is None:
        if cleaned.get("monitoring_line") is None:
            raise PolicyError(
                f"{year}年度尚无政策参数，新建时必须设置防返贫监测收入线 / "
                f"a new year needs --monitoring-line"
            )
        policy = PolicyYear(year=year, **cleaned, is_default=False)
        policy.save()
        record_change(
            policy,
            "create",
            diff({}, snapshot(policy, fields)),
            actor=actor,
            reason=reason or f"设置{year}年度政策参数",
            source="政策参数",
        )
        return policy
    before = snapshot(policy, fields)
    for field, value in cleaned.items():
        setattr(policy, field, value)
    policy.is_default = False
    changes = diff(before, snapshot(policy, fields))
    if not changes:
        return policy
    policy.save()
    record_change(
        policy,
        "update",
        changes,
        actor=actor,
        reason=reason or f"修改{year}年度政策参数",
        source="政策参数",
    )
    return policy


def policy_history(policy: PolicyYear) -> QuerySet[ChangeRecord]:
    """The change records of one year's parameters, newest first."""
    return ChangeRecord.objects.filter(
        model=PolicyYear._meta.label_lower, object_id=str(policy.pk)
    ).select_related("actor")
