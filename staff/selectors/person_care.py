"""The person page's 无障碍改造, 托养照护, 困境残疾儿童关爱 and 一人一案 sections, read in the
user's scope (`cases.selectors_casework`, `cases.scope.scoped`) within the page's one
`UNION ALL` query (`staff.selectors.person_records`).

Who did each step of an accessibility modification is not a column of the model: every
step is written by `casework.accessibility_advance` with one `ChangeRecord` whose
`changes["status"]` is the step, so the section reads the steps' actors from the history
rows of the modifications in scope, in that same query.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth.models import User

from cases.casework import ACCESSIBILITY_TRANSITIONS, EDUCATION_PLAN_AGE
from cases.casework_base import today
from cases.models import (
    AccessibilityModification,
    ChangeRecord,
    ChildCareRecord,
    CustodialCare,
    EducationPlan,
    Person,
)
from cases.scope import AnyUser
from monitoring.populations import HARDSHIP_REASONS, hardship_field
from staff.selectors.person_records import (
    PersonRecords,
    is_child,
    person_records,
    shows_hardship,
)

A = AccessibilityModification.Status

# Each step, the date field it stamps and the step's slug in the page's URLs.
ACCESSIBILITY_STEPS: tuple[tuple[str, str], ...] = (
    (A.APPLIED, "applied_on"),
    (A.ASSESSED, "assessed_on"),
    (A.CONSTRUCTION, "construction_started_on"),
    (A.ACCEPTED, "accepted_on"),
    (A.CANCELLED, "cancelled_on"),
)
OPEN_STATUSES = (A.APPLIED, A.ASSESSED, A.CONSTRUCTION)


@dataclass(frozen=True)
class Step:
    status: str
    label: str
    on: date | None
    actor: User | None


@dataclass
class Modification:
    record: AccessibilityModification
    steps: list[Step]
    next_steps: list[tuple[str, str]]  # (status, label) the page offers now

    @property
    def is_open(self) -> bool:
        return self.record.status in OPEN_STATUSES


def step_actors(
    records: list[AccessibilityModification], rows: list[ChangeRecord]
) -> dict[int, dict[str, User | None]]:
    """{modification id: {status: who recorded that step}} from the history rows (oldest
    first, read with the modifications: `person_records`).

    The creation row is 申请; an update row whose changes set `status` is that step. The
    oldest row per step wins (a later correction of the same step does not move it).
    """
    actors: dict[int, dict[str, User | None]] = {record.pk: {} for record in records}
    for row in rows:
        status = (row.changes.get("status") or [None, None])[1]
        if row.action == ChangeRecord.Action.CREATE:
            status = A.APPLIED
        if status and int(row.object_id) in actors:
            actors[int(row.object_id)].setdefault(status, row.actor)
    return actors


def modifications(
    records: list[AccessibilityModification], history: list[ChangeRecord]
) -> list[Modification]:
    """The person's accessibility modifications (newest first), each with its steps so far."""
    actors = step_actors(records, history)
    result = []
    for record in records:
        steps = [
            Step(
                status,
                str(A(status).label),
                getattr(record, field_name),
                actors[record.pk].get(status),
            )
            for status, field_name in ACCESSIBILITY_STEPS
            if getattr(record, field_name) is not None
        ]
        allowed = ACCESSIBILITY_TRANSITIONS[record.status]
        result.append(
            Modification(record, steps, [(status, str(A(status).label)) for status in allowed])
        )
    return result


@dataclass
class Hardship:
    """Whether a certified child counts as a child in hardship today, and why."""

    counts: bool
    reasons: list[str]
    records: list[ChildCareRecord] = field(default_factory=list)


def hardship_of(records: PersonRecords, person: Person, on: date) -> Hardship | None:
    """The hardship section of a certified child aged 0–17 on `on` (None for anyone else):
    the definition (`monitoring.populations.hardship_children`) for this one person, and
    the care records in scope, both read in the page's one query."""
    if not shows_hardship(person, on):
        return None
    flags: dict[str, Any] = records.hardship_flags or {}
    reasons = [label for key, label in HARDSHIP_REASONS if flags.get(hardship_field(key))]
    return Hardship(bool(reasons), reasons, records.of("p_child_care"))


def care_sections(user: AnyUser, person: Person, records: PersonRecords | None = None) -> dict:
    """The four sections' data for the person page (`person` was loaded in scope), from
    the page's one query (`person_records`; read here when not given)."""
    on = today()
    if records is None:
        records = person_records(user, person, household_id=None, on=on)
    education_age = is_child(person, on, EDUCATION_PLAN_AGE)
    mods = modifications(records.of("p_mod"), records.of("p_step"))
    cares: list[CustodialCare] = records.of("p_custodial")
    plans: list[EducationPlan] = records.of("p_education")
    return {
        "care": {
            "modifications": mods,
            "can_apply": not any(mod.is_open for mod in mods),
            "custodial": cares,
            "current_care": next((care for care in cares if care.ended_on is None), None),
            "hardship": hardship_of(records, person, on),
            "education_age": education_age,
            "education_ages": EDUCATION_PLAN_AGE,
            "education_plan": plans[0] if education_age and plans else None,
        }
    }
