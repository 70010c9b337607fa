"""The task-area lists (业务清单) and the finance rosters in the browser.

`TASK_LISTS` is the index: every list with its page and export; a list another module
builds (困境儿童) is named there by its URL names, its selector used for the count only. Each list page is the same
cycle — the list's selector (`staff.selectors.task_lists`), a count, a page of rows, an
audit event — and each export writes the same rows with masked ID numbers.

The finance rosters are the files the `pension_roster` / `payment_roster` commands
write, by the same functions (`monitoring.rosters`); the place comes from the user's
scope, and those functions' own role check decides who may have a file with full ID
numbers (docs/SECURITY.md, "Masking").
"""

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from cases.audit import audit_export, audit_list
from cases.casework_base import today
from cases.exports import xlsx_response
from cases.identity import age_on, mask_id_number
from cases.models import Role, Township
from cases.scope import Scope, scope_for, scope_safe
from cases.selectors import page_of, parse_page_number
from monitoring.eligibility import PAYMENT_BENEFITS
from monitoring.rosters import RosterError, write_payment_roster, write_pension_roster
from staff.selectors import task_lists as lists
from staff.selectors.hardship_children import hardship_list
from staff.selectors.places import places
from staff.views.common import EXPORT_LIMIT, export_filename, require_export_scope, scope_context
from subsidies.models import BenefitType
from subsidies.policy import PolicyError

TASKS_PER_PAGE = 50
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def require_task_role(request) -> Scope:
    """County roles and township staff (the navigation's 业务清单); village members 403."""
    scope = scope_for(request.user)
    if scope.role == Role.VILLAGE_MEMBER:
        raise PermissionDenied("村残协专职委员只能登记入户走访，不能使用业务清单和财务花名册")
    return scope


# --- the rows of each export (ID numbers masked) ---

PERSON_HEADERS = (
    "乡镇",
    "村（社区）",
    "姓名",
    "性别",
    "公民身份号码（脱敏）",
    "残疾类别",
    "残疾等级",
)
PERSON_WIDTHS = (12, 14, 10, 6, 22, 9, 9)


def person_cells(person) -> tuple:
    certificate = getattr(person, "certificate", None)
    return (
        person.township.name if person.township_id else "",
        person.village.name if person.village_id else "",
        person.name,
        person.get_gender_display(),
        mask_id_number(person.id_number),
        certificate.get_category_display() if certificate else "",
        certificate.get_grade_display() if certificate else "",
    )


def _yes_no(value: bool | None) -> str:
    return {True: "是", False: "否"}.get(value, "未知")  # type: ignore[arg-type]


def school_age_row(record, on: date) -> tuple:
    plan = getattr(record.person, "education_plan", None)
    return (
        *person_cells(record.person),
        age_on(record.person.birth_date, on),
        record.get_in_school_display() if record.in_school else "未知",
        dict(lists.SCHOOL_STATUS)[record.school_status],
        plan.get_placement_display() if plan else "",
        (plan.school or plan.not_enrolled_reason) if plan else "",
        plan.verified_on if plan else None,
    )


def working_age_row(record, on: date) -> tuple:
    return (
        *person_cells(record.person),
        age_on(record.person.birth_date, on),
        record.get_employment_status_display() if record.employment_status else "未知",
        "劳动能力摸底" if record.has_profile else "调查",
        record.wanted_work or "",
    )


def rehab_row(record, on: date) -> tuple:
    return (
        *person_cells(record.person),
        "、".join(record.rehab_needs),
        "是" if record.staff_need else "否",
        "、".join(lists.priority_labels(record)),
    )


def accessibility_row(item, on: date) -> tuple:
    return (
        *person_cells(item.person),
        item.get_status_display(),
        item.applied_on,
        item.assessed_on,
        item.construction_started_on,
        item.accepted_on,
        item.items,
        item.contractor,
        item.cost,
    )


def custodial_row(item, on: date) -> tuple:
    return (
        *person_cells(item.person),
        item.get_mode_display(),
        item.institution,
        item.started_on,
        item.ended_on,
    )


def welfare_post_row(item, on: date) -> tuple:
    return (
        *person_cells(item.person),
        item.post,
        item.employer,
        item.monthly_pay,
        item.started_on,
        item.ended_on,
    )


def pairing_row(item, on: date) -> tuple:
    household = item.household
    return (
        household.township.name,
        household.village.name,
        household.head_name,
        item.helper_name,
        item.get_helper_kind_display(),
        item.helper_unit,
        item.started_on,
        item.last_visit,
    )


def gap_row(record, on: date) -> tuple:
    return (
        *person_cells(record.person),
        age_on(record.person.birth_date, on),
        "待核实（未知是否享受）" if record.receipt_unknown else "未享受",
    )


