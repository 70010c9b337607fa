"""Offline visit capture (docs/FIELDWORK.md): the installable app's service worker, the
household picker, the offline pack, the sync endpoint and the logout that clears the phone.

The phone keeps only what the pack gives it (households of the worker's scope, at most
`OFFLINE_PACK_MAX`, ID numbers masked) and the visits typed offline; the page that shows
them (`offline_visits`) carries no personal data itself, so the service worker may keep
it. A visit comes back through `offline_sync`, validated by the same `VisitForm` and
written by the same `casework.visit_record` as the online form, once per phone-made key.
"""

import json
from pathlib import Path
from typing import Any
from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LogoutView
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
)
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from cases import casework
from cases.audit import Action, Result, audit, audit_list
from cases.identity import mask_id_number
from cases.masking import mask_data, shown_text
from cases.models import Household, HouseholdMember, Role, TrackingVisit
from cases.scope import get_in_scope_or_404, scope_for, scope_safe, scoped
from cases.services import ServiceError
from staff.forms.casework import VisitForm
from staff.selectors.households import household_list
from staff.selectors.places import places
from staff.views.common import require_writer_role, scope_context
from staff.views.households import household_members_of

# The most households a worker takes offline at once, and the most the picker lists.
OFFLINE_PACK_MAX = 50
PICK_LIST_MAX = 200
# The phone deletes the pack and unsent visits this long after they were saved (static/js/pwa.js).
OFFLINE_KEEP_HOURS = 24
PACK_VERSION = 1

REFUSED_OUT_OF_SCOPE = "该家庭已不在您的数据范围内（可能已迁出或调整了乡镇、村），这条走访无法保存"
REFUSED_ROLE = "您的账号不能登记走访"
REFUSED_FORMAT = "同步的数据格式不正确，请在离线包页面重新填写"
LOGIN_EXPIRED = "登录已过期，请重新登录后再同步（未同步的走访仍保存在手机上）"


# --- the installable app --------------------------------------------------------------------


