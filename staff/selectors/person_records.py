"""Everything the person page lists, in ONE query: the timeline of the person and their
household (`staff.selectors.timeline`) and, in the same `UNION ALL`, the person's records of
each task area (labour profile, welfare posts, training, base employment, rehabilitation
needs and services, family-doctor contracts, accessibility modifications with the
`ChangeRecord`s of their steps, custodial care, care of a child in hardship, the education
plan), their benefit records and, for a certified child, the hardship row of
`monitoring.populations.hardship_children`.

Why one statement: the page's own reads are the person, the household's members and this;
with the session, the user, the audit event and the session save it stays within ten
queries, whatever the person's history holds (docs/PERFORMANCE.md). One query per table
made it twenty-one for an adult and twenty-five for a child.

How the records fit the timeline's columns (`TIMELINE_COLUMNS`): a record row puts its kind
in `t_kind`, its id in `t_pk` and every concrete field of its model (plus the few related
values the page shows: a base's name, who recorded it) as one JSON object in `t_text1`
(`JSONObject`, the same on SQLite and PostgreSQL); `from_payload` turns it back into a
model instance, so the sections and their templates keep reading model objects. Its
`t_on` is `LAST_DAY`, so record rows sort before the timeline's and the timeline keeps
its own order; the timeline's limit (`TIMELINE_LIMIT`) is applied while reading, since a
LIMIT on the union would count the record rows too.

Every branch is read through the user's scope: the task-area selectors of
`cases.selectors_casework` or `cases.scope.scoped`; the step history of a modification only
for the modifications in scope (a subquery of the same scoped read).
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import connections, models
from django.db.models import CharField, DateField, F, IntegerField, Model, QuerySet, Value
from django.db.models.functions import Cast, JSONObject
from django.utils.dateparse import parse_date, parse_datetime

from cases.casework import CHILD_CARE_AGE, EDUCATION_PLAN_AGE
from cases.casework_base import today
from cases.identity import age_on
from cases.models import (
    AccessibilityModification,
    BaseEmployment,
    ChangeRecord,
    ChildCareRecord,
    CustodialCare,
    EducationPlan,
    EmploymentBase,
    FamilyDoctorContract,
    LabourProfile,
    Person,
    RehabNeed,
    RehabService,
    Training,
    WelfarePostPlacement,
)
from cases.scope import AnyUser, scope_for, scoped
from cases.selectors_casework import (
    accessibility_modifications,
    base_employees,
    custodial_care,
    family_doctor_contracts,
    labour_profiles,
    rehab_needs,
    rehab_services,
    trainings,
    welfare_posts,
)
from monitoring.eligibility import civil_townships_query
from monitoring.populations import HARDSHIP_REASONS, hardship_children, hardship_field
from staff.selectors.timeline import (
    HOUSEHOLD_MARKER,
    PERSON_MARKER,
    TIMELINE_COLUMNS,
    TIMELINE_LIMIT,
    TIMELINE_ORDER,
    Event,
    compiled_query,
    run_compiled,
    scope_key,
    timeline_branches,
)
from staff.selectors.unions import TEXT, none
from subsidies.models import BenefitRecord

# The `t_on` of a record row: later than any real date, so record rows come first.
LAST_DAY = date(9999, 12, 31)

USER_FIELDS = ("username", "first_name", "last_name")


def is_child(person: Person, on: date, ages: tuple[int, int] = CHILD_CARE_AGE) -> bool:
    return ages[0] <= age_on(person.birth_date, on) <= ages[1]


def shows_hardship(person: Person, on: date) -> bool:
    """The hardship section is for a certified child aged 0–17 on `on`."""
    return getattr(person, "certificate", None) is not None and is_child(person, on)


@dataclass(frozen=True)
class Kind:
    """One kind of record of the person page: its model, its scoped rows of the person, and
    the related values its section shows ({payload key: lookup})."""

    key: str
    model: type[Model]
    rows: Callable[[AnyUser, Person], QuerySet]
    related: Mapping[str, str] = field(default_factory=dict)
    users: tuple[str, ...] = ()  # user foreign keys whose names the page shows


def _users(*paths: str) -> dict[str, str]:
    return {f"{path}__{name}": f"{path}__{name}" for path in paths for name in USER_FIELDS}


def _mods(user: AnyUser, person: Person) -> QuerySet:
    return accessibility_modifications(user).filter(person=person)


def _steps(user: AnyUser, person: Person) -> QuerySet:
    """The history rows of the person's modifications in scope (`object_id` is text)."""
    ids = _mods(user, person).order_by().annotate(oid=Cast("pk", CharField())).values("oid")
    return ChangeRecord.objects.filter(
        model=AccessibilityModification._meta.label_lower, object_id__in=ids
    )


