"""Write validated rows: set-based upserts per source, with history rows.

Called inside one transaction by `monitoring.services.import_run`. Existing rows
are loaded with a few chunked `in` queries keyed by the file's IDs; new rows are
bulk-created, changed rows bulk-updated (only when a normalised value differs from
what is stored), and one `ChangeRecord` is written per created or changed registry
row (source "导入批次 N"). Never a query per row.

Shared rules:
- a blank cell (None) never overwrites a stored value;
- a row whose values all equal what is stored is "unchanged" and is not written;
- persons are never deleted; snapshot imports only clear `is_current`.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Exists, Model, OuterRef
from django.utils import timezone

from cases.history import _plain, change_row
from cases.models import (
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Person,
    Village,
)
from monitoring.models import HouseholdType, RosterHousehold, RosterMember, SurveyRecord
from subsidies.models import BenefitRecord

BATCH_SIZE = 1000
CHUNK = 2000
HEAD_WORDS = frozenset({"户主", "本人", "户主本人"})

UNCHANGED, UPDATED, CREATED = 0, 1, 2


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


def chunks(items: Sequence, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _empty(value) -> bool:
    return value is None or value == "" or value == []


class Writer:
    """Bulk helpers shared by the three sources: load, apply, create, update, history."""

    def __init__(self, batch, user=None, progress: Callable[[int], None] | None = None):
        self.batch = batch
        self.user = user
        self.source = f"导入批次 {batch.pk}"
        self.progress = progress or (lambda percent: None)
        self.history: list[ChangeRecord] = []
        self.now = timezone.now()

    # --- loading -------------------------------------------------------------------------

    def load(self, queryset, key: str, keys: Iterable) -> dict:
        """{key value: instance} for the given keys, in chunked `in` queries."""
        keys = sorted(set(keys) - {None})
        found = {}
        for part in chunks(keys):
            for obj in queryset.filter(**{f"{key}__in": part}):
                found[getattr(obj, key)] = obj
        return found

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
        missing = [
            Village(township_id=township_id, name=name)
            for township_id, name in sorted(pairs - known.keys())
        ]
        if missing:
            self.create(Village, missing, ("township_id", "name"), key=("township_id", "name"))
            for village in missing:
                known[(village.township_id, village.name)] = village.pk
        return known

    # --- changes ---------------------------------------------------------------------------

    @staticmethod
    def apply(obj: Model, want: dict, force: dict | None = None) -> dict:
        """Set changed values on obj; return {field: [old, new]}. Blank `want` values are skipped."""
        changes = {}
        for name, new in want.items():
            if _empty(new):
                continue
            old = getattr(obj, name)
            if old != new:
                changes[name] = [_plain(old), _plain(new)]
                setattr(obj, name, new)
        for name, new in (force or {}).items():
            old = getattr(obj, name)
            if old != new:
                changes[name] = [_plain(old), _plain(new)]
                setattr(obj, name, new)
        return changes

    def create(self, model, objs: list, fields: Sequence[str], key: Sequence[str] = ()) -> None:
        """bulk_create, make sure every object has its pk, write "create" history rows.

        `key` names the fields that identify a row, for databases that cannot return
        the new ids from a bulk insert (PostgreSQL and SQLite ≥ 3.35 can).
        """
        if not objs:
            return
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        if any(obj.pk is None for obj in objs):
            key = tuple(key) or (fields[0],)
            by_key = {tuple(getattr(obj, name) for name in key): obj for obj in objs}
            firsts = sorted({value[0] for value in by_key})
            for part in chunks(firsts):
                for found in model.objects.filter(**{f"{key[0]}__in": part}).values_list(
                    "pk", *key
                ):
                    obj = by_key.get(tuple(found[1:]))
                    if obj is not None:
                        obj.pk = found[0]
        for obj in objs:
            snapshot = {}
            for name in fields:
                value = getattr(obj, name)
                if not _empty(value):
                    snapshot[name] = [None, _plain(value)]
            self.history.append(
                change_row(obj, "create", snapshot, actor=self.user, source=self.source)
            )

    def update(self, model, changed: list[tuple[Model, dict]]) -> None:
        """bulk_update the changed fields, write "update" history rows."""
        if not changed:
            return
        names = set()
        for obj, changes in changed:
            names.update(changes)
            if hasattr(obj, "updated_at"):
                obj.updated_at = self.now
        extra = ["updated_at"] if hasattr(changed[0][0], "updated_at") else []
        objs = [obj for obj, _ in changed]
        model.objects.bulk_update(objs, sorted(names) + extra, batch_size=BATCH_SIZE)
        for obj, changes in changed:
            self.history.append(
                change_row(obj, "update", changes, actor=self.user, source=self.source)
            )

    def flush_history(self) -> None:
        ChangeRecord.objects.bulk_create(self.history, batch_size=BATCH_SIZE)
        self.history = []

    def deactivate(self, model, pks: list[int]) -> int:
        count = 0
        for part in chunks(sorted(pks)):
            count += model.objects.filter(pk__in=part).update(is_current=False, updated_at=self.now)
        return count

    # --- persons -----------------------------------------------------------------------------

    def persons(self, ids: Iterable[str], with_survey_flag: bool = False) -> dict[str, Person]:
        queryset = Person.objects.only(
            "id", "id_number", "name", "gender", "birth_date", "township_id", "village_id"
        )
        if with_survey_flag:
            queryset = queryset.annotate(
                has_survey=Exists(SurveyRecord.objects.filter(person_id=OuterRef("pk")))
            )
        return self.load(queryset, "id_number", ids)

    def link_household_heads(self, persons: Iterable[Person]) -> None:
        """Survey households whose head had no Person yet now point at it."""
        by_number = {person.id_number: person.pk for person in persons}
        changed = []
        for household in self.load(
            Household.objects.filter(head__isnull=True).only("id", "head_id_number", "head_id"),
            "head_id_number",
            by_number,
        ).values():
            changes = self.apply(household, {"head_id": by_number[household.head_id_number]})
            if changes:
                changed.append((household, changes))
        self.update(Household, changed)


PERSON_FIELDS = ("id_number", "name", "gender", "birth_date", "township_id", "village_id")

# typed survey field -> SurveyRecord field
SURVEY_RECORD_FIELDS = {
    "relation": "relation",
    "household_size": "household_size",
    "income": "income_per_capita",
    "dibao": "receives_dibao",
    "tekun": "receives_tekun",
    "living_subsidy": "receives_living_subsidy",
    "care_subsidy": "receives_care_subsidy",
    "medical_insured": "medical_insured",
    "pension_insured": "pension_insured",
    "housing_safe": "housing_safe",
    "water_safe": "water_safe",
    "employment_status": "employment_status",
    "employment_willing": "employment_willing",
    "in_school": "in_school",
    "rehab_needs": "rehab_needs",
    "rehab_received": "rehab_received",
    "accessibility_need": "accessibility_need",
    "care_need": "care_need",
    "family_doctor": "family_doctor",
    "rigid_expenditure": "rigid_expenditure",
    "survival_status": "survival_status",
    "surveyed_on": "surveyed_on",
}


def _household_head(row) -> str | None:
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
    in the file, else from the household's first row.
    """
    states = [UNCHANGED] * len(rows)
    villages = writer.villages({(row.township_id, row.village) for row in rows})
    heads = [_household_head(row) for row in rows]

    # Persons (the survey is the registry's baseline: it sets name and location).
    persons = writer.persons({row.id_number for row in rows} | {h for h in heads if h})
    new_persons, changed = [], []
    for index, row in enumerate(rows):
        want = {
            "name": row.name,
            "gender": row.gender,
            "birth_date": row.birth_date,
            "township_id": row.township_id,
            "village_id": villages[(row.township_id, row.village)],
        }
        person = persons.get(row.id_number)
        if person is None:
            person = Person(id_number=row.id_number, **want)
            persons[row.id_number] = person
            new_persons.append(person)
            states[index] = CREATED
        else:
            changes = writer.apply(person, want)
            if changes:
                changed.append((person, changes))
                states[index] = UPDATED
    writer.create(Person, new_persons, PERSON_FIELDS, key=("id_number",))
    writer.update(Person, changed)
    writer.progress(20)

    # Certificates.
    person_ids = [persons[row.id_number].pk for row in rows]
    certificates = writer.load(
        Certificate.objects.only("id", "person_id", "number", "category", "grade", "reissue"),
        "person_id",
        person_ids,
    )
    new_certs, changed = [], []
    for index, row in enumerate(rows):
        person_id = person_ids[index]
        certificate = certificates.get(person_id)
        number, reissue = row.cert_number, row.cert_reissue
        if number is None:
            if (
                certificate is not None
                and certificate.category == row.category
                and certificate.grade == row.grade
            ):
                continue  # no number in the file and nothing to change
            number, reissue = f"{row.id_number}{row.category}{row.grade}", None
        want = {"number": number, "category": row.category, "grade": row.grade}
        if certificate is None:
            new_certs.append(Certificate(person_id=person_id, reissue=reissue, **want))
            states[index] = max(states[index], UPDATED)
        else:
            changes = writer.apply(certificate, want, force={"reissue": reissue})
            if changes:
                changed.append((certificate, changes))
                states[index] = max(states[index], UPDATED)
    writer.create(
        Certificate,
        new_certs,
        ("person_id", "number", "category", "grade", "reissue"),
        key=("person_id",),
    )
    writer.update(Certificate, changed)
    writer.progress(35)

    # Households, keyed by the head's ID.
    groups: dict[str, list[int]] = {}
    for index, head in enumerate(heads):
        if head:
            groups.setdefault(head, []).append(index)
    households = writer.load(
        Household.objects.only(
            "id", "head_id_number", "head_name", "head_id", "township_id", "village_id", "size"
        ),
        "head_id_number",
        groups,
    )
    new_households, changed, touched = [], [], []
    for head, indexes in groups.items():
        source = next((i for i in indexes if rows[i].id_number == head), indexes[0])
        row = rows[source]
        head_person = persons.get(head)
        want = {
            "head_name": row.head_name or (row.name if row.id_number == head else None),
            "head_id": head_person.pk if head_person is not None else None,
            "township_id": row.township_id,
            "village_id": villages[(row.township_id, row.village)],
            "size": row.household_size,
        }
        household = households.get(head)
        if household is None:
            want = {key: value for key, value in want.items() if value is not None}
            household = Household(head_id_number=head, **want)
            households[head] = household
            new_households.append(household)
            touched.append(indexes)
        else:
            changes = writer.apply(household, want)
            if changes:
                changed.append((household, changes))
                touched.append(indexes)
    writer.create(
        Household,
        new_households,
        ("head_id_number", "head_name", "head_id", "township_id", "village_id", "size"),
        key=("head_id_number",),
    )
    writer.update(Household, changed)
    for indexes in touched:
        for index in indexes:
            states[index] = max(states[index], UPDATED)
    writer.progress(50)

    # Household members.
    members = writer.load(
        HouseholdMember.objects.only("id", "person_id", "household_id", "relation"),
        "person_id",
        person_ids,
    )
    new_members, changed = [], []
    for index, row in enumerate(rows):
        head = heads[index]
        if not head:
            continue
        want = {"household_id": households[head].pk, "relation": row.relation}
        member = members.get(person_ids[index])
        if member is None:
            new_members.append(
                HouseholdMember(
                    person_id=person_ids[index],
                    household_id=want["household_id"],
                    relation=row.relation or "",
                )
            )
            states[index] = max(states[index], UPDATED)
        else:
            changes = writer.apply(member, want)
            if changes:
                changed.append((member, changes))
                states[index] = max(states[index], UPDATED)
    writer.create(
        HouseholdMember,
        new_members,
        ("person_id", "household_id", "relation"),
        key=("person_id",),
    )
    writer.update(HouseholdMember, changed)
    writer.progress(65)

    # Survey answers.
    records = writer.load(SurveyRecord.objects.all(), "person_id", person_ids)
    new_records, changed = [], []
    record_fields = ["household_id", *SURVEY_RECORD_FIELDS.values()]
    for index, row in enumerate(rows):
        head = heads[index]
        want = {"household_id": households[head].pk if head else None}
        for typed, model_field in SURVEY_RECORD_FIELDS.items():
            want[model_field] = getattr(row, typed)
        record = records.get(person_ids[index])
        if record is None:
            values = {key: value for key, value in want.items() if value is not None}
            new_records.append(
                SurveyRecord(person_id=person_ids[index], batch_id=writer.batch.pk, **values)
            )
            states[index] = CREATED
        else:
            changes = writer.apply(record, want)
            if changes:
                record.batch_id = writer.batch.pk
                changes["batch_id"] = [None, writer.batch.pk]
                changed.append((record, changes))
                states[index] = max(states[index], UPDATED)
    writer.create(SurveyRecord, new_records, ["person_id", *record_fields], key=("person_id",))
    writer.update(SurveyRecord, changed)
    writer.progress(85)
    writer.flush_history()
    writer.progress(100)
    return WriteCounts.from_states(states)


