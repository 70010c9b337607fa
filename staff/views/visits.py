"""Tracking visits: the list, its export and recording a visit to a household."""

from django.contrib.auth.decorators import login_required
from django.views.decorators.http import require_GET

from cases import casework
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.models import Household, Role
from cases.scope import get_in_scope_or_404, scope_safe
from staff.forms.casework import VisitForm
from staff.selectors.places import places
from staff.selectors.visits import visit_list, visit_saved_message
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    export_filename,
    form_data,
    form_page,
    list_page,
    require_export_scope,
    require_writer_role,
)
from staff.views.households import household_members_of, household_url


@scope_safe(how="visits via selectors.visits.visit_list (scoped)")
@login_required
@require_GET
def visits_export(request):
    require_export_scope(request)
    queryset, _ = visit_list(request.user, request.GET, places(request.user))

    def rows():
        for visit in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield (
                visit.visited_on,
                visit.get_kind_display(),
                visit.household.head_name,
                visit.household.township.name,
                visit.household.village.name,
                visit.person.name if visit.person_id else "",
                visit.visitor_name,
                "、".join(visit.problems),
                visit.income_per_capita,
                visit.notes,
                visit.next_due,
            )

    return xlsx_response(
        export_filename("走访记录"),
        (
            "走访日期",
            "走访类型",
            "户主",
            "乡镇",
            "村（社区）",
            "走访对象",
            "走访人",
            "存在问题",
            "家庭年人均纯收入（元）",
            "走访情况",
            "下次访视日期",
        ),
        rows(),
        sheet_title="走访记录",
        widths=(12, 10, 10, 12, 14, 10, 10, 20, 14, 40, 12),
        request=request,
        label="cases.trackingvisit",
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.visit_record")
@login_required
@GET_POST
def visit_create(request, pk: int):
    """登记走访: township staff anywhere in scope, village members in their village."""
    household = get_in_scope_or_404(
        request.user, Household.objects.select_related("village"), pk=pk
    )
    scope = require_writer_role(request, visits=True)
    village_member = scope.role == Role.VILLAGE_MEMBER
    members = household_members_of(request.user, household)
    initial = {
        "visited_on": today(),
        "visitor_name": request.user.get_full_name() or request.user.get_username(),
        "kind": "tracking",
    }
    if request.user.last_name and request.user.first_name:
        initial["visitor_name"] = f"{request.user.last_name}{request.user.first_name}"
    form = VisitForm(
        form_data(request), initial=initial, members=members, village_member=village_member
    )
    return form_page(
        request,
        form,
        template="staff/form_visit.html",
        context={"household": household, "nav": "households", "village_member": village_member},
        on_valid=lambda f: casework.visit_record(request.user, household, **f.service_kwargs()),
        success_message=visit_saved_message,
        success_url=household_url(household),
    )


VISITS_PER_PAGE = 50


@scope_safe(how="visits via selectors.visits.visit_list (scoped); villages scoped")
@login_required
@require_GET
def visits(request):
    """Visits in scope, newest first; filter by kind, place, overdue."""
    return list_page(
        request,
        "staff/visit_list.html",
        nav="visits",
        select=visit_list,
        label="cases.trackingvisit",
        per_page=VISITS_PER_PAGE,
    )
