"""The column helpers of the pages' `UNION ALL` queries (`timeline.py`, `household_work.py`,
`person_records.py`): every member of a union must give each common column the same type,
so a column a kind does not fill is a typed NULL or an empty text, never a bare NULL.
"""

from typing import Any

from django.db.models import CharField, F, Field, TextField, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf

TEXT = TextField()


def none(output_field: Field) -> Cast:
    """A NULL of `output_field`'s type (PostgreSQL cannot type a bare NULL in a union)."""
    return Cast(Value(None), output_field)


def text(expression: Any) -> Coalesce:
    """`expression` as text, '' for NULL."""
    return Coalesce(Cast(expression, TEXT), Value("", output_field=TEXT), output_field=TEXT)


def expression(value: Any) -> Any:
    """A field name as `F()`; anything else is already an expression."""
    return F(value) if isinstance(value, str) else value


def text_or_empty(value: Any) -> Any:
    """A field name or expression as text; None: the empty text."""
    return text(expression(value)) if value is not None else Value("", output_field=TEXT)


def user_name(path: str) -> Coalesce:
    """The display name of a user a row points at (family name first, else the username)."""
    full = Concat(F(f"{path}__last_name"), F(f"{path}__first_name"), output_field=CharField())
    return Coalesce(NullIf(full, Value("")), F(f"{path}__username"), output_field=CharField())