# --- roster -----------------------------------------------------------------------------------

ROSTER_MODEL_FIELDS = {
    "township_id": "township_id",
    "village": "village_id",
    "head_name": "head_name",
    "household_type": "household_type",
    "monitoring_category": "monitoring_category",
    "risk_types": "risk_types",
    "income": "income_per_capita",
    "identified_on": "identified_on",
    "risk_cleared": "risk_cleared",
    "cleared_on": "cleared_on",
    "clear_method": "clear_method",
    "wage_income": "wage_income",
    "business_income": "business_income",
    "property_income": "property_income",
    "transfer_income": "transfer_income",
}
MEMBER_FIELDS = {
    "name": "name",
    "relation": "relation",
    "is_disabled": "is_disabled",
    "category": "disability_category",
    "grade": "disability_grade",
    "status": "status",
}


def _upsert_outside_persons(rows: list, writer: Writer, villages: dict) -> dict[str, Person]:
    """Persons for roster/civil rows: created if missing; persons with survey answers keep
    the survey's name and location, others follow the newer roster."""
    persons = writer.persons({row.id_number for row in rows}, with_survey_flag=True)
    new_persons, changed = [], []
    for row in rows:
        village_id = villages.get((row.township_id, row.village))
        person = persons.get(row.id_number)
        if person is None:
            person = Person(
                id_number=row.id_number,
                name=row.name,
                gender=row.gender,
                birth_date=row.birth_date,
                township_id=row.township_id,
                village_id=village_id,
            )
            person.has_survey = False
            persons[row.id_number] = person
            new_persons.append(person)
        elif not person.has_survey:
            want = {"name": row.name, "township_id": row.township_id, "village_id": village_id}
            changes = writer.apply(person, want)
            if changes:
                changed.append((person, changes))
    writer.create(Person, new_persons, PERSON_FIELDS, key=("id_number",))
    writer.update(Person, changed)
    writer.link_household_heads(new_persons)
    return persons


