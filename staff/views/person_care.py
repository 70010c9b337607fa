"""The person page's 无障碍改造, 托养照护 and 困境残疾儿童关爱 forms, and the task-area list of
children in hardship (`/tasks/hardship-children/`, its `.xlsx` export).

Each form page loads what it is about in scope first (404: the person, or a step's record
through its person's place; one int in the URL, so the scope walk reaches it), then checks
the role (403), and saves through the service (`cases.casework`), which checks role,
scope, order of steps and input again.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.urls import URLPattern, path
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET

from cases import casework
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import age_on, mask_id_number
from cases.models import AccessibilityModification, ChildCareRecord, CustodialCare
from cases.scope import get_in_scope_or_404, scope_safe
from staff.forms.person_care import (
    ACCESSIBILITY_STEP_FORMS,
    AccessibilityApplyForm,
    ChildCareEditForm,
    ChildCareForm,
    CustodialCareEndForm,
    CustodialCareStartForm,
)
from staff.selectors.hardship_children import hardship_counts, hardship_list, reason_labels
from staff.selectors.persons import person_page
from staff.selectors.places import places
from staff.views.common import (
    EXPORT_LIMIT,
    GET_POST,
    export_filename,
    form_data,
    list_page,
    record_form_page,
    require_export_scope,
    require_writer_role,
)

# --- 无障碍改造 ---


@scope_safe(how="person via selectors.persons.person_page; casework.accessibility_apply")
@login_required
@GET_POST
def accessibility_apply(request, pk: int):
    person = person_page(request.user, pk)
    require_writer_role(request)
    form = AccessibilityApplyForm(form_data(request), initial={"applied_on": today()})
    return record_form_page(
        request,
        person,
        form,
        casework.accessibility_apply,
        "已登记无障碍改造申请",
    )


def of_person(model):
    """A person's record with its person (scoped through the person's place)."""
    return model.objects.select_related("person__township", "person__village")


@scope_safe(how="modification via get_in_scope_or_404 (person's place); accessibility_advance")
@login_required
@GET_POST
def accessibility_step(request, pk: int, step: str):
    """One step of a modification (评估, 施工, 验收, 终止); the service refuses a step out of
    order, so a form opened from an old page cannot skip one."""
    mod = get_in_scope_or_404(request.user, of_person(AccessibilityModification), pk=pk)
    require_writer_role(request)
    form_class = ACCESSIBILITY_STEP_FORMS.get(step)
    if form_class is None:
        raise Http404("不存在")
    person = mod.person
    initial: dict = {"on": today()}
    if mod.items:
        initial["items"] = mod.items
    if mod.contractor:
        initial["contractor"] = mod.contractor
    form = form_class(form_data(request), initial=initial)

    def advance(user, record, **values):
        return casework.accessibility_advance(user, record, step, **values)

    return record_form_page(
        request,
        person,
        form,
        advance,
        lambda m: f"无障碍改造已办理：{m.get_status_display()}",
        target=mod,
    )


# --- 托养照护 ---


@scope_safe(how="person via selectors.persons.person_page; casework.custodial_care_start")
@login_required
@GET_POST
def custodial_care_start(request, pk: int):
    person = person_page(request.user, pk)
    require_writer_role(request)
    form = CustodialCareStartForm(form_data(request), initial={"started_on": today()})
    return record_form_page(
        request,
        person,
        form,
        casework.custodial_care_start,
        lambda care: f"已登记{care.get_mode_display()}",
    )


@scope_safe(how="care via get_in_scope_or_404 (person's place); casework.custodial_care_end")
@login_required
@GET_POST
def custodial_care_end(request, pk: int):
    care = get_in_scope_or_404(request.user, of_person(CustodialCare), pk=pk)
    require_writer_role(request)
    person = care.person
    form = CustodialCareEndForm(form_data(request), initial={"ended_on": today()})
    return record_form_page(
        request,
        person,
        form,
        casework.custodial_care_end,
        lambda c: f"已结束{c.get_mode_display()}",
        target=care,
    )


# --- 困境残疾儿童关爱 ---


@scope_safe(how="person via selectors.persons.person_page; casework.child_care_record_add")
@login_required
@GET_POST
def child_care_create(request, pk: int):
    """Village committee members record care in their village, as they record visits."""
    person = person_page(request.user, pk)
    require_writer_role(request, visits=True)
    initial = {"cared_on": today(), "provider": _user_name(request.user)}
    form = ChildCareForm(form_data(request), initial=initial)
    return record_form_page(
        request,
        person,
        form,
        casework.child_care_record_add,
        lambda r: f"已登记关爱记录：{r.get_kind_display()}",
    )


@scope_safe(how="record via get_in_scope_or_404 (person's place); child_care_record_update")
@login_required
@GET_POST
def child_care_edit(request, pk: int):
    record = get_in_scope_or_404(request.user, of_person(ChildCareRecord), pk=pk)
    require_writer_role(request, visits=True)
    person = record.person
    initial = {
        "kind": record.kind,
        "cared_on": record.cared_on,
        "provider": record.provider,
        "content": record.content,
    }
    form = ChildCareEditForm(form_data(request), initial=initial)
    return record_form_page(
        request,
        person,
        form,
        casework.child_care_record_update,
        "已更正关爱记录",
        target=record,
    )


def _user_name(user) -> str:
    if user.last_name or user.first_name:
        return f"{user.last_name}{user.first_name}"
    return user.get_username()


# --- The task-area list ---

HARDSHIP_PER_PAGE = 50
LIST_LABEL = "cases.person"


@scope_safe(how="children via selectors.hardship_children.hardship_list (scoped)")
@login_required
@require_GET
def hardship_children(request):
    """The children in hardship of the user's scope, filtered, counted and paged."""
    selected: dict = {}

    def select(user, data, place_list):
        queryset, filterset = hardship_list(user, data, place_list)
        selected["rows"] = queryset
        return queryset, filterset

    # Counted when the page shows them, after `list_page` has filtered (one aggregate query).
    counts = SimpleLazyObject(lambda: hardship_counts(selected["rows"]))
    return list_page(
        request,
        "staff/hardship_children.html",
        nav="tasks",
        select=select,
        label=LIST_LABEL,
        per_page=HARDSHIP_PER_PAGE,
        counts=counts,
        on=today(),
    )


