"""Scoped reads for the case work of the six task areas (the web pages build on these).

Every function takes the user first and returns a queryset (or rows) restricted to the
user's scope with `cases.scope.scoped`; detail reads use `get_in_scope_or_404`.
"""

from datetime import date

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from .casework_base import today
from .models import (
    AccessibilityModification,
    AssistanceMeasure,
    BaseEmployment,
    CommitteeMember,
    CustodialCare,
    EducationPlan,
    EmploymentBase,
    ExemplaryStory,
    FamilyDoctorContract,
    Household,
    LabourProfile,
    MonitoringCase,
    Pairing,
    RehabNeed,
    RehabService,
    TrackingVisit,
    Training,
    VillageAssociation,
    WelfarePostPlacement,
)
from .scope import AnyUser, get_in_scope_or_404, scoped

# --- Ages as birth-date ranges (so age filters are plain indexed comparisons) ---


def years_before(on: date, years: int) -> date:
    """The same calendar day `years` earlier (29 Feb → 28 Feb in a common year)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def age_between(on: date, min_age: int, max_age: int, field: str = "birth_date") -> Q:
    """Whole-year age on `on` in [min_age, max_age], as a condition on the birth date.

    Agrees with `cases.identity.age_on` (someone born on 29 Feb turns a year older on 1 Mar).
    """
    return Q(**{f"{field}__lte": years_before(on, min_age)}) & Q(
        **{f"{field}__gt": years_before(on, max_age + 1)}
    )


def active_on(on: date, start: str = "started_on", end: str = "ended_on") -> Q:
    return Q(**{f"{start}__lte": on}) & (Q(**{f"{end}__isnull": True}) | Q(**{f"{end}__gte": on}))


_HOUSEHOLD_PLACE = ("household__township", "household__village")
_PERSON_PLACE = ("person__township", "person__village")


def _scoped_where(user: AnyUser, qs: QuerySet, *conditions: Q | None) -> QuerySet:
    """`qs` in the user's scope, narrowed by each condition given (None: no such filter)."""
    for condition in conditions:
        if condition is not None:
            qs = qs.filter(condition)
    return scoped(user, qs)


def _of_persons(user: AnyUser, model: type[Model], *conditions: Q | None) -> QuerySet:
    """A person's records (with their place) in the user's scope."""
    return _scoped_where(user, model._default_manager.select_related(*_PERSON_PLACE), *conditions)


# --- Monitoring cases ---


def monitoring_cases(
    user: AnyUser, *, status: str | None = None, township_id: int | None = None
) -> QuerySet:
    return _scoped_where(
        user,
        MonitoringCase.objects.select_related(*_HOUSEHOLD_PLACE, "person", "opened_by"),
        Q(status=status) if status else None,
        Q(household__township_id=township_id) if township_id else None,
    )


def monitoring_case_detail(user: AnyUser, pk: int) -> MonitoringCase:
    qs = MonitoringCase.objects.select_related(*_HOUSEHOLD_PLACE, "person").prefetch_related(
        "steps__actor", "measures", "visits", "pairings"
    )
    return get_in_scope_or_404(user, qs, pk=pk)


def household_cases(user: AnyUser, household: Household) -> QuerySet:
    return scoped(user, MonitoringCase.objects.filter(household=household))


# --- Visits ---


def visits(
    user: AnyUser, *, household: Household | None = None, kind: str | None = None
) -> QuerySet:
    return _scoped_where(
        user,
        TrackingVisit.objects.select_related(*_HOUSEHOLD_PLACE, "person", "visitor"),
        Q(household=household) if household is not None else None,
        Q(kind=kind) if kind else None,
    )


# Overdue visits are defined once, over the monitored households, in
# `monitoring.visits_due` (it needs the roster and the policy year, which live above cases).


# --- Assistance, pairing ---


def assistance_measures(user: AnyUser, *, household: Household | None = None) -> QuerySet:
    return _scoped_where(
        user,
        AssistanceMeasure.objects.select_related(*_HOUSEHOLD_PLACE),
        Q(household=household) if household is not None else None,
    )


