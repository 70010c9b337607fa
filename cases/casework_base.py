"""Building blocks shared by the case-work services (`cases.casework`, `subsidies.services`).

- Errors: `CaseworkError` (bad input, Chinese message, optional form field) and its
  subclass `TransitionError` (a workflow step that is not allowed from the current
  status); `NotPermitted` (the user's role may not do this write). A target outside
  the user's scope raises `Http404`, like every other access in the project.
- Permission: `require_writer` checks role and scope of the place being written.
- Input: `required_text`, `optional_text`, `required_date`, `choice`, `money` clean a
  value or raise `CaseworkError` naming its label; every text has a length limit
  (`NOTE_MAX_LENGTH`, `REASON_MAX_LENGTH` or the model field's).
- History: `save_new` / `save_changes` validate, save and write one `ChangeRecord`;
  `save_new_or_changes` / `save_by_key` for a record that is entered once, then updated.
- Races: `refused_on_conflict` turns a unique-constraint violation by a concurrent
  request into the same `CaseworkError` as the service's pre-check.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.http import Http404
from django.utils import timezone

from .history import diff, record_change
from .models import ChangeRecord, Household, Person, Role
from .scope import AnyUser, Scope, scope_for
from .services import ServiceError, history_fields, record_created, values

UPDATE = ChangeRecord.Action.UPDATE

_M = TypeVar("_M", bound=models.Model)


class CaseworkError(ServiceError):
    """A case-work write refused for bad input; `str()` is the Chinese reason."""


class TransitionError(CaseworkError):
    """A workflow step that is not allowed from the record's current status."""


