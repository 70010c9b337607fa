"""`record_url` (staff/templatetags/record_urls.py) gives exactly what `{% url %}` gives."""

import re

import pytest
from django.template import engines
from django.urls import reverse

from cases.scope import Scope
from staff.navigation import nav_html
from staff.templatetags.record_urls import record_url

NAMES = ("staff:person_detail", "staff:household_detail", "staff:finding_detail")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pk", [1, 7, 98765, "42"])
def test_record_url_equals_reverse(name, pk):
    assert record_url(pk, name) == reverse(name, args=[int(pk)])


def test_record_url_in_a_template():
    template = engines["django"].from_string(
        "{% load record_urls %}{{ pk|record_url:'staff:person_detail' }}"
    )
    assert template.render({"pk": 12}) == reverse("staff:person_detail", args=[12])


def test_record_url_refuses_a_key_that_is_not_a_number():
    with pytest.raises(ValueError):
        record_url("12/../admin", "staff:person_detail")


def nav_keys(html: str) -> set[str]:
    return set(re.findall(r'data-nav="([a-z_]+)"', html))


def test_kept_navigation_is_per_role_and_active_entry():
    county = nav_html(Scope(role="county_admin"))
    township = nav_html(Scope(role="township_staff", township_id=1))
    assert nav_keys(county) > nav_keys(township)
    assert "admin" not in nav_keys(county)  # not is_staff
    assert nav_keys(nav_html(Scope(role=None))) == {"home"}
    assert 'aria-current="page"' not in county
    active = nav_html(Scope(role="county_admin"), active="stats")
    assert re.findall(r'data-nav="([a-z_]+)" class="active" aria-current="page"', active) == [
        "stats"
    ]
