"""Household list, household page and the person page: everything known in one place.

Thin: the reads are `cases.selectors_pages` (scoped; a fixed number of queries per
page), the writes are the form pages in `cases.views_forms`. Each page audits what it
showed (`audit_list` / `audit_view`).
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .audit import audit_list, audit_view
from .casework import CASE_TRANSITIONS
from .forms_casework import CaseOpenForm, CaseTransitionForm
from .scope import scope_for, scope_safe
from .selectors import SEARCH_MAX_LENGTH, page_of, parse_page_number
from .selectors_pages import (
    comparison,
    household_detail,
    household_list,
    household_members,
    household_person_ids,
    membership_of,
    person_page,
    places,
    roster_households,
    survey_answers,
    timeline,
    visit_list,
)
from .views_common import can_record_visits, can_write

HOUSEHOLDS_PER_PAGE = 50


@scope_safe(how="households via selectors_pages.household_list (scoped); villages scoped")
@login_required
@require_GET
def households(request):
    scope = scope_for(request.user)
    context = {"scope": scope, "nav": "households", "search_max_length": SEARCH_MAX_LENGTH}
    if not scope.sees_nothing:
        queryset, filterset = household_list(request.user, request.GET, places(request.user))
        page = page_of(queryset, parse_page_number(request.GET.get("page")), HOUSEHOLDS_PER_PAGE)
        audit_list(request, "cases.household", request.GET, len(page.rows))
        context |= {"filter": filterset, "page": page, "query": request.GET.urlencode()}
    return render(request, "cases/household_list.html", context)


def _open_findings(events):
    return [event for event in events if event.is_open_finding]


@scope_safe(how="one household via selectors_pages.household_detail (get_in_scope_or_404)")
@login_required
@require_GET
def household(request, pk: int):
    """The household: members with survey and roster side by side, case, timeline."""
    record = household_detail(request.user, pk)
    members = household_members(request.user, record)
    events = timeline(
        request.user, household_id=record.pk, person_ids=household_person_ids(record.pk)
    )
    audit_view(request, record)
    scope = scope_for(request.user)
    context = {
        "household": record,
        "members": members,
        "roster_households": roster_households(members),
        "events": events,
        "open_findings": _open_findings(events),
        "can_write": can_write(scope),
        "can_visit": can_record_visits(scope),
        "nav": "households",
    }
    context |= case_forms(record, scope)
    return render(request, "cases/household_detail.html", context)


def case_forms(record, scope) -> dict:
    """The monitoring-case form the household page offers (none for read-only roles)."""
    if not can_write(scope):
        return {}
    if record.case_id is None:
        return {"open_form": CaseOpenForm()}
    allowed = CASE_TRANSITIONS.get(record.case_status, ())
    if not allowed:
        return {}
    return {"transition_form": CaseTransitionForm(allowed=allowed)}


@scope_safe(how="one person via selectors_pages.person_page (get_in_scope_or_404)")
@login_required
@require_GET
def person(request, pk: int):
    """The person: identity (masked), certificate, household, survey vs roster, timeline."""
    record = person_page(request.user, pk)
    membership = membership_of(record)
    household_id = membership.household_id if membership is not None else None
    members = (
        household_members(request.user, membership.household) if membership is not None else []
    )
    events = timeline(request.user, household_id=household_id, person_ids=[record.pk])
    audit_view(request, record)
    scope = scope_for(request.user)
    return render(
        request,
        "cases/person_detail.html",
        {
            "person": record,
            "membership": membership,
            "members": [row for row in members if row.person.pk != record.pk],
            "compared": comparison(record),
            "answers": survey_answers(getattr(record, "survey", None)),
            "events": events,
            "open_findings": _open_findings(events),
            "can_write": can_write(scope),
            "can_visit": can_record_visits(scope),
            "nav": "persons",
        },
    )


VISITS_PER_PAGE = 50


@scope_safe(how="visits via selectors_pages.visit_list (scoped); villages scoped")
@login_required
@require_GET
def visits(request):
    """Visits in scope, newest first; filter by kind, place, overdue."""
    scope = scope_for(request.user)
    context = {"scope": scope, "nav": "visits"}
    if not scope.sees_nothing:
        queryset, filterset = visit_list(request.user, request.GET, places(request.user))
        page = page_of(queryset, parse_page_number(request.GET.get("page")), VISITS_PER_PAGE)
        audit_list(request, "cases.trackingvisit", request.GET, len(page.rows))
        context |= {"filter": filterset, "page": page, "query": request.GET.urlencode()}
    return render(request, "cases/visit_list.html", context)
