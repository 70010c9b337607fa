"""The task-area list of children in hardship (`staff:hardship_children`) and its export."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases import casework
from cases.identity import mask_id_number
from cases.models import AuditEvent
from staff.views import person_care

from . import factories
from .downloads import response_bytes
from .test_hardship_children_definition import family

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate
LIST = "staff:hardship_children"
EXPORT = "staff:hardship_children_export"


def ten_years_old():
    return TODAY() - timedelta(days=365 * 10)


@pytest.fixture
def children(chengguan_user):
    """城关镇: a left-behind child with a care record, a child of a disabled mother, a child
    who does not count and an 18-year-old; 河口镇: one left-behind child."""
    left, _ = family("孙子", others=(("户主", False),), birth=ten_years_old())
    casework.child_care_record_add(
        chengguan_user, left, kind="visit", cared_on=TODAY(), provider="李娟", content="探访"
    )
    disabled, _ = family("女", others=(("户主", False), ("配偶", True)), birth=ten_years_old())
    family("子", others=(("户主", False), ("配偶", False)), birth=ten_years_old())
    family("孙子", others=(("户主", False),), birth=TODAY() - timedelta(days=365 * 19))
    there, _ = family("孙子", others=(("户主", False),), birth=ten_years_old(), township="河口镇")
    return {"left": left, "disabled": disabled, "there": there}


def names(response):
    return [person.name for person in response.context["page"].rows]


def test_township_staff_see_their_children_with_counts(client, chengguan_user, children):
    client.force_login(chengguan_user)
    response = client.get(reverse(LIST))
    assert response.status_code == 200
    assert set(names(response)) == {children["left"].name, children["disabled"].name}
    counts = response.context["counts"]
    assert (counts.total, counts.with_care, counts.without_care) == (2, 1, 1)
    assert {key: n for key, _, n in counts.by_reason} == {
        "monitored": 0,
        "dibao": 0,
        "disabled_parent": 1,
        "absent_parent": 1,
    }
    html = response.content.decode()
    assert children["there"].name not in html
    assert mask_id_number(children["left"].id_number) in html
    assert children["left"].id_number not in html
    assert AuditEvent.objects.filter(action="list", actor=chengguan_user).exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"reason": "absent_parent"}, {"left"}),
        ({"reason": "disabled_parent"}, {"disabled"}),
        ({"reason": "dibao"}, set()),
        ({"has_care": "yes"}, {"left"}),
        ({"has_care": "no"}, {"disabled"}),
        ({"village": "-1"}, None),  # not a village of the scope: no rows, not all
    ],
)
def test_filters(client, county_admin, children, query, expected):
    client.force_login(county_admin)
    response = client.get(reverse(LIST), query | {"township": str(children["left"].township_id)})
    got = set(names(response))
    if expected is None:
        assert got == set()
    else:
        assert got == {children[key].name for key in expected}
        assert response.context["counts"].total == len(expected)


def test_county_sees_every_township_and_pages(client, county_admin, children, monkeypatch):
    monkeypatch.setattr(person_care, "HARDSHIP_PER_PAGE", 2)
    client.force_login(county_admin)
    first = client.get(reverse(LIST))
    second = client.get(reverse(LIST), {"page": 2})
    assert len(names(first)) == 2 and len(names(second)) == 1
    assert set(names(first)) | set(names(second)) == {p.name for p in children.values()}
    assert first.context["counts"].total == 3
    assert 'rel="next"' in first.content.decode()


def test_village_member_and_viewer_read_their_scope(client, village_user, viewer_user, children):
    client.force_login(village_user)
    assert set(names(client.get(reverse(LIST)))) == {
        children["left"].name,
        children["disabled"].name,
    }
    client.force_login(viewer_user)
    assert len(names(client.get(reverse(LIST)))) == 3


def test_no_scope_sees_nothing(client, children):
    client.force_login(factories.UserFactory(username="nobody"))
    response = client.get(reverse(LIST))
    assert 'data-testid="no-scope"' in response.content.decode()
    assert client.get(reverse(EXPORT)).status_code == 403


def test_export_is_scoped_masked_and_audited(client, chengguan_user, children):
    client.force_login(chengguan_user)
    response = client.get(reverse(EXPORT), {"reason": "absent_parent"})
    assert response.status_code == 200
    content = response_bytes(response)
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("姓名", "公民身份号码（脱敏）")
    body = rows[1:]
    left = children["left"]
    assert [row[0] for row in body] == [left.name]
    assert body[0][1] == mask_id_number(left.id_number) and "********" in body[0][1]
    assert body[0][8] == "父母均不在户" and body[0][9] == "有"
    assert left.id_number not in content.decode("latin-1")
    assert AuditEvent.objects.filter(action="export", actor=chengguan_user).exists()