class NotPermitted(PermissionDenied):
    """The user's role may not do this write (e.g. a county viewer, or a village member
    making a decision rather than recording a visit or service). `str()` is the Chinese reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def require_writer(
    user: AnyUser, township_id: int | None, village_id: int | None, *, visits_only_ok: bool = False
) -> Scope:
    """The user's scope, if they may write a record located in (township, village).

    County admins write anywhere, township staff in their township. Village committee
    members record what they did on the spot, in their own village: visits, rehabilitation
    services, child care records. Those services pass `visits_only_ok=True` (the name is
    older than the rule: read it as "a record of work done, not a decision"); case,
    benefit, referral, accessibility and post decisions never do. County viewers never
    write. A place outside the scope raises `Http404` (existence is private).
    docs/ROLES.md is the whole matrix (tests/test_roles_matrix.py holds it to the code).
    """
    scope = scope_for(user)
    if scope.sees_nothing:
        raise NotPermitted("您的账号没有分配数据范围，不能办理业务")
    if scope.role == Role.COUNTY_VIEWER:
        raise NotPermitted("县级只读账号不能修改数据")
    if scope.role == Role.VILLAGE_MEMBER and not visits_only_ok:
        raise NotPermitted("村残协专职委员只能登记入户走访和服务记录，不能办理此业务")
    if not in_scope(scope, township_id, village_id):
        raise Http404("不存在或不在您的数据范围内")
    return scope


def in_scope(scope: Scope, township_id: int | None, village_id: int | None) -> bool:
    if scope.is_county:
        return True
    if scope.village_id is not None:
        return village_id is not None and village_id == scope.village_id
    return township_id is not None and township_id == scope.township_id


def person_place(person: Person) -> tuple[int | None, int | None]:
    return person.township_id, person.village_id


def household_place(household: Household) -> tuple[int | None, int | None]:
    return household.township_id, household.village_id


def lock_row(model: type[models.Model], pk: int) -> None:
    """Lock one row for the rest of the transaction (serialises writes about it).

    Ordered by pk so no default-ordering join is added (PostgreSQL refuses FOR UPDATE on
    the nullable side of an outer join).
    """
    model.objects.select_for_update().filter(pk=pk).order_by("pk").values_list(  # type: ignore[attr-defined]  # every locked model has it
        "pk", flat=True
    ).first()


@contextmanager
def refused_on_conflict(recheck: Callable[[], None]) -> Iterator[None]:
    """Insert in a savepoint; if a concurrent request won the race to a unique
    constraint, `recheck` (the service's own pre-check) raises its Chinese error.

    Two requests can both pass the pre-check before either commits; the database
    constraint then refuses the second insert (or the model validation just before it
    sees the winner's row, with the constraint's shorter message). The savepoint keeps
    the caller's transaction usable, and the pre-check run again now sees the winner's
    row, so both paths give the pre-check's message. An error the pre-check does not
    explain is raised unchanged.
    """
    try:
        with transaction.atomic():
            yield
    except (IntegrityError, CaseworkError):
        recheck()
        raise


def today() -> date:
    return timezone.localdate()


# Length limits of free text a person types. Every service bounds its text through
# `required_text` / `optional_text`, so the staff pages, the admin (which saves through the
# services) and the commands refuse the same over-long input; the forms take the same
# numbers for the browser's `maxlength`. Unbounded text would be stored three times (the
# record, its history row and its audit event).
NOTE_MAX_LENGTH = 2000  # visit notes, descriptions, stories
REASON_MAX_LENGTH = 500  # reasons, decisions, short notes


def too_long_message(label: str, max_length: int, length: int | str) -> str:
    return f"{label}不能超过{max_length}个字（现有{length}个字）"


def _clean_text(value: object, multiline: bool) -> str:
    # A note keeps its line breaks; a one-line value has every run of blanks made one space.
    if multiline:
        return "\n".join(line.rstrip() for line in str(value or "").strip().splitlines())
    return " ".join(str(value or "").split())


def _bounded(text: str, label: str, field: str, max_length: int) -> str:
    if len(text) > max_length:
        raise CaseworkError(too_long_message(label, max_length, len(text)), field)
    return text


def required_text(
    value: object, label: str, field: str, max_length: int, *, multiline: bool = False
) -> str:
    text = _clean_text(value, multiline)
    if not text:
        raise CaseworkError(f"{label}不能为空", field)
    return _bounded(text, label, field, max_length)


def optional_text(
    value: object, label: str, field: str, max_length: int, *, multiline: bool = False
) -> str:
    return _bounded(_clean_text(value, multiline), label, field, max_length)


def required_date(value: object, label: str, field: str, *, not_future: bool = True) -> date:
    if not isinstance(value, date):
        raise CaseworkError(f"请填写{label}", field)
    if not_future and value > today():
        raise CaseworkError(f"{label}不能晚于今天", field)
    return value


def choice(value: str, choices: type[models.TextChoices], label: str, field: str) -> str:
    if value not in choices.values:
        allowed = "、".join(str(item.label) for item in choices)
        raise CaseworkError(f"{label}应为以下之一：{allowed}", field)
    return value


def money(value: object, label: str, field: str, *, allow_none: bool = True) -> Decimal | None:
    """An amount in yuan (thousands commas and 元 allowed), to the fen; blank is None."""
    if value is None or value == "":
        if allow_none:
            return None
        raise CaseworkError(f"请填写{label}", field)
    try:
        amount = Decimal(str(value).replace(",", "").replace("元", "").strip())
    except InvalidOperation:
        raise CaseworkError(f"{label}应为金额（元），实际为“{value}”", field) from None
    # Finite first: "NaN" and "Infinity" parse as Decimals, and comparing a NaN with 0 raises.
    if not amount.is_finite():
        raise CaseworkError(f"{label}应为金额（元），实际为“{value}”", field)
    if amount < 0:
        raise CaseworkError(f"{label}不能为负数", field)
    return amount.quantize(Decimal("0.01"))


def _validated(instance: models.Model) -> None:
    try:
        instance.full_clean()
    except ValidationError as error:
        field = next(iter(error.message_dict), None) if hasattr(error, "error_dict") else None
        messages = []
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                try:
                    label = instance._meta.get_field(name).verbose_name  # type: ignore[union-attr]  # a field name from full_clean()
                except FieldDoesNotExist:  # NON_FIELD_ERRORS
                    label = ""
                messages += [f"{label}：{text}" if label else text for text in errors]
        else:
            messages = error.messages
        raise CaseworkError("；".join(messages), field) from None


def save_new(instance: _M, *, actor: User, reason: str = "", source: str = "") -> _M:
    """Validate, insert and record the creation (call inside a transaction)."""
    _validated(instance)
    instance.save()
    record_created(instance, history_fields(instance), actor=actor, reason=reason, source=source)
    return instance


def save_new_or_changes(
    found: _M | None, model: type[_M], values: dict, *, actor: User, reasons: tuple[str, str]
) -> _M:
    """Insert `model(**values)` when nothing was `found`, else apply `values` to it (only
    what differs is written); `reasons` for the history row: (new, changed). Call inside
    a transaction."""
    if found is None:
        return save_new(model(**values), actor=actor, reason=reasons[0])
    save_changes(found, values, actor=actor, reason=reasons[1])
    return found


def save_by_key(
    model: type[_M], key: dict, values: dict, *, actor: User, reasons: tuple[str, str]
) -> _M:
    """The one record of `model` for `key` (a person's plan, a village's association…),
    created or changed like `save_new_or_changes`; the row stays locked meanwhile."""
    with transaction.atomic():
        found = model._default_manager.select_for_update().filter(**key).first()
        return save_new_or_changes(found, model, {**key, **values}, actor=actor, reasons=reasons)


def save_changes(
    instance: models.Model, changes: dict, *, actor: User, reason: str = "", source: str = ""
) -> dict:
    """Apply `changes` ({field: value}), validate, save and record what differs.

    Returns the recorded diff ({} when nothing changed; nothing is written then).
    """
    names = history_fields(instance)
    before = values(instance, names)
    for name, value in changes.items():
        setattr(instance, name, value)
    after = values(instance, names)
    changed = diff(before, after)
    if not changed:
        return {}
    _validated(instance)
    instance.save()
    record_change(instance, UPDATE, changed, actor=actor, reason=reason, source=source)
    return changed
