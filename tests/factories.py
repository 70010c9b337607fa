"""factory_boy factories that make valid, realistic records (valid IDs, real townships)."""

import random
from datetime import date

import factory
from django.contrib.auth import get_user_model

from cases.identity import check_character
from cases.models import (
    Certificate,
    Household,
    HouseholdMember,
    Person,
    StaffProfile,
    Township,
    Village,
)

_rng = random.Random(20260630)


def make_id_number(birth: date | None = None, male: bool | None = None, area="341522") -> str:
    """A valid 18-character ID number (correct check character)."""
    birth = birth or date(_rng.randint(1940, 2020), _rng.randint(1, 12), _rng.randint(1, 28))
    sequence = _rng.randint(0, 99) * 10 + _rng.randint(0, 9)
    if male is not None and (sequence % 2 == 1) != male:
        sequence = (sequence + 1) % 1000
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def township(name: str) -> Township:
    return Township.objects.get(name=name)


def village(township_name: str, name: str) -> Village:
    return Village.objects.get_or_create(township=township(township_name), name=name)[0]


def user_with_role(role: str, township: str | None = None, village=None, username=None):
    user = UserFactory(username=username) if username else UserFactory()
    StaffProfile.objects.create(
        user=user,
        role=role,
        township=Township.objects.get(name=township) if township else None,
        village=village,
    )
    return user


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    class Params:
        birth = factory.LazyFunction(
            lambda: date(_rng.randint(1940, 2020), _rng.randint(1, 12), _rng.randint(1, 28))
        )

    id_number = factory.LazyAttribute(lambda o: make_id_number(o.birth))
    name = factory.Faker("name", locale="zh_CN")
    gender = factory.LazyAttribute(lambda o: "M" if int(o.id_number[16]) % 2 else "F")
    birth_date = factory.LazyAttribute(lambda o: o.birth)
    township = factory.LazyFunction(lambda: Township.objects.get(name="城关镇"))
    village = factory.LazyAttribute(
        lambda o: Village.objects.get_or_create(township=o.township, name="东关村")[0]
    )


class CertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certificate

    person = factory.SubFactory(PersonFactory)
    category = 4
    grade = 2
    number = factory.LazyAttribute(lambda o: f"{o.person.id_number}{o.category}{o.grade}")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    head = factory.SubFactory(PersonFactory)
    head_id_number = factory.LazyAttribute(lambda o: o.head.id_number)
    head_name = factory.LazyAttribute(lambda o: o.head.name)
    township = factory.LazyAttribute(lambda o: o.head.township)
    village = factory.LazyAttribute(lambda o: o.head.village)
    size = 1


class HouseholdMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HouseholdMember

    household = factory.SubFactory(HouseholdFactory)
    person = factory.SubFactory(PersonFactory)
    relation = "户主"


# --- Imports, roster, benefits, task-area records (appended for the cross-check) ---

import itertools  # noqa: E402

from cases.models import AssistanceMeasure, EducationPlan, Pairing, RehabService  # noqa: E402
from monitoring.models import (  # noqa: E402
    ImportBatch,
    RosterHousehold,
    RosterMember,
    SurveyRecord,
)
from subsidies.models import BenefitRecord  # noqa: E402


class ImportBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportBatch

    source = "survey"
    status = ImportBatch.Status.DONE
    original_name = factory.Sequence(lambda n: f"batch-{n}.xlsx")
    file = factory.LazyAttribute(lambda o: f"imports/test/{o.original_name}")
    sha256 = factory.Sequence(lambda n: f"{n:064x}")


class SurveyRecordFactory(factory.django.DjangoModelFactory):
    """Survey answers; every answer defaults to unknown (None / blank)."""

    class Meta:
        model = SurveyRecord

    person = factory.SubFactory(PersonFactory)
    batch = factory.SubFactory(ImportBatchFactory, source="survey")
    survival_status = "alive"


_sequence = itertools.count(1)


