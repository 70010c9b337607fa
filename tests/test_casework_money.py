"""cases.casework_base.money: the one parser of amounts typed by staff."""

from decimal import Decimal

import pytest

from cases.casework_base import CaseworkError, money


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1,200.5", Decimal("1200.50")), ("300元", Decimal("300.00")), (0, Decimal("0.00"))],
)
def test_amounts_are_read_to_the_fen(typed, amount):
    assert money(typed, "月标准", "monthly_amount") == amount


def test_blank_is_none_unless_required():
    assert money("", "月标准", "monthly_amount") is None
    with pytest.raises(CaseworkError, match="请填写改造费用"):
        money("", "改造费用", "cost", allow_none=False)


@pytest.mark.parametrize("typed", ["abc", "NaN", "Infinity", "-inf"])
def test_what_is_not_an_amount_is_refused_as_such(typed):
    with pytest.raises(CaseworkError, match=f"月标准应为金额（元），实际为“{typed}”") as error:
        money(typed, "月标准", "monthly_amount")
    assert error.value.field == "monthly_amount"


def test_negative_amounts_are_refused():
    with pytest.raises(CaseworkError, match="月标准不能为负数"):
        money("-5", "月标准", "monthly_amount")
