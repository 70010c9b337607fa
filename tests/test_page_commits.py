"""A page view writes one thing, its audit event, in one commit (docs/PERFORMANCE.md, Pages).

Transactional tests: the commits are real, as under gunicorn (tests/commit_counter.py).
"""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from cases.models import AuditEvent
from staff.views import persons

from . import factories
from .commit_counter import counting_commits

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ("queue", "household", "person", "finding", "dashboard", "stats", "home")


@pytest.fixture
def urls():
    record = factories.certified_person(township="河口镇", village_name="东风村", household=True)
    person = record.person
    finding = factories.FindingFactory(person=person)
    return {
        "queue": reverse("staff:finding_list"),
        "household": reverse("staff:household_detail", args=[person.membership.household_id]),
        "person": reverse("staff:person_detail", args=[person.pk]),
        "finding": reverse("staff:finding_detail", args=[finding.pk]),
        "dashboard": reverse("staff:dashboard"),
        "stats": reverse("staff:stats"),
        "home": reverse("home"),
    }


def view_counted(client: Client, url: str):
    before = AuditEvent.objects.count()
    with counting_commits(connection) as counter:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return counter, AuditEvent.objects.count() - before


@pytest.mark.parametrize("page", PAGES)
def test_a_page_view_commits_once_and_that_commit_is_its_audit_event(
    client, hekou_user, urls, page
):
    client.force_login(hekou_user)
    client.get(urls[page])  # the first view after the login renews the session
    counter, events = view_counted(client, urls[page])
    assert counter.write_commits == 1, counter.writes
    assert events == 1
    assert all("cases_audit" in statement for statement in counter.writes), counter.writes


def test_the_county_dashboard_commits_once_whether_its_figures_are_kept_or_not(
    client, admin_user, urls
):
    client.force_login(admin_user)
    client.get(urls["dashboard"])  # the first view after the login renews the session
    for query in ("", "", "?refresh=1"):
        counter, events = view_counted(client, urls["dashboard"] + query)
        assert (counter.write_commits, events) == (1, 1), counter.writes


def test_the_session_is_renewed_by_a_second_commit_once_the_refresh_interval_passed(
    client, hekou_user, urls, settings
):
    """The idle timeout still holds (cases/http.py): a renewal is one more commit."""
    settings.SESSION_REFRESH_SECONDS = 0
    client.force_login(hekou_user)
    client.get(urls["person"])
    counter, events = view_counted(client, urls["person"])
    assert counter.write_commits == 2
    assert events == 1
    assert any("django_session" in statement for statement in counter.writes)


def test_a_failing_page_is_still_audited(hekou_user, urls, monkeypatch):
    """A page that fails half-way leaves its `error` event (cases.audit.AuditMiddleware)."""

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(persons, "person_records", broken)
    client = Client(raise_request_exception=False)
    client.force_login(hekou_user)
    with counting_commits(connection) as counter:
        response = client.get(urls["person"])
    assert response.status_code == 500
    event = AuditEvent.objects.filter(actor=hekou_user).order_by("-pk").first()
    assert event is not None
    assert (event.path, event.result) == (urls["person"], AuditEvent.Result.ERROR)
    assert counter.write_commits >= 1