def story_row(item, on: date) -> tuple:
    return (
        item.township.name,
        item.village.name if item.village_id else "",
        item.get_kind_display(),
        item.name,
        item.title,
        item.published_in,
        item.published_on,
    )


@dataclass(frozen=True)
class TaskList:
    """One entry of the index. `select` None: a list another page builds (only linked)."""

    key: str
    label: str
    note: str
    url_name: str
    export_name: str = ""
    select: lists.Select | None = None
    headers: Sequence[str] = ()
    widths: Sequence[int] = ()
    row: Callable[[Any, date], tuple] | None = None
    audit_label: str = ""
    counted_by: lists.Select | None = None  # a linked list's selector, for its count only


def _person_list(
    key: str,
    label: str,
    note: str,
    select: lists.Select,
    headers: Sequence[str],
    widths: Sequence[int],
    row: Callable[[Any, date], tuple],
    audit_label: str,
    *,
    person_columns: bool = True,
) -> TaskList:
    return TaskList(
        key=key,
        label=label,
        note=note,
        url_name=f"staff:task_{key}",
        export_name=f"staff:task_{key}_export",
        select=select,
        headers=(*PERSON_HEADERS, *headers) if person_columns else tuple(headers),
        widths=(*PERSON_WIDTHS, *widths) if person_columns else tuple(widths),
        row=row,
        audit_label=audit_label,
    )


TASK_LISTS: tuple[TaskList, ...] = (
    _person_list(
        "school_age",
        "适龄残疾儿童少年一人一案核查表",
        "统计日期满6–15周岁的持证儿童：在校、已建一人一案或两者皆无",
        lists.school_age_list,
        ("年龄", "在校情况（调查）", "核查状态", "安置方式", "学校/未入学原因", "核查日期"),
        (6, 10, 16, 12, 20, 12),
        school_age_row,
        "task_lists.school_age",
    ),
    _person_list(
        "working_age",
        "有劳动能力和就业意愿未就业人员",
        "16–59周岁，有劳动能力（含半劳动力）和就业意愿，未在公益性岗位或基地就业",
        lists.working_age_list,
        ("年龄", "就业状况（调查）", "依据", "意向岗位/技能"),
        (6, 12, 12, 20),
        working_age_row,
        "task_lists.working_age",
    ),
    _person_list(
        "rehab_unmet",
        "康复需求未满足人员",
        "有康复需求、当年未获康复服务；可按重点人群筛选",
        lists.rehab_unmet_list,
        ("康复需求（调查）", "登记在案的需求", "重点人群"),
        (20, 10, 24),
        rehab_row,
        "task_lists.rehab_unmet",
    ),
    _person_list(
        "accessibility",
        "无障碍改造进度",
        "申请 → 评估 → 施工 → 验收，按进度筛选",
        lists.accessibility_list,
        (
            "进度",
            "申请日期",
            "评估日期",
            "开工日期",
            "验收日期",
            "改造内容",
            "施工单位",
            "费用（元）",
        ),
        (8, 12, 12, 12, 12, 24, 16, 10),
        accessibility_row,
        "cases.accessibilitymodification",
    ),
    _person_list(
        "custodial",
        "托养照护在托人员",
        "统计日期正在托养照护的人员，按托养方式筛选",
        lists.custodial_list,
        ("托养方式", "托养机构/服务人员", "开始日期", "结束日期"),
        (10, 20, 12, 12),
        custodial_row,
        "cases.custodialcare",
    ),
    _person_list(
        "welfare_posts",
        "公益性岗位在岗人员",
        "统计日期在岗的公益性岗位安置",
        lists.welfare_post_list,
        ("岗位名称", "设岗单位", "月工资（元）", "上岗日期", "离岗日期"),
        (16, 18, 10, 12, 12),
        welfare_post_row,
        "cases.welfarepostplacement",
    ),
    _person_list(
        "pairings",
        "结对帮扶与最近走访",
        "统计日期有效的一对一结对，帮扶人及该户最近一次走访日期",
        lists.pairing_list,
        (
            "乡镇",
            "村（社区）",
            "户主",
            "帮扶人",
            "帮扶人类型",
            "帮扶人单位",
            "结对日期",
            "最近走访",
        ),
        (12, 14, 10, 10, 10, 18, 12, 12),
        pairing_row,
        "cases.pairing",
        person_columns=False,
    ),
    _person_list(
        "gaps",
        "应保尽保、应补尽补缺口名单",
        "符合条件而未享受（或未知是否享受）的人员，按项目筛选，与比对规则S01–S05同一口径",
        lists.gap_list,
        ("年龄", "享受情况"),
        (6, 20),
        gap_row,
        "task_lists.gaps",
    ),
    TaskList(
        key="hardship_children",
        label="困境残疾儿童",
        note="困境残疾儿童及关爱记录",
        url_name="staff:hardship_children",
        export_name="staff:hardship_children_export",
        counted_by=hardship_list,
    ),
    _person_list(
        "stories",
        "典型宣传",
        "残疾人自强模范和扶残助残先进，事迹及宣传渠道",
        lists.story_list,
        ("乡镇", "村（社区）", "类型", "人物姓名", "事迹标题", "宣传渠道/刊发媒体", "宣传日期"),
        (12, 14, 14, 10, 30, 24, 12),
        story_row,
        "cases.exemplarystory",
        person_columns=False,
    ),
)
TASK_BY_KEY = {task.key: task for task in TASK_LISTS}


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@scope_safe(how="counts through each list's selector (staff.selectors.task_lists, scoped)")
@login_required
@require_GET
def task_index(request):
    """业务清单: every list with how many rows it has in the user's scope today."""
    require_task_role(request)

    def fill(scope: Scope) -> dict:
        place_list = places(request.user)
        entries = []
        for task in TASK_LISTS:
            url = _url_or_none(task.url_name)
            if url is None:
                continue
            count = None
            select = task.select or task.counted_by
            if select is not None:
                try:
                    rows, _ = select(request.user, {}, place_list)
                except PolicyError:
                    rows = None
                count = rows.count() if rows is not None else None
            entries.append({"task": task, "url": url, "count": count})
        return {"entries": entries, "roster_url": reverse("staff:roster_downloads")}

    return render(request, "staff/task_index.html", scope_context(request, "tasks", fill))


