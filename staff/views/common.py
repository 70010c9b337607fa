"""Small helpers shared by the staff pages (no views here): roles that may write, the one
form cycle (`form_page`) and its case-work form pages (`record_form_page`), the pages over the
user's scope (`scope_context`, `list_page`), export file names.
"""

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from cases.audit import audit_list
from cases.models import Role
from cases.scope import Scope, scope_for
from cases.selectors import page_of, parse_page_number
from cases.services import ServiceError
from staff.selectors.places import places


def can_write(scope: Scope) -> bool:
    return scope.can_write


def can_record_visits(scope: Scope) -> bool:
    return scope.can_write or scope.role == Role.VILLAGE_MEMBER


def require_writer_role(request, *, visits: bool = False) -> Scope:
    """The user's scope if their role may write (visits: village members too), else 403."""
    scope = scope_for(request.user)
    if visits and can_record_visits(scope):
        return scope
    if scope.can_write:
        return scope
    if scope.role == Role.VILLAGE_MEMBER:
        raise PermissionDenied("村残协专职委员只能登记入户走访，不能办理此业务")
    raise PermissionDenied("您的账号为只读账号，不能修改数据")


def require_county_admin(request, refusal: str) -> Scope:
    """The user's scope if they are a county admin, else 403 with `refusal` (what they tried)."""
    scope = scope_for(request.user)
    if not scope.is_county_admin:
        raise PermissionDenied(refusal)
    return scope


def next_url(request, default: str) -> str:
    """`next` from the POST or query string when it stays on this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def form_page(
    request,
    form,
    *,
    template: str,
    context: dict,
    on_valid: Callable,
    success_message: Callable | str,
    success_url: Callable | str,
):
    """Validate a bound form, call the service, redirect on success; else render with errors.

    A `ServiceError` (e.g. `CaseworkError`) goes back onto the form in Chinese; a
    `NotPermitted` / `Http404` from the service propagates (403 / 404).
    """
    if request.method == "POST" and form.is_valid():
        try:
            result = on_valid(form)
        except ServiceError as error:
            form.add_service_error(error)
        else:
            text = success_message(result) if callable(success_message) else success_message
            messages.success(request, text)
            url = success_url(result) if callable(success_url) else success_url
            return redirect(next_url(request, url))
    return render(
        request,
        template,
        {**context, "form": form},
        status=400 if form.is_bound else 200,
    )


def scope_context(request, nav: str, fill: Callable[[Scope], dict], **context) -> dict:
    """A page over the user's scope: `scope`, `nav`, and what `fill(scope)` reads, unless the
    user has no scope (the page then says so rather than showing an empty list)."""
    scope = scope_for(request.user)
    context |= {"scope": scope, "nav": nav}
    if not scope.sees_nothing:
        context |= fill(scope)
    return context


def list_page(request, template: str, *, nav: str, select, label: str, per_page: int, **context):
    """A filtered, paged list of the user's scope, audited as `label`.

    `select(user, GET, places)` gives the rows and the FilterSet (see `PlaceFilterSet`).
    """

    def fill(scope: Scope) -> dict:
        queryset, filterset = select(request.user, request.GET, places(request.user))
        page = page_of(queryset, parse_page_number(request.GET.get("page")), per_page)
        audit_list(request, label, request.GET, len(page.rows))
        return {"filter": filterset, "page": page, "query": request.GET.urlencode()}

    return render(request, template, scope_context(request, nav, fill, **context))


RECORD_PAGES = {
    "household": ("households", "staff:household_detail"),
    "person": ("persons", "staff:person_detail"),
}
"""The navigation entry and the page of each kind of record a case-work form is about."""


def record_form_page(request, record, form, service, success_message, *, target=None, **context):
    """`form_page` on `form_generic.html` for a case-work form about one household or person.

    On a valid form `service(user, target or record, **form.service_kwargs())` writes; the
    heading, button and test id are the form's own (`title`, `submit_label`, `testid`;
    `context` may override them); success leads back to the record's page.
    """
    name = record._meta.model_name
    nav, detail = RECORD_PAGES[name]
    page = {"title": form.title, "submit_label": form.submit_label, "testid": form.testid}
    return form_page(
        request,
        form,
        template="staff/form_generic.html",
        context={name: record, "nav": nav, **page, **context},
        on_valid=lambda f: service(request.user, target or record, **f.service_kwargs()),
        success_message=success_message,
        success_url=reverse(detail, args=[record.pk]),
    )


def export_filename(label: str) -> str:
    return f"{label}_{timezone.localdate():%Y%m%d}.xlsx"


def require_export_scope(request):
    if scope_for(request.user).sees_nothing:
        raise PermissionDenied("您的账号尚未分配数据范围，不能导出")


GET_POST = require_http_methods(["GET", "POST"])


def form_data(request):
    return request.POST if request.method == "POST" else None


EXPORT_LIMIT = 100_000
