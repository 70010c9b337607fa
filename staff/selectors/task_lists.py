"""The task-area lists (业务清单): one FilterSet and one scoped selector per list.

Each selector is `select(user, data, places) -> (rows, filterset)`, the shape
`staff.views.common.list_page` takes, so a list page, its count on the index and its
export read the same rows. The populations come from where the rules and indicators
read them (`monitoring.eligibility`, `monitoring.populations`), never restated here:
the gap list is `coverage_gaps` itself, the school-age children are E01's and the
indicator's, the unmet rehabilitation needs are R01's.
"""

from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from cases.casework_base import today
from cases.models import (
    AccessibilityModification,
    BaseEmployment,
    CustodialCare,
    ExemplaryStory,
    LabourProfile,
    Pairing,
    TrackingVisit,
    WelfarePostPlacement,
)
from cases.scope import AnyUser, scoped
from cases.selectors_casework import active_on, age_between
from monitoring.eligibility import BIRTH, COVERAGE_BENEFITS, certified_alive, coverage_gaps
from monitoring.models import EmploymentStatus, SurveyRecord
from monitoring.populations import (
    REHAB_PRIORITY_GROUPS,
    active_pairings,
    has_plan,
    rehab_need,
    rehab_priority_groups,
    rehab_received,
    school_age,
    staff_rehab_need,
)
from staff.selectors.indicators import SURVEY_EMPLOYED
from staff.selectors.places import Place, PlaceFilterSet, place_filters
from subsidies.models import BenefitType
from subsidies.policy import policy_for_year

Select = Callable[[AnyUser, Mapping[str, Any] | None, list[Place]], tuple[QuerySet, Any]]

PERSON_PLACE = ("person__township", "person__village", "person__certificate")


def as_of_from(data: Mapping[str, Any] | None) -> date:
    """The list's as-of date (`as_of=YYYY-MM-DD`), today when absent or not a date.

    The FilterSet's own `as_of` field reports a bad value on the form (no rows then)."""
    raw = (data or {}).get("as_of") or ""
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return today()


def _as_of_filter() -> django_filters.DateFilter:
    return django_filters.DateFilter(label="统计日期", method="keep", widget=forms.DateInput())


def _flag(condition: Q) -> Case:
    """A condition as a True/False value on each row."""
    return Case(
        When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
    )


def priority_labels(record: Any) -> list[str]:
    """The priority groups a `rehab_unmet_list` row belongs to, as labels."""
    return [label for name, label in REHAB_PRIORITY_GROUPS if getattr(record, f"group_{name}")]


class TaskFilterSet(PlaceFilterSet):
    """Place filters fitted to the scope; `keep` for fields the selector reads itself."""

    def keep(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset


# --- a. School-age verification (一人一案核查) ---

SCHOOL_STATUS = (("enrolled", "在校"), ("plan", "未在校，已建一人一案"), ("none", "未在校，无方案"))


class SchoolAgeFilter(TaskFilterSet):
    township, village = place_filters("person__")
    status = django_filters.ChoiceFilter(
        label="核查状态", choices=SCHOOL_STATUS, field_name="school_status", empty_label="全部"
    )
    as_of = _as_of_filter()

    class Meta:
        model = SurveyRecord
        fields: list[str] = []


def school_age_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, SchoolAgeFilter]:
    """Certified children aged 6–15 on the as-of date (`school_age`, E01's and the
    enrolment indicator's range), each 在校 (survey), else 已建一人一案 (`has_plan`), else
    neither: the neither rows are E01's children plus those whose 在校情况 is blank or 不适用."""
    as_of = as_of_from(data)
    plan = has_plan()
    rows = (
        certified_alive(user)
        .filter(school_age(as_of))
        .annotate(
            school_status=Case(
                When(in_school="yes", then=Value("enrolled")),
                When(plan, then=Value("plan")),
                default=Value("none"),
                output_field=CharField(),
            )
        )
        .select_related(*PERSON_PLACE, "person__education_plan")
        .order_by("person__township__code", "person__village__name", "person__birth_date", "pk")
    )
    return SchoolAgeFilter.for_user(user, data, rows, place_list)


# --- b. Working-age persons able and willing to work, not employed ---

WORKING_AGE = (16, 59)


def working_age() -> tuple[int, int]:
    """Working age 16–59 (whole years on the as-of date).

    The policy (seed 000, 三要) asks to know 就业年龄段有劳动能力和就业意愿的困难残疾人
    without stating the bounds. 16 is the lowest legal working age and 59 the last year
    before the residents' pension is paid at 60: the same 16–59 the policy's pension
    contribution for the working-age severely disabled uses (docs/RULES.md, rule S04,
    `monitoring.eligibility.coverage_rules`).
    """
    return WORKING_AGE


def _person_has(queryset: QuerySet) -> Q:
    return Q(Exists(queryset.filter(person=OuterRef("person"))))


def job_on(as_of: date) -> Q:
    """On SurveyRecord: a public-welfare post or an employment-base job active on the date."""
    return _person_has(WelfarePostPlacement.objects.filter(active_on(as_of))) | _person_has(
        BaseEmployment.objects.filter(active_on(as_of))
    )


