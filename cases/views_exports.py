"""Exports of the staff lists to .xlsx (issue 6): persons, households, visits.

Each export uses the same scoped selector and filters as its list page, masks ID
numbers (6 + ******** + 4), writes through `cases.exports.xlsx_response` (every text
cell stored as text, formula-looking text neutralised) and is recorded in the audit
trail as an export with its filters and row count. The findings queue export lives in
`monitoring.views_findings`.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.views.decorators.http import require_GET

from .casework_base import today
from .exports import xlsx_response
from .identity import age_on, mask_id_number
from .scope import scope_for, scope_safe
from .selectors import person_list
from .selectors_pages import household_list, places, visit_list
from .views_common import export_filename

EXPORT_LIMIT = 100_000


def _require_scope(request):
    if scope_for(request.user).sees_nothing:
        raise PermissionDenied("您的账号尚未分配数据范围，不能导出")


@scope_safe(how="certified persons via selectors.person_list (scoped); IDs masked")
@login_required
@require_GET
def persons_export(request):
    _require_scope(request)
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


@scope_safe(how="households via selectors_pages.household_list (scoped); IDs masked")
@login_required
@require_GET
def households_export(request):
    _require_scope(request)
    from .models import MonitoringCase

    labels = dict(MonitoringCase.Status.choices)
    queryset, _ = household_list(request.user, request.GET, places(request.user))

    def rows():
        for household in queryset[:EXPORT_LIMIT].iterator(chunk_size=2000):
            yield (
                household.head_name,
                mask_id_number(household.head_id_number),
                household.township.name,
                household.village.name,
                household.size,
                household.member_count or 0,
                labels.get(household.case_status, "") if household.case_status else "",
            )

    return xlsx_response(
        export_filename("家庭名单"),
        (
            "户主姓名",
            "户主身份证号（脱敏）",
            "乡镇",
            "村（社区）",
            "家庭人口数",
            "登记成员数",
            "监测对象状态",
        ),
        rows(),
        sheet_title="家庭",
        text_columns=(1,),
        widths=(10, 22, 12, 14, 10, 10, 12),
        request=request,
        label="cases.household",
    )


@scope_safe(how="visits via selectors_pages.visit_list (scoped)")
@login_required
@require_GET
def visits_export(request):
    _require_scope(request)
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
