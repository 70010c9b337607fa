"""cases/services.py: registry writes and the history rows they leave."""

from datetime import date

import pytest

from cases import services
from cases.identity import check_character
from cases.models import (
    Certificate,
    ChangeRecord,
    EducationPlan,
    Household,
    HouseholdMember,
    Person,
    Role,
    StaffProfile,
    Township,
    Village,
)
from cases.scope import scope_for
from cases.services import ServiceError

from . import factories

pytestmark = pytest.mark.django_db


def history(instance):
    return list(
        ChangeRecord.objects.filter(
            model=instance._meta.label_lower, object_id=str(instance.pk)
        ).order_by("id")
    )


def an_id(born=date(1980, 5, 17), sequence=123):
    first17 = f"341522{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def chengguan():
    return Township.objects.get(name="城关镇")


@pytest.fixture
def dongguan(chengguan):
    return Village.objects.get_or_create(township=chengguan, name="东关村")[0]


@pytest.fixture
def hekou_village():
    return factories.village("河口镇", "王庄村")


# --- persons ---


def test_person_create_derives_gender_and_birth_and_records_history(admin_user, dongguan):
    raw = " '" + an_id().replace("3", "３")  # as a sheet might carry it
    person = services.person_create(
        id_number=raw, name=" 张 三 ", village=dongguan, actor=admin_user, reason="新办证"
    )
    person.refresh_from_db()
    assert person.id_number == an_id()
    assert person.name == "张三"
    assert person.gender == "M"
    assert person.birth_date == date(1980, 5, 17)
    assert person.township == dongguan.township
    [row] = history(person)
    assert row.action == "create"
    assert row.actor == admin_user
    assert row.reason == "新办证"
    assert row.changes["id_number"] == [None, an_id()]
    assert row.changes["village"] == [None, dongguan.pk]


def test_person_create_refuses_bad_id_and_duplicates(dongguan):
    bad = an_id()[:17] + ("0" if an_id()[17] != "0" else "1")
    with pytest.raises(ServiceError, match="校验位") as caught:
        services.person_create(id_number=bad, name="李四", village=dongguan)
    assert caught.value.field == "id_number"
    services.person_create(id_number=an_id(), name="李四", village=dongguan)
    with pytest.raises(ServiceError, match="已登记"):
        services.person_create(id_number=an_id(), name="李四", village=dongguan)
    assert Person.objects.count() == 1
    assert ChangeRecord.objects.count() == 1


def test_person_create_refuses_village_of_another_township(chengguan, hekou_village):
    with pytest.raises(ServiceError, match="不属于城关镇") as caught:
        services.person_create(
            id_number=an_id(), name="王五", township=chengguan, village=hekou_village
        )
    assert caught.value.field == "village"
    assert not Person.objects.exists()


def test_person_create_refuses_empty_name(dongguan):
    with pytest.raises(ServiceError, match="姓名不能为空"):
        services.person_create(id_number=an_id(), name="  ", village=dongguan)


def test_person_update_records_field_level_changes(admin_user, dongguan, hekou_village):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    changed = services.person_update(
        person,
        name="张叁",
        phone="13800000000",
        village=hekou_village,
        actor=admin_user,
        reason="入户核实更正",
    )
    person.refresh_from_db()
    assert person.name == "张叁"
    assert person.village == hekou_village
    assert person.township.name == "河口镇"
    assert changed == {
        "name": ["张三", "张叁"],
        "phone": ["", "13800000000"],
        "township": [dongguan.township_id, hekou_village.township_id],
        "village": [dongguan.pk, hekou_village.pk],
    }
    create, update = history(person)
    assert (create.action, update.action) == ("create", "update")
    assert update.changes == changed
    assert update.actor == admin_user
    assert update.reason == "入户核实更正"