KINDS: tuple[Kind, ...] = (
    Kind("p_labour", LabourProfile, lambda u, p: labour_profiles(u).filter(person=p)),
    Kind("p_post", WelfarePostPlacement, lambda u, p: welfare_posts(u).filter(person=p)),
    Kind("p_training", Training, lambda u, p: trainings(u).filter(person=p)),
    Kind(
        "p_base_job",
        BaseEmployment,
        lambda u, p: base_employees(u).filter(person=p),
        {"base__name": "base__name"},
    ),
    Kind("p_need", RehabNeed, lambda u, p: rehab_needs(u).filter(person=p)),
    Kind("p_service", RehabService, lambda u, p: rehab_services(u).filter(person=p)),
    Kind(
        "p_contract", FamilyDoctorContract, lambda u, p: family_doctor_contracts(u).filter(person=p)
    ),
    Kind("p_mod", AccessibilityModification, _mods),
    Kind("p_step", ChangeRecord, _steps, _users("actor"), ("actor",)),
    Kind("p_custodial", CustodialCare, lambda u, p: custodial_care(u).filter(person=p)),
    Kind(
        "p_benefit",
        BenefitRecord,
        lambda u, p: scoped(u, BenefitRecord.objects.filter(person=p)),
    ),
)
CHILD_KINDS: tuple[Kind, ...] = (
    Kind(
        "p_child_care",
        ChildCareRecord,
        lambda u, p: scoped(u, ChildCareRecord.objects.filter(person=p)),
        _users("recorded_by"),
        ("recorded_by",),
    ),
)
EDUCATION_KINDS: tuple[Kind, ...] = (
    Kind(
        "p_education",
        EducationPlan,
        lambda u, p: scoped(u, EducationPlan.objects.filter(person=p)),
        _users("recorded_by"),
        ("recorded_by",),
    ),
)
HARDSHIP = "p_hardship"
HARDSHIP_FLAGS = tuple(hardship_field(key) for key, _ in HARDSHIP_REASONS)


def _payload(model: type[Model], related: Mapping[str, str]) -> Cast:
    """Every concrete field of `model` and the related values, as one JSON text."""
    values: dict[str, Any] = {f.attname: F(f.attname) for f in model._meta.concrete_fields}
    values |= {key: F(lookup) for key, lookup in related.items()}
    return Cast(JSONObject(**values), TEXT)


def _rows(queryset: QuerySet, kind: str, payload: Any) -> QuerySet:
    """`queryset` as rows of `TIMELINE_COLUMNS`, its data in `t_text1`."""
    return (
        queryset.order_by()
        .annotate(
            t_on=Value(LAST_DAY, output_field=DateField()),
            t_kind=Value(kind, output_field=TEXT),
            t_pk=F("pk"),
            t_person=none(IntegerField()),
            t_name=Value("", output_field=TEXT),
            t_code=Value("", output_field=TEXT),
            t_text1=payload,
            t_text2=Value("", output_field=TEXT),
            t_text3=Value("", output_field=TEXT),
            t_end=none(DateField()),
        )
        .values_list(*TIMELINE_COLUMNS)
    )


def _value(model_field: models.Field, value: Any) -> Any:
    """A JSON value as the field's Python value (dates are text, SQLite booleans 0/1,
    SQLite JSON columns text, SQLite timestamps naive UTC)."""
    if value is None:
        return None
    if isinstance(model_field, models.DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) else value
        if isinstance(parsed, datetime) and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    if isinstance(model_field, models.DateField):
        return parse_date(value) if isinstance(value, str) else value
    if isinstance(model_field, models.DecimalField):
        places = Decimal(1).scaleb(-model_field.decimal_places)
        return Decimal(str(value)).quantize(places)
    if isinstance(model_field, models.BooleanField):
        return bool(value)
    if isinstance(model_field, models.JSONField):
        return json.loads(value) if isinstance(value, str) else value
    return value


def from_payload(kind: Kind, text: str, db: str = "default") -> Model:
    """The model instance a record row carries, with the related objects the page reads
    (a base's name, a user's names) set, so reading them queries nothing."""
    data = json.loads(text, parse_float=Decimal)
    fields = kind.model._meta.concrete_fields
    instance = kind.model.from_db(
        db, [f.attname for f in fields], [_value(f, data.get(f.attname)) for f in fields]
    )
    for path in kind.users:
        user_id = getattr(instance, f"{path}_id")
        if user_id is not None:
            names = {name: data.get(f"{path}__{name}") or "" for name in USER_FIELDS}
            setattr(instance, path, User(pk=user_id, **names))
    if isinstance(instance, BaseEmployment):
        instance.base = EmploymentBase(pk=instance.base_id, name=data.get("base__name") or "")
    return instance


@dataclass
class PersonRecords:
    """What the one query read, by kind: model instances, newest-first orders applied."""

    events: list[Event]
    by_kind: dict[str, list[Any]]
    hardship_flags: dict[str, bool] | None  # None: not a certified child, or not counted

    def of(self, key: str) -> list[Any]:
        return self.by_kind.get(key, [])


