"""Every write to the registry, each with its explicit history row (`cases.history`).

Callers (the admin, views, management commands) parse input and call one of these
functions with the acting user and, where they have one, a reason. A service
validates, saves and records who changed what, when and why. Bad input raises
`ServiceError` with a Chinese message (and the form field it concerns, if any).

Bulk paths (imports, `seed_demo`) build rows themselves and use
`cases.history.change_row` + `bulk_create`; these functions are for one record at a time.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models, transaction

from .geography import normalise_text
from .history import diff, record_change
from .identity import IdentityError, ParsedId, parse_certificate_number, parse_id_number
from .models import (
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Person,
    Role,
    StaffProfile,
    Township,
    Village,
)
from .scope import AnyUser

CREATE, UPDATE, DELETE = (
    ChangeRecord.Action.CREATE,
    ChangeRecord.Action.UPDATE,
    ChangeRecord.Action.DELETE,
)

PERSON_FIELDS = ("id_number", "name", "gender", "birth_date", "township", "village", "phone")
PERSON_EDITABLE = frozenset({"id_number", "name", "township", "village", "phone"})
CERTIFICATE_FIELDS = ("person", "number", "category", "grade", "reissue")
HOUSEHOLD_FIELDS = ("head_id_number", "head_name", "head", "township", "village", "size")
HOUSEHOLD_EDITABLE = frozenset({"head_name", "township", "village", "size"})
MEMBER_FIELDS = ("household", "person", "relation")
PROFILE_FIELDS = ("user", "role", "township", "village")

# Models with their own service below: `record_save`/`record_delete` refuse them.
_DEDICATED = (Person, Certificate, Household, HouseholdMember, StaffProfile, ChangeRecord)

_M = TypeVar("_M", bound=models.Model)


class ServiceError(ValueError):
    """A write that cannot be done; `str()` is the Chinese reason, `field` the form field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def values(instance: models.Model, fields: Iterable[str]) -> dict:
    """Field values for history without touching the database (foreign keys as their ids)."""
    result = {}
    for name in fields:
        field = instance._meta.get_field(name)
        result[name] = getattr(instance, field.attname)  # type: ignore[union-attr]  # concrete fields only
    return result


def history_fields(instance: models.Model) -> list[str]:
    """The fields a history row of a simple record carries: all but the key and timestamps."""
    skip = {"id", "created_at", "updated_at"}
    return [
        field.name
        for field in instance._meta.concrete_fields
        if field.name not in skip and not field.auto_created
    ]


def record_created(instance: models.Model, fields: Iterable[str], **history: Any) -> None:
    """The CREATE row of a record just inserted: each field from nothing to its value."""
    record_change(instance, CREATE, diff({}, values(instance, fields)), **history)


def _save_changed(
    instance: models.Model, fields: Iterable[str], before: dict, **history: Any
) -> dict:
    """Save and record the fields that differ from `before`; {} and no write when none do."""
    changed = diff(before, values(instance, fields))
    if changed:
        instance.save(update_fields=[*changed, "updated_at"])
        record_change(instance, UPDATE, changed, **history)
    return changed


def _create_or_change(
    found: _M | None,
    model: type[_M],
    key: dict,
    new: dict,
    fields: Iterable[str],
    **history: Any,
) -> _M:
    """Insert `model(**key, **new)` when nothing was `found`, else set `new` on it;
    either way with its history row (call inside a transaction)."""
    if found is None:
        created = model._default_manager.create(**key, **new)
        record_created(created, fields, **history)
        return created
    before = values(found, fields)
    for name, value in new.items():
        setattr(found, name, value)
    _save_changed(found, fields, before, **history)
    return found


def _clean_name(name: object, label: str = "姓名", field: str = "name") -> str:
    text = normalise_text(str(name or ""))
    if not text:
        raise ServiceError(f"{label}不能为空", field)
    return text


def _parse_id(raw: object, field: str = "id_number") -> ParsedId:
    try:
        return parse_id_number(raw)
    except IdentityError as error:
        raise ServiceError(str(error), field) from None


