"""Household net income from its parts (家庭纯收入), the one definition (docs/INCOME.md).

家庭纯收入 = 工资性收入 + 生产经营性收入 − 生产经营性支出 + 财产性收入 + 转移性收入 − 可扣除的其他支出
家庭年人均纯收入 = 家庭纯收入 ÷ 家庭人口数, to the fen (0.01 yuan), half up.

Pure: the visit service stores what this returns, V01 compares the stored per-person figure
with the line, and static/js/visit_income.js shows the same sum while the visitor types.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

# The parts, with the sign each carries in the sum and its Chinese name (the model's labels).
INCOME_PARTS: tuple[tuple[str, int, str], ...] = (
    ("wage_income", 1, "工资性收入"),
    ("business_income", 1, "生产经营性收入"),
    ("business_costs", -1, "生产经营性支出"),
    ("property_income", 1, "财产性收入"),
    ("transfer_income", 1, "转移性收入"),
    ("deductible_expenses", -1, "可扣除的其他支出"),
)
PART_NAMES: tuple[str, ...] = tuple(name for name, _sign, _label in INCOME_PARTS)
HOUSEHOLD_SIZE_MAX = 99
FEN = Decimal("0.01")


class IncomeError(ValueError):
    """A part or the household size cannot be used; `field` names the form field."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def has_parts(parts: Mapping[str, Decimal | None]) -> bool:
    """True when at least one part is filled in (0 counts as filled in)."""
    return any(parts.get(name) is not None for name in PART_NAMES)


def household_net_income(
    parts: Mapping[str, Decimal | None], household_size: int | None
) -> tuple[Decimal, Decimal]:
    """(annual net income, income per person) from the parts; a blank part counts as 0.

    The household size must be a whole number from 1 to 99. The result may be below zero
    when costs and deductible expenses exceed the income (a loss year is recorded as such).
    """
    if household_size is None:
        raise IncomeError("按收入构成计算时请填写家庭人口数", "household_size")
    if isinstance(household_size, bool) or not isinstance(household_size, int):
        raise IncomeError("家庭人口数应为整数", "household_size")
    if not 1 <= household_size <= HOUSEHOLD_SIZE_MAX:
        raise IncomeError(f"家庭人口数应在1到{HOUSEHOLD_SIZE_MAX}之间", "household_size")
    annual = Decimal("0.00")
    for name, sign, label in INCOME_PARTS:
        value = parts.get(name)
        if value is None:
            continue
        if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
            raise IncomeError(f"{label}应为不小于0的金额（元）", name)
        annual += sign * value.quantize(FEN, rounding=ROUND_HALF_UP)
    per_capita = (annual / household_size).quantize(FEN, rounding=ROUND_HALF_UP)
    return annual.quantize(FEN), per_capita
