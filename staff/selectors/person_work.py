"""The person page's 就业 and 康复 sections: what is recorded now and before, read in the
user's scope (`cases.selectors_casework`), and what the survey says until staff record
their own (labour ability and willingness, rehabilitation needs).

The page reads the sections' records in its one `UNION ALL` query
(`staff.selectors.person_records`: one query for every table, not one per table); the
per-table reads below serve the sections' forms.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q, QuerySet

from cases.casework_base import today
from cases.models import (
    BaseEmployment,
    EmploymentBase,
    FamilyDoctorContract,
    LabourProfile,
    Person,
    RehabNeed,
    RehabService,
    Training,
    WelfarePostPlacement,
)
from cases.scope import AnyUser, scoped
from cases.selectors_casework import (
    base_employees,
    employment_bases,
    family_doctor_contracts,
    labour_profiles,
    rehab_needs,
    welfare_posts,
)
from monitoring.models import EmploymentStatus, SurveyRecord
from staff.selectors.person_records import PersonRecords, person_records

SURVEY = "调查"
STAFF = "工作人员登记"

Ability = LabourProfile.Ability

# The survey's 就业状况 as a labour ability: whoever works has the ability; 辅助性就业 is
# the sheltered work of those who can work only in part; 未就业 says nothing about it.
SURVEY_ABILITY: dict[str, str] = {
    EmploymentStatus.QUOTA: Ability.FULL,
    EmploymentStatus.CONCENTRATED: Ability.FULL,
    EmploymentStatus.SELF: Ability.FULL,
    EmploymentStatus.WELFARE_POST: Ability.FULL,
    EmploymentStatus.FLEXIBLE: Ability.FULL,
    EmploymentStatus.FARMING: Ability.FULL,
    EmploymentStatus.SUPPORTED: Ability.PARTIAL,
    EmploymentStatus.NO_LABOUR_ABILITY: Ability.NONE,
}

# Words of the survey's free-text 康复需求 and the kind of need they name, first match wins
# (辅助器具适配 is a device, not training; 药物治疗 is medical).
Kind = RehabNeed.Kind
REHAB_KIND_WORDS: tuple[tuple[str, str], ...] = (
    ("辅助器具", Kind.DEVICE),
    ("助听器", Kind.DEVICE),
    ("轮椅", Kind.DEVICE),
    ("假肢", Kind.DEVICE),
    ("矫形", Kind.DEVICE),
    ("手术", Kind.MEDICAL),
    ("药物", Kind.MEDICAL),
    ("医疗", Kind.MEDICAL),
    ("治疗", Kind.MEDICAL),
    ("训练", Kind.TRAINING),
    ("康复服务", Kind.SUPPORT),
    ("托养", Kind.SUPPORT),
    ("护理", Kind.SUPPORT),
    ("照护", Kind.SUPPORT),
    ("支持", Kind.SUPPORT),
)


def rehab_kind_for(text: str) -> str:
    """The `RehabNeed.Kind` a survey need's words name (`other` when none)."""
    for word, kind in REHAB_KIND_WORDS:
        if word in text:
            return kind
    return Kind.OTHER


def yes_no_unknown(value: bool | None) -> str:
    return "未知" if value is None else ("有" if value else "无")


@dataclass(frozen=True)
class Labour:
    """Labour ability and willingness as shown, and where they come from."""

    ability: str  # a LabourProfile.Ability value, "" when unknown
    ability_label: str
    willing: bool | None
    willing_label: str
    source: str  # SURVEY or STAFF
    on: date | None  # the survey date or the staff's 摸底日期
    wanted_work: str = ""
    note: str = ""
    survey_status: str = ""  # the survey's 就业状况 as written (survey source only)

    @property
    def from_staff(self) -> bool:
        return self.source == STAFF


def labour_from_survey(survey: SurveyRecord | None) -> Labour | None:
    """The survey's 就业状况 / 就业意愿 as a labour profile; None when it answers neither."""
    if survey is None or (not survey.employment_status and survey.employment_willing is None):
        return None
    ability = SURVEY_ABILITY.get(survey.employment_status, "")
    return Labour(
        ability=ability,
        ability_label=Ability(ability).label if ability else "未知",
        willing=survey.employment_willing,
        willing_label=yes_no_unknown(survey.employment_willing),
        source=SURVEY,
        on=survey.surveyed_on,
        survey_status=survey.get_employment_status_display() if survey.employment_status else "",
    )


def labour_from_profile(profile: LabourProfile) -> Labour:
    return Labour(
        ability=profile.ability,
        ability_label=profile.get_ability_display(),
        willing=profile.willing,
        willing_label=yes_no_unknown(profile.willing),
        source=STAFF,
        on=profile.assessed_on,
        wanted_work=profile.wanted_work,
        note=profile.note,
    )


@dataclass(frozen=True)
class SurveyNeed:
    """One need the survey lists (`index` into `SurveyRecord.rehab_needs`)."""

    index: int
    text: str
    kind: str

    @property
    def kind_label(self) -> str:
        return Kind(self.kind).label


def survey_needs(survey: SurveyRecord | None) -> list[SurveyNeed]:
    """The survey's 康复需求 (the need of `monitoring.populations.survey_rehab_need`)."""
    if survey is None:
        return []
    needs = [str(text).strip() for text in survey.rehab_needs or []]
    return [
        SurveyNeed(index, text, rehab_kind_for(text)) for index, text in enumerate(needs) if text
    ]


