"""Roster households whose member rows disagree on a household's values.

The roster repeats a household's place and household-level values (户类型, incomes,
risk…) on every member row. The writer keeps one value per household — the head's
row first, blanks there filled from the other rows in file order — so when the
rows disagree, the other rows' values would vanish without a word. This module
finds those disagreements with the same rule and says, per household and column,
which rows held which values and which one was kept. They are warnings: the rows
are valid and the import goes on.

Plain Python, like the engine: the township lookup is passed in.
"""

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import attrgetter
from typing import Any

from cases.masking import shown_text
from cases.text import clean_text
from monitoring.models import HouseholdType, MonitoringCategory, RiskClearMethod

from .sources import ROSTER_HOUSEHOLD_FIELDS

# 与户主关系 values that make a row the household's head row.
HEAD_WORDS = frozenset({"户主", "本人", "户主本人"})

# Household values whose stored form is a code; the warning shows the label.
_LABELS: dict[str, dict[Any, str]] = {
    "household_type": dict(HouseholdType.choices),
    "monitoring_category": dict(MonitoringCategory.choices),
    "clear_method": dict(RiskClearMethod.choices),
}


def head_first(rows: Sequence[Any], indexes: Iterable[int]) -> list[int]:
    """A household's row indexes, head rows first, otherwise in file order.

    The writer takes a household's values from the first of these rows that fills them.
    """
    return sorted(indexes, key=lambda i: rows[i].relation not in HEAD_WORDS)


def _empty(value: object) -> bool:
    return value is None or value == "" or value == []


# The types a parsed cell has besides lists; hashable without asking `Hashable` (an ABC check).
_PLAIN_TYPES = frozenset({str, int, bool, Decimal, date, type(None)})


def _key(value: object) -> Hashable:
    if type(value) in _PLAIN_TYPES:
        return value  # one of the hashable types above
    if isinstance(value, list):
        return tuple(value)
    return value if isinstance(value, Hashable) else repr(value)


def _shown(field: str, value: object, township_names: dict[int, str]) -> str:
    """A value as the warning shows it (township names, labels, 是/否, plain amounts)."""
    if field == "township_id":
        return township_names.get(value, str(value)) if isinstance(value, int) else str(value)
    if field in _LABELS:
        return _LABELS[field].get(value, str(value))
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class HouseholdConflict:
    """One household's rows disagreeing on one column.

    `values` lists (row, shown value) for every row that fills the column, in file
    order; `kept_row` is the row whose value the writer keeps; `head_row` the
    household's head row (None when no row is the head's).
    """

    household: str
    column: str
    values: tuple[tuple[int, str], ...]
    kept_row: int
    kept: str
    head_row: int | None

    @property
    def rows(self) -> list[int]:
        return [row for row, _ in self.values]

    @property
    def message(self) -> str:
        groups: dict[str, list[int]] = {}
        for row, shown in self.values:
            groups.setdefault(shown, []).append(row)
        listed = "、".join(
            f"第{'、'.join(str(row) for row in rows)}行 {shown}" for shown, rows in groups.items()
        )
        if self.head_row is None:
            kept = f"该户没有户主行，已采用第{self.kept_row}行（{self.kept}）"
        elif self.head_row == self.kept_row:
            kept = f"已采用户主行（第{self.kept_row}行）"
        else:
            kept = (
                f"户主行（第{self.head_row}行）此列为空，已采用第{self.kept_row}行（{self.kept}）"
            )
        # A household value is free text (village…): any ID number typed there is masked.
        return shown_text(
            f"户编号{self.household}的成员行在“{self.column}”上不一致：{listed}；{kept}"
        )

    def as_dict(self) -> dict:
        """JSON form, as kept on the batch and on the roster household."""
        return {
            "household": clean_text(self.household),
            "column": clean_text(self.column),
            "rows": self.rows,
            "values": [{"row": row, "value": shown_text(shown)} for row, shown in self.values],
            "kept_row": self.kept_row,
            "kept": shown_text(self.kept),
            "message": self.message,
        }


def roster_conflicts(
    rows: Sequence[Any], names: dict[str, str], townships: dict[str, int]
) -> list[HouseholdConflict]:
    """Disagreements inside each household of the (valid) typed roster rows.

    `names` maps column keys to the file's header text (the warning names the column
    as the file does); `townships` is the engine's full name → id lookup. A blank cell
    is not a disagreement: the writer fills the head's blanks from the other rows.
    """
    township_names = {pk: name for name, pk in townships.items()}
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(row.household_number, []).append(index)
    found: list[HouseholdConflict] = []
    household_values = attrgetter(*ROSTER_HOUSEHOLD_FIELDS)
    for number, indexes in groups.items():
        if len(indexes) < 2:
            continue
        # Most households repeat the same values on every row: nothing to compare.
        first = household_values(rows[indexes[0]])
        if all(household_values(rows[i]) == first for i in indexes):
            continue
        ordered = head_first(rows, indexes)
        head = rows[ordered[0]]
        head_row = head.row if head.relation in HEAD_WORDS else None
        for field in ROSTER_HOUSEHOLD_FIELDS:
            filled = [i for i in indexes if not _empty(getattr(rows[i], field))]
            if len({_key(getattr(rows[i], field)) for i in filled}) < 2:
                continue
            kept_index = next(i for i in ordered if not _empty(getattr(rows[i], field)))
            key = "township" if field == "township_id" else field
            found.append(
                HouseholdConflict(
                    household=number,
                    column=names.get(key, key),
                    values=tuple(
                        (rows[i].row, _shown(field, getattr(rows[i], field), township_names))
                        for i in filled
                    ),
                    kept_row=rows[kept_index].row,
                    kept=_shown(field, getattr(rows[kept_index], field), township_names),
                    head_row=head_row,
                )
            )
    return found  # households by their first row; columns as ROSTER_HOUSEHOLD_FIELDS