def _location(
    township: Township | None, village: Village | None
) -> tuple[Township | None, Village | None]:
    """The township follows the village; a village of another township is refused."""
    if village is None:
        return township, None
    if township is None:
        return village.township, village
    if village.township_id != township.pk:
        raise ServiceError(f"{village.name}不属于{township.name}", "village")
    return township, village


def _relocate(
    township: Township | None, village: Village | None, changes: dict
) -> tuple[Township | None, Village | None]:
    """New (township, village) from a partial change.

    A new village alone brings its township; a new township alone drops a village
    that lies elsewhere; both together must agree.
    """
    if "village" in changes and "township" not in changes:
        village = changes["village"]
        return _location(None, village) if village is not None else (township, None)
    if "township" in changes and "village" not in changes:
        township = changes["township"]
        if village is not None and (township is None or village.township_id != township.pk):
            village = None
        return township, village
    return _location(changes["township"], changes["village"])


# --- persons ---


def person_create(
    *,
    id_number: str,
    name: str,
    township: Township | None = None,
    village: Village | None = None,
    phone: str = "",
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> Person:
    """Register a person; gender and birth date come from the ID number."""
    parsed = _parse_id(id_number)
    name = _clean_name(name)
    township, village = _location(township, village)
    if Person.objects.filter(id_number=parsed.number).exists():
        raise ServiceError(f"身份证号{parsed.number}已登记，不能重复新增", "id_number")
    with transaction.atomic():
        person = Person.objects.create(
            id_number=parsed.number,
            name=name,
            gender=parsed.gender,
            birth_date=parsed.birth_date,
            township=township,
            village=village,
            phone=(phone or "").strip(),
        )
        record_created(person, PERSON_FIELDS, actor=actor, reason=reason, source=source)
    return person


def person_update(
    person: Person,
    *,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
    **changes: Any,
) -> dict:
    """Change some of a person's fields; returns {field: [old, new]} (empty if nothing changed).

    Changing the ID number (a correction) re-derives gender and birth date.
    """
    unknown = set(changes) - PERSON_EDITABLE
    if unknown:
        raise TypeError(f"person_update cannot change {sorted(unknown)}")
    before = values(person, PERSON_FIELDS)
    if "id_number" in changes:
        parsed = _parse_id(changes["id_number"])
        if (
            parsed.number != person.id_number
            and Person.objects.filter(id_number=parsed.number).exclude(pk=person.pk).exists()
        ):
            raise ServiceError(f"身份证号{parsed.number}已属于另一人", "id_number")
        person.id_number = parsed.number
        person.gender = parsed.gender
        person.birth_date = parsed.birth_date
    if "name" in changes:
        person.name = _clean_name(changes["name"])
    if "phone" in changes:
        person.phone = (changes["phone"] or "").strip()
    if "township" in changes or "village" in changes:
        person.township, person.village = _relocate(person.township, person.village, changes)
    with transaction.atomic():
        return _save_changed(
            person, PERSON_FIELDS, before, actor=actor, reason=reason, source=source
        )


# --- certificates ---


def certificate_set(
    person: Person,
    number: str,
    *,
    category: int | None = None,
    grade: int | None = None,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> Certificate:
    """Create or replace the person's certificate; category and grade come from the number.

    A stated category or grade that disagrees with the number is refused.
    """
    try:
        parsed = parse_certificate_number(
            number, id_number=person.id_number, category=category, grade=grade
        )
    except IdentityError as error:
        raise ServiceError(str(error), "number") from None
    taken = Certificate.objects.filter(number=parsed.number).exclude(person=person)
    if taken.exists():
        raise ServiceError(f"残疾人证号{parsed.number}已属于另一人", "number")
    new = {
        "number": parsed.number,
        "category": parsed.category,
        "grade": parsed.grade,
        "reissue": parsed.reissue,
    }
    with transaction.atomic():
        return _create_or_change(
            Certificate.objects.filter(person=person).first(),
            Certificate,
            {"person": person},
            new,
            CERTIFICATE_FIELDS,
            actor=actor,
            reason=reason,
            source=source,
        )


def certificate_remove(
    certificate: Certificate,
    *,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> None:
    """Delete a certificate (e.g. entered for the wrong person); the history keeps its values."""
    record_delete(certificate, actor=actor, reason=reason, source=source, _dedicated=True)


# --- households ---


def household_create(
    *,
    head: Person | None = None,
    head_id_number: str | None = None,
    head_name: str = "",
    township: Township | None = None,
    village: Village | None = None,
    size: int | None = None,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> Household:
    """A household keyed by its head's ID number; a registered head becomes member 户主."""
    if head is not None:
        head_id = head.id_number
        head_name = head_name or head.name
        township = township or head.township
        village = village or head.village
    else:
        head_id = _parse_id(head_id_number, "head_id_number").number
        head = Person.objects.filter(id_number=head_id).first()
        if head is not None:
            head_name = head_name or head.name
    head_name = _clean_name(head_name, "户主姓名", "head_name")
    township, village = _location(township, village)
    if township is None or village is None:
        raise ServiceError("家庭须有乡镇和村（社区）", "village")
    if size is not None and not 1 <= size <= 99:
        raise ServiceError("家庭人口数应在1～99之间", "size")
    if Household.objects.filter(head_id_number=head_id).exists():
        raise ServiceError(f"户主身份证号{head_id}已有家庭，不能重复新增", "head_id_number")
    with transaction.atomic():
        household = Household.objects.create(
            head_id_number=head_id,
            head_name=head_name,
            head=head,
            township=township,
            village=village,
            size=size,
        )
        record_created(household, HOUSEHOLD_FIELDS, actor=actor, reason=reason, source=source)
        if head is not None:
            household_add_member(
                household, head, relation="户主", actor=actor, reason=reason, source=source
            )
    return household


def household_update(
    household: Household,
    *,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
    **changes: Any,
) -> dict:
    """Change head name, location or size; the head's ID number is the key and stays."""
    unknown = set(changes) - HOUSEHOLD_EDITABLE
    if unknown:
        raise TypeError(f"household_update cannot change {sorted(unknown)}")
    before = values(household, HOUSEHOLD_FIELDS)
    if "head_name" in changes:
        household.head_name = _clean_name(changes["head_name"], "户主姓名", "head_name")
    if "size" in changes:
        size = changes["size"]
        if size is not None and not 1 <= size <= 99:
            raise ServiceError("家庭人口数应在1～99之间", "size")
        household.size = size
    if "township" in changes or "village" in changes:
        township, village = _relocate(household.township, household.village, changes)
        if township is None or village is None:
            raise ServiceError("家庭须有乡镇和村（社区）", "village")
        household.township, household.village = township, village
    with transaction.atomic():
        return _save_changed(
            household, HOUSEHOLD_FIELDS, before, actor=actor, reason=reason, source=source
        )


def household_add_member(
    household: Household,
    person: Person,
    *,
    relation: str = "",
    move: bool = False,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> HouseholdMember:
    """Add a person to a household (or change their relation there).

    A person belongs to one household: a member of another household is refused
    unless `move=True`, which moves them (recorded as a change of household).
    """
    relation = normalise_text(relation or "")
    member = HouseholdMember.objects.filter(person=person).select_related("household").first()
    if member is not None and member.household_id != household.pk and not move:
        raise ServiceError(f"{person.name}已是{member.household}的成员", "person")
    with transaction.atomic():
        return _create_or_change(
            member,
            HouseholdMember,
            {"person": person},
            {"household": household, "relation": relation},
            MEMBER_FIELDS,
            actor=actor,
            reason=reason,
            source=source,
        )


def household_remove_member(
    member: HouseholdMember,
    *,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> None:
    record_delete(member, actor=actor, reason=reason, source=source, _dedicated=True)


# --- staff roles and scope ---


def staff_scope(
    role: str, township: Township | None, village: Village | None
) -> tuple[Role, Township | None, Village | None]:
    """(role, township, village) as they are stored for a role; incomplete scope refused."""
    try:
        known = Role(role)
    except ValueError:
        raise ServiceError(f"未知角色：{role}", "role") from None
    if known in (Role.COUNTY_ADMIN, Role.COUNTY_VIEWER):
        return known, None, None
    if known == Role.TOWNSHIP_STAFF:
        if township is None:
            raise ServiceError("乡镇工作人员须指定所属乡镇", "township")
        return known, township, None
    if village is None:
        raise ServiceError("村残协专职委员须指定所属村（社区）", "village")
    township, village = _location(township, village)
    return known, township, village


def staff_profile_set(
    user: User,
    *,
    role: str,
    township: Township | None = None,
    village: Village | None = None,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> StaffProfile:
    """Give a user a role and data scope (docs/RULES.md#roles).

    County roles see every township (no township or village kept); township staff
    need a township; village members need a village (their township follows it).
    Only county admins reach the Django admin, so `is_staff` follows the role.
    """
    role, township, village = staff_scope(role, township, village)
    with transaction.atomic():
        profile = _create_or_change(
            StaffProfile.objects.filter(user=user).first(),
            StaffProfile,
            {"user": user},
            {"role": role, "township": township, "village": village},
            PROFILE_FIELDS,
            actor=actor,
            reason=reason,
            source=source,
        )
        _set_is_staff(user, role == Role.COUNTY_ADMIN, actor=actor, reason=reason, source=source)
    _forget_scope(user)
    return profile


def staff_profile_remove(
    user: User, *, actor: AnyUser | None = None, reason: str = "", source: str = ""
) -> None:
    """Take a user's role away: they see nothing and leave the admin."""
    profile = StaffProfile.objects.filter(user=user).first()
    with transaction.atomic():
        if profile is not None:
            record_delete(profile, actor=actor, reason=reason, source=source, _dedicated=True)
        _set_is_staff(user, False, actor=actor, reason=reason, source=source)
    _forget_scope(user)


def _set_is_staff(user: User, is_staff: bool, **history: Any) -> None:
    if user.is_staff == is_staff:
        return
    user.is_staff = is_staff
    user.save(update_fields=["is_staff"])
    record_change(user, UPDATE, {"is_staff": [not is_staff, is_staff]}, **history)


def _forget_scope(user: User) -> None:
    if hasattr(user, "_huoqiu_scope"):
        del user._huoqiu_scope


# --- villages ---


def village_create(
    township: Township,
    name: str,
    *,
    code: str = "",
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
) -> Village:
    name = _clean_name(name, "村（社区）名称")
    if Village.objects.filter(township=township, name=name).exists():
        raise ServiceError(f"{township.name}已有{name}", "name")
    return record_save(
        Village(township=township, name=name, code=(code or "").strip()),
        actor=actor,
        reason=reason,
        source=source,
    )


# --- simple records (villages, task-area records) ---


def _refuse_dedicated(instance: models.Model) -> None:
    if isinstance(instance, _DEDICATED):
        raise TypeError(f"{type(instance).__name__} has its own service in cases.services")


def record_save(
    instance: _M, *, actor: AnyUser | None = None, reason: str = "", source: str = ""
) -> _M:
    """Validate and save a simple record (new or changed) with its history row.

    For models without a dedicated service: villages and the task-area records
    (education plans, rehabilitation services, pairings, assistance measures).
    """
    _refuse_dedicated(instance)
    try:
        instance.full_clean()
    except ValidationError as error:
        field = next(iter(error.message_dict), None) if hasattr(error, "error_dict") else None
        raise ServiceError("；".join(error.messages), field) from None
    fields = history_fields(instance)
    with transaction.atomic():
        if instance._state.adding:
            instance.save()
            record_created(instance, fields, actor=actor, reason=reason, source=source)
            return instance
        stored = type(instance)._default_manager.get(pk=instance.pk)
        changed = diff(values(stored, fields), values(instance, fields))
        if changed:
            instance.save()
            record_change(instance, UPDATE, changed, actor=actor, reason=reason, source=source)
    return instance


def record_delete(
    instance: models.Model,
    *,
    actor: AnyUser | None = None,
    reason: str = "",
    source: str = "",
    _dedicated: bool = False,
) -> ChangeRecord:
    """Delete a record; the history row keeps every value it had."""
    if not _dedicated:
        _refuse_dedicated(instance)
    fields = history_fields(instance)
    old = values(instance, fields)
    with transaction.atomic():
        row = record_change(
            instance,
            DELETE,
            diff(old, dict.fromkeys(fields)),
            actor=actor,
            reason=reason,
            source=source,
        )
        instance.delete()
    return row
