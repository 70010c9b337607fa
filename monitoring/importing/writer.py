"""Write validated rows: set-based upserts per source, with history rows.

Called inside one transaction by `monitoring.services.import_run`. For each table
the writer builds the wanted values per natural key (ID number, head ID, 户编号…),
loads the stored values for those keys with a few chunked `in` queries, and then
inserts the new rows and updates only the rows whose normalised values differ
(`bulk.BulkTable`: plain dicts, no model instances, never a query per row).
Every created or changed registry row (Person, Village, Certificate, Household,
HouseholdMember) and every changed source-data row (SurveyRecord, RosterHousehold,
RosterMember, BenefitRecord — whose `batch` already says which import created
them) gets a `ChangeRecord` with source "导入批次 N" and the import's user.

Shared rules:
- a blank value (None, "", []) never overwrites a stored value, except where a
  value is wrapped in `Force` (snapshot flags and values that must follow others);
- a row whose values all equal what is stored is "unchanged" and is not written;
- persons are never deleted; snapshot imports only clear `is_current`.
"""

from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from django.db import models
from django.db.models import Model
from django.utils import timezone

from cases.models import (
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Person,
    Village,
)
from monitoring import survey
from monitoring.models import (
    HouseholdType,
    ImportBatch,
    RosterHousehold,
    RosterMember,
    SurveyRecord,
)
from subsidies.models import BenefitRecord

from .bulk import BulkTable
from .conflicts import HEAD_WORDS, HouseholdConflict, head_first
from .sources import HOUSEHOLD_STORED, MEMBER_STORED

CHUNK = 900
FULL_SCAN_KEYS = 10000  # from this many keys on, `load` reads the table once instead

UNCHANGED, UPDATED, CREATED = 0, 1, 2

T = TypeVar("T")


@dataclass(frozen=True)
class Force:
    """A wanted value that is written even when blank (it is not "unknown")."""

    value: object


@dataclass
class Upserted:
    pks: dict  # key -> pk (stored and new)
    created: set
    changed: set


@dataclass
class WriteCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_states(cls, states: Sequence[int]) -> "WriteCounts":
        return cls(
            created=sum(1 for state in states if state == CREATED),
            updated=sum(1 for state in states if state == UPDATED),
            unchanged=sum(1 for state in states if state == UNCHANGED),
        )


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _empty(value: object) -> bool:
    return value is None or value == "" or value == []


def _plain(value: Any) -> Any:
    """JSON-safe value for history (the same as `cases.history`, by exact type: fast)."""
    kind = type(value)
    if kind is Decimal:
        return str(value)
    if kind is date or kind is datetime:
        return value.isoformat()
    return value


# Source-data records name the file row their values were taken from (with `batch`).
SOURCE_ROW = frozenset({"source_row"})

# Source-data tables keep the batch that created or last changed each row, so their
# creation needs no history row; their changes (and snapshot flags) get one.
CREATE_HISTORY = frozenset({Person, Village, Certificate, Household, HouseholdMember})