def able_and_willing(as_of: date) -> Q:
    """On SurveyRecord: the labour profile assessed by the date says able (full or partial)
    and willing; without a profile, the survey's 就业状况 is neither 无劳动能力 nor blank and
    就业意愿 是 — the employment indicator's 有劳动能力和就业意愿."""
    profiles = LabourProfile.objects.filter(assessed_on__lte=as_of)
    profile_yes = _person_has(
        profiles.filter(
            willing=True,
            ability__in=(LabourProfile.Ability.FULL, LabourProfile.Ability.PARTIAL),
        )
    )
    survey_yes = (
        Q(employment_willing=True)
        & ~Q(employment_status="")
        & ~Q(employment_status=EmploymentStatus.NO_LABOUR_ABILITY)
    )
    return profile_yes | (~_person_has(profiles) & survey_yes)


class WorkingAgeFilter(TaskFilterSet):
    township, village = place_filters("person__")
    source = django_filters.ChoiceFilter(
        label="依据",
        choices=(("profile", "劳动能力摸底"), ("survey", "调查")),
        field_name="has_profile",
        method="filter_source",
        empty_label="全部",
    )
    as_of = _as_of_filter()

    class Meta:
        model = SurveyRecord
        fields: list[str] = []

    def filter_source(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(has_profile=(value == "profile"))


def working_age_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, WorkingAgeFilter]:
    """Persons of working age (`working_age`), able and willing (`able_and_willing`) and
    not employed: no current post or base job (`job_on`) and the survey does not say
    employed (the employment indicator's 就业)."""
    as_of = as_of_from(data)
    youngest, oldest = working_age()
    profiles = LabourProfile.objects.filter(assessed_on__lte=as_of, person=OuterRef("person"))
    rows = (
        certified_alive(user)
        .filter(age_between(as_of, youngest, oldest, BIRTH))
        .filter(able_and_willing(as_of))
        .filter(~job_on(as_of) & ~Q(employment_status__in=SURVEY_EMPLOYED))
        .annotate(
            has_profile=Exists(profiles),
            profile_ability=Subquery(profiles.values("ability")[:1]),
            wanted_work=Subquery(profiles.values("wanted_work")[:1]),
        )
        .select_related(*PERSON_PLACE)
        .order_by("person__township__code", "person__village__name", "person__name", "pk")
    )
    return WorkingAgeFilter.for_user(user, data, rows, place_list)


# --- c. Rehabilitation needs not served, by priority group ---


class RehabFilter(TaskFilterSet):
    township, village = place_filters("person__")
    group = django_filters.ChoiceFilter(
        label="重点人群", choices=REHAB_PRIORITY_GROUPS, method="keep", empty_label="全部"
    )
    as_of = _as_of_filter()

    class Meta:
        model = SurveyRecord
        fields: list[str] = []


def rehab_unmet_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, RehabFilter]:
    """Persons with a rehabilitation need (`rehab_need`) and no service this year
    (`rehab_received`): R01's persons; `group` narrows to a priority group
    (`rehab_priority_groups`, the rate indicator's groups)."""
    as_of = as_of_from(data)
    groups = rehab_priority_groups(policy_for_year(as_of.year).monitoring_line)
    rows = (
        certified_alive(user)
        .filter(rehab_need(as_of) & ~rehab_received(as_of))
        .annotate(
            staff_need=_flag(staff_rehab_need(as_of)),
            **{f"group_{name}": _flag(condition) for name, condition in groups.items()},
        )
        .select_related(*PERSON_PLACE)
        .order_by("person__township__code", "person__village__name", "person__name", "pk")
    )
    group = (data or {}).get("group")
    if group in groups:
        rows = rows.filter(groups[group])
    return RehabFilter.for_user(user, data, rows, place_list)


# --- d. Accessibility modifications ---


class AccessibilityFilter(TaskFilterSet):
    township, village = place_filters("person__")
    status = django_filters.ChoiceFilter(
        label="进度", choices=AccessibilityModification.Status.choices, empty_label="全部"
    )

    class Meta:
        model = AccessibilityModification
        fields: list[str] = []


def accessibility_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, AccessibilityFilter]:
    """Accessibility modifications in scope, by step (申请 → 评估 → 施工 → 验收, 已终止)."""
    rows = scoped(
        user,
        AccessibilityModification.objects.select_related(*PERSON_PLACE).order_by(
            "person__township__code", "person__village__name", "-applied_on", "pk"
        ),
    )
    return AccessibilityFilter.for_user(user, data, rows, place_list)


# --- e. Custodial care (current) ---


class CustodialFilter(TaskFilterSet):
    township, village = place_filters("person__")
    mode = django_filters.ChoiceFilter(
        label="托养方式", choices=CustodialCare.Mode.choices, empty_label="全部"
    )
    as_of = _as_of_filter()

    class Meta:
        model = CustodialCare
        fields: list[str] = []


