"""`manage.py seed_demo`: a synthetic county with valid identities, realistic shapes and demo logins."""

import io
from collections import Counter
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.geography import TOWNSHIPS
from cases.identity import age_on, parse_certificate_number, parse_id_number
from cases.models import (
    AssistanceMeasure,
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Pairing,
    Person,
    Role,
    StaffProfile,
    Village,
)
from cases.scope import scope_for
from monitoring.models import (
    CrosscheckRun,
    Finding,
    HouseholdType,
    ImportBatch,
    RosterHousehold,
    RosterMember,
    Source,
    SurveyRecord,
)
from staff.demo import DEFAULT_PASSWORD, DEMO_FILE_NAME

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    # Five demo passwords per run: a fast hasher keeps the suite quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--as-of", AS_OF.isoformat(), *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def county():
    output = seed("--persons", "240", "--seed", "11", "--password", "demo-password-xyz")
    return output


def test_exactly_n_certified_persons_with_valid_ids(county):
    assert Certificate.objects.count() == 240
    assert SurveyRecord.objects.count() == 240
    for number, gender, born in Person.objects.values_list("id_number", "gender", "birth_date"):
        parsed = parse_id_number(number, today=AS_OF)
        assert parsed.area_code == "341522"
        assert (parsed.gender, parsed.birth_date) == (gender, born)
    for certificate in Certificate.objects.select_related("person"):
        parsed = parse_certificate_number(
            certificate.number,
            id_number=certificate.person.id_number,
            category=certificate.category,
            grade=certificate.grade,
        )
        assert parsed.reissue == certificate.reissue
    assert Person.objects.count() > 240  # non-disabled household members too
    assert Person.objects.filter(certificate__isnull=True, membership__isnull=False).exists()


def test_users_have_the_right_roles_and_scopes(county):
    User = get_user_model()
    expected = {
        "admin": (Role.COUNTY_ADMIN, None, None),
        "viewer": (Role.COUNTY_VIEWER, None, None),
        "chengguan": (Role.TOWNSHIP_STAFF, "城关镇", None),
        "hekou": (Role.TOWNSHIP_STAFF, "河口镇", None),
        "cunwei": (Role.VILLAGE_MEMBER, "城关镇", "东关村"),
    }
    for username, (role, township, village) in expected.items():
        user = User.objects.get(username=username)
        assert user.check_password("demo-password-xyz"), username
        assert user.is_active
        assert user.is_staff == (role == Role.COUNTY_ADMIN)
        profile = StaffProfile.objects.select_related("township", "village").get(user=user)
        assert profile.role == role
        assert (profile.township.name if profile.township else None) == township
        assert (profile.village.name if profile.village else None) == village
        assert scope_for(user).role == role
    assert ChangeRecord.objects.filter(model="cases.staffprofile", source="seed_demo").count() == 5


def test_output_is_chinese_and_english_with_logins(county):
    assert "持证残疾人 certified persons: 240" in county
    for username in ("admin", "viewer", "chengguan", "hekou", "cunwei"):
        assert username in county
    assert "demo-password-xyz" in county


def test_villages_for_every_township(county):
    per_township = Counter(Village.objects.values_list("township__name", flat=True))
    assert set(per_township) == {name for name, _ in TOWNSHIPS}
    assert all(5 <= count <= 25 for count in per_township.values()), per_township
    names = list(Village.objects.values_list("name", flat=True))
    assert all(name.endswith(("村", "社区")) for name in names)


def test_households_have_one_to_six_members(county):
    sizes = Counter()
    for household in Household.objects.select_related("head__membership").prefetch_related(
        "members__person"
    ):
        members = list(household.members.all())
        assert 1 <= len(members) <= 6
        assert household.size == len(members)
        assert household.head.membership.relation == "户主"
        assert {m.person.village_id for m in members} == {household.village_id}
        sizes[len(members)] += 1
    assert len(sizes) >= 4  # a spread of sizes, not one shape
    certified = Certificate.objects.values_list("person_id", flat=True)
    members = HouseholdMember.objects.filter(person_id__in=certified)
    assert members.count() == 240
    # Households mix certified and other members.
    mixed = Household.objects.filter(members__person__certificate__isnull=True).filter(
        members__person__certificate__isnull=False
    )
    assert mixed.exists()


