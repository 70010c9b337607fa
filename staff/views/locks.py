"""Login lockouts (county admins): the locks in force and 解除锁定.

The admin's axes pages answer 403 to county admins (they are not superusers), and a locked
colleague should not have to wait out the cool-off when the admin has confirmed by phone
that it was them, so the staff app shows the locks and lifts them itself.
"""

from axes.helpers import get_cool_off
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cases.accounts import lockout_lift
from cases.audit import audit_list
from cases.scope import scope_safe
from staff.selectors.lockouts import current_lockouts
from staff.views.common import require_county_admin

LOCKS_REFUSAL = "只有县残联管理员可以查看和解除登录锁定"


@scope_safe(how="no personal data: staff usernames and addresses of lockouts; county admins only")
@login_required
@require_GET
def lock_list(request):
    require_county_admin(request, LOCKS_REFUSAL)
    locks = current_lockouts()
    audit_list(request, "axes.accessattempt", request.GET, len(locks))
    return render(
        request,
        "staff/lock_list.html",
        {
            "locks": locks,
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "cooloff": get_cool_off(),
            "nav": "locks",
        },
    )


@scope_safe(how="no personal data: removes one lockout; county admins only")
@login_required
@require_POST
def lock_lift(request, pk: int):
    # The service checks the role too; checking here first keeps a refused request from
    # learning whether the id exists.
    require_county_admin(request, LOCKS_REFUSAL)
    lockout_lift(request.user, pk)
    messages.success(request, "已解除锁定")
    return redirect("staff:lock_list")
