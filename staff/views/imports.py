"""The import page for county admins: upload, batches, progress, error reports."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.http import no_store
from cases.masking import shown_text
from cases.scope import scope_for, scope_safe
from cases.selectors import page_of, parse_page_number
from monitoring.forms import ImportUploadForm
from monitoring.import_refusals import record_refused_upload
from monitoring.import_selectors import (
    batch_file_download,
    can_download_batch_files,
    can_import,
    import_batch_or_404,
    import_batches,
)
from monitoring.import_sweeper import sweep_stale_imports
from monitoring.models import ImportBatch
from monitoring.services import import_batch_counts, import_create_batch
from monitoring.tasks import queue_import

BATCHES_PER_PAGE = 30


ERRORS_SHOWN = 500


FINISHED = {ImportBatch.Status.DONE, ImportBatch.Status.REJECTED, ImportBatch.Status.FAILED}


@scope_safe(how="batches via import_selectors.import_batches (scoped by the batch's townships)")
@login_required
@require_http_methods(["GET", "POST"])
def import_list(request):
    """The batches in the user's scope; county admins also get the upload form."""
    uploader = can_import(request.user)
    form = None
    if request.method == "POST":
        if not uploader:
            raise PermissionDenied("只有县残联管理员可以导入数据")
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            batch = import_create_batch(
                form.cleaned_data["source"],
                upload,
                original_name=upload.name,
                user=request.user,
                skip_invalid=form.cleaned_data["skip_invalid"],
            )
            queue_import(batch.pk)
            return redirect("staff:import_detail", pk=batch.pk)
        # A file refused before it is read still leaves a batch and an audit event.
        record_refused_upload(form, request.user)
    elif uploader:
        form = ImportUploadForm()
    page = page_of(
        import_batches(request.user), parse_page_number(request.GET.get("page")), BATCHES_PER_PAGE
    )
    return render(
        request,
        "staff/imports_list.html",
        {
            "form": form,
            "page": page,
            "scope": scope_for(request.user),
            "nav": "imports",
            "max_upload_mb": _max_upload_mb(),
            "stale_minutes": _stale_minutes(),
        },
        status=400 if form is not None and form.is_bound else 200,
    )


def _max_upload_mb() -> int:

    return settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024)


def _stale_minutes() -> int:
    return int(settings.IMPORT_STALE_MINUTES.total_seconds() // 60)


@scope_safe(how="county admins only (can_import); the sweep is county-wide by design")
@login_required
@require_POST
def import_sweep(request):
    """清理中断的导入: the same sweep as the nightly task and `manage.py import_sweep`."""
    if not can_import(request.user):
        raise PermissionDenied("只有县残联管理员可以清理中断的导入")
    swept = sweep_stale_imports()
    if swept:
        numbers = "、".join(f"批次{batch.pk}" for batch in swept)
        messages.success(request, f"已将{len(swept)}个中断的导入标为失败：{numbers}")
    else:
        messages.info(
            request, f"没有中断的导入（超过{_stale_minutes()}分钟没有进展的排队中或导入中批次）"
        )
    return redirect("staff:import_list")


@scope_safe(how="one batch via import_selectors.import_batch_or_404")
@login_required
@require_GET
def import_detail(request, pk: int):
    """One batch: progress while it runs, then the summary and the row errors."""
    batch = import_batch_or_404(request.user, pk)
    return render(
        request,
        "staff/imports_detail.html",
        {
            "batch": batch,
            "finished": batch.status in FINISHED,
            "errors": batch.errors[:ERRORS_SHOWN],
            "errors_total": len(batch.errors),
            "errors_shown": ERRORS_SHOWN,
            "conflicts": batch.household_conflicts[:ERRORS_SHOWN],
            "conflicts_total": len(batch.household_conflicts),
            "townships": list(batch.townships.order_by("code").values_list("name", flat=True)),
            "can_download": can_download_batch_files(request.user),
            "nav": "imports",
        },
    )


def status_payload(batch: ImportBatch) -> dict:
    return {
        "status_label": batch.get_status_display(),
        "finished": batch.status in FINISHED,
        "progress": 100 if batch.status in FINISHED else batch.progress,
        **import_batch_counts(batch),
        "message": shown_text(batch.message),  # masked: older batches stored full numbers
    }


@scope_safe(how="one batch via import_selectors.import_batch_or_404; counts only")
@login_required
@require_GET
def import_status(request, pk: int):
    """Small JSON for the progress bar (polled by static/js/progress.js)."""
    batch = import_batch_or_404(request.user, pk)
    return no_store(JsonResponse(status_payload(batch), json_dumps_params={"ensure_ascii": False}))


@scope_safe(how="one batch via import_selectors.import_batch_or_404, then its file")
@login_required
@require_GET
def import_download(request, pk: int, kind: str):
    """Download the original file (`original`) or the error report (`errors`): county
    admins only, audited as an export (`import_selectors.batch_file_download`)."""
    batch = import_batch_or_404(request.user, pk)
    return batch_file_download(request, batch, kind)
