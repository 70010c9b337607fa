"""Security pages of the cases app (issue 7): the audited reveal of a full ID or phone number.

Lists, exports and logs show masked numbers only (6 + ******** + 4, 3 + **** + 4).
On a person's page a county admin or the township's staff may reveal the full number
with an explicit POST; every reveal (and every refused one) is an audit event.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from .audit import Action, Result, audit
from .identity import mask_id_number, mask_phone
from .models import Role
from .scope import scope_for, scope_safe
from .selectors import person_detail

REVEALABLE = {
    "id_number": ("公民身份号码", mask_id_number),
    "phone": ("联系电话", mask_phone),
}
REVEAL_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_STAFF)


def can_reveal(user) -> bool:
    """County admins and township staff (within their scope) may reveal full numbers."""
    return scope_for(user).role in REVEAL_ROLES


def _no_store(response):
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@scope_safe(how="one person via selectors.person_detail (get_in_scope_or_404); role checked")
@login_required
@require_POST
def person_reveal(request, pk: int, field: str):
    """POST: the full number of one person's field, audited as `reveal`."""
    if field not in REVEALABLE:
        raise Http404("不存在")
    person = person_detail(request.user, pk)  # 404 outside the user's scope
    label, mask = REVEALABLE[field]
    if not can_reveal(request.user):
        audit(request, Action.REVEAL, target=person, details={"field": field}, result=Result.DENIED)
        raise PermissionDenied("您的角色不能查看完整号码")
    value = getattr(person, field) or ""
    audit(request, Action.REVEAL, target=person, details={"field": field})
    if "application/json" in request.headers.get("Accept", ""):
        return _no_store(JsonResponse({"field": field, "label": label, "value": value}))
    return _no_store(
        render(
            request,
            "cases/person_reveal.html",
            {
                "person": person,
                "label": label,
                "value": value,
                "masked": mask(value),
                "nav": "persons",
            },
        )
    )