def count_of(rows, page) -> int:
    """How many rows the filters match: known from the page itself when it is the last one,
    else one COUNT (the lists are work lists, their size is what staff ask first)."""
    if not page.has_next and (page.rows or page.number == 1):
        return (page.number - 1) * page.per_page + len(page.rows)
    return rows.count()


def task_page(request, task: TaskList):
    """One list: filters, the count of what they match, a page of rows; audited."""
    require_task_role(request)
    assert task.select is not None

    as_of = lists.as_of_from(request.GET)

    def fill(scope: Scope) -> dict:
        try:
            rows, filterset = task.select(request.user, request.GET, places(request.user))
        except PolicyError as error:
            return {"policy_error": str(error)}
        page = page_of(rows, parse_page_number(request.GET.get("page")), TASKS_PER_PAGE)
        for row in page.rows:
            person = getattr(row, "person", None)
            row.age_on_date = age_on(person.birth_date, as_of) if person is not None else None
        audit_list(request, task.audit_label, request.GET, len(page.rows))
        return {
            "filter": filterset,
            "page": page,
            "count": count_of(rows, page),
            "query": request.GET.urlencode(),
        }

    context = scope_context(
        request,
        "tasks",
        fill,
        task=task,
        as_of=as_of,
        action=reverse(task.url_name),
        export_url=reverse(task.export_name),
        rows_template=f"staff/task_rows_{task.key}.html",
    )
    return render(request, "staff/task_list.html", context)


def task_export(request, task: TaskList):
    """The list's rows for its filters as .xlsx (masked ID numbers), audited as an export."""
    require_task_role(request)
    require_export_scope(request)
    assert task.select is not None and task.row is not None
    try:
        rows, _ = task.select(request.user, request.GET, places(request.user))
    except PolicyError as error:
        raise Http404(str(error)) from None
    on = lists.as_of_from(request.GET)
    row = task.row

    def cells() -> Iterable[tuple]:
        for item in rows[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield row(item, on)

    return xlsx_response(
        export_filename(task.label),
        task.headers,
        cells(),
        sheet_title=task.label[:31],
        widths=task.widths,
        request=request,
        label=task.audit_label,
    )


def _views(task: TaskList) -> list[URLPattern]:
    how = f"rows via staff.selectors.task_lists.{task.select.__name__} (scoped)"  # type: ignore[union-attr]

    @scope_safe(how=how)
    @login_required
    @require_GET
    def page(request):
        return task_page(request, task)

    @scope_safe(how=f"{how}; ID numbers masked")
    @login_required
    @require_GET
    def export(request):
        return task_export(request, task)

    page.__name__ = page.__qualname__ = f"task_{task.key}"
    export.__name__ = export.__qualname__ = f"task_{task.key}_export"
    slug = task.key.replace("_", "-")
    return [
        path(f"tasks/{slug}/", page, name=f"task_{task.key}"),
        path(f"tasks/{slug}/export.xlsx", export, name=f"task_{task.key}_export"),
    ]


# --- Finance rosters ---

ROSTER_ROLES_NOTE = "花名册含完整身份证号（与命令行同一文件），每次下载均记入审计；乡镇工作人员只能下载本乡镇的花名册"


class BadChoice(ValueError):
    """A roster choice that names nothing (shown on the page, nothing written)."""


def roster_township(request, scope: Scope) -> Township | None:
    """The roster's township: a county user's choice (none: the county), township staff's
    own township whatever the request says."""
    if scope.is_county:
        raw = request.GET.get("township") or ""
        if not raw:
            return None
        township = Township.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if township is None:
            raise BadChoice("请选择乡镇")
        return township
    if scope.township_id is None:
        raise PermissionDenied("您的账号尚未分配数据范围，不能下载花名册")
    return Township.objects.get(pk=scope.township_id)


def _roster_file(request, label: str, write: Callable[[io.BytesIO], Any], details: dict):
    buffer = io.BytesIO()
    try:
        result = write(buffer)
    except (RosterError, PolicyError) as error:
        return render(
            request,
            "staff/task_rosters.html",
            {**roster_context(request), "roster_error": str(error)},
            status=400,
        )
    audit_export(request, label, request.GET, result.rows, fmt="xlsx", details=details)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, f"{result.title}.xlsx")
    response["Cache-Control"] = "no-store"
    return response


