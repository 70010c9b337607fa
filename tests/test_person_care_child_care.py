"""困境残疾儿童关爱 on the person page: whether the child counts and why, the care records,
adding and correcting one (village committee members too, in their own village)."""

from datetime import date, timedelta

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from cases import casework
from cases.casework_base import CaseworkError
from cases.models import ChangeRecord, ChildCareRecord

from . import factories
from .test_hardship_children_definition import family

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def ten_years_old():
    return TODAY() - timedelta(days=365 * 10)


def add_url(person):
    return reverse("staff:child_care_create", args=[person.pk])


def page(client, person):
    return client.get(reverse("staff:person_detail", args=[person.pk])).content.decode()


def care_data(**overrides):
    return {
        "kind": "visit",
        "cared_on": TODAY().isoformat(),
        "provider": "镇残联 李娟",
        "content": "入户探访，送学习用品",
    } | overrides


@pytest.fixture
def left_behind():
    """A certified 10-year-old in 城关镇东关村 living with the grandparents only."""
    child, _ = family("孙子", others=(("户主", False), ("配偶", False)), birth=ten_years_old())
    return child


def test_the_section_says_why_the_child_counts_and_records_care(
    client, chengguan_user, left_behind
):
    client.force_login(chengguan_user)
    html = page(client, left_behind)
    assert 'data-testid="hardship"' in html
    assert "属于困境残疾儿童：父母均不在户" in html
    assert "没有关爱记录" in html

    response = client.post(add_url(left_behind), care_data())
    assert response.status_code == 302
    record = ChildCareRecord.objects.get(person=left_behind)
    assert (record.kind, record.provider, record.recorded_by) == (
        "visit",
        "镇残联 李娟",
        chengguan_user,
    )
    assert ChangeRecord.objects.filter(
        model="cases.childcarerecord", object_id=str(record.pk), action="create"
    ).exists()
    html = page(client, left_behind)
    assert "入户探访，送学习用品" in html and "探访关爱" in html


def test_a_child_who_does_not_count_is_told_so_and_adults_have_no_section(client, chengguan_user):
    child, _ = family("子", others=(("户主", False), ("配偶", False)), birth=ten_years_old())
    client.force_login(chengguan_user)
    assert "目前不属于困境残疾儿童" in page(client, child)
    adult, _ = family("户主", others=(), birth=date(1980, 1, 1))
    assert 'data-testid="hardship"' not in page(client, adult)


def test_village_member_adds_care_in_their_own_village_only(client, village_user, left_behind):
    client.force_login(village_user)
    assert 'data-testid="child-care-add"' in page(client, left_behind)
    assert client.post(add_url(left_behind), care_data()).status_code == 302
    assert ChildCareRecord.objects.get().recorded_by == village_user
    # A child of another village of the same township: not in the member's scope.
    elsewhere, _ = family("孙子", others=(("户主", False),), birth=ten_years_old())
    elsewhere.village = factories.village("城关镇", "西关村")
    elsewhere.save()
    assert client.get(add_url(elsewhere)).status_code == 404
    with pytest.raises(Http404):
        casework.child_care_record_add(village_user, elsewhere, **service_values())
    assert ChildCareRecord.objects.count() == 1


def service_values(**overrides):
    return {
        "kind": "visit",
        "cared_on": TODAY(),
        "provider": "李娟",
        "content": "探访",
    } | overrides


def test_scope_404_and_viewer_403(client, hekou_user, viewer_user, left_behind):
    client.force_login(hekou_user)
    assert client.get(add_url(left_behind)).status_code == 404
    assert client.post(add_url(left_behind), care_data()).status_code == 404
    client.force_login(viewer_user)
    assert client.get(add_url(left_behind)).status_code == 403
    assert client.post(add_url(left_behind), care_data()).status_code == 403
    assert 'data-testid="child-care-add"' not in page(client, left_behind)
    assert not ChildCareRecord.objects.exists()
    record = casework.child_care_record_add(
        factories.user_with_role("county_admin"), left_behind, **service_values()
    )
    edit = reverse("staff:child_care_edit", args=[record.pk])
    assert client.post(edit, care_data(content="改")).status_code == 403
    client.force_login(hekou_user)
    assert client.get(edit).status_code == 404
    assert client.post(edit, care_data(content="改")).status_code == 404
    record.refresh_from_db()
    assert record.content == "探访"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": ""}, "kind", "请选择关爱类型"),
        ({"kind": "party"}, "kind", "关爱类型的选项无效"),
        ({"provider": ""}, "provider", "请填写关爱人/单位"),
        ({"content": ""}, "content", "请填写关爱内容"),
        ({"content": "好" * 301}, "content", "关爱内容不能超过300个字"),
        ({"cared_on": "2099-01-01"}, "cared_on", "关爱日期不能晚于今天"),
        ({"cared_on": "昨天"}, "cared_on", "关爱日期格式不正确"),
    ],
)
def test_bad_input_writes_nothing(client, chengguan_user, left_behind, overrides, field, message):
    client.force_login(chengguan_user)
    response = client.post(add_url(left_behind), care_data(**overrides))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not ChildCareRecord.objects.exists()


def test_the_service_refuses_adults_and_uncertified_children(chengguan_user, left_behind):
    adult, _ = family("户主", others=(), birth=date(1980, 1, 1))
    with pytest.raises(CaseworkError, match="仅适用于0至17周岁的儿童") as refused:
        casework.child_care_record_add(chengguan_user, adult, **service_values())
    assert refused.value.field == "cared_on"
    uncertified, _ = family("孙子", others=(("户主", False),), certified=False)
    with pytest.raises(CaseworkError, match="未持残疾人证"):
        casework.child_care_record_add(chengguan_user, uncertified, **service_values())
    assert not ChildCareRecord.objects.exists()


def test_a_record_is_corrected_with_history(client, chengguan_user, left_behind):
    record = casework.child_care_record_add(chengguan_user, left_behind, **service_values())
    client.force_login(chengguan_user)
    url = reverse("staff:child_care_edit", args=[record.pk])
    assert 'value="李娟"' in client.get(url).content.decode()
    response = client.post(url, care_data(content="", reason="补充"))
    assert response.status_code == 400
    response = client.post(url, care_data(kind="education", content="送教上门", reason="类型选错"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.kind, record.content) == ("education", "送教上门")
    change = ChangeRecord.objects.get(model="cases.childcarerecord", action="update")
    assert change.reason == "类型选错" and change.changes["kind"] == ["visit", "education"]