@scope_safe(how="children via selectors.hardship_children.hardship_list (scoped); IDs masked")
@login_required
@require_GET
def hardship_children_export(request):
    require_export_scope(request)
    on = today()
    queryset, _ = hardship_list(request.user, request.GET, places(request.user), on)

    def rows():
        for person in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
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
                "、".join(reason_labels(person)),
                "有" if person.has_care else "无",
                person.last_care_on,
            )

    return xlsx_response(
        export_filename("困境残疾儿童名单"),
        (
            "姓名",
            "公民身份号码（脱敏）",
            "性别",
            "年龄",
            "残疾类别",
            "残疾等级",
            "乡镇",
            "村（社区）",
            "困境情形",
            "关爱记录",
            "最近关爱日期",
        ),
        rows(),
        sheet_title="困境残疾儿童",
        text_columns=(1,),
        widths=(10, 22, 6, 6, 9, 9, 12, 14, 30, 8, 12),
        request=request,
        label=LIST_LABEL,
        filters=request.GET,
    )


routes: list[URLPattern] = [
    path(
        "persons/<int:pk>/accessibility/new/",
        accessibility_apply,
        name="accessibility_apply",
    ),
    path(
        "persons/accessibility/<int:pk>/<slug:step>/",
        accessibility_step,
        name="accessibility_step",
    ),
    path(
        "persons/<int:pk>/custodial-care/new/",
        custodial_care_start,
        name="custodial_care_start",
    ),
    path(
        "persons/custodial-care/<int:pk>/end/",
        custodial_care_end,
        name="custodial_care_end",
    ),
    path("persons/<int:pk>/child-care/new/", child_care_create, name="child_care_create"),
    path(
        "persons/child-care/<int:pk>/edit/",
        child_care_edit,
        name="child_care_edit",
    ),
    path("tasks/hardship-children/", hardship_children, name="hardship_children"),
    path(
        "tasks/hardship-children/export.xlsx",
        hardship_children_export,
        name="hardship_children_export",
    ),
]
