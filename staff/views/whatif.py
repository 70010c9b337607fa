"""Policy what-if (政策测算) pages: start a trial, follow its progress, read and export the
result. County admins only; the computation is `monitoring.whatif` (docs/WHATIF.zh.md)."""

from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from cases.audit import audit_view
from cases.exports import xlsx_response
from cases.http import no_store
from cases.scope import scope_safe
from monitoring.models import WhatIfRun
from monitoring.tasks import queue_whatif
from monitoring.whatif import PARAMETERS, REFUSAL, whatif_start
from staff.forms.policy import WhatIfForm
from staff.selectors.whatif import affected_households, whatif_years
from staff.views.common import GET_POST, export_filename, form_data, form_page, require_county_admin

# Affected households shown on the page; the export has all the run kept.
PAGE_HOUSEHOLDS = 200
CHANGE_LABELS = {"added": "新增", "cleared": "消除"}


def _start(request, form: WhatIfForm) -> WhatIfRun:
    run = whatif_start(request.user, form.cleaned_data["year"], form.parameters())
    queue_whatif(run.pk)
    return run


@scope_safe(how="no personal data: starts a trial run; county admins only")
@login_required
@GET_POST
def whatif_create(request):
    require_county_admin(request, REFUSAL)
    years = whatif_years()
    today = timezone.localdate().year
    initial = {"year": today if today in years else (years[0] if years else None)}
    return form_page(
        request,
        WhatIfForm(form_data(request), initial=initial, years=years),
        template="staff/whatif_new.html",
        context={"nav": "policy", "runs": WhatIfRun.objects.order_by("-id")[:10]},
        on_valid=lambda f: _start(request, f),
        success_message=lambda run: f"已发起{run.year}年度政策测算（#{run.pk}），正在后台计算",
        success_url=lambda run: reverse("staff:whatif_detail", args=[run.pk]),
    )


def _run_for_admin(request, pk: int) -> WhatIfRun:
    require_county_admin(request, REFUSAL)
    return get_object_or_404(WhatIfRun, pk=pk)


def _rows(result: dict) -> list[dict]:
    names = result.get("rule_names", {})
    return [{**row, "rule_name": names.get(row["rule"], "")} for row in result.get("rows", [])]


def _parameters(run: WhatIfRun) -> list[dict]:
    result = run.result or {}
    current, trial = result.get("current", {}), result.get("trial", run.parameters)
    changed = set(result.get("changed", []))
    return [
        {
            "label": label,
            "current": current.get(name, ""),
            "trial": trial.get(name, ""),
            "changed": name in changed,
        }
        for name, (_field, label) in PARAMETERS.items()
    ]


@scope_safe(how="households via selectors.whatif.affected_households (scoped); admins only")
@login_required
@require_GET
def whatif_detail(request, pk: int):
    run = _run_for_admin(request, pk)
    audit_view(request, run)
    result = run.result or {}
    households = []
    if run.status == WhatIfRun.Status.DONE:
        households = affected_households(request.user, result, limit=PAGE_HOUSEHOLDS)
    return render(
        request,
        "staff/whatif_detail.html",
        {
            "nav": "policy",
            "run": run,
            "result": result,
            "rows": _rows(result),
            "parameters": _parameters(run),
            "households": households,
            "change_labels": CHANGE_LABELS,
            "finished": run.status in (WhatIfRun.Status.DONE, WhatIfRun.Status.FAILED),
        },
    )


@scope_safe(how="no personal data: a run's status and progress; county admins only")
@login_required
@require_GET
def whatif_status(request, pk: int):
    run = _run_for_admin(request, pk)
    payload = JsonResponse(
        {
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "message": run.message,
            "finished": run.status in (WhatIfRun.Status.DONE, WhatIfRun.Status.FAILED),
        },
        json_dumps_params={"ensure_ascii": False},
    )
    return no_store(payload)


@scope_safe(how="households via selectors.whatif.affected_households (scoped); admins only")
@login_required
@require_GET
def whatif_export(request, pk: int):
    run = _run_for_admin(request, pk)
    if run.status != WhatIfRun.Status.DONE:
        return JsonResponse({"error": "测算尚未完成，暂不能导出"}, status=409)
    result = run.result or {}
    names = result.get("rule_names", {})

    def rows():
        for item in affected_households(request.user, result):
            yield (
                item["township_name"],
                item["village_name"],
                item["head_name"],
                f"{item['rule']} {names.get(item['rule'], '')}",
                CHANGE_LABELS.get(item["change"], item["change"]),
                len(item["persons"]),
                "、".join(item["persons"]),
            )

    return xlsx_response(
        export_filename(f"政策测算{run.pk}_{run.year}年度受影响家庭"),
        ("乡镇", "村（社区）", "户主", "规则", "变化", "人数", "人员"),
        rows(),
        sheet_title="受影响家庭",
        widths=(12, 14, 10, 24, 8, 6, 40),
        request=request,
        label="monitoring.whatifrun",
        filters={"run": run.pk},
    )
