"""cases/admin.py: county admins only, masked IDs, search and filters, history on every save."""

from datetime import date

import pytest
from django import forms
from django.contrib import admin
from django.urls import reverse

from cases import services
from cases.identity import check_character
from cases.models import (
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Person,
    StaffProfile,
    Township,
    Village,
)

from . import factories

pytestmark = pytest.mark.django_db

CASES_MODELS = [
    "township",
    "village",
    "person",
    "certificate",
    "household",
    "householdmember",
    "changerecord",
    "educationplan",
    "rehabservice",
    "pairing",
    "assistancemeasure",
]


def an_id(born=date(1975, 3, 9), sequence=211):
    first17 = f"341522{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


@pytest.fixture
def dongguan():
    return factories.village("城关镇", "东关村")


@pytest.fixture
def wangzhuang():
    return factories.village("河口镇", "王庄村")


@pytest.fixture
def registry(dongguan, wangzhuang):
    """Two certified persons and one family member, in two townships."""
    zhang = services.person_create(id_number=an_id(), name="张德明", village=dongguan)
    services.certificate_set(zhang, f"{zhang.id_number}42")
    li_id = an_id(born=date(1992, 11, 30), sequence=10)
    li = services.person_create(id_number=li_id, name="李桂兰", village=wangzhuang)
    services.certificate_set(li, f"{li.id_number}13")
    kin = services.person_create(id_number=an_id(sequence=213), name="张小红", village=dongguan)
    household = services.household_create(head=zhang, size=2)
    services.household_add_member(household, kin, relation="女")
    return {"zhang": zhang, "li": li, "kin": kin, "household": household}


def changelist(name):
    return reverse(f"admin:cases_{name}_changelist")


def admin_form_data(response) -> dict:
    """POST data reproducing the admin form (and its inlines) as rendered."""
    data: dict = {}

    def add(form):
        for bound in form:
            widget, value, name = bound.field.widget, bound.value(), bound.html_name
            if isinstance(widget, forms.MultiWidget):
                parts = value if isinstance(value, list) else widget.decompress(value)
                for index, part in enumerate(parts):
                    data[f"{name}_{index}"] = "" if part is None else str(part)
            elif isinstance(widget, forms.CheckboxInput):
                if value:
                    data[name] = "on"
            elif isinstance(value, list | tuple):
                data[name] = [str(item) for item in value]
            else:
                data[name] = "" if value is None else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


# --- who gets in ---


def test_county_admin_opens_every_cases_changelist(admin_client, registry):
    for name in CASES_MODELS:
        response = admin_client.get(changelist(name))
        assert response.status_code == 200, name
    assert admin_client.get(reverse("admin:index")).status_code == 200
    assert admin_client.get(reverse("admin:auth_user_changelist")).status_code == 200


def test_county_admin_opens_add_and_change_pages(admin_client, registry):
    for name in CASES_MODELS:
        if name in ("township", "changerecord"):
            continue
        assert admin_client.get(reverse(f"admin:cases_{name}_add")).status_code == 200, name
    zhang = registry["zhang"]
    response = admin_client.get(reverse("admin:cases_person_change", args=[zhang.pk]))
    assert response.status_code == 200
    assert zhang.id_number in response.content.decode()  # full number on the record page