def test_person_update_without_change_writes_no_history(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    assert services.person_update(person, name="张三", village=dongguan) == {}
    assert len(history(person)) == 1


def test_person_update_id_correction_rederives_gender_and_birth(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    corrected = an_id(born=date(1981, 6, 1), sequence=124)
    changed = services.person_update(person, id_number=corrected.lower(), reason="号码录错")
    person.refresh_from_db()
    assert person.id_number == corrected
    assert person.gender == "F"
    assert person.birth_date == date(1981, 6, 1)
    assert set(changed) == {"id_number", "gender", "birth_date"}


def test_person_update_refuses_someone_elses_id(dongguan):
    first = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    second = services.person_create(id_number=an_id(sequence=125), name="李四", village=dongguan)
    with pytest.raises(ServiceError, match="另一人"):
        services.person_update(second, id_number=first.id_number)
    second.refresh_from_db()
    assert second.id_number == an_id(sequence=125)


def test_person_update_new_township_drops_a_village_that_does_not_fit(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    hekou = Township.objects.get(name="河口镇")
    services.person_update(person, township=hekou)
    person.refresh_from_db()
    assert (person.township, person.village) == (hekou, None)


def test_person_update_refuses_unknown_fields(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    with pytest.raises(TypeError):
        services.person_update(person, gender="F")


# --- certificates ---


def test_certificate_set_creates_then_updates_with_history(admin_user, dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    certificate = services.certificate_set(
        person, f"{person.id_number}42", category=4, grade=2, actor=admin_user
    )
    assert (certificate.category, certificate.grade, certificate.reissue) == (4, 2, None)
    again = services.certificate_set(
        person, f"{person.id_number}41b2", actor=admin_user, reason="换领"
    )
    assert again.pk == certificate.pk
    certificate.refresh_from_db()
    assert certificate.number == f"{person.id_number}41B2"
    assert (certificate.grade, certificate.reissue) == (1, 2)
    create, update = history(certificate)
    assert create.action == "create"
    assert update.changes == {
        "number": [f"{person.id_number}42", f"{person.id_number}41B2"],
        "grade": [2, 1],
        "reissue": [None, 2],
    }
    assert update.reason == "换领"


def test_certificate_set_refuses_mismatches(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    other = an_id(sequence=125)
    with pytest.raises(ServiceError, match="前18位与身份证号不一致"):
        services.certificate_set(person, f"{other}42")
    with pytest.raises(ServiceError, match="残疾类别"):
        services.certificate_set(person, f"{person.id_number}42", category=1)
    with pytest.raises(ServiceError, match="残疾等级") as caught:
        services.certificate_set(person, f"{person.id_number}42", grade=3)
    assert caught.value.field == "number"
    assert not Certificate.objects.exists()


def test_certificate_remove_keeps_values_in_history(admin_user, dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    certificate = services.certificate_set(person, f"{person.id_number}42")
    pk = certificate.pk
    services.certificate_remove(certificate, actor=admin_user, reason="误录")
    assert not Certificate.objects.filter(pk=pk).exists()
    row = ChangeRecord.objects.get(model="cases.certificate", object_id=str(pk), action="delete")
    assert row.changes["number"] == [f"{person.id_number}42", None]
    assert row.reason == "误录"


# --- households ---


def test_household_create_adds_head_and_members(admin_user, dongguan):
    head = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    child = services.person_create(id_number=an_id(sequence=126), name="张小", village=dongguan)
    household = services.household_create(head=head, size=2, actor=admin_user)
    assert household.head_id_number == head.id_number
    assert household.head_name == "张三"
    assert (household.township, household.village) == (dongguan.township, dongguan)
    member = services.household_add_member(household, child, relation="女", actor=admin_user)
    assert {m.person for m in household.members.all()} == {head, child}
    assert head.membership.relation == "户主"
    assert history(household)[0].changes["head_id_number"] == [None, head.id_number]
    assert history(member)[0].changes["relation"] == [None, "女"]
    assert history(head.membership)[0].actor == admin_user


def test_household_create_without_registered_head(dongguan):
    household = services.household_create(
        head_id_number=an_id(sequence=127), head_name="赵六", village=dongguan
    )
    assert household.head is None
    assert not household.members.exists()
    with pytest.raises(ServiceError, match="已有家庭"):
        services.household_create(
            head_id_number=an_id(sequence=127), head_name="赵六", village=dongguan
        )
    with pytest.raises(ServiceError, match="乡镇和村"):
        services.household_create(head_id_number=an_id(sequence=129), head_name="钱七")


def test_member_of_another_household_is_refused_unless_moved(dongguan):
    first = services.household_create(
        head=services.person_create(id_number=an_id(), name="张三", village=dongguan)
    )
    second = services.household_create(
        head=services.person_create(id_number=an_id(sequence=125), name="李四", village=dongguan)
    )
    person = services.person_create(id_number=an_id(sequence=127), name="李小", village=dongguan)
    member = services.household_add_member(first, person, relation="子")
    with pytest.raises(ServiceError, match="已是"):
        services.household_add_member(second, person, relation="子")
    moved = services.household_add_member(second, person, relation="孙子", move=True)
    assert moved.pk == member.pk
    assert HouseholdMember.objects.get(person=person).household == second
    update = history(member)[-1]
    assert update.changes == {"household": [first.pk, second.pk], "relation": ["子", "孙子"]}


def test_household_update_and_member_removal(admin_user, dongguan, hekou_village):
    head = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    household = services.household_create(head=head, size=3)
    with pytest.raises(ServiceError, match="1～99"):
        services.household_update(household, size=0)
    changed = services.household_update(household, size=4, village=hekou_village)
    assert changed["size"] == [3, 4]
    assert changed["township"] == [dongguan.township_id, hekou_village.township_id]
    member = head.membership
    services.household_remove_member(member, actor=admin_user, reason="分户")
    assert not HouseholdMember.objects.filter(person=head).exists()
    assert Household.objects.filter(pk=household.pk).exists()


# --- staff profiles ---


def test_staff_profile_set_assigns_role_scope_and_is_staff(admin_user, dongguan):
    user = factories.UserFactory(username="newclerk")
    profile = services.staff_profile_set(
        user, role="township_staff", township=dongguan.township, actor=admin_user, reason="入职"
    )
    assert (profile.role, profile.township, profile.village) == (
        Role.TOWNSHIP_STAFF,
        dongguan.township,
        None,
    )
    assert scope_for(user).township_id == dongguan.township_id
    assert not user.is_staff
    services.staff_profile_set(user, role=Role.COUNTY_ADMIN, township=dongguan.township)
    user.refresh_from_db()
    assert user.is_staff
    assert scope_for(user).is_county_admin  # the cached scope was dropped
    profile.refresh_from_db()
    assert profile.township is None
    rows = history(profile)
    assert [row.action for row in rows] == ["create", "update"]
    assert rows[1].changes["role"] == ["township_staff", "county_admin"]
    assert ChangeRecord.objects.filter(model="auth.user", object_id=str(user.pk)).exists()


def test_staff_profile_village_member_gets_township_from_village(dongguan):
    user = factories.UserFactory()
    profile = services.staff_profile_set(user, role="village_member", village=dongguan)
    assert (profile.township, profile.village) == (dongguan.township, dongguan)
    hekou = Township.objects.get(name="河口镇")
    with pytest.raises(ServiceError, match="不属于"):
        services.staff_profile_set(user, role="village_member", township=hekou, village=dongguan)


@pytest.mark.parametrize(
    ("role", "message"),
    [("township_staff", "所属乡镇"), ("village_member", "所属村"), ("mayor", "未知角色")],
)
def test_staff_profile_refuses_incomplete_scope(role, message):
    user = factories.UserFactory()
    with pytest.raises(ServiceError, match=message):
        services.staff_profile_set(user, role=role)
    assert not StaffProfile.objects.filter(user=user).exists()


def test_staff_profile_remove(admin_user):
    user = factories.user_with_role("county_admin")
    services.staff_profile_set(user, role="county_admin")
    assert scope_for(user).is_county_admin
    services.staff_profile_remove(user, actor=admin_user, reason="离职")
    user.refresh_from_db()
    assert not user.is_staff
    assert scope_for(user).sees_nothing
    assert ChangeRecord.objects.filter(model="cases.staffprofile", action="delete").exists()


# --- simple records ---


def test_village_create_and_record_save(admin_user, chengguan):
    village = services.village_create(chengguan, " 西湖村 ", code="341522100001", actor=admin_user)
    assert village.name == "西湖村"
    with pytest.raises(ServiceError, match="已有西湖村"):
        services.village_create(chengguan, "西湖村")
    village.code = "341522100002"
    services.record_save(village, actor=admin_user, reason="更正代码")
    rows = history(village)
    assert rows[-1].changes == {"code": ["341522100001", "341522100002"]}
    services.record_save(village)  # unchanged: no new row
    assert len(history(village)) == 2


def test_record_save_validates_and_refuses_dedicated_models(dongguan):
    person = services.person_create(id_number=an_id(), name="张三", village=dongguan)
    plan = EducationPlan(person=person, placement="not_enrolled", verified_on=date(2026, 3, 1))
    with pytest.raises(ServiceError):
        services.record_save(plan)
    plan.not_enrolled_reason = "病情较重"
    services.record_save(plan)
    assert history(plan)[0].changes["placement"] == [None, "not_enrolled"]
    with pytest.raises(TypeError):
        services.record_save(person)
    with pytest.raises(TypeError):
        services.record_delete(person)
