"""Cross-check runs for county admins: history, counts by rule, "run now"."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from cases.audit import Action, audit, audit_list, audit_view
from cases.scope import scope_safe
from cases.selectors import page_of, parse_page_number
from monitoring.models import CrosscheckRun
from monitoring.tasks import crosscheck_task
from staff.selectors.findings import crosscheck_runs, run_rule_rows
from staff.views.common import require_county_admin

RUNS_PER_PAGE = 30


RUNS_REFUSAL = "只有县残联管理员可以查看和发起比对"


@scope_safe(how="no personal data: run records and counts; county admins only")
@login_required
@require_GET
def run_list(request):
    require_county_admin(request, RUNS_REFUSAL)
    page = page_of(crosscheck_runs(), parse_page_number(request.GET.get("page")), RUNS_PER_PAGE)
    running = CrosscheckRun.objects.filter(status=CrosscheckRun.Status.RUNNING).exists()
    audit_list(request, "monitoring.crosscheckrun", request.GET, len(page.rows))
    return render(
        request,
        "staff/run_list.html",
        {"page": page, "running": running, "nav": "runs"},
    )


@scope_safe(how="no personal data: one run's counts by rule; county admins only")
@login_required
@require_GET
def run_detail(request, pk: int):
    require_county_admin(request, RUNS_REFUSAL)
    run = get_object_or_404(
        CrosscheckRun.objects.select_related("triggered_by").prefetch_related("batches"), pk=pk
    )
    audit_view(request, run)
    return render(
        request,
        "staff/run_detail.html",
        {
            "run": run,
            "rules": run_rule_rows(run),
            "batches": list(run.batches.all()),
            "nav": "runs",
        },
    )


def queue_crosscheck(user_id: int) -> None:
    """Queue the cross-check once the transaction commits (in-process without a broker)."""

    transaction.on_commit(
        lambda: crosscheck_task.delay(user_id=user_id, trigger=CrosscheckRun.Trigger.STAFF.value)
    )


@scope_safe(how="no personal data: queues the county-wide cross-check; county admins only")
@login_required
@require_POST
def run_start(request):
    require_county_admin(request, RUNS_REFUSAL)
    if CrosscheckRun.objects.filter(status=CrosscheckRun.Status.RUNNING).exists():
        messages.warning(request, "已有一次比对正在运行，请等待其完成后再发起")
        return redirect("staff:run_list")
    queue_crosscheck(request.user.pk)
    audit(request, Action.CROSSCHECK, target="比对任务已提交", details={"queued": True})
    messages.success(request, "已提交比对任务。比对完成后，本页列表会出现新的运行记录。")
    return redirect("staff:run_list")