@pytest.mark.parametrize(
    "who",
    ["township_staff", "village_member", "county_viewer", "no_profile", "admin_not_staff"],
)
def test_everyone_but_staff_county_admins_is_sent_to_the_admin_login(client, dongguan, who):
    if who == "township_staff":
        user = factories.user_with_role("township_staff", township="城关镇")
    elif who == "village_member":
        user = factories.user_with_role("village_member", village=dongguan)
    elif who == "county_viewer":
        user = factories.user_with_role("county_viewer")
    elif who == "no_profile":
        user = factories.UserFactory(is_staff=True, is_superuser=True)
    else:
        user = factories.user_with_role("county_admin")  # role but is_staff not set
    user.is_staff = who != "admin_not_staff"
    user.save()
    client.force_login(user)
    for url in (reverse("admin:index"), changelist("person"), changelist("changerecord")):
        response = client.get(url)
        assert response.status_code == 302, (who, url)
        assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_is_sent_to_login(client):
    response = client.get(changelist("person"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_refused_user_cannot_read_person_page(client, registry):
    user = factories.user_with_role("township_staff", township="城关镇")
    user.is_staff = True
    user.save()
    client.force_login(user)
    url = reverse("admin:cases_person_change", args=[registry["zhang"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert registry["zhang"].id_number not in response.content.decode()


# --- lists: masking, search, filters ---


def test_person_list_masks_id_numbers(admin_client, registry):
    body = admin_client.get(changelist("person")).content.decode()
    for person in (registry["zhang"], registry["li"]):
        assert person.name in body
        assert person.id_number not in body
        assert f"{person.id_number[:6]}********{person.id_number[-4:]}" in body


@pytest.mark.parametrize("name", ["certificate", "household", "householdmember"])
def test_other_lists_mask_id_numbers(admin_client, registry, name):
    body = admin_client.get(changelist(name)).content.decode()
    assert registry["zhang"].id_number not in body
    assert registry["zhang"].id_number[:6] + "********" in body


def test_search_by_name_and_by_id_number(admin_client, registry):
    zhang, li = registry["zhang"], registry["li"]
    response = admin_client.get(changelist("person"), {"q": "李桂兰"})
    assert list(response.context["cl"].result_list) == [li]
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in zhang.id_number)
    for term in (zhang.id_number, zhang.id_number[-6:].lower(), f" '{full_width} "):
        response = admin_client.get(changelist("person"), {"q": term})
        assert list(response.context["cl"].result_list) == [zhang], term
    response = admin_client.get(changelist("certificate"), {"q": li.id_number})
    assert [c.person for c in response.context["cl"].result_list] == [li]
    response = admin_client.get(changelist("household"), {"q": "张德明"})
    assert list(response.context["cl"].result_list) == [registry["household"]]


def test_search_normalises_lower_case_x(admin_client, dongguan):
    for sequence in range(100):
        number = an_id(sequence=sequence)
        if number.endswith("X"):
            break
    else:
        pytest.fail("no X check character in 100 sequences")
    person = services.person_create(id_number=number, name="王小", village=dongguan)
    response = admin_client.get(changelist("person"), {"q": number.lower()})
    assert list(response.context["cl"].result_list) == [person]


def test_person_filters_by_township_village_category_grade(admin_client, registry, dongguan):
    zhang, li, kin = registry["zhang"], registry["li"], registry["kin"]
    chengguan = Township.objects.get(name="城关镇")
    cases = [
        ({"township__id__exact": chengguan.pk}, {zhang, kin}),
        ({"township__id__exact": chengguan.pk, "village__id__exact": dongguan.pk}, {zhang, kin}),
        ({"certificate__category__exact": 4}, {zhang}),
        ({"certificate__category__exact": 1}, {li}),
        ({"certificate__grade__exact": 3}, {li}),
        ({"certified": "no"}, {kin}),
        ({"certified": "yes", "township__id__exact": chengguan.pk}, {zhang}),
    ]
    for params, expected in cases:
        response = admin_client.get(changelist("person"), params)
        assert set(response.context["cl"].result_list) == expected, params


def test_village_filter_lists_villages_of_the_chosen_township(admin_client, registry, dongguan):
    chengguan = Township.objects.get(name="城关镇")
    factories.village("河口镇", "陈岗村")
    body = admin_client.get(changelist("person")).content.decode()
    assert "village__id__exact" not in body  # no township chosen: no village list
    body = admin_client.get(changelist("person"), {"township__id__exact": chengguan.pk})
    body = body.content.decode()
    assert f"village__id__exact={dongguan.pk}" in body
    assert "陈岗村" not in body


def test_certificate_filters_by_township_and_grade(admin_client, registry):
    hekou = Township.objects.get(name="河口镇")
    response = admin_client.get(
        changelist("certificate"), {"person__township__id__exact": hekou.pk}
    )
    assert [c.person for c in response.context["cl"].result_list] == [registry["li"]]
    response = admin_client.get(changelist("certificate"), {"grade__exact": 2})
    assert [c.person for c in response.context["cl"].result_list] == [registry["zhang"]]


def test_person_list_has_no_query_per_row(admin_client, dongguan, django_assert_max_num_queries):
    for sequence in range(30):
        person = services.person_create(
            id_number=an_id(sequence=300 + sequence), name=f"测试{sequence}", village=dongguan
        )
        services.certificate_set(person, f"{person.id_number}71")
    with django_assert_max_num_queries(15):
        response = admin_client.get(changelist("person"))
    assert len(response.context["cl"].result_list) == 30


# --- saves write history ---


def test_admin_edit_of_a_person_writes_history(admin_client, county_admin, registry, wangzhuang):
    zhang = registry["zhang"]
    url = reverse("admin:cases_person_change", args=[zhang.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        name="张德民",
        phone="13912345678",
        township=str(wangzhuang.township_id),
        village=str(wangzhuang.pk),
        change_reason="入户核实",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    zhang.refresh_from_db()
    assert (zhang.name, zhang.village) == ("张德民", wangzhuang)
    row = ChangeRecord.objects.filter(model="cases.person", object_id=str(zhang.pk)).first()
    assert row.action == "update"
    assert row.actor == county_admin
    assert row.reason == "入户核实"
    assert row.source == "管理后台"
    assert row.changes["name"] == ["张德明", "张德民"]
    assert row.changes["village"] == [registry["household"].village_id, wangzhuang.pk]


def test_admin_edit_refuses_a_village_of_another_township(admin_client, registry, wangzhuang):
    zhang = registry["zhang"]
    url = reverse("admin:cases_person_change", args=[zhang.pk])
    data = admin_form_data(admin_client.get(url))
    data["village"] = str(wangzhuang.pk)  # township stays 城关镇
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "王庄村不属于城关镇" in response.content.decode()
    assert not ChangeRecord.objects.filter(model="cases.person", action="update").exists()


def test_admin_add_person_normalises_id_and_writes_history(admin_client, county_admin, dongguan):
    number = an_id(born=date(2012, 2, 29), sequence=402)
    data = {
        "id_number": "'" + number.replace("2", "２"),
        "name": "周 小 雨",
        "township": str(dongguan.township_id),
        "village": str(dongguan.pk),
        "phone": "",
        "change_reason": "",
    }
    response = admin_client.post(reverse("admin:cases_person_add"), data)
    assert response.status_code == 302
    person = Person.objects.get(id_number=number)
    assert (person.name, person.gender, person.birth_date) == ("周小雨", "F", date(2012, 2, 29))
    row = ChangeRecord.objects.get(model="cases.person", object_id=str(person.pk))
    assert (row.action, row.actor, row.reason) == ("create", county_admin, "管理后台新增")


def test_admin_add_person_refuses_bad_id(admin_client, dongguan):
    number = an_id()
    wrong = number[:17] + ("1" if number[17] != "1" else "2")
    data = {"id_number": wrong, "name": "错号", "village": str(dongguan.pk), "township": ""}
    response = admin_client.post(reverse("admin:cases_person_add"), data)
    assert response.status_code == 200
    assert "校验位" in response.content.decode()
    assert not Person.objects.exists()


def test_admin_certificate_add_checks_number_against_holder(admin_client, registry):
    kin = registry["kin"]
    url = reverse("admin:cases_certificate_add")
    data = {"person": str(kin.pk), "number": f"{kin.id_number}52", "category": "5", "grade": "3"}
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "残疾等级" in response.content.decode()
    data["grade"] = "2"
    data["number"] = f"{kin.id_number}52b1"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    certificate = Certificate.objects.get(person=kin)
    assert (certificate.number, certificate.reissue) == (f"{kin.id_number}52B1", 1)
    assert ChangeRecord.objects.filter(
        model="cases.certificate", object_id=str(certificate.pk), action="create"
    ).exists()


def test_admin_household_add_with_member_inline(admin_client, county_admin, dongguan):
    head = services.person_create(id_number=an_id(sequence=501), name="陈大山", village=dongguan)
    son = services.person_create(id_number=an_id(sequence=503), name="陈小山", village=dongguan)
    url = reverse("admin:cases_household_add")
    data = admin_form_data(admin_client.get(url))
    data.update(
        head=str(head.pk),
        head_id_number="",
        head_name="",
        township=str(dongguan.township_id),
        village=str(dongguan.pk),
        size="2",
        **{
            "members-TOTAL_FORMS": "1",
            "members-INITIAL_FORMS": "0",
            "members-0-person": str(son.pk),
            "members-0-relation": "子",
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    household = Household.objects.get(head_id_number=head.id_number)
    assert household.head_name == "陈大山"
    relations = dict(household.members.values_list("person__name", "relation"))
    assert relations == {"陈大山": "户主", "陈小山": "子"}
    member = HouseholdMember.objects.get(person=son)
    row = ChangeRecord.objects.get(model="cases.householdmember", object_id=str(member.pk))
    assert row.actor == county_admin


def test_admin_edit_of_a_village_writes_history(admin_client, county_admin, dongguan):
    url = reverse("admin:cases_village_change", args=[dongguan.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(code="341522100007", change_reason="补录代码")
    assert admin_client.post(url, data).status_code == 302
    row = ChangeRecord.objects.get(model="cases.village", object_id=str(dongguan.pk))
    assert row.changes == {"code": ["", "341522100007"]}
    assert (row.actor, row.reason) == (county_admin, "补录代码")


def test_admin_delete_of_a_member_is_recorded(admin_client, registry):
    member = registry["kin"].membership
    url = reverse("admin:cases_householdmember_delete", args=[member.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not HouseholdMember.objects.filter(pk=member.pk).exists()
    row = ChangeRecord.objects.get(
        model="cases.householdmember", object_id=str(member.pk), action="delete"
    )
    assert row.changes["person"] == [registry["kin"].pk, None]


def test_persons_and_townships_cannot_be_deleted_or_added(admin_client, registry):
    zhang = registry["zhang"]
    assert (
        admin_client.post(
            reverse("admin:cases_person_delete", args=[zhang.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert Person.objects.filter(pk=zhang.pk).exists()
    assert admin_client.get(reverse("admin:cases_township_add")).status_code == 403


# --- history is read-only ---


def test_change_records_are_read_only(admin_client, county_admin, registry):
    row = ChangeRecord.objects.first()
    assert admin_client.get(reverse("admin:cases_changerecord_add")).status_code == 403
    url = reverse("admin:cases_changerecord_change", args=[row.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    response = admin_client.post(url, {"reason": "篡改"})
    assert response.status_code == 403
    delete = reverse("admin:cases_changerecord_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.reason != "篡改"
    model_admin = admin.site._registry[ChangeRecord]
    request = type("Request", (), {"user": county_admin})()
    assert not model_admin.has_delete_permission(request, row)


# --- users: role and scope through the inline ---


def test_user_admin_sets_role_and_scope_through_the_service(admin_client, county_admin, dongguan):
    clerk = factories.UserFactory(username="clerk")
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        {
            "staff_profile-0-role": "village_member",
            "staff_profile-0-township": "",
            "staff_profile-0-village": str(dongguan.pk),
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    profile = StaffProfile.objects.get(user=clerk)
    assert (profile.role, profile.township, profile.village) == (
        "village_member",
        dongguan.township,
        dongguan,
    )
    row = ChangeRecord.objects.get(model="cases.staffprofile", object_id=str(profile.pk))
    assert row.actor == county_admin


def test_user_admin_refuses_township_staff_without_township(admin_client):
    clerk = factories.UserFactory(username="clerk2")
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    data = admin_form_data(admin_client.get(url))
    data.update({"staff_profile-0-role": "township_staff"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "须指定所属乡镇" in response.content.decode()
    assert not StaffProfile.objects.filter(user=clerk).exists()


def test_county_admin_cannot_make_a_superuser(admin_client):
    clerk = factories.UserFactory(username="clerk3")
    url = reverse("admin:auth_user_change", args=[clerk.pk])
    data = admin_form_data(admin_client.get(url))
    data["is_superuser"] = "on"
    admin_client.post(url, data)
    clerk.refresh_from_db()
    assert not clerk.is_superuser


def test_village_names_in_person_form_need_no_query_each(
    admin_client, dongguan, django_assert_max_num_queries
):
    township = Township.objects.get(name="周集镇")
    Village.objects.bulk_create(Village(township=township, name=f"村{i}") for i in range(40))
    with django_assert_max_num_queries(25):
        assert admin_client.get(reverse("admin:cases_person_add")).status_code == 200


def test_task_area_admin_is_loaded_with_the_registry_admin(admin_client):
    from cases.models import MonitoringCase, TrackingVisit

    for model in (MonitoringCase, TrackingVisit):
        assert model in admin.site._registry
        url = reverse(f"admin:cases_{model._meta.model_name}_changelist")
        assert admin_client.get(url).status_code == 200