def test_ages_categories_and_grades_are_spread(county):
    ages = [
        age_on(born, AS_OF)
        for born in Person.objects.filter(certificate__isnull=False).values_list(
            "birth_date", flat=True
        )
    ]
    assert any(age < 18 for age in ages)
    assert sum(age >= 60 for age in ages) > len(ages) / 3  # elderly heavy
    categories = Counter(Certificate.objects.values_list("category", flat=True))
    assert categories.most_common(1)[0][0] == 4  # 肢体 most common
    assert len(categories) >= 5
    grades = Counter(Certificate.objects.values_list("grade", flat=True))
    assert set(grades) <= {1, 2, 3, 4}
    assert 0.15 < (grades[1] + grades[2]) / 240 < 0.6


def test_survey_values_are_realistic(county):
    incomes = [i for i in SurveyRecord.objects.values_list("income_per_capita", flat=True) if i]
    assert incomes
    below = sum(income < 7000 for income in incomes) / len(incomes)
    assert 0.02 < below < 0.4  # mostly above the line, with a tail below
    record = SurveyRecord.objects.exclude(household=None).first()
    assert record.batch.source == Source.SURVEY
    assert SurveyRecord.objects.filter(household__isnull=True).count() == 0
    assert SurveyRecord.objects.exclude(rehab_needs=[]).exists()
    assert SurveyRecord.objects.filter(medical_insured=True).exists()


def test_both_roster_kinds_and_roster_only_households(county):
    kinds = Counter(RosterHousehold.objects.values_list("household_type", flat=True))
    assert kinds[HouseholdType.LEFT_POVERTY] > 0
    assert kinds[HouseholdType.MONITORED] > 0
    monitored = RosterHousehold.objects.filter(household_type=HouseholdType.MONITORED)
    assert all(h.monitoring_category and h.identified_on for h in monitored)
    assert all(h.risk_types for h in monitored)
    assert (
        not RosterHousehold.objects.filter(household_type=HouseholdType.LEFT_POVERTY)
        .exclude(monitoring_category="")
        .exists()
    )
    # Part of the survey households, and households whose members are not in the survey.
    in_survey = RosterMember.objects.filter(person__survey__isnull=False)
    assert in_survey.exists()
    roster_only = RosterHousehold.objects.exclude(members__person__membership__isnull=False)
    assert roster_only.exists()
    assert RosterMember.objects.filter(household__in=roster_only, person__certificate=None).exists()
    for household in RosterHousehold.objects.prefetch_related("members"):
        assert 1 <= len(household.members.all()) <= 6


def test_import_batches_are_marked_as_demo(county):
    batches = ImportBatch.objects.order_by("source")
    assert {b.source for b in batches} == {Source.SURVEY, Source.ROSTER}
    for batch in batches:
        assert batch.original_name == DEMO_FILE_NAME
        assert batch.status == ImportBatch.Status.DONE
        assert len(batch.sha256) == 64
        assert batch.file.read().decode().startswith("演示数据")
        assert batch.townships.count() == 31
    assert batches.get(source=Source.ROSTER).rows == RosterMember.objects.count()


def test_if_empty_is_a_no_op_the_second_time(county):
    before = (Person.objects.count(), RosterMember.objects.count(), ChangeRecord.objects.count())
    output = seed("--persons", "50", "--if-empty")
    assert "nothing done" in output
    assert "已有" in output
    after = (Person.objects.count(), RosterMember.objects.count(), ChangeRecord.objects.count())
    assert after == before


def test_rerun_without_if_empty_refuses_clearly(county):
    before = Person.objects.count()
    with pytest.raises(CommandError) as caught:
        seed("--persons", "50")
    message = str(caught.value)
    assert "已有240张残疾人证" in message
    assert "already holds 240 certificates" in message
    assert Person.objects.count() == before


def test_if_empty_on_an_empty_registry_builds(db):
    output = seed("--persons", "30", "--if-empty")
    assert Certificate.objects.count() == 30
    assert "演示数据已生成" in output


def test_existing_users_are_updated_not_duplicated(db):
    User = get_user_model()
    User.objects.create_user("admin", password="old-password-123")
    User.objects.create_user("cunwei", password="old-password-123", is_active=False)
    seed("--persons", "20")
    assert User.objects.filter(username="admin").count() == 1
    admin = User.objects.get(username="admin")
    assert admin.check_password(DEFAULT_PASSWORD)
    assert admin.is_staff
    assert User.objects.get(username="cunwei").is_active
    assert User.objects.count() == 5