@dataclass
class Employment:
    labour: Labour | None
    posts: list[WelfarePostPlacement]
    trainings: list[Training]
    base_jobs: list[BaseEmployment]

    @property
    def current_post(self) -> WelfarePostPlacement | None:
        return next((post for post in self.posts if post.ended_on is None), None)

    @property
    def current_base_jobs(self) -> list[BaseEmployment]:
        return [job for job in self.base_jobs if job.ended_on is None]


@dataclass
class Rehab:
    needs: list[RehabNeed]
    survey_needs: list[SurveyNeed]
    survey_on: date | None
    services: list[RehabService]
    contracts: list[FamilyDoctorContract]
    on: date = field(default_factory=today)

    @property
    def open_needs(self) -> list[RehabNeed]:
        return [need for need in self.needs if need.closed_on is None]

    @property
    def shows_survey_needs(self) -> bool:
        """Until staff record needs of their own, the survey's stand for them."""
        return not self.needs and bool(self.survey_needs)

    @property
    def current_contract(self) -> FamilyDoctorContract | None:
        return next((c for c in self.contracts if contract_is_valid(c, self.on)), None)

    @property
    def endable_contracts(self) -> list[FamilyDoctorContract]:
        return endable_contracts(self.contracts, self.on)


def contract_is_valid(contract: FamilyDoctorContract, on: date) -> bool:
    """Signed by `on` and not expired (the expiry date is the last valid day), as
    `selectors_casework.family_doctor_contracts(on=…)` counts it."""
    return contract.signed_on <= on and (contract.expires_on is None or contract.expires_on >= on)


def endable_contracts(
    contracts: list[FamilyDoctorContract], on: date
) -> list[FamilyDoctorContract]:
    """Contracts that may still be ended on `on`: valid, with no earlier last day set."""
    return [
        contract
        for contract in contracts
        if contract.signed_on <= on and (contract.expires_on is None or contract.expires_on > on)
    ]


def labour_profile_of(user: AnyUser, person: Person) -> LabourProfile | None:
    return labour_profiles(user).filter(person=person).first()


def posts_of(user: AnyUser, person: Person) -> QuerySet[WelfarePostPlacement]:
    return welfare_posts(user).filter(person=person).order_by("-started_on", "-id")


def current_posts(user: AnyUser, person: Person) -> list[WelfarePostPlacement]:
    """The post the person holds (one at most: `welfare_post_place` allows no second)."""
    return list(posts_of(user, person).filter(ended_on__isnull=True))


def base_jobs_of(user: AnyUser, person: Person) -> QuerySet[BaseEmployment]:
    return base_employees(user).filter(person=person).order_by("-started_on", "-id")


def current_base_jobs(user: AnyUser, person: Person) -> list[BaseEmployment]:
    return list(base_jobs_of(user, person).filter(ended_on__isnull=True))


def needs_of(user: AnyUser, person: Person) -> QuerySet[RehabNeed]:
    return rehab_needs(user).filter(person=person).order_by("-identified_on", "-id")


def open_needs(user: AnyUser, person: Person) -> list[RehabNeed]:
    return list(needs_of(user, person).filter(closed_on__isnull=True))


def needs_a_service_can_answer(user: AnyUser, person_id: int) -> list[RehabNeed]:
    """The person's needs not closed by today (a closure dated later still counts): the
    choices of the rehabilitation-service forms, on the person page and on a finding."""
    open_today = Q(closed_on__isnull=True) | Q(closed_on__gt=today())
    return list(scoped(user, RehabNeed.objects.filter(open_today, person_id=person_id)))


def contracts_of(user: AnyUser, person: Person) -> list[FamilyDoctorContract]:
    return list(family_doctor_contracts(user).filter(person=person).order_by("-signed_on", "-id"))


def employment_section(records: PersonRecords, person: Person) -> Employment:
    profile = next(iter(records.of("p_labour")), None)
    survey = getattr(person, "survey", None)
    return Employment(
        labour=labour_from_profile(profile) if profile else labour_from_survey(survey),
        posts=records.of("p_post"),
        trainings=records.of("p_training"),
        base_jobs=records.of("p_base_job"),
    )


def rehab_section(records: PersonRecords, person: Person) -> Rehab:
    survey = getattr(person, "survey", None)
    needs: list[RehabNeed] = records.of("p_need")
    services: list[RehabService] = records.of("p_service")
    # A service's need is the person's own (`casework.rehab_service_add`), read in the same
    # query: link the instance so the page reads no more.
    by_pk = {need.pk: need for need in needs}
    for service in services:
        if service.need_id is not None and service.need_id in by_pk:
            service.need = by_pk[service.need_id]
    return Rehab(
        needs=needs,
        survey_needs=survey_needs(survey),
        survey_on=survey.surveyed_on if survey is not None else None,
        services=services,
        contracts=records.of("p_contract"),
    )


def bases_for(user: AnyUser) -> QuerySet[EmploymentBase]:
    """The employment bases, co-operatives and capable households a person may be placed
    with: those in the user's scope."""
    return employment_bases(user).order_by("township__code", "name")


def work_sections(user: AnyUser, person: Person, records: PersonRecords | None = None) -> dict:
    """The context of `templates/staff/_person_work.html`, from the person page's one query
    (`person_records`; read here when not given)."""
    if records is None:
        records = person_records(user, person, household_id=None)
    return {
        "employment": employment_section(records, person),
        "rehab": rehab_section(records, person),
    }