class Writer:
    """Upsert helpers shared by the three sources."""

    def __init__(
        self,
        batch: ImportBatch,
        user: Model | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.batch = batch
        self.actor_id = (
            user.pk if user is not None and getattr(user, "is_authenticated", False) else None
        )
        self.source = f"导入批次 {batch.pk}"[:64]
        self.progress = progress or (lambda percent: None)
        self.now = timezone.now()
        self._tables: dict[type[Model], BulkTable] = {}

    def table(self, model: type[Model]) -> BulkTable:
        if model not in self._tables:
            self._tables[model] = BulkTable(model, self.now)
        return self._tables[model]

    # --- loading ----------------------------------------------------------------------------

    def load(
        self,
        queryset: models.QuerySet,
        key: Sequence[str],
        keys: Iterable,
        fields: Sequence[str],
        absent: Collection = (),
    ) -> dict:
        """{key: record} for the given keys; a record is a named tuple (pk, key fields, fields).

        A one-field key is a plain value, a longer key a tuple. Few keys are looked up
        with chunked `in` queries; many keys with one pass over the table. Keys whose
        (first) value is in `absent` are known to have no stored row and are not looked
        up: the ids of rows this import has just created, which no stored row of another
        table can name yet. Left out of the query, they also spare it the wait for the
        COPYs still being sent (`bulk.CopyPipe`).
        """
        composite = len(key) > 1
        if absent:
            keys = {k for k in keys if k is not None and (k[0] if composite else k) not in absent}
        else:
            keys = {k for k in keys if k is not None}
        if not keys:
            return {}
        names = ("pk", *key, *(name for name in fields if name not in key))
        record = _record_type(names)
        width = len(key)
        found: dict = {}

        def keep(values: tuple) -> None:
            value = values[1 : 1 + width] if composite else values[1]
            if value in keys:
                found[value] = record._make(values)

        if len(keys) >= FULL_SCAN_KEYS:
            for values in queryset.values_list(*names).iterator(chunk_size=10000):
                keep(values)
            return found
        firsts = sorted({k[0] for k in keys} if composite else keys, key=str)
        for part in chunks(firsts):
            for values in queryset.filter(**{f"{key[0]}__in": part}).values_list(*names):
                keep(values)
        return found

    def pks(self, model: type[Model], key: str, keys: Iterable) -> dict:
        return {
            k: row.pk
            for k, row in self.load(model._default_manager.all(), (key,), keys, ()).items()
        }

    def stored(
        self,
        model: type[Model],
        key: Sequence[str],
        wanted: dict,
        *,
        queryset: models.QuerySet | None = None,
        absent: Collection = (),
    ) -> dict:
        """The stored rows `upsert` compares `wanted` with (to read them ahead: `existing=`)."""
        fields = sorted({name for want in wanted.values() for name in want})
        return self.load(
            queryset if queryset is not None else model._default_manager.all(),
            key,
            wanted,
            fields,
            absent,
        )

    # --- upsert -----------------------------------------------------------------------------

    def upsert(
        self,
        model: type[Model],
        key: Sequence[str],
        wanted: dict,
        *,
        queryset: models.QuerySet | None = None,
        on_create: dict | None = None,
        on_change: dict | None = None,
        quiet: frozenset[str] = frozenset(),
        along: frozenset[str] = frozenset(),
        absent: Collection = (),
        existing: dict | None = None,
    ) -> Upserted:
        """Create missing rows and update changed ones; `wanted` is {key: {field: value}}.

        `on_create` values are set only on new rows (e.g. origin); `on_change` values
        on new and changed rows (e.g. the batch) without counting as a change. `quiet`
        fields are written when they differ, but a difference there alone neither
        counts as a change nor gets history: they note something about the file, not
        a value of the row. `along` fields (the file row a record came from) are
        written with every new or changed row, together with `on_change`, but never
        count as a change or get history, so `batch` and `source_row` always name the
        file and row the stored values were last taken from; a stored row that has no
        value there yet (imported before rows were recorded) gets them filled in
        without counting as changed. The wanted dicts of new rows are reused as the
        rows to insert (modified in place).

        `absent`: keys known to have no stored row (`load`). `existing`: the stored rows,
        loaded earlier with `load` (every field the wanted dicts name), before COPYs that
        cannot change them were queued: then nothing here waits for those COPYs.
        """
        if existing is None:
            existing = self.stored(model, key, wanted, queryset=queryset, absent=absent)
        extra = {**(on_create or {}), **(on_change or {})}
        composite = len(key) > 1
        creates: list[dict] = []
        create_keys: list = []
        updates: list[tuple[int, dict]] = []
        changed: set = set()
        history: list[tuple[int, str, dict]] = []
        for k, want in wanted.items():
            stored = existing.get(k)
            if stored is None:
                for name, value in list(want.items()):
                    if value.__class__ is Force:
                        want[name] = value.value
                    elif value is None or value == "" or value == []:
                        del want[name]
                want.update(zip(key, k if composite else (k,), strict=True))
                want.update(extra)
                creates.append(want)
                create_keys.append(k)
                continue
            changes: dict[str, Any] = {}
            diff: dict[str, list] = {}
            noted: dict[str, Any] = {}
            carried: dict[str, Any] = {}
            for name, value in want.items():
                if name in along:
                    carried[name] = value
                    continue
                if value.__class__ is Force:
                    value = value.value
                elif value is None or value == "" or value == []:
                    continue
                old = getattr(stored, name)
                if old != value:
                    if name in quiet:
                        noted[name] = value
                        continue
                    changes[name] = value
                    diff[name] = [_plain(old), _plain(value)]
            if changes:
                changes.update(on_change or {})
                changes.update(noted)
                changes.update(carried)
                updates.append((stored.pk, changes))
                history.append((stored.pk, "update", diff))
                changed.add(k)
            elif carried and any(
                getattr(stored, name) is None and value is not None
                for name, value in carried.items()
            ):
                updates.append((stored.pk, {**noted, **(on_change or {}), **carried}))
            elif noted:
                updates.append((stored.pk, noted))
        table = self.table(model)
        new_ids = table.insert(creates, key=key, queryset=queryset)
        assert new_ids is not None  # with a key, insert always returns the new ids
        table.update(updates)
        pks = {k: row.pk for k, row in existing.items()}
        del existing
        pks.update(zip(create_keys, new_ids, strict=True))
        if model in CREATE_HISTORY:
            skip = set(on_change or ()) | quiet | along
            convert = _plain_fields(model)
            for pk, row in zip(new_ids, creates, strict=True):
                snapshot = {
                    name: [None, value]
                    for name, value in row.items()
                    if value is not None and value != "" and value != [] and name not in skip
                }
                for name in convert.intersection(snapshot):
                    snapshot[name][1] = _plain(snapshot[name][1])
                history.append((pk, "create", snapshot))
        del creates
        self.write_history(model, history)
        return Upserted(pks, set(create_keys), changed)

    def write_history(self, model: type[Model], entries: list[tuple[int, str, dict]]) -> None:
        table = self.table(ChangeRecord)
        # Who, where from and which model are the same for every row: converted once.
        same = {"actor_id": self.actor_id, "source": self.source, "model": model._meta.label_lower}
        for part in chunks(entries, 20000):
            table.insert(
                [
                    {"object_id": str(pk), "action": action, "changes": changes}
                    for pk, action, changes in part
                ],
                same=same,
            )

    def villages(self, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """Village ids for (township id, name); villages not known so far are created."""
        pairs = {pair for pair in pairs if pair[0] is not None and pair[1]}
        township_ids = {township_id for township_id, _ in pairs}
        known = {
            (township_id, name): pk
            for pk, township_id, name in Village.objects.filter(
                township_id__in=township_ids
            ).values_list("pk", "township_id", "name")
        }
        missing = sorted(pairs - known.keys())
        if missing:
            result = self.upsert(Village, ("township_id", "name"), {pair: {} for pair in missing})
            known.update(result.pks)
        return known

    def deactivate(self, model: type[Model], pks: list[int]) -> int:
        if not pks:
            return 0
        count = self.table(model).set_flag(sorted(pks), is_current=False)
        self.write_history(
            model, [(pk, "update", {"is_current": [True, False]}) for pk in sorted(pks)]
        )
        return count

    def headless_households(self, numbers: Iterable[str]) -> dict:
        """Survey households without a head Person whose head's ID is among `numbers`."""
        return self.load(
            Household.objects.filter(head__isnull=True), ("head_id_number",), numbers, ()
        )

    def link_household_heads(self, persons: dict[str, int], headless: dict | None = None) -> None:
        """Survey households whose head had no Person yet now point at it.

        `headless`: `headless_households` read before the persons were written (a superset
        of the households these persons head), so nothing here waits for their COPY.
        """
        if headless is None:
            found = self.headless_households(persons)
        else:
            found = {number: row for number, row in headless.items() if number in persons}
        if found:
            self.table(Household).update(
                [(row.pk, {"head_id": persons[number]}) for number, row in found.items()]
            )
            self.write_history(
                Household,
                [
                    (row.pk, "update", {"head_id": [None, persons[number]]})
                    for number, row in found.items()
                ],
            )


@lru_cache(maxsize=32)
def _plain_fields(model: type[Model]) -> frozenset[str]:
    """Attnames whose values need converting for JSON history (dates, decimals)."""
    return frozenset(
        field.attname
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField | models.DecimalField)
    )


@lru_cache(maxsize=64)
def _record_type(names: tuple[str, ...]) -> Any:
    return namedtuple("Stored", names)


def _stored(row: Any, fields: dict[str, str]) -> dict[str, Any]:
    """{model field: value} of a typed row, for fields given as {typed field: model field}."""
    return {model_field: getattr(row, typed) for typed, model_field in fields.items()}


def _mark(states: list[int], index: int, state: int) -> None:
    if state > states[index]:
        states[index] = state


def _mark_rows(
    states: list[int], row_keys: Iterable, result: Upserted, created: int = CREATED
) -> None:
    """Mark each row by what the upsert did to its key (the i-th key is row i's): `created`
    when its row is new, UPDATED when it changed. A table that only adds to a row's other
    values (a certificate, a membership) passes created=UPDATED."""
    for index, key in enumerate(row_keys):
        if key in result.created:
            _mark(states, index, created)
        elif key in result.changed:
            _mark(states, index, UPDATED)


# --- survey -------------------------------------------------------------------------------------

# The Household fields a survey import writes (read ahead: `write_survey`).
_SURVEY_HOUSEHOLD_FIELDS = ("head_id", "head_name", "size", "township_id", "village_id")

# typed survey field -> SurveyRecord field
SURVEY_RECORD_FIELDS = {
    column.key: column.field for column in survey.RECORD_COLUMNS if column.field is not None
}


def _household_head(row: Any) -> str | None:
    """The head's ID for a survey row: the stated head, or the person when they are the head."""
    if row.head_id:
        return row.head_id
    if not row.relation or row.relation in HEAD_WORDS:
        return row.id_number
    return None


def write_survey(rows: list, writer: Writer) -> WriteCounts:
    """Upsert Person, Certificate, Household, HouseholdMember and SurveyRecord.

    Counting is per person row: "created" when the person's SurveyRecord (or the
    person) is new, "updated" when any stored value of the row's person,
    certificate, membership, household or survey answers changed, "unchanged"
    otherwise. A household's values come from the head's own row when the head is
    in the file, else from the household's first row. A certificate number left
    blank keeps the stored one unless the category or grade changed, when the
    number becomes ID + category + grade.
    """
    states = [UNCHANGED] * len(rows)
    heads = [_household_head(row) for row in rows]
    groups: dict[str, list[int]] = {}
    for index, head in enumerate(heads):
        if head:
            groups.setdefault(head, []).append(index)
    # Read before the first COPY is queued, so neither read waits for one: heads outside
    # the file are persons this import does not create, and the person and certificate
    # writes below leave the households as they are.
    outside_heads = writer.pks(Person, "id_number", set(groups) - {row.id_number for row in rows})
    stored_households = writer.load(
        Household.objects.all(), ("head_id_number",), groups, _SURVEY_HOUSEHOLD_FIELDS
    )
    villages = writer.villages({(row.township_id, row.village) for row in rows})

    # Persons: the survey is the registry's baseline and sets name and location.
    persons = writer.upsert(
        Person,
        ("id_number",),
        {
            row.id_number: {
                "name": row.name,
                "gender": row.gender,
                "birth_date": row.birth_date,
                "township_id": row.township_id,
                "village_id": villages[(row.township_id, row.village)],
            }
            for row in rows
        },
    )
    _mark_rows(states, (row.id_number for row in rows), persons)
    person_pk = persons.pks
    # Persons created just now have no certificate, membership or answers stored yet.
    new_persons = {person_pk[number] for number in persons.created}
    writer.progress(20)

    # Certificates.
    without_number = [person_pk[row.id_number] for row in rows if row.cert_number is None]
    stored = writer.load(
        Certificate.objects.all(),
        ("person_id",),
        without_number,
        ("number", "category", "grade"),
        absent=new_persons,
    )
    wanted = {}
    for row in rows:
        person_id = person_pk[row.id_number]
        number, reissue = row.cert_number, row.cert_reissue
        if number is None:
            old = stored.get(person_id)
            if old is not None and (old.category, old.grade) == (row.category, row.grade):
                continue  # no number in the file and nothing to change
            number, reissue = f"{row.id_number}{row.category}{row.grade}", None
        wanted[person_id] = {
            "number": number,
            "category": row.category,
            "grade": row.grade,
            "reissue": Force(reissue),
        }
    certificates = writer.upsert(Certificate, ("person_id",), wanted, absent=new_persons)
    del wanted
    row_persons = [person_pk[row.id_number] for row in rows]
    _mark_rows(states, row_persons, certificates, created=UPDATED)
    writer.progress(35)

    # Households, keyed by the head's ID.
    head_pk = dict(person_pk)
    head_pk.update(outside_heads)
    wanted = {}
    for head, indexes in groups.items():
        row = rows[next((i for i in indexes if rows[i].id_number == head), indexes[0])]
        wanted[head] = {
            "head_name": row.head_name or (row.name if row.id_number == head else None),
            "head_id": head_pk.get(head),
            "township_id": row.township_id,
            "village_id": villages[(row.township_id, row.village)],
            "size": row.household_size,
        }
    households = writer.upsert(Household, ("head_id_number",), wanted, existing=stored_households)
    del stored_households
    del wanted
    for head in households.created | households.changed:
        for index in groups[head]:
            _mark(states, index, UPDATED)
    writer.progress(50)

    # Household members.
    wanted = {
        person_pk[row.id_number]: {
            "household_id": households.pks[heads[index]],
            "relation": row.relation,
        }
        for index, row in enumerate(rows)
        if heads[index]
    }
    members = writer.upsert(HouseholdMember, ("person_id",), wanted, absent=new_persons)
    del wanted
    _mark_rows(states, row_persons, members, created=UPDATED)
    writer.progress(65)

    # Survey answers.
    wanted = {
        person_pk[row.id_number]: {
            "household_id": households.pks[heads[index]] if heads[index] else None,
            **_stored(row, SURVEY_RECORD_FIELDS),
            "source_row": row.row,
        }
        for index, row in enumerate(rows)
    }
    records = writer.upsert(
        SurveyRecord,
        ("person_id",),
        wanted,
        on_change={"batch_id": writer.batch.pk},
        along=SOURCE_ROW,
        absent=new_persons,
    )
    del wanted
    _mark_rows(states, row_persons, records)
    writer.progress(100)
    return WriteCounts.from_states(states)


# --- persons named by other sources -------------------------------------------------------------


def _upsert_outside_persons(
    rows: list, writer: Writer, villages: dict
) -> tuple[dict[str, int], set[int]]:
    """Persons for roster/civil rows: created when missing. Persons with survey answers keep
    the survey's name and location; other persons follow the newer roster.

    Returns {ID number: person id} and the ids of the persons created."""
    numbers = {row.id_number for row in rows}
    # Read before the persons' COPY is queued (it cannot change which households lack a head).
    headless = writer.headless_households(numbers)
    with_survey = SurveyRecord.objects.values_list("person__id_number", flat=True)
    if len(numbers) >= FULL_SCAN_KEYS:
        surveyed = {n for n in with_survey.iterator(chunk_size=10000) if n in numbers}
    else:
        surveyed = set()
        for part in chunks(sorted(numbers)):
            surveyed.update(with_survey.filter(person__id_number__in=part))
    wanted = {}
    for row in rows:
        want = {"gender": row.gender, "birth_date": row.birth_date}
        if row.id_number not in surveyed:
            want.update(
                name=row.name,
                township_id=row.township_id,
                village_id=villages.get((row.township_id, row.village)),
            )
        wanted[row.id_number] = want
    persons = writer.upsert(Person, ("id_number",), wanted)
    del wanted
    created = {number: persons.pks[number] for number in persons.created}
    writer.link_household_heads(created, headless)
    return persons.pks, set(created.values())


# --- roster ---------------------------------------------------------------------------------------


def write_roster(
    rows: list,
    writer: Writer,
    *,
    townships: set[int],
    seen_ids: set[str],
    seen_households: set[str],
    conflicts: Sequence[HouseholdConflict] = (),
) -> WriteCounts:
    """Upsert Person, RosterHousehold and RosterMember; a snapshot of the file's townships.

    Counting is per member row: "created" when the RosterMember is new, "updated"
    when the member or its household changed (including becoming current again),
    "unchanged" otherwise. A household's values come from the head's row (与户主关系
    户主), blanks there filled from the household's other rows; a household that is
    not 监测户 has no 监测对象类别, and one whose risk is not cleared has no clearing
    date or method. Current members and households of the file's townships that the
    file does not name (not even in an invalid row) stop being current; nothing is
    deleted. Each household keeps the disagreements between its rows found in this
    file (`conflicts`, from the engine) in `RosterHousehold.conflicts`; that note
    alone does not make a row "updated".
    """
    states = [UNCHANGED] * len(rows)
    villages = writer.villages({(row.township_id, row.village) for row in rows})

    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(row.household_number, []).append(index)
    noted: dict[str, list[dict]] = {}
    for conflict in conflicts:
        noted.setdefault(conflict.household, []).append(conflict.as_dict())
    wanted = {}
    for number, indexes in groups.items():
        ordered = head_first(rows, indexes)
        first = rows[ordered[0]]
        want = {
            "township_id": first.township_id,
            "village_id": villages[(first.township_id, first.village)],
        }
        for typed, model_field in HOUSEHOLD_STORED.items():
            value = None
            for i in ordered:
                value = getattr(rows[i], typed)
                if not _empty(value):
                    break
            want[model_field] = value
        want["is_current"] = Force(True)
        if want["household_type"] != HouseholdType.MONITORED:
            want["monitoring_category"] = Force("")
        if want["risk_cleared"] is False:
            want["cleared_on"] = Force(None)
            want["clear_method"] = Force("")
        # Forced: a household whose rows agree now loses the note of an earlier file.
        want["conflicts"] = Force(noted.get(number, []))
        # The row whose household values come first (the head's, else the first row).
        want["source_row"] = first.row
        wanted[number] = want
    # Read before the persons' COPY is queued (writing persons leaves households as they are).
    stored_households = writer.stored(RosterHousehold, ("household_number",), wanted)
    person_pk, new_persons = _upsert_outside_persons(rows, writer, villages)
    writer.progress(30)
    households = writer.upsert(
        RosterHousehold,
        ("household_number",),
        wanted,
        on_change={"batch_id": writer.batch.pk},
        quiet=frozenset({"conflicts"}),
        along=SOURCE_ROW,
        existing=stored_households,
    )
    del stored_households
    del wanted
    for number in households.changed:
        for index in groups[number]:
            _mark(states, index, UPDATED)
    writer.progress(55)

    member_wanted = {
        person_pk[row.id_number]: {
            "household_id": households.pks[row.household_number],
            "is_current": Force(True),
            **_stored(row, MEMBER_STORED),
            "source_row": row.row,
        }
        for row in rows
    }
    members = writer.upsert(
        RosterMember,
        ("person_id",),
        member_wanted,
        on_change={"batch_id": writer.batch.pk},
        along=SOURCE_ROW,
        absent=new_persons,
    )
    del member_wanted
    _mark_rows(states, (person_pk[row.id_number] for row in rows), members)
    writer.progress(80)

    counts = WriteCounts.from_states(states)
    # Snapshot: the file is the whole roster of its townships.
    stale_members = [
        pk
        for pk, id_number in RosterMember.objects.filter(
            is_current=True, household__township_id__in=townships
        ).values_list("pk", "person__id_number")
        if id_number not in seen_ids
    ]
    stale_households = [
        pk
        for pk, number in RosterHousehold.objects.filter(
            is_current=True, township_id__in=townships
        ).values_list("pk", "household_number")
        if number not in seen_households
    ]
    gone_members = writer.deactivate(RosterMember, stale_members)
    gone_households = writer.deactivate(RosterHousehold, stale_households)
    if gone_members or gone_households:
        counts.notes.append(
            f"本次名单所含乡镇中有{gone_members}名成员、{gone_households}户不在新名单中，"
            "已标记为“不在当前名单”（未删除）"
        )
    writer.progress(100)
    return counts


# --- civil-affairs roster -------------------------------------------------------------------


def write_civil(
    rows: list, writer: Writer, *, townships: set[int], seen_keys: set[tuple[str, str]]
) -> WriteCounts:
    """Upsert Person (created if missing) and BenefitRecord (origin civil); a snapshot.

    Counting is per row (one person, one benefit): "created" when the civil
    BenefitRecord is new, "updated" when a stored value changed (including becoming
    current again), "unchanged" otherwise. Current civil records listed under the
    file's townships whose (ID, 项目) the file no longer names stop being current.
    """
    states = [UNCHANGED] * len(rows)
    villages = writer.villages({(row.township_id, row.village) for row in rows})
    person_pk, new_persons = _upsert_outside_persons(rows, writer, villages)
    writer.progress(40)

    wanted = {
        (person_pk[row.id_number], row.benefit_type): {
            "monthly_amount": row.monthly_amount,
            "start_month": row.start_month,
            "status": row.status,
            "township_id": row.township_id,
            "is_current": Force(True),
        }
        for row in rows
    }
    records = writer.upsert(
        BenefitRecord,
        ("person_id", "benefit_type"),
        wanted,
        queryset=BenefitRecord.objects.filter(origin=BenefitRecord.Origin.CIVIL),
        on_create={"origin": BenefitRecord.Origin.CIVIL},
        on_change={"batch_id": writer.batch.pk},
        absent=new_persons,
    )
    del wanted
    _mark_rows(states, ((person_pk[row.id_number], row.benefit_type) for row in rows), records)
    writer.progress(80)

    counts = WriteCounts.from_states(states)
    # seen_keys holds (ID, 项目) of every row of the file, valid or not.
    stale = [
        pk
        for pk, id_number, benefit in BenefitRecord.objects.filter(
            origin=BenefitRecord.Origin.CIVIL, is_current=True, township_id__in=townships
        ).values_list("pk", "person__id_number", "benefit_type")
        if (id_number, benefit) not in seen_keys
    ]
    gone = writer.deactivate(BenefitRecord, stale)
    if gone:
        counts.notes.append(
            f"本次名册所含乡镇中有{gone}条救助/补贴记录不在新名册中，已标记为非当前（未删除）"
        )
    writer.progress(100)
    return counts
