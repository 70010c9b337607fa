"""Home page and person list: scoped certified persons, search, masking, paging, query budget."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.identity import age_on, check_character, mask_id_number
from cases.models import Person
from cases.selectors import page_of, parse_page_number, person_list
from staff.views import persons as views

from . import factories

pytestmark = pytest.mark.django_db


def certified(name, township="河口镇", village="东风村", birth=None, category=4, grade=2, **kw):
    person = factories.PersonFactory(
        name=name,
        township=factories.township(township),
        village=factories.village(township, village),
        **({"birth": birth} if birth else {}),
        **kw,
    )
    factories.CertificateFactory(person=person, category=category, grade=grade)
    return person


def page_html(client, url_name="home", **params):
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return response.content.decode()


def test_home_names_the_scope_and_lists_its_certified_persons_masked(client, hekou_user):
    wang = certified("王小明", birth=date(1980, 5, 17), category=5, grade=1)
    client.force_login(hekou_user)
    html = page_html(client)
    assert 'data-testid="home-scope">河口镇<' in html
    assert "王小明" in html
    masked = mask_id_number(wang.id_number)
    assert masked == f"{wang.id_number[:6]}********{wang.id_number[-4:]}"
    assert masked in html
    assert wang.id_number not in html
    for header in ("姓名", "性别", "年龄", "公民身份号码", "残疾类别", "等级", "乡镇", "村"):
        assert f'<th scope="col">{header}</th>' in html
    assert f'data-label="年龄">{age_on(wang.birth_date, timezone.localdate())}<' in html
    assert 'data-label="残疾类别">智力<' in html
    assert 'data-label="等级">一级<' in html
    assert 'data-label="乡镇">河口镇<' in html
    assert 'data-label="村">东风村<' in html
    gender = "男" if wang.gender == "M" else "女"
    assert f'data-label="性别">{gender}<' in html
    assert reverse("staff:person_detail", args=[wang.pk]) in html


def test_persons_without_certificate_are_not_listed(client, hekou_user):
    certified("持证人")
    factories.PersonFactory(
        name="家属甲",
        township=factories.township("河口镇"),
        village=factories.village("河口镇", "东风村"),
    )
    client.force_login(hekou_user)
    html = page_html(client, "staff:person_list")
    assert "持证人" in html
    assert "家属甲" not in html


def test_person_list_page_shares_the_selector(client, hekou_user):
    certified("李四")
    certified("城关人", township="城关镇", village="东关村")
    client.force_login(hekou_user)
    html = page_html(client, "staff:person_list")
    assert "李四" in html
    assert "城关人" not in html
    assert 'aria-current="page">人员<' in html


@pytest.mark.parametrize(
    "query_of",
    [
        pytest.param(lambda p: p.name, id="full-name"),
        pytest.param(lambda p: p.name[1:], id="part-of-name"),
        pytest.param(lambda p: f" {p.name} ", id="name-with-spaces"),
        pytest.param(lambda p: p.id_number, id="full-id"),
        pytest.param(lambda p: p.id_number[6:14], id="part-of-id"),
        pytest.param(lambda p: p.id_number[-4:], id="last-four"),
        pytest.param(
            lambda p: p.id_number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
            id="full-width-id",
        ),
        pytest.param(lambda p: p.certificate.number, id="certificate-number"),
    ],
)
def test_search_by_name_or_id(client, hekou_user, query_of):
    target = certified("欧阳娜娜", birth=date(1975, 3, 9))
    other = certified("张伟", birth=date(2001, 11, 30))
    client.force_login(hekou_user)
    html = page_html(client, q=query_of(target))
    assert "欧阳娜娜" in html
    assert "张伟" not in html, other.id_number


def test_search_with_lower_case_x_and_old_15_digit_id(client, hekou_user):
    number_x = None
    for seq in range(0, 999, 2):
        first17 = f"34152219700101{seq:03d}"
        if check_character(first17) == "X":
            number_x = first17 + "X"
            break
    assert number_x is not None
    with_x = certified("带X的人", id_number=number_x)
    old15 = "341522700203001"
    first17_old = old15[:6] + "19" + old15[6:]
    converted = certified("旧号人", id_number=first17_old + check_character(first17_old))
    certified("无关人", birth=date(1999, 9, 9))
    client.force_login(hekou_user)

    html = page_html(client, q=with_x.id_number.lower())
    assert "带X的人" in html and "旧号人" not in html and "无关人" not in html

    html = page_html(client, q=old15)
    assert "旧号人" in html and "带X的人" not in html and "无关人" not in html
    assert converted.id_number not in html


def test_search_without_match_explains_and_keeps_scope(client, hekou_user):
    certified("城关人", township="城关镇", village="东关村")
    client.force_login(hekou_user)
    html = page_html(client, q="城关人")
    assert 'data-testid="no-results"' in html
    assert "城关人" in html  # echoed in the message only
    assert "person-table" not in html
    assert "河口镇" in html


def test_overlong_search_is_refused_not_ignored(client, hekou_user):
    certified("王五")
    client.force_login(hekou_user)
    html = page_html(client, q="王" * 41)
    assert "查询内容过长" in html
    assert "person-table" not in html


def test_paging_forward_and_back(client, hekou_user, monkeypatch):
    monkeypatch.setattr(views, "PERSONS_PER_PAGE", 2)
    people = [certified(f"人员{index}") for index in range(5)]
    ordered = list(
        Person.objects.filter(pk__in=[p.pk for p in people]).values_list("name", flat=True)
    )
    client.force_login(hekou_user)

    first = page_html(client)
    assert ordered[0] in first and ordered[1] in first and ordered[2] not in first
    assert 'rel="next" href="?page=2"' in first
    assert 'rel="prev"' not in first

    third = page_html(client, page=3)
    assert ordered[4] in third and ordered[3] not in third
    assert 'rel="prev" href="?page=2"' in third
    assert 'rel="next"' not in third
    assert "第 5–5 条" in third

    beyond = page_html(client, page=9)
    assert "没有更多记录了" in beyond


def test_paging_keeps_the_search(client, hekou_user, monkeypatch):
    monkeypatch.setattr(views, "PERSONS_PER_PAGE", 1)
    certified("张甲")
    certified("张乙")
    client.force_login(hekou_user)
    html = page_html(client, q="张")
    assert "?q=%E5%BC%A0&amp;page=2" in html


def test_page_of_fetches_one_extra_row_and_no_count(django_assert_num_queries, hekou_user):
    for index in range(4):
        certified(f"甲{index}")
    queryset = person_list(hekou_user, "")
    with django_assert_num_queries(1) as captured:
        page = page_of(queryset, 2, per_page=2)
    sql = captured.captured_queries[0]["sql"].upper()
    assert "COUNT(" not in sql
    assert len(page.rows) == 2
    assert page.has_next is False  # exactly 4 rows: page 2 is the last
    assert page.has_previous is True
    assert (page.start_index, page.end_index) == (3, 4)
    assert page_of(queryset, 1, per_page=2).has_next is True
    assert page_of(queryset, 1, per_page=4).has_next is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 1), ("", 1), ("abc", 1), ("0", 1), ("-3", 1), ("7", 7), ("99999999", 10_000)],
)
def test_parse_page_number(raw, expected):
    assert parse_page_number(raw) == expected


def test_a_full_page_stays_within_the_query_budget(
    client, hekou_user, django_assert_max_num_queries
):
    for index in range(30):
        certified(f"预算{index}", village=f"村{index % 3}")
    client.force_login(hekou_user)
    # The home page: the list's budget plus one query per count of 今日工作 (five).
    with django_assert_max_num_queries(15):
        html = page_html(client)
    assert html.count('data-label="姓名"') == 30
    with django_assert_max_num_queries(10):
        page_html(client, "staff:person_list", q="预算1")


def test_user_without_scope_sees_an_explanation_and_no_data(client):
    certified("某人")
    nobody = factories.UserFactory(username="nobody")
    client.force_login(nobody)
    for url_name in ("home", "staff:person_list"):
        html = page_html(client, url_name)
        assert 'data-testid="no-scope"' in html
        assert "尚未分配数据范围" in html
        assert "某人" not in html
        assert "person-table" not in html


def test_empty_scope_says_there_is_nothing_yet(client, hekou_user):
    client.force_login(hekou_user)
    html = page_html(client)
    assert "还没有持证残疾人记录" in html


def test_person_detail_shows_the_masked_id_only(client, hekou_user):
    person = certified("赵六", category=6, grade=3)
    client.force_login(hekou_user)
    response = client.get(reverse("staff:person_detail", args=[person.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "赵六" in html
    assert f'data-testid="person-id">{mask_id_number(person.id_number)}<' in html
    assert person.id_number not in html
    assert "精神" in html and "三级" in html


def test_person_detail_of_an_uncertified_member_in_scope(client, hekou_user):
    member = factories.PersonFactory(
        name="家属乙",
        township=factories.township("河口镇"),
        village=factories.village("河口镇", "东风村"),
    )
    client.force_login(hekou_user)
    response = client.get(reverse("staff:person_detail", args=[member.pk]))
    assert response.status_code == 200
    assert "无（非持证人员）" in response.content.decode()


def test_pages_require_login(client):
    person = certified("匿名测试")
    for url in (reverse("home"), reverse("staff:person_list")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    response = client.get(reverse("staff:person_detail", args=[person.pk]))
    assert response.status_code == 302


def test_list_pages_are_get_only(client, hekou_user):
    client.force_login(hekou_user)
    assert client.post(reverse("home")).status_code == 405
    assert client.post(reverse("staff:person_list")).status_code == 405


# --- a household recorded in another township -----------------------------------------------


def other_township_households(person):
    """A survey household and a roster household of `person`, both under 城关镇, whose head is
    郑远方."""
    head = certified("郑远方", township="城关镇", village="东关村")
    household = factories.HouseholdFactory(head=head)
    factories.HouseholdMemberFactory(household=household, person=head)
    factories.HouseholdMemberFactory(household=household, person=person, relation="子女")
    roster = factories.RosterHouseholdFactory(head_name="郑远方", household_number="341522109999")
    factories.RosterMemberFactory(household=roster, person=person, relation="子女")
    return household


def test_a_household_in_another_township_shows_only_that_it_exists(
    client, hekou_user, county_admin
):
    person = certified("河口人")
    household = other_township_households(person)
    household_url = reverse("staff:household_detail", args=[household.pk])
    person_url = reverse("staff:person_detail", args=[person.pk])
    client.force_login(hekou_user)
    html = client.get(person_url).content.decode()
    assert 'data-testid="household-other">另一乡镇的家庭<' in html
    for hidden in ("郑远方", household_url, "城关镇", "东关村"):
        assert hidden not in html, hidden
    client.force_login(county_admin)
    html = client.get(person_url).content.decode()
    assert "另一乡镇的家庭" not in html
    assert f'href="{household_url}" data-testid="household-link">郑远方户<' in html
    assert "城关镇" in html


def test_a_members_roster_household_in_another_township_is_not_shown(client, hekou_user):
    head = certified("河口户主")
    household = factories.HouseholdFactory(head=head)
    factories.HouseholdMemberFactory(household=household, person=head)
    roster = factories.RosterHouseholdFactory(head_name="郑远方", household_number="341522109999")
    factories.RosterMemberFactory(household=roster, person=head)
    client.force_login(hekou_user)
    response = client.get(reverse("staff:household_detail", args=[household.pk]))
    html = response.content.decode()
    assert "另一乡镇的家庭" in html
    for hidden in ("郑远方", "341522109999", "城关镇", "东关村"):
        assert hidden not in html, hidden