def may_download_rosters(scope: Scope) -> bool:
    """Whether the page offers the files: the rosters' own check (`monitoring.rosters`:
    county users, township staff for their township) decides, this only hides the forms."""
    return scope.is_county or (scope.role == Role.TOWNSHIP_STAFF and scope.township_id is not None)


def roster_context(request) -> dict:
    scope = scope_for(request.user)
    this_year = today().year
    context: dict[str, Any] = {
        "scope": scope,
        "nav": "tasks",
        "years": list(range(this_year + 1, this_year - 5, -1)),
        "this_year": this_year,
        "this_month": f"{today():%Y-%m}",
        "benefits": [(b, str(BenefitType(b).label)) for b in PAYMENT_BENEFITS],
        "can_download": may_download_rosters(scope),
        "note": ROSTER_ROLES_NOTE,
    }
    if scope.is_county:
        context["townships"] = list(Township.objects.order_by("code").values_list("pk", "name"))
    return context


@scope_safe(how="no personal data: the roster choices; the files check role and scope")
@login_required
@require_GET
def roster_downloads(request):
    """财务花名册: the annual pension-contribution roster and the monthly payment rosters."""
    require_task_role(request)
    return render(request, "staff/task_rosters.html", roster_context(request))


def _year(request) -> int | None:
    raw = request.GET.get("year") or ""
    if not raw.isdigit() or not 2000 <= int(raw) <= 2100:
        return None
    return int(raw)


def _bad_choice(request, message: str) -> HttpResponse:
    context = roster_context(request) | {"roster_error": message}
    return render(request, "staff/task_rosters.html", context, status=400)


@scope_safe(how="township from the user's scope (township staff: their own); roster's role check")
@login_required
@require_GET
def roster_pension(request):
    """城乡居保代缴花名册 of a year: `monitoring.rosters.write_pension_roster`, as the command."""
    scope = require_task_role(request)
    try:
        township = roster_township(request, scope)
    except BadChoice as error:
        return _bad_choice(request, str(error))
    year = _year(request)
    if year is None:
        return _bad_choice(request, "请选择年度（2000–2100）")
    return _roster_file(
        request,
        "monitoring.pension_roster",
        lambda out: write_pension_roster(out, year, township=township, user=request.user),
        {"year": year, "township": township.name if township else "全县"},
    )


@scope_safe(how="township from the user's scope (township staff: their own); roster's role check")
@login_required
@require_GET
def roster_payment(request):
    """A month's payment roster of one benefit: `monitoring.rosters.write_payment_roster`."""
    scope = require_task_role(request)
    try:
        township = roster_township(request, scope)
    except BadChoice as error:
        return _bad_choice(request, str(error))
    benefit = request.GET.get("benefit") or ""
    raw_month = request.GET.get("month") or ""
    try:
        month = date.fromisoformat(f"{raw_month}-01")
    except ValueError:
        month = None
    if benefit not in PAYMENT_BENEFITS or month is None:
        return _bad_choice(request, "请选择发放项目和月份（如2026-07）")
    return _roster_file(
        request,
        "monitoring.payment_roster",
        lambda out: write_payment_roster(out, benefit, month, township=township, user=request.user),
        {
            "benefit": benefit,
            "month": f"{month:%Y-%m}",
            "township": township.name if township else "全县",
        },
    )


routes: list[URLPattern] = [
    path("tasks/", task_index, name="task_index"),
    path("tasks/rosters/", roster_downloads, name="roster_downloads"),
    path("tasks/rosters/pension.xlsx", roster_pension, name="roster_pension"),
    path("tasks/rosters/payment.xlsx", roster_payment, name="roster_payment"),
]
for _task in TASK_LISTS:
    if _task.select is not None:
        routes += _views(_task)