def snapshot():
    return (
        list(
            Person.objects.order_by("id_number").values_list("id_number", "name", "village__name")
        ),
        list(Certificate.objects.order_by("number").values_list("number", flat=True)),
        list(
            RosterHousehold.objects.order_by("household_number").values_list(
                "household_number", "household_type", "income_per_capita"
            )
        ),
        list(
            SurveyRecord.objects.order_by("person__id_number").values_list(
                "income_per_capita", "employment_status", "rehab_needs"
            )
        ),
    )


def wipe_demo_rows():
    RosterMember.objects.all().delete()
    RosterHousehold.objects.all().delete()
    SurveyRecord.objects.all().delete()
    ImportBatch.objects.all().delete()
    Household.objects.all().delete()
    Person.objects.all().delete()


def test_same_seed_gives_the_same_county_and_another_seed_another(db):
    seed("--persons", "60", "--seed", "5", "--no-crosscheck")
    first = snapshot()
    wipe_demo_rows()
    seed("--persons", "60", "--seed", "5", "--no-crosscheck")
    assert snapshot() == first
    wipe_demo_rows()
    seed("--persons", "60", "--seed", "6", "--no-crosscheck")
    assert snapshot()[0] != first[0]


def test_no_query_per_row(db):
    seed(
        "--persons", "20", "--seed", "1", "--no-crosscheck"
    )  # villages and users exist from here on
    wipe_demo_rows()
    with CaptureQueriesContext(connection) as small:
        seed("--persons", "20", "--seed", "1", "--no-crosscheck")
    wipe_demo_rows()
    with CaptureQueriesContext(connection) as large:
        seed("--persons", "500", "--seed", "1", "--no-crosscheck")
    # 25 times the persons, the same statements: at most a few tables that were empty
    # for 20 persons (education plans, pairings, measures) get their one insert.
    assert len(small.captured_queries) < 80
    assert len(large.captured_queries) - len(small.captured_queries) <= 3


def test_new_rows_after_seeding_get_fresh_keys(county):
    """Explicit primary keys were used: the database's own counters must be past them."""
    top = Person.objects.order_by("-pk").values_list("pk", flat=True).first()
    person = Person.objects.create(
        id_number="11010519491231002X", name="新增", gender="F", birth_date=date(1949, 12, 31)
    )
    assert person.pk > top
    village = Village.objects.first()
    household = Household.objects.create(
        head_id_number=person.id_number, township=village.township, village=village
    )
    assert household.pk > Household.objects.exclude(pk=household.pk).order_by("-pk")[0].pk


def test_persons_must_be_positive(db):
    with pytest.raises(CommandError, match="至少为1"):
        seed("--persons", "0")


def test_bad_as_of_date_is_refused(db):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--as-of", "2026/06/30", stdout=io.StringIO())


def test_most_monitored_households_are_paired_and_helped(county):
    monitored = RosterHousehold.objects.filter(
        household_type=HouseholdType.MONITORED, members__person__membership__isnull=False
    ).distinct()
    assert monitored.exists()
    assert Pairing.objects.exists()
    assert AssistanceMeasure.objects.exists()
    for pairing in Pairing.objects.select_related("household"):
        assert pairing.started_on <= AS_OF
        assert pairing.helper_name
    # Every pairing belongs to a survey household whose members the roster lists as 监测户.
    paired = set(Pairing.objects.values_list("household_id", flat=True))
    monitored_households = set(
        RosterMember.objects.filter(household__household_type=HouseholdType.MONITORED)
        .exclude(person__membership=None)
        .values_list("person__membership__household_id", flat=True)
    )
    assert paired <= monitored_households


def test_the_demo_county_comes_with_a_cross_check_run(county):
    """The first login shows a full work queue: the command ran the cross-check."""
    run = CrosscheckRun.objects.get()
    assert run.status == CrosscheckRun.Status.DONE
    assert run.trigger == CrosscheckRun.Trigger.COMMAND
    assert Finding.objects.filter(status=Finding.Status.OPEN).count() == run.new > 0
    assert "比对已运行" in county


def test_no_crosscheck_skips_the_run():
    seed("--persons", "20", "--no-crosscheck", "--password", "demo-password-xyz")
    assert not CrosscheckRun.objects.exists()
