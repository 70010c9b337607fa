"""Scoped reads for the case work of the six task areas (the web pages build on these).

Every function takes the user first and returns a queryset (or rows) restricted to the
user's scope with `cases.scope.scoped`; detail reads use `get_in_scope_or_404`.
"""

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

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


# --- Monitoring cases ---


def monitoring_cases(
    user: AnyUser, *, status: str | None = None, township_id: int | None = None
) -> QuerySet:
    qs = MonitoringCase.objects.select_related(
        "household__township", "household__village", "person", "opened_by"
    )
    if status:
        qs = qs.filter(status=status)
    if township_id:
        qs = qs.filter(household__township_id=township_id)
    return scoped(user, qs)


def monitoring_case_detail(user: AnyUser, pk: int) -> MonitoringCase:
    qs = MonitoringCase.objects.select_related(
        "household__township", "household__village", "person"
    ).prefetch_related("steps__actor", "measures", "visits", "pairings")
    return get_in_scope_or_404(user, qs, pk=pk)


def household_cases(user: AnyUser, household: Household) -> QuerySet:
    return scoped(user, MonitoringCase.objects.filter(household=household))


# --- Visits ---


def visits(
    user: AnyUser, *, household: Household | None = None, kind: str | None = None
) -> QuerySet:
    qs = TrackingVisit.objects.select_related(
        "household__township", "household__village", "person", "visitor"
    )
    if household is not None:
        qs = qs.filter(household=household)
    if kind:
        qs = qs.filter(kind=kind)
    return scoped(user, qs)


def overdue_visits(user: AnyUser, on: date | None = None) -> QuerySet:
    """The latest visit of each household whose next visit was due before `on` (today).

    A household visited again after its due visit no longer appears. Oldest due first.
    """
    on = on or today()
    later = TrackingVisit.objects.filter(household=OuterRef("household")).filter(
        Q(visited_on__gt=OuterRef("visited_on"))
        | Q(visited_on=OuterRef("visited_on"), pk__gt=OuterRef("pk"))
    )
    qs = (
        TrackingVisit.objects.filter(next_due__lt=on)
        .filter(~Exists(later))
        .select_related("household__township", "household__village", "person", "case")
        .order_by("next_due", "household_id")
    )
    return scoped(user, qs)


# --- Assistance, pairing ---


def assistance_measures(user: AnyUser, *, household: Household | None = None) -> QuerySet:
    qs = AssistanceMeasure.objects.select_related("household__township", "household__village")
    if household is not None:
        qs = qs.filter(household=household)
    return scoped(user, qs)


def pairings(
    user: AnyUser, *, on: date | None = None, household: Household | None = None
) -> QuerySet:
    """Pairings; with `on`, only those active on that date."""
    qs = Pairing.objects.select_related("household__township", "household__village")
    if on is not None:
        qs = qs.filter(active_on(on))
    if household is not None:
        qs = qs.filter(household=household)
    return scoped(user, qs)


def open_cases_without_pairing(user: AnyUser, on: date | None = None) -> QuerySet:
    """Households monitored in a case (已纳入监测/帮扶中) with no active pairing on `on`."""
    on = on or today()
    paired = Pairing.objects.filter(household=OuterRef("household")).filter(active_on(on))
    qs = MonitoringCase.objects.filter(status__in=MonitoringCase.MONITORED_STATUSES).filter(
        ~Exists(paired)
    )
    return scoped(user, qs.select_related("household__township", "household__village"))


# --- Education ---


def education_plans(user: AnyUser) -> QuerySet:
    return scoped(user, EducationPlan.objects.select_related("person__township", "person__village"))


# --- Employment ---


def labour_profiles(user: AnyUser, *, willing: bool | None = None) -> QuerySet:
    qs = LabourProfile.objects.select_related("person__township", "person__village")
    if willing is not None:
        qs = qs.filter(willing=willing)
    return scoped(user, qs)


def welfare_posts(user: AnyUser, *, on: date | None = None) -> QuerySet:
    qs = WelfarePostPlacement.objects.select_related("person__township", "person__village")
    if on is not None:
        qs = qs.filter(active_on(on))
    return scoped(user, qs)


def trainings(user: AnyUser, *, kind: str | None = None, year: int | None = None) -> QuerySet:
    qs = Training.objects.select_related("person__township", "person__village")
    if kind:
        qs = qs.filter(kind=kind)
    if year:
        qs = qs.filter(started_on__year=year)
    return scoped(user, qs)


def employment_bases(user: AnyUser) -> QuerySet:
    return scoped(user, EmploymentBase.objects.select_related("township", "village"))


def base_employees(
    user: AnyUser, *, base: EmploymentBase | None = None, on: date | None = None
) -> QuerySet:
    qs = BaseEmployment.objects.select_related("base", "person__township", "person__village")
    if base is not None:
        qs = qs.filter(base=base)
    if on is not None:
        qs = qs.filter(active_on(on))
    return scoped(user, qs)


# --- Rehabilitation and care ---


def rehab_needs(user: AnyUser, *, open_only: bool = False) -> QuerySet:
    qs = RehabNeed.objects.select_related("person__township", "person__village")
    if open_only:
        qs = qs.filter(closed_on__isnull=True)
    return scoped(user, qs)


def rehab_services(user: AnyUser, *, year: int | None = None) -> QuerySet:
    qs = RehabService.objects.select_related("person__township", "person__village")
    if year:
        qs = qs.filter(served_on__year=year)
    return scoped(user, qs)


def family_doctor_contracts(user: AnyUser, *, on: date | None = None) -> QuerySet:
    qs = FamilyDoctorContract.objects.select_related("person__township", "person__village")
    if on is not None:
        qs = qs.filter(signed_on__lte=on).filter(Q(expires_on__isnull=True) | Q(expires_on__gte=on))
    return scoped(user, qs)


def accessibility_modifications(user: AnyUser, *, status: str | None = None) -> QuerySet:
    qs = AccessibilityModification.objects.select_related("person__township", "person__village")
    if status:
        qs = qs.filter(status=status)
    return scoped(user, qs)


def custodial_care(user: AnyUser, *, on: date | None = None) -> QuerySet:
    qs = CustodialCare.objects.select_related("person__township", "person__village")
    if on is not None:
        qs = qs.filter(active_on(on))
    return scoped(user, qs)


# --- Publicity, grassroots ---


def stories(user: AnyUser, *, kind: str | None = None) -> QuerySet:
    qs = ExemplaryStory.objects.select_related("township", "village", "person")
    if kind:
        qs = qs.filter(kind=kind)
    return scoped(user, qs)


def village_associations(user: AnyUser) -> QuerySet:
    return scoped(user, VillageAssociation.objects.select_related("village__township"))


def committee_members(user: AnyUser, *, on: date | None = None) -> QuerySet:
    qs = CommitteeMember.objects.select_related("township", "village", "user")
    if on is not None:
        qs = qs.filter(Q(ended_on__isnull=True) | Q(ended_on__gte=on))
    return scoped(user, qs)
