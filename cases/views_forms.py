"""Form pages of the case work (issue 6): visits, assistance, pairing, monitoring cases,
education plans and rehabilitation services.

Each view loads its household or person in the user's scope first (404 outside it),
then checks the role (403: county viewers are read-only, village committee members
record visits only), then validates the form and calls the existing service in
`cases.casework` — never `model.save()` here. Writes are POST only (CSRF-protected by
the middleware); a service's Chinese error goes back onto the form.
"""

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from . import casework
from .casework import CASE_TRANSITIONS
from .casework_base import today
from .forms_casework import (
    REHAB_SERVICE_SUGGESTIONS,
    AssistanceForm,
    CaseOpenForm,
    CaseTransitionForm,
    EducationPlanForm,
    PairingEndForm,
    PairingForm,
    RehabServiceForm,
    VisitForm,
)
from .models import Household, HouseholdMember, MonitoringCase, RehabNeed, Role
from .scope import get_in_scope_or_404, scope_safe, scoped
from .selectors_pages import household_detail, person_page
from .views_common import form_page, require_writer_role

GET_POST = require_http_methods(["GET", "POST"])


def _household_url(household) -> str:
    return reverse("cases:household_detail", args=[household.pk])


def _person_url(person) -> str:
    return reverse("cases:person_detail", args=[person.pk])


def _members(user, household: Household) -> list:
    rows = scoped(
        user, HouseholdMember.objects.filter(household=household).select_related("person")
    )
    return [row.person for row in rows]


def _form_data(request):
    return request.POST if request.method == "POST" else None


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
    members = _members(request.user, household)
    initial = {
        "visited_on": today(),
        "visitor_name": request.user.get_full_name() or request.user.get_username(),
        "kind": "tracking",
    }
    if request.user.last_name and request.user.first_name:
        initial["visitor_name"] = f"{request.user.last_name}{request.user.first_name}"
    form = VisitForm(
        _form_data(request), initial=initial, members=members, village_member=village_member
    )
    return form_page(
        request,
        form,
        template="cases/form_visit.html",
        context={"household": household, "nav": "households", "village_member": village_member},
        on_valid=lambda f: casework.visit_record(request.user, household, **f.service_kwargs()),
        success_message=lambda visit: (
            f"已登记{visit.get_kind_display()}（{visit.visited_on:%Y-%m-%d}）"
        ),
        success_url=_household_url(household),
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.assistance_add")
@login_required
@GET_POST
def assistance_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = AssistanceForm(_form_data(request), initial={"started_on": today()})
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "household": household,
            "title": "登记帮扶措施",
            "submit_label": "保存帮扶措施",
            "testid": "assistance-form",
            "nav": "households",
        },
        on_valid=lambda f: casework.assistance_add(
            request.user,
            household,
            **f.values(
                "kind", "responsible_unit", "started_on", "ended_on", "description", "result"
            ),
        ),
        success_message=lambda m: f"已登记帮扶措施：{m.get_kind_display()}",
        success_url=_household_url(household),
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_start")
@login_required
@GET_POST
def pairing_create(request, pk: int):
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    form = PairingForm(_form_data(request), initial={"started_on": today()})
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "household": household,
            "title": "安排结对帮扶",
            "submit_label": "保存结对",
            "testid": "pairing-form",
            "nav": "households",
        },
        on_valid=lambda f: casework.pairing_start(
            request.user,
            household,
            **f.values("helper_name", "helper_kind", "helper_unit", "helper_phone", "started_on"),
        ),
        success_message=lambda p: f"已安排结对帮扶：{p.helper_name}",
        success_url=_household_url(household),
    )


@scope_safe(how="household via get_in_scope_or_404; write via casework.pairing_end")
@login_required
@GET_POST
def pairing_end(request, pk: int):
    """结束结对: the household's active pairing, with a date and a reason (history)."""
    household = get_in_scope_or_404(request.user, Household.objects.all(), pk=pk)
    require_writer_role(request)
    # The pairing not yet ended (one ended today still counts as active today for P01).
    pairing = household.pairings.filter(ended_on__isnull=True).order_by("-started_on").first()
    if pairing is None:
        raise Http404("该家庭当前没有结对帮扶")
    form = PairingEndForm(_form_data(request), initial={"ended_on": today()})
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "household": household,
            "title": f"结束结对帮扶（帮扶人：{pairing.helper_name}）",
            "submit_label": "结束结对",
            "testid": "pairing-end-form",
            "nav": "households",
        },
        on_valid=lambda f: casework.pairing_end(
            request.user, pairing, **f.values("ended_on", "reason")
        ),
        success_message=lambda p: f"已结束与{p.helper_name}的结对帮扶",
        success_url=_household_url(household),
    )