def _newest(records: Iterable[Any], *date_fields: str) -> list[Any]:
    """Newest first by the date fields, then by id (as the sections' `order_by` did)."""
    return sorted(
        records,
        key=lambda r: (*(getattr(r, name) or date.min for name in date_fields), r.pk),
        reverse=True,
    )


# The order each kind is shown in (what the per-table reads' `order_by` gave).
ORDERS: dict[str, tuple[str, ...]] = {
    "p_post": ("started_on",),
    "p_training": ("started_on",),
    "p_base_job": ("started_on",),
    "p_need": ("identified_on",),
    "p_service": ("served_on",),
    "p_contract": ("signed_on",),
    "p_mod": (),
    "p_custodial": ("started_on",),
    "p_child_care": ("cared_on",),
}


def _benefit_order(nulls_largest: bool) -> Callable[[BenefitRecord], tuple]:
    """The key of `order_by("-start_month")` (reversed): a record without a start month
    sorts where the database puts NULL (first on PostgreSQL, last on SQLite), then by id."""

    def key(record: BenefitRecord) -> tuple:
        month = record.start_month
        return (month is None if nulls_largest else month is not None, month or date.min, record.pk)

    return key


def _query(
    user: AnyUser,
    person: Person,
    household_id: int | None,
    kinds: list[Kind],
    on: date,
    *,
    hardship: bool,
) -> QuerySet:
    """The one `UNION ALL` of `person_records`; `hardship`: with the hardship row."""
    branches = timeline_branches(user, household_id=household_id, person_ids=[person.pk])
    branches += [
        _rows(kind.rows(user, person), kind.key, _payload(kind.model, kind.related))
        for kind in kinds
    ]
    if hardship:
        row = hardship_children(on, civil=civil_townships_query()).filter(pk=person.pk)
        flags = JSONObject(**{name: F(name) for name in HARDSHIP_FLAGS})
        branches.append(_rows(row, HARDSHIP, Cast(flags, TEXT)))
    first, *rest = branches
    return first.union(*rest, all=True).order_by(*TIMELINE_ORDER)


def person_records(
    user: AnyUser, person: Person, *, household_id: int | None, on: date | None = None
) -> PersonRecords:
    """The timeline (household `household_id`, None: the person's only) and every record
    of the person page, in one query. `person` was loaded in the user's scope."""
    on = on or today()
    kinds = list(KINDS)
    hardship = shows_hardship(person, on)
    if hardship:
        kinds += CHILD_KINDS
    if is_child(person, on, EDUCATION_PLAN_AGE):
        kinds += EDUCATION_KINDS
    if scope_for(user).sees_nothing:
        query = _query(user, person, household_id, kinds, on, hardship=hardship)
        database = query.db
        rows: Iterable[tuple] = query
    else:
        # The SQL depends only on the scope, the kinds, whether there is a household and,
        # with the hardship row, the day (its ages): compiled once, run with this person's
        # ids (`staff.selectors.timeline.compiled_query`, docs/PERFORMANCE.md, Pages).
        database = Person.objects.db
        cache_key = (
            "person_records",
            database,
            scope_key(user),
            household_id is None,
            tuple(kind.key for kind in kinds),
            on if hardship else None,
        )
        household_marker = None if household_id is None else HOUSEHOLD_MARKER

        def build() -> QuerySet:
            marker = Person(pk=PERSON_MARKER)
            marker._state.adding = False
            return _query(user, marker, household_marker, kinds, on, hardship=hardship)

        markers = {PERSON_MARKER: person.pk}
        if household_id is not None:
            markers[HOUSEHOLD_MARKER] = household_id
        rows = run_compiled(compiled_query(cache_key, database, build), database, markers)
    by_key = {kind.key: kind for kind in kinds}
    by_kind: dict[str, list[Any]] = {key: [] for key in by_key}
    events: list[Event] = []
    flags_row: dict[str, bool] | None = None
    for values in rows:
        key, text = values[1], values[6]
        if key in by_key:
            by_kind[key].append(from_payload(by_key[key], text, database))
        elif key == HARDSHIP:
            flags_row = {name: bool(value) for name, value in json.loads(text).items()}
        elif len(events) < TIMELINE_LIMIT:
            events.append(Event(*values))
    for key, order in ORDERS.items():
        if key in by_kind:
            by_kind[key] = _newest(by_kind[key], *order)
    nulls_largest = connections[database].features.nulls_order_largest
    by_kind["p_benefit"].sort(key=_benefit_order(nulls_largest), reverse=True)
    # The history rows oldest first: the oldest row of a step names who took it.
    by_kind["p_step"].sort(key=lambda row: (row.created_at, row.pk))
    return PersonRecords(events, by_kind, flags_row)