def unique_id_number(birth: date, area: str = "341522") -> str:
    """A valid ID number that no other call in this test session returns for that birth date."""
    first17 = f"{area}{birth:%Y%m%d}{next(_sequence) % 1000:03d}"
    return first17 + check_character(first17)


def certified_person(
    category: int = 4,
    grade: int = 2,
    birth: date | None = None,
    township: str = "城关镇",
    village_name: str = "东关村",
    household=None,
    name: str | None = None,
    **answers,
) -> SurveyRecord:
    """A certified disabled person: Person + Certificate + SurveyRecord (answers as given).

    `household` may be a Household, or True for a new household headed by the person.
    """
    extra = {"name": name} if name else {}
    birth = birth or date(_rng.randint(1940, 2005), _rng.randint(1, 12), _rng.randint(1, 28))
    person = PersonFactory(
        birth=birth,
        id_number=unique_id_number(birth),
        township=Township.objects.get(name=township),
        village=village(township, village_name),
        **extra,
    )
    CertificateFactory(person=person, category=category, grade=grade)
    if household is True:
        household = HouseholdFactory(head=person)
        HouseholdMemberFactory(household=household, person=person)
    return SurveyRecordFactory(person=person, household=household, **answers)


class RosterHouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RosterHousehold

    household_number = factory.Sequence(lambda n: f"34152210{n:05d}")
    township = factory.LazyFunction(lambda: Township.objects.get(name="城关镇"))
    village = factory.LazyAttribute(
        lambda o: Village.objects.get_or_create(township=o.township, name="东关村")[0]
    )
    head_name = "户主"
    household_type = "monitored"
    monitoring_category = "unstable"
    risk_cleared = False
    identified_on = date(2026, 1, 5)
    batch = factory.SubFactory(ImportBatchFactory, source="roster")


class RosterMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RosterMember

    household = factory.SubFactory(RosterHouseholdFactory)
    person = factory.SubFactory(PersonFactory)
    name = factory.LazyAttribute(lambda o: o.person.name)
    relation = "户主"
    status = "alive"
    batch = factory.LazyAttribute(lambda o: o.household.batch)


class BenefitRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BenefitRecord

    person = factory.SubFactory(PersonFactory)
    benefit_type = "dibao"
    status = BenefitRecord.Status.ACTIVE
    origin = BenefitRecord.Origin.MANUAL
    start_month = date(2025, 1, 1)


class EducationPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EducationPlan

    person = factory.SubFactory(PersonFactory)
    placement = EducationPlan.Placement.HOME_TEACHING
    verified_on = date(2026, 3, 1)


class RehabServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RehabService

    person = factory.SubFactory(PersonFactory)
    service_type = "康复训练"
    provider = "镇卫生院"
    served_on = date(2026, 3, 1)


class PairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pairing

    household = factory.SubFactory(HouseholdFactory)
    helper_name = "王书记"
    started_on = date(2025, 6, 1)


class AssistanceMeasureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssistanceMeasure

    household = factory.SubFactory(HouseholdFactory)
    kind = AssistanceMeasure.Kind.HEALTH
    responsible_unit = "镇残联"
    started_on = date(2026, 2, 1)


# --- Findings and runs (appended for the case work) ---

from django.utils import timezone  # noqa: E402

from monitoring.models import CrosscheckRun, Finding  # noqa: E402


class CrosscheckRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrosscheckRun

    as_of = date(2026, 6, 30)
    status = CrosscheckRun.Status.DONE


class FindingFactory(factory.django.DjangoModelFactory):
    """An open finding about a person, located where the person is."""

    class Meta:
        model = Finding

    rule = "M01"
    person = factory.SubFactory(PersonFactory)
    township = factory.LazyAttribute(lambda o: o.person.township)
    village = factory.LazyAttribute(lambda o: o.person.village)
    reason = "调查家庭年人均收入5,000元，低于2026年监测线7,000元，且未纳入防返贫监测"
    first_run = factory.SubFactory(CrosscheckRunFactory)
    last_run = factory.LazyAttribute(lambda o: o.first_run)
    opened_at = factory.LazyFunction(timezone.now)