@scope_safe(how="household via selectors_pages.household_detail; casework.case_open/transition")
@login_required
@GET_POST
def case_step(request, pk: int):
    """The household's monitoring case: open one (待核实) or take the next workflow step
    (纳入监测 / 不予纳入 / 帮扶中 / 风险已消除), each with its reason."""
    household = household_detail(request.user, pk)
    require_writer_role(request)
    context = {"household": household, "nav": "households"}
    if household.case_id is None:
        form = CaseOpenForm(_form_data(request), initial={"opened_on": today()})
        return form_page(
            request,
            form,
            template="cases/form_case.html",
            context=context | {"mode": "open"},
            on_valid=lambda f: casework.case_open(
                request.user,
                household,
                reason=f.cleaned_data["reason"],
                opened_on=f.cleaned_data.get("opened_on"),
            ),
            success_message=lambda case: f"已建立监测对象（编号{case.pk}，待核实）",
            success_url=_household_url(household),
        )
    case = get_in_scope_or_404(
        request.user, MonitoringCase.objects.select_related("household"), pk=household.case_id
    )
    allowed = CASE_TRANSITIONS.get(case.status, ())
    form = CaseTransitionForm(_form_data(request), allowed=allowed, initial={"on": today()})
    return form_page(
        request,
        form,
        template="cases/form_case.html",
        context=context | {"mode": "transition", "case": case},
        on_valid=lambda f: casework.case_transition(
            request.user, case, f.cleaned_data["to_status"], **f.service_kwargs()
        ),
        success_message=lambda c: f"监测对象已办理：{c.get_status_display()}",
        success_url=_household_url(household),
    )


@scope_safe(how="person via selectors_pages.person_page; casework.education_plan_save")
@login_required
@GET_POST
def education_plan(request, pk: int):
    """一人一案 of a school-age child (recorded or updated)."""
    person = person_page(request.user, pk)
    require_writer_role(request)
    plan = getattr(person, "education_plan", None)
    initial = {"verified_on": today()}
    if plan is not None:
        initial |= {
            "placement": plan.placement,
            "school": plan.school,
            "not_enrolled_reason": plan.not_enrolled_reason,
        }
    form = EducationPlanForm(_form_data(request), initial=initial)
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "person": person,
            "title": "适龄残疾儿童少年一人一案",
            "submit_label": "保存一人一案",
            "testid": "education-form",
            "nav": "persons",
        },
        on_valid=lambda f: casework.education_plan_save(
            request.user,
            person,
            **f.values("placement", "school", "not_enrolled_reason", "verified_on"),
        ),
        success_message=lambda p: f"已保存一人一案：{p.get_placement_display()}",
        success_url=_person_url(person),
    )


@scope_safe(how="person via selectors_pages.person_page; casework.rehab_service_add")
@login_required
@GET_POST
def rehab_service_create(request, pk: int):
    person = person_page(request.user, pk)
    require_writer_role(request)
    needs = list(
        scoped(
            request.user,
            RehabNeed.objects.filter(person=person).filter(
                Q(closed_on__isnull=True) | Q(closed_on__gt=today())
            ),
        )
    )
    form = RehabServiceForm(_form_data(request), initial={"served_on": today()}, needs=needs)
    return form_page(
        request,
        form,
        template="cases/form_generic.html",
        context={
            "person": person,
            "title": "登记康复服务",
            "submit_label": "保存康复服务",
            "testid": "rehab-form",
            "datalist_id": "rehab-service-types",
            "datalist": REHAB_SERVICE_SUGGESTIONS,
            "nav": "persons",
        },
        on_valid=lambda f: casework.rehab_service_add(
            request.user,
            person,
            need=f.need_object(),
            **f.values("service_type", "provider", "served_on", "note"),
        ),
        success_message=lambda s: f"已登记康复服务：{s.service_type}",
        success_url=_person_url(person),
    )
