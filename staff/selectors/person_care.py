"""The person page's 无障碍改造, 托养照护, 困境残疾儿童关爱 and 一人一案 sections, read in the
user's scope (`cases.selectors_casework`, `cases.scope.scoped`).

Who did each step of an accessibility modification is not a column of the model: every
step is written by `casework.accessibility_advance` with one `ChangeRecord` whose
`changes["status"]` is the step, so the section reads the steps' actors from the history.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from cases.casework import ACCESSIBILITY_TRANSITIONS, CHILD_CARE_AGE, EDUCATION_PLAN_AGE
from cases.casework_base import today
from cases.identity import age_on
from cases.models import (
    AccessibilityModification,
    ChangeRecord,
    ChildCareRecord,
    CustodialCare,
    EducationPlan,
    Person,
)
from cases.scope import AnyUser, scoped
from cases.selectors_casework import accessibility_modifications, custodial_care
from monitoring.populations import HARDSHIP_REASONS, hardship_children, hardship_field

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


def step_actors(records: list[AccessibilityModification]) -> dict[int, dict[str, User | None]]:
    """{modification id: {status: who recorded that step}} from the history rows (one query).

    The creation row is 申请; an update row whose changes set `status` is that step. The
    oldest row per step wins (a later correction of the same step does not move it).
    """
    if not records:
        return {}
    rows = (
        ChangeRecord.objects.filter(
            model=AccessibilityModification._meta.label_lower,
            object_id__in=[str(record.pk) for record in records],
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
    actors: dict[int, dict[str, User | None]] = {record.pk: {} for record in records}
    for row in rows:
        status = (row.changes.get("status") or [None, None])[1]
        if row.action == ChangeRecord.Action.CREATE:
            status = A.APPLIED
        if status:
            actors[int(row.object_id)].setdefault(status, row.actor)
    return actors


def modifications(user: AnyUser, person: Person) -> list[Modification]:
    """The person's accessibility modifications, newest first, each with its steps so far."""
    records = list(accessibility_modifications(user).filter(person=person).order_by("-id"))
    actors = step_actors(records)
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


def care_history(user: AnyUser, person: Person) -> list[CustodialCare]:
    return list(custodial_care(user).filter(person=person).order_by("-started_on", "-id"))


@dataclass
class Hardship:
    """Whether a certified child counts as a child in hardship today, and why."""

    counts: bool
    reasons: list[str]
    records: list[ChildCareRecord] = field(default_factory=list)


def is_child(person: Person, on: date, ages: tuple[int, int] = CHILD_CARE_AGE) -> bool:
    return ages[0] <= age_on(person.birth_date, on) <= ages[1]


def hardship_of(user: AnyUser, person: Person, on: date) -> Hardship | None:
    """The hardship section of a certified child aged 0–17 on `on` (None for anyone else):
    the definition (`monitoring.populations.hardship_children`) for this one person, and
    the care records in scope."""
    if getattr(person, "certificate", None) is None or not is_child(person, on):
        return None
    row = (
        hardship_children(on)
        .filter(pk=person.pk)
        .values(*(hardship_field(key) for key, _ in HARDSHIP_REASONS))
    )
    flags: dict[str, Any] = next(iter(row), {})
    reasons = [label for key, label in HARDSHIP_REASONS if flags.get(hardship_field(key))]
    records = list(
        scoped(user, ChildCareRecord.objects.filter(person=person))
        .select_related("recorded_by")
        .order_by("-cared_on", "-id")
    )
    return Hardship(bool(reasons), reasons, records)


def education_plan_of(person: Person) -> EducationPlan | None:
    """The person's plan, read once (the person was loaded in scope)."""
    plan: QuerySet[EducationPlan] = EducationPlan.objects.filter(person=person).select_related(
        "recorded_by"
    )
    return plan.first()


def care_sections(user: AnyUser, person: Person) -> dict:
    """The four sections' data for the person page (`person` was loaded in scope)."""
    on = today()
    education_age = is_child(person, on, EDUCATION_PLAN_AGE)
    mods = modifications(user, person)
    cares = care_history(user, person)
    return {
        "care": {
            "modifications": mods,
            "can_apply": not any(mod.is_open for mod in mods),
            "custodial": cares,
            "current_care": next((care for care in cares if care.ended_on is None), None),
            "hardship": hardship_of(user, person, on),
            "education_age": education_age,
            "education_ages": EDUCATION_PLAN_AGE,
            "education_plan": education_plan_of(person) if education_age else None,
        }
    }
