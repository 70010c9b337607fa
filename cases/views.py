"""Pages of the cases app. Thin: parse the request, call a selector, render.

Every view is marked `@scope_safe` (tests/test_scope.py walks all URLs and fails on
an unmarked one) and reads personal data only through `cases.selectors`, which
start from `cases.scope.scoped()` / `get_in_scope_or_404()`.
"""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .audit import audit_list
from .forms import LoginForm
from .scope import scope_for, scope_safe
from .selectors import (
    SEARCH_MAX_LENGTH,
    PersonFilter,
    page_of,
    parse_page_number,
    person_list,
)

PERSONS_PER_PAGE = 50


class HuoqiuLoginView(LoginView):
    """Django's LoginView with the Chinese form; django-axes locks by username."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def _person_list_context(request) -> dict:
    scope = scope_for(request.user)
    filterset = PersonFilter(data=request.GET or None)
    query = (request.GET.get("q") or "").strip()
    page = page_of(
        person_list(request.user, request.GET),
        parse_page_number(request.GET.get("page")),
        PERSONS_PER_PAGE,
    )
    audit_list(request, "cases.person", request.GET, len(page.rows))
    return {
        "scope": scope,
        "query": query,
        "query_invalid": bool(query) and not filterset.is_valid(),
        "search_max_length": SEARCH_MAX_LENGTH,
        "page": page,
    }


@scope_safe(how="certified persons via selectors.person_list (scoped)")
@login_required
@require_GET
def home(request):
    """The landing page: the user's scope and the certified persons in it."""
    context = _person_list_context(request)
    context["nav"] = "home"
    return render(request, "cases/home.html", context)


@scope_safe(how="certified persons via selectors.person_list (scoped)")
@login_required
@require_GET
def persons(request):
    """The certified-person list with search (same selector as the home page)."""
    context = _person_list_context(request)
    context["nav"] = "persons"
    return render(request, "cases/person_list.html", context)


# The person page (`cases:person_detail`) is `cases.views_household.person` (issue 6).
