"""Persons: the searchable list, the person page (everything known in one place), the
audited reveal of a full ID or phone number, and the person's case-work forms.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from cases import casework
from cases.audit import Action, Result, audit, audit_list, audit_view
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.http import no_store
from cases.identity import age_on, mask_id_number, mask_phone
from cases.models import Role
from cases.scope import get_in_scope_or_404, scope_for, scope_safe, scoped
from cases.selectors import (
    SEARCH_MAX_LENGTH,
    PersonFilter,
    page_of,
    parse_page_number,
    person_detail,
    person_list,
)
from cases.text import clean_text
from staff.forms.casework import (
    REHAB_SERVICE_SUGGESTIONS,
    EducationPlanForm,
    RehabServiceForm,
)
from staff.forms.policy import BenefitRecordForm, BenefitStopForm
from staff.selectors.households import household_members
from staff.selectors.person_care import care_sections
from staff.selectors.person_records import PersonRecords, person_records
from staff.selectors.person_work import needs_a_service_can_answer, work_sections
from staff.selectors.persons import (
    comparison,
    household_link,
    membership_of,
    person_page,
    survey_answers,
)
from staff.selectors.timeline import household_photos
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    can_record_visits,
    can_write,
    export_filename,
    form_data,
    record_form_page,
    require_export_scope,
    require_writer_role,
)
from staff.views.households import compare_html, open_findings, timeline_html
from subsidies import services
from subsidies.models import BenefitRecord

PERSONS_PER_PAGE = 50


def person_list_page(request, template: str, nav: str, **extra):
    """The certified persons of the user's scope with search (home page and person list);
    `extra` goes into the page's context."""
    scope = scope_for(request.user)
    filterset = PersonFilter(data=request.GET or None)
    query = (request.GET.get("q") or "").strip()
    page = page_of(
        person_list(request.user, request.GET),
        parse_page_number(request.GET.get("page")),
        PERSONS_PER_PAGE,
    )
    audit_list(request, "cases.person", request.GET, len(page.rows))
    context = {
        "scope": scope,
        "query": query,
        "query_invalid": bool(query) and not filterset.is_valid(),
        "search_max_length": SEARCH_MAX_LENGTH,
        "page": page,
        "nav": nav,
        **extra,
    }
    return render(request, template, context)


@scope_safe(how="certified persons via selectors.person_list (scoped)")
@login_required
@require_GET
def persons(request):
    """The certified-person list with search (same selector as the home page)."""
    return person_list_page(request, "staff/person_list.html", "persons")