def write_roster(
    rows: list,
    writer: Writer,
    *,
    townships: set[int],
    seen_ids: set[str],
    seen_households: set[str],
) -> WriteCounts:
    """Upsert Person, RosterHousehold and RosterMember; a snapshot of the file's townships.

    Counting is per member row: "created" when the RosterMember is new, "updated"
    when the member or its household changed (including becoming current again),
    "unchanged" otherwise. A household's values come from the head's row (与户主关系
    户主), blanks there filled from the household's other rows. Current members and
    households of the file's townships that the file does not name (not even in an
    invalid row) stop being current; nothing is deleted.
    """
    states = [UNCHANGED] * len(rows)
    villages = writer.villages({(row.township_id, row.village) for row in rows})
    persons = _upsert_outside_persons(rows, writer, villages)
    writer.progress(30)

    groups: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault(row.household_number, []).append(index)
    households = writer.load(RosterHousehold.objects.all(), "household_number", groups)
    new_households, changed, touched = [], [], []
    for number, indexes in groups.items():
        ordered = sorted(indexes, key=lambda i: rows[i].relation not in HEAD_WORDS)
        first = rows[ordered[0]]
        want = {}
        for typed, model_field in ROSTER_MODEL_FIELDS.items():
            value = None
            for i in ordered:
                value = getattr(rows[i], typed)
                if not _empty(value):
                    break
            want[model_field] = value
        # Location as a pair from the same row, so village and township agree.
        want["township_id"] = first.township_id
        want["village_id"] = villages[(first.township_id, first.village)]
        force = {"is_current": True}
        if want["household_type"] != HouseholdType.MONITORED:
            force["monitoring_category"] = ""
        if want["risk_cleared"] is False:
            force.update(cleared_on=None, clear_method="")
        household = households.get(number)
        if household is None:
            values = {key: value for key, value in want.items() if value is not None}
            values.update(force)
            household = RosterHousehold(household_number=number, batch_id=writer.batch.pk, **values)
            households[number] = household
            new_households.append(household)
        else:
            changes = writer.apply(household, want, force)
            if changes:
                household.batch_id = writer.batch.pk
                changed.append((household, changes))
                touched.append(indexes)
    writer.create(
        RosterHousehold,
        new_households,
        ["household_number", *ROSTER_MODEL_FIELDS.values()],
        key=("household_number",),
    )
    writer.update(RosterHousehold, [(h, {**c, "batch_id": [None, h.batch_id]}) for h, c in changed])
    for indexes in touched:
        for index in indexes:
            states[index] = UPDATED
    writer.progress(55)

    person_ids = [persons[row.id_number].pk for row in rows]
    members = writer.load(RosterMember.objects.all(), "person_id", person_ids)
    new_members, changed = [], []
    for index, row in enumerate(rows):
        want = {"household_id": households[row.household_number].pk}
        for typed, model_field in MEMBER_FIELDS.items():
            want[model_field] = getattr(row, typed)
        member = members.get(person_ids[index])
        if member is None:
            values = {key: value for key, value in want.items() if value is not None}
            new_members.append(
                RosterMember(person_id=person_ids[index], batch_id=writer.batch.pk, **values)
            )
            states[index] = CREATED
        else:
            changes = writer.apply(member, want, {"is_current": True})
            if changes:
                member.batch_id = writer.batch.pk
                changes["batch_id"] = [None, writer.batch.pk]
                changed.append((member, changes))
                states[index] = UPDATED
    writer.create(
        RosterMember,
        new_members,
        ["person_id", "household_id", *MEMBER_FIELDS.values()],
        key=("person_id",),
    )
    writer.update(RosterMember, changed)
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
    writer.flush_history()
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
    file's townships that the file no longer names stop being current.
    """
    states = [UNCHANGED] * len(rows)
    villages = writer.villages({(row.township_id, row.village) for row in rows})
    persons = _upsert_outside_persons(rows, writer, villages)
    writer.progress(40)

    person_ids = [persons[row.id_number].pk for row in rows]
    existing: dict[tuple[int, str], BenefitRecord] = {}
    for part in chunks(sorted(set(person_ids))):
        for record in BenefitRecord.objects.filter(
            origin=BenefitRecord.Origin.CIVIL, person_id__in=part
        ):
            existing[(record.person_id, record.benefit_type)] = record
    new_records, changed = [], []
    for index, row in enumerate(rows):
        want = {
            "monthly_amount": row.monthly_amount,
            "start_month": row.start_month,
            "status": row.status,
            "township_id": row.township_id,
        }
        record = existing.get((person_ids[index], row.benefit_type))
        if record is None:
            values = {key: value for key, value in want.items() if value is not None}
            record = BenefitRecord(
                person_id=person_ids[index],
                benefit_type=row.benefit_type,
                origin=BenefitRecord.Origin.CIVIL,
                batch_id=writer.batch.pk,
                **values,
            )
            existing[(person_ids[index], row.benefit_type)] = record
            new_records.append(record)
            states[index] = CREATED
        else:
            changes = writer.apply(record, want, {"is_current": True})
            if changes:
                record.batch_id = writer.batch.pk
                changes["batch_id"] = [None, writer.batch.pk]
                changed.append((record, changes))
                states[index] = UPDATED
    writer.create(
        BenefitRecord,
        new_records,
        (
            "person_id",
            "benefit_type",
            "origin",
            "monthly_amount",
            "start_month",
            "status",
            "township_id",
        ),
        key=("person_id", "benefit_type"),
    )
    writer.update(BenefitRecord, changed)
    writer.progress(80)

    counts = WriteCounts.from_states(states)
    # seen_keys holds (ID, benefit) of every row of the file, valid or not.
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
    writer.flush_history()
    writer.progress(100)
    return counts