def custodial_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, CustodialFilter]:
    """Custodial care active on the as-of date (started by then, not ended before)."""
    rows = scoped(
        user,
        CustodialCare.objects.filter(active_on(as_of_from(data)))
        .select_related(*PERSON_PLACE)
        .order_by("person__township__code", "person__village__name", "mode", "pk"),
    )
    return CustodialFilter.for_user(user, data, rows, place_list)


# --- f. Public-welfare posts (current placements) ---


class WelfarePostFilter(TaskFilterSet):
    township, village = place_filters("person__")
    employer = django_filters.CharFilter(label="设岗单位", lookup_expr="icontains")
    as_of = _as_of_filter()

    class Meta:
        model = WelfarePostPlacement
        fields: list[str] = []


def welfare_post_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, WelfarePostFilter]:
    """Public-welfare post placements active on the as-of date."""
    rows = scoped(
        user,
        WelfarePostPlacement.objects.filter(active_on(as_of_from(data)))
        .select_related(*PERSON_PLACE)
        .order_by("person__township__code", "person__village__name", "started_on", "pk"),
    )
    return WelfarePostFilter.for_user(user, data, rows, place_list)


# --- g. Pairings with the helper and the household's last visit ---


class PairingFilter(TaskFilterSet):
    township, village = place_filters("household__")
    helper_kind = django_filters.ChoiceFilter(
        label="帮扶人类型", choices=Pairing.HelperKind.choices, empty_label="全部"
    )
    quiet_days = django_filters.NumberFilter(
        label="超过多少天未走访", method="filter_quiet", min_value=0, max_value=3650
    )
    as_of = _as_of_filter()

    class Meta:
        model = Pairing
        fields: list[str] = []

    def filter_quiet(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        if value is None:
            return queryset
        cutoff = as_of_from(self.data) - timedelta(days=int(value))
        return queryset.filter(Q(last_visit__isnull=True) | Q(last_visit__lt=cutoff))


def pairing_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, PairingFilter]:
    """Pairings active on the as-of date (`active_pairings`, P01's), each with the date of
    the household's latest visit on or before that date (走访 of any kind)."""
    as_of = as_of_from(data)
    last_visit = (
        TrackingVisit.objects.filter(household=OuterRef("household"), visited_on__lte=as_of)
        .order_by()
        .values("household")
        .annotate(last=Max("visited_on"))
        .values("last")
    )
    rows = scoped(
        user,
        active_pairings(as_of)
        .annotate(last_visit=Subquery(last_visit))
        .select_related("household__township", "household__village")
        .order_by(
            F("last_visit").asc(nulls_first=True),
            "household__township__code",
            "household__village__name",
            "pk",
        ),
    )
    return PairingFilter.for_user(user, data, rows, place_list)


# --- h. Coverage gaps (应保尽保、应补尽补) ---

GAP_BENEFITS = tuple((b, str(BenefitType(b).label)) for b in COVERAGE_BENEFITS)


class GapFilter(TaskFilterSet):
    defaults = {"benefit": COVERAGE_BENEFITS[0]}

    township, village = place_filters("person__")
    benefit = django_filters.ChoiceFilter(
        label="项目", choices=GAP_BENEFITS, method="keep", empty_label=None
    )
    known = django_filters.BooleanFilter(
        label="只看确认未享受", method="keep", widget=forms.CheckboxInput
    )
    as_of = _as_of_filter()

    class Meta:
        model = SurveyRecord
        fields: list[str] = []


def gap_benefit(data: Mapping[str, Any] | None) -> str:
    benefit = (data or {}).get("benefit") or COVERAGE_BENEFITS[0]
    return benefit if benefit in COVERAGE_BENEFITS else COVERAGE_BENEFITS[0]


def gap_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, GapFilter]:
    """`coverage_gaps` of the chosen benefit — the rows the S rule finds (with `known`)
    or those plus the persons whose receipt no source states (待核实)."""
    known = str((data or {}).get("known") or "").lower() in ("on", "true", "1")
    rows = coverage_gaps(user, gap_benefit(data), as_of=as_of_from(data), include_unknown=not known)
    return GapFilter.for_user(user, data, rows, place_list)


# --- j. Exemplary stories (宣传) ---


class StoryFilter(TaskFilterSet):
    township, village = place_filters()
    kind = django_filters.ChoiceFilter(
        label="类型", choices=ExemplaryStory.Kind.choices, empty_label="全部"
    )
    published = django_filters.BooleanFilter(
        label="已宣传",
        field_name="published_in",
        method="filter_published",
        widget=forms.NullBooleanSelect,
    )

    class Meta:
        model = ExemplaryStory
        fields: list[str] = []

    def filter_published(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        done = ~Q(published_in="") | Q(published_on__isnull=False)
        return queryset.filter(done if value else ~done)


def story_list(
    user: AnyUser, data: Mapping[str, Any] | None, place_list: list[Place]
) -> tuple[QuerySet, StoryFilter]:
    """Exemplary persons and helpers with where and when their story was published."""
    rows = scoped(
        user,
        ExemplaryStory.objects.select_related("township", "village", "person").order_by(
            F("published_on").desc(nulls_last=True), "-pk"
        ),
    )
    return StoryFilter.for_user(user, data, rows, place_list)