@scope_safe(how="certified persons via selectors.person_list (scoped); IDs masked")
@login_required
@require_GET
def persons_export(request):
    require_export_scope(request)
    on = today()
    queryset = person_list(request.user, request.GET)[:EXPORT_LIMIT]

    def rows():
        for person in queryset.iterator(chunk_size=2000):
            certificate = person.certificate
            yield (
                person.name,
                mask_id_number(person.id_number),
                person.get_gender_display(),
                age_on(person.birth_date, on),
                certificate.get_category_display(),
                certificate.get_grade_display(),
                person.township.name if person.township_id else "",
                person.village.name if person.village_id else "",
            )

    return xlsx_response(
        export_filename("持证残疾人名单"),
        (
            "姓名",
            "公民身份号码（脱敏）",
            "性别",
            "年龄",
            "残疾类别",
            "残疾等级",
            "乡镇",
            "村（社区）",
        ),
        rows(),
        sheet_title="持证残疾人",
        text_columns=(1,),
        widths=(10, 22, 6, 6, 9, 9, 12, 14),
        request=request,
        label="cases.person",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.education_plan_save")
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
    form = EducationPlanForm(form_data(request), initial=initial)
    return record_form_page(
        request,
        person,
        form,
        casework.education_plan_save,
        lambda p: f"已保存一人一案：{p.get_placement_display()}",
    )


@scope_safe(how="person via selectors.persons.person_page; casework.rehab_service_add")
@login_required
@GET_POST
def rehab_service_create(request, pk: int):
    person = person_page(request.user, pk)
    require_writer_role(request, visits=True)  # village members record services (ROLES.md)
    needs = needs_a_service_can_answer(request.user, person.pk)
    form = RehabServiceForm(form_data(request), initial={"served_on": today()}, needs=needs)
    return record_form_page(
        request,
        person,
        form,
        casework.rehab_service_add,
        lambda s: f"已登记康复服务：{s.service_type}",
        datalist_id="rehab-service-types",
        datalist=REHAB_SERVICE_SUGGESTIONS,
    )


@scope_safe(how="one person via selectors.persons.person_page (scoped; 404 outside the scope)")
@login_required
@require_GET
def person(request, pk: int):
    """The person: identity (masked), certificate, household, survey vs roster, timeline."""
    record = person_page(request.user, pk)
    membership = membership_of(record)
    household = household_link(record)
    # A household outside the scope: nothing of it is read (members, its timeline).
    household_id = household.pk if household is not None else None
    members = (
        household_members(request.user, membership.household)
        if membership is not None and household_id is not None
        else []
    )
    # The timeline, the benefits and every task-area section: one query (person_records).
    records = person_records(request.user, record, household_id=household_id)
    events = records.events
    audit_view(request, record)
    scope = scope_for(request.user)
    answers = survey_answers(getattr(record, "survey", None))
    return render(
        request,
        "staff/person_detail.html",
        {
            "person": record,
            "membership": membership,
            "household": household,
            "members": [row for row in members if row.person.pk != record.pk],
            "compare_html": compare_html(
                comparison(
                    record,
                    roster_in_scope=bool(getattr(record, "roster_household_in_scope", True)),
                )
            ),
            "answers": answers,
            "answers_html": answers_html(answers),
            "events": events,
            # The timeline's visits and measures are its household's (none without one):
            # their photos by the household's SQL compiled once per scope, as the household
            # page reads them, instead of the template tag building the query on every view.
            "timeline_items": timeline_html(
                events,
                household_photos(request.user, household_id, events)
                if household_id is not None
                else {},
                show_person=False,
            ),
            "open_findings": open_findings(events),
            "can_write": can_write(scope),
            "can_visit": can_record_visits(scope),
            "nav": "persons",
            "benefits": benefit_records(request.user, record, records),
            **work_sections(request.user, record, records),
            **care_sections(request.user, record, records),
        },
    )


def answers_html(answers: list[tuple[str, str]]) -> SafeString:
    """The survey's answers as the person page's list showed them through its template loop
    (`<dt>{{ label }}</dt><dd>{{ value|bidi_safe }}</dd>`, ~30 answers): written here, the
    loop cost ~0.4 ms a page (docs/PERFORMANCE.md, Pages; tests/test_pagesh_page_html.py)."""
    return SafeString(
        "".join(
            f"<dt>{escape(label)}</dt><dd>{escape(clean_text(value))}</dd>"
            for label, value in answers
        )
    )


REVEALABLE = {
    "id_number": ("公民身份号码", mask_id_number),
    "phone": ("联系电话", mask_phone),
}


REVEAL_ROLES = (Role.COUNTY_ADMIN, Role.TOWNSHIP_STAFF)


def can_reveal(user) -> bool:
    """County admins and township staff (within their scope) may reveal full numbers."""
    return scope_for(user).role in REVEAL_ROLES


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
        return no_store(JsonResponse({"field": field, "label": label, "value": value}))
    return no_store(
        render(
            request,
            "staff/person_reveal.html",
            {
                "person": person,
                "label": label,
                "value": value,
                "masked": mask(value),
                "nav": "persons",
            },
        )
    )


@scope_safe(how="person via selectors.persons.person_page; services.benefit_record_save")
@login_required
@GET_POST
def benefit_create(request, pk: int):
    """Record a benefit a person receives (工作人员录入); civil-affairs rows are imported."""
    person = person_page(request.user, pk)
    require_writer_role(request)
    start_month = today().replace(day=1)
    form = BenefitRecordForm(
        form_data(request), initial={"status": "active", "start_month": start_month}
    )
    return record_form_page(
        request,
        person,
        form,
        services.benefit_record_save,
        lambda r: f"已登记{r.get_benefit_type_display()}（{r.get_status_display()}）",
    )


def benefit_records(user, person, records: PersonRecords | None = None) -> list[BenefitRecord]:
    """The person's benefit records (civil-affairs and staff-recorded), in the user's scope,
    newest start month first; from the person page's one query when given."""
    if records is not None:
        return records.of("p_benefit")
    return list(scoped(user, BenefitRecord.objects.filter(person=person)).order_by("-start_month"))


@scope_safe(
    how="benefit record via get_in_scope_or_404 of the person; services.benefit_record_stop"
)
@login_required
@GET_POST
def benefit_stop(request, pk: int, record_pk: int):
    """停保 of a staff-recorded benefit (civil-affairs rows follow their roster)."""
    person = person_page(request.user, pk)
    record = get_in_scope_or_404(
        request.user, BenefitRecord.objects.filter(person=person), pk=record_pk
    )
    require_writer_role(request)
    form = BenefitStopForm(form_data(request), initial={"end_month": today().replace(day=1)})
    return record_form_page(
        request,
        person,
        form,
        services.benefit_record_stop,
        lambda r: f"已停保：{r.get_benefit_type_display()}（{r.end_month:%Y-%m}起）",
        target=record,
        title=f"停保：{record.get_benefit_type_display()}",
    )