def pairings(
    user: AnyUser, *, on: date | None = None, household: Household | None = None
) -> QuerySet:
    """Pairings; with `on`, only those active on that date."""
    return _scoped_where(
        user,
        Pairing.objects.select_related(*_HOUSEHOLD_PLACE),
        active_on(on) if on is not None else None,
        Q(household=household) if household is not None else None,
    )


def open_cases_without_pairing(user: AnyUser, on: date | None = None) -> QuerySet:
    """Households monitored in a case (已纳入监测/帮扶中) with no active pairing on `on`."""
    on = on or today()
    paired = Pairing.objects.filter(household=OuterRef("household")).filter(active_on(on))
    qs = MonitoringCase.objects.filter(status__in=MonitoringCase.MONITORED_STATUSES).filter(
        ~Exists(paired)
    )
    return scoped(user, qs.select_related(*_HOUSEHOLD_PLACE))


# --- Education ---


def education_plans(user: AnyUser) -> QuerySet:
    return _of_persons(user, EducationPlan)


# --- Employment ---


def labour_profiles(user: AnyUser, *, willing: bool | None = None) -> QuerySet:
    return _of_persons(user, LabourProfile, Q(willing=willing) if willing is not None else None)


def welfare_posts(user: AnyUser, *, on: date | None = None) -> QuerySet:
    return _of_persons(user, WelfarePostPlacement, active_on(on) if on is not None else None)


def trainings(user: AnyUser, *, kind: str | None = None, year: int | None = None) -> QuerySet:
    return _of_persons(
        user,
        Training,
        Q(kind=kind) if kind else None,
        Q(started_on__year=year) if year else None,
    )


def employment_bases(user: AnyUser) -> QuerySet:
    return scoped(user, EmploymentBase.objects.select_related("township", "village"))


def base_employees(
    user: AnyUser, *, base: EmploymentBase | None = None, on: date | None = None
) -> QuerySet:
    return _scoped_where(
        user,
        BaseEmployment.objects.select_related("base", *_PERSON_PLACE),
        Q(base=base) if base is not None else None,
        active_on(on) if on is not None else None,
    )


# --- Rehabilitation and care ---


def rehab_needs(user: AnyUser, *, open_only: bool = False) -> QuerySet:
    return _of_persons(user, RehabNeed, Q(closed_on__isnull=True) if open_only else None)


def rehab_services(user: AnyUser, *, year: int | None = None) -> QuerySet:
    return _of_persons(user, RehabService, Q(served_on__year=year) if year else None)


def family_doctor_contracts(user: AnyUser, *, on: date | None = None) -> QuerySet:
    """Contracts; with `on`, only those signed by then and not yet expired."""
    valid = active_on(on, "signed_on", "expires_on") if on is not None else None
    return _of_persons(user, FamilyDoctorContract, valid)


def accessibility_modifications(user: AnyUser, *, status: str | None = None) -> QuerySet:
    return _of_persons(user, AccessibilityModification, Q(status=status) if status else None)


def custodial_care(user: AnyUser, *, on: date | None = None) -> QuerySet:
    return _of_persons(user, CustodialCare, active_on(on) if on is not None else None)


# --- Publicity, grassroots ---


def stories(user: AnyUser, *, kind: str | None = None) -> QuerySet:
    return _scoped_where(
        user,
        ExemplaryStory.objects.select_related("township", "village", "person"),
        Q(kind=kind) if kind else None,
    )


def village_associations(user: AnyUser) -> QuerySet:
    return scoped(user, VillageAssociation.objects.select_related("village__township"))


def committee_members(user: AnyUser, *, on: date | None = None) -> QuerySet:
    """Members; with `on`, those not yet departed by then."""
    serving = (Q(ended_on__isnull=True) | Q(ended_on__gte=on)) if on is not None else None
    return _scoped_where(
        user, CommitteeMember.objects.select_related("township", "village", "user"), serving
    )