@scope_safe(how="no personal data: the service worker script from static/")
@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    """static/sw.js at the site root, so that it may control every page (its scope is the
    folder it is served from)."""
    found = finders.find("sw.js")
    if not found:
        raise Http404("sw.js")
    response = HttpResponse(
        Path(str(found)).read_bytes(), content_type="text/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    # A new version is picked up at the next page load, not after a day in a cache.
    response["Cache-Control"] = "no-cache"
    return response


class ClearingLogoutView(LogoutView):
    """Django's logout, telling the browser to drop what this site stored on it: the offline
    pack and unsent visits (IndexedDB), the service worker's cached pages. static/js/pwa.js
    clears the same before the form is sent, for browsers that ignore the header."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


# --- pages ------------------------------------------------------------------------------------


@scope_safe(how="no personal data: the page is filled on the phone from the offline pack")
@login_required
@require_GET
def offline_visits(request: HttpRequest) -> HttpResponse:
    """今日走访（离线包）: the page the service worker keeps; static/js/offline.js fills it from
    the pack on the phone, online or not."""
    require_writer_role(request, visits=True)
    return render(
        request,
        "staff/offline_visits.html",
        {"nav": "visits", "keep_hours": OFFLINE_KEEP_HOURS, "pack_max": OFFLINE_PACK_MAX},
    )


@scope_safe(how="households via selectors.households.household_list (scoped)")
@login_required
@require_GET
def offline_pick(request: HttpRequest) -> HttpResponse:
    """Choosing the households to take offline: the household list of the worker's scope."""
    require_writer_role(request, visits=True)

    def fill(scope) -> dict:
        queryset, filterset = household_list(request.user, request.GET, places(request.user))
        rows = list(queryset[: PICK_LIST_MAX + 1])
        audit_list(request, "cases.household", request.GET, min(len(rows), PICK_LIST_MAX))
        return {
            "filter": filterset,
            "rows": rows[:PICK_LIST_MAX],
            "more": len(rows) > PICK_LIST_MAX,
        }

    context = scope_context(
        request, "visits", fill, pack_max=OFFLINE_PACK_MAX, pick_max=PICK_LIST_MAX
    )
    return render(request, "staff/offline_pick.html", context)


# --- the pack -------------------------------------------------------------------------------


def _widget_kind(field) -> str:
    widget = field.widget
    if getattr(widget, "input_type", None) == "radio":
        return "radio"
    if getattr(widget, "input_type", None) == "checkbox":
        return "checkbox"
    if widget.__class__.__name__ == "Textarea":
        return "textarea"
    if getattr(widget, "input_type", None) == "select" or hasattr(field, "choices"):
        return "select"
    return getattr(widget, "input_type", None) or "text"


_KEPT_ATTRS = ("min", "max", "step", "inputmode", "maxlength", "minlength", "rows", "readonly")


def form_fields(form: VisitForm) -> list[dict]:
    """The visit form's fields as the phone renders them (static/js/offline.js): name, label,
    kind of input, choices, limits and the group it is shown in. Read from the form itself,
    so a field added to `VisitForm` appears offline too."""
    groups = {
        **dict.fromkeys(getattr(form, "CHECKS", ()), "两不愁三保障及饮水安全"),
        **dict.fromkeys(getattr(form, "MONEY", ()), "收入与支出"),
    }
    fields = []
    for bound in form:
        field = bound.field
        attrs = {**field.widget_attrs(field.widget), **field.widget.attrs}
        item: dict[str, Any] = {
            "name": bound.name,
            "label": str(bound.label),
            "kind": _widget_kind(field),
            "required": bool(field.required),
            "disabled": bool(field.disabled),
            "help": str(field.help_text or ""),
            "group": groups.get(bound.name, ""),
            "attrs": {key: str(attrs[key]) for key in _KEPT_ATTRS if key in attrs},
        }
        if hasattr(field, "choices"):
            item["choices"] = [[str(value), str(label)] for value, label in field.choices]
        fields.append(item)
    return fields


def _visitor_name(user) -> str:
    if user.last_name and user.first_name:
        return f"{user.last_name}{user.first_name}"
    return user.get_full_name() or user.get_username()


def _selected_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ValueError("所选家庭的编号不正确，请重新选择") from None
        if number not in ids:
            ids.append(number)
    return ids


def build_pack(user, household_ids: list[int], *, village_member: bool) -> dict:
    """The offline pack of these households (all in the user's scope): each household's
    head, place and members with masked ID numbers, and the visit form's fields."""
    households = list(
        scoped(user, Household.objects.select_related("township", "village"))
        .filter(pk__in=household_ids)
        .order_by("village__name", "head_name", "pk")
    )
    members: dict[int, list[dict]] = {household.pk: [] for household in households}
    rows = scoped(
        user,
        HouseholdMember.objects.filter(household__in=households).select_related("person"),
    ).order_by("household_id", "id")
    for row in rows:
        members[row.household_id].append(
            {
                "id": row.person.pk,
                "name": shown_text(row.person.name),
                "id_number": mask_id_number(row.person.id_number),
                "relation": shown_text(row.relation),
            }
        )
    form = VisitForm(members=(), village_member=village_member)
    pack = {
        "version": PACK_VERSION,
        "user": user.get_username(),
        "made_at": timezone.now().isoformat(),
        "keep_hours": OFFLINE_KEEP_HOURS,
        "households": [
            {
                "id": household.pk,
                "head_name": shown_text(household.head_name) or "（户主姓名未填）",
                "head_id_number": mask_id_number(household.head_id_number),
                "township": household.township.name,
                "village": shown_text(household.village.name),
                "members": members[household.pk],
            }
            for household in households
        ],
        "form": {"fields": form_fields(form)},
        "defaults": {
            "visitor_name": _visitor_name(user),
            **({} if village_member else {"kind": TrackingVisit.Kind.TRACKING.value}),
        },
    }
    # Every ID number is masked above; this pass masks one that slipped into a name.
    return mask_data(pack)


@scope_safe(how="households via scoped(); members via scoped(); all IDs masked")
@login_required
@require_POST
def offline_pack(request: HttpRequest) -> JsonResponse:
    """The pack of the chosen households (form field `household`, repeated), as JSON, for
    static/js/offline.js to keep on the phone. Audited as a read of those households."""
    scope = require_writer_role(request, visits=True)
    try:
        ids = _selected_ids(request.POST.getlist("household"))
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    if not ids:
        return JsonResponse({"error": "请至少选择一户"}, status=400)
    if len(ids) > OFFLINE_PACK_MAX:
        return JsonResponse(
            {"error": f"一次最多选择{OFFLINE_PACK_MAX}户，您选择了{len(ids)}户"}, status=400
        )
    pack = build_pack(request.user, ids, village_member=scope.role == Role.VILLAGE_MEMBER)
    found = [household["id"] for household in pack["households"]]
    if len(found) != len(ids):
        audit(
            request,
            Action.VIEW,
            target=("cases.household", "", "离线包"),
            details={"offline_pack": ids, "refused": sorted(set(ids) - set(found))},
            result=Result.DENIED,
        )
        return JsonResponse(
            {"error": "所选家庭中有不在您数据范围内的，请刷新页面后重新选择"}, status=400
        )
    audit(
        request,
        Action.VIEW,
        target=("cases.household", "", "离线包"),
        details={"offline_pack": found, "rows": len(found)},
    )
    return JsonResponse(pack)


# --- syncing --------------------------------------------------------------------------------


@scope_safe(how="no personal data: the CSRF token of the session")
@require_GET
def offline_csrf(request: HttpRequest) -> JsonResponse:
    """A fresh CSRF token for the sync (the cookie rotates at login)."""
    if not request.user.is_authenticated:
        return JsonResponse({"status": "login", "message": LOGIN_EXPIRED}, status=401)
    return JsonResponse({"csrf_token": get_token(request)})


def _refused(
    request: HttpRequest,
    errors: dict[str, list[str]],
    *,
    key: UUID | None,
    household_id: int | None,
    status: int = 422,
) -> JsonResponse:
    audit(
        request,
        Action.CREATE,
        target=("cases.trackingvisit", "", "离线走访"),
        details={
            "offline_key": str(key) if key else "",
            "household": household_id,
            "errors": errors,
        },
        result=Result.DENIED,
    )
    return JsonResponse({"status": "refused", "errors": errors}, status=status)


def _form_data(fields: dict) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in fields.items():
        values = value if isinstance(value, list) else [value]
        data.setlist(
            str(name),
            ["" if item is None else str(item) for item in values if not isinstance(item, dict)],
        )
    return data


def _read_sync(request: HttpRequest) -> tuple[UUID, int, dict]:
    try:
        payload = json.loads(request.body or b"{}")
        key = UUID(str(payload["key"]))
        household_id = int(payload["household"])
        fields = payload.get("fields") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ValueError(REFUSED_FORMAT) from None
    if not isinstance(fields, dict):
        raise ValueError(REFUSED_FORMAT)
    return key, household_id, fields


@scope_safe(
    how="household via get_in_scope_or_404; earlier visit via scoped(); write via casework.visit_record"
)
@require_POST
def offline_sync(request: HttpRequest) -> JsonResponse:
    """One visit captured offline: `{"key": uuid, "household": id, "fields": {...}}`.

    Answers `{"status": "saved" | "duplicate" | "refused", "errors": {field: [Chinese]},
    "visit_url": ...}`; 401 when the session has ended (the phone keeps the visit).
    """
    if not request.user.is_authenticated:
        return JsonResponse({"status": "login", "message": LOGIN_EXPIRED}, status=401)
    try:
        key, household_id, fields = _read_sync(request)
    except ValueError as error:
        return _refused(request, {"__all__": [str(error)]}, key=None, household_id=None, status=400)
    scope = scope_for(request.user)
    try:
        require_writer_role(request, visits=True)
    except PermissionDenied:
        return _refused(
            request, {"__all__": [REFUSED_ROLE]}, key=key, household_id=household_id, status=403
        )
    try:
        household = get_in_scope_or_404(
            request.user, Household.objects.select_related("township", "village"), pk=household_id
        )
    except Http404:
        return _refused(
            request, {"__all__": [REFUSED_OUT_OF_SCOPE]}, key=key, household_id=household_id
        )
    visit_url = reverse("staff:household_detail", args=[household.pk])
    earlier = (
        scoped(request.user, TrackingVisit.objects.filter(offline_key=key, visitor=request.user))
        .filter(household=household)
        .first()
    )
    if earlier is not None:
        audit(
            request,
            Action.VIEW,
            target=earlier,
            details={"offline_key": str(key), "sync": "duplicate"},
        )
        return JsonResponse({"status": "duplicate", "errors": {}, "visit_url": visit_url})
    form = VisitForm(
        _form_data(fields),
        members=household_members_of(request.user, household),
        village_member=scope.role == Role.VILLAGE_MEMBER,
    )
    if form.is_valid():
        try:
            casework.visit_record(request.user, household, offline_key=key, **form.service_kwargs())
        except ServiceError as error:
            form.add_service_error(error)
        except PermissionDenied as error:
            return _refused(
                request,
                {"__all__": [str(error) or REFUSED_ROLE]},
                key=key,
                household_id=household.pk,
                status=403,
            )
        else:
            return JsonResponse(
                {"status": "saved", "errors": {}, "visit_url": visit_url}, status=201
            )
    errors = {
        name: [str(message) for message in messages] for name, messages in form.errors.items()
    }
    return _refused(request, errors, key=key, household_id=household.pk)
