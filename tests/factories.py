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
