"""Printable forms (docs/PRINTING.md): the visit record, a child's 一人一案 sheet, the
monitoring household's identification form and a township's list of households due for a
visit. A4 pages on their own print base (templates/staff/print/), each loaded in the
user's scope like the page it is printed from and audited as a read.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.audit import audit_list, audit_view
from cases.scope import scope_for, scope_safe
from staff.selectors.printing import (
    case_sheet,
    child_sheet,
    due_list,
    print_townships,
    visit_sheet,
)

# Who signs each paper form (the lines at its foot).
VISIT_SIGNERS = ("走访人签字", "户主（或家庭成员）签字", "村（社区）签字盖章")
CASE_SIGNERS = ("户主（或家庭成员）签字", "村（社区）签字盖章", "乡镇审核签字盖章")
CHILD_SIGNERS = ("监护人签字", "学校（送教教师）签字", "乡镇（社区）残联签字盖章")
DUE_SIGNERS = ("制表人", "审核人")


def _printed(request: HttpRequest, template: str, context: dict, status: int = 200):
    """A print page: who prints it and when go on every sheet (as on a paper form)."""
    context |= {"printed_at": timezone.localtime(), "printed_by": request.user}
    return render(request, template, context, status=status)


@scope_safe(how="visit via selectors.printing.visit_sheet (get_in_scope_or_404)")
@login_required
@require_GET
def visit_print(request: HttpRequest, pk: int) -> HttpResponse:
    """入户走访记录表 of one visit, with the checklist, income, notes and signature lines."""
    sheet = visit_sheet(request.user, pk)
    audit_view(request, sheet.visit, details={"print": "入户走访记录表"})
    back = reverse("staff:household_detail", args=[sheet.visit.household_id])
    return _printed(
        request,
        "staff/print/visit.html",
        {"sheet": sheet, "back_url": back, "signers": VISIT_SIGNERS},
    )


@scope_safe(how="household via selectors.printing.case_sheet (get_in_scope_or_404)")
@login_required
@require_GET
def case_print(request: HttpRequest, pk: int) -> HttpResponse:
    """监测对象识别表 of a household: its latest monitoring case and the history of all."""
    sheet = case_sheet(request.user, pk)
    audit_view(request, sheet.household, details={"print": "监测对象识别表"})
    back = reverse("staff:household_detail", args=[sheet.household.pk])
    return _printed(
        request,
        "staff/print/case.html",
        {"sheet": sheet, "back_url": back, "signers": CASE_SIGNERS},
    )


@scope_safe(how="person via selectors.printing.child_sheet (persons.person_page, scoped)")
@login_required
@require_GET
def child_plan_print(request: HttpRequest, pk: int) -> HttpResponse:
    """适龄残疾儿童少年一人一案 of a certified child: plan, care records, services."""
    sheet = child_sheet(request.user, pk)
    audit_view(request, sheet.person, details={"print": "一人一案"})
    back = reverse("staff:person_detail", args=[sheet.person.pk])
    return _printed(
        request,
        "staff/print/child_plan.html",
        {"sheet": sheet, "back_url": back, "signers": CHILD_SIGNERS},
    )


@scope_safe(how="overdue households via selectors.printing.due_list (scoped)")
@login_required
@require_GET
def due_visits_print(request: HttpRequest) -> HttpResponse:
    """应走访监测户名单 of one township (county users choose it; others print their own)."""
    scope = scope_for(request.user)
    if scope.sees_nothing:
        raise PermissionDenied("您的账号尚未分配数据范围，不能打印")
    back = reverse("staff:dashboard") + "#overdue-title"
    raw = (request.GET.get("township") or "").strip()
    if scope.is_county and not raw.isdigit():
        context = {
            "townships": print_townships(),
            "error": "请选择有效的乡镇" if raw else "",
            "back_url": back,
        }
        return _printed(request, "staff/print/due_choose.html", context, status=400 if raw else 200)
    listed = due_list(request.user, int(raw) if scope.is_county else None)
    filters = {"township": listed.township.pk if listed.township else "", "print": "due"}
    audit_list(request, "cases.household", filters, len(listed.rows))
    return _printed(
        request,
        "staff/print/due_visits.html",
        {"due": listed, "back_url": back, "signers": DUE_SIGNERS},
    )
