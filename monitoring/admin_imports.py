"""Admin for imports and imported source data (county admins only; docs/IMPORTS.md, docs/RULES.md#roles).

- 导入批次 (ImportBatch): read-only (batches are never edited); the list has an
  "导入数据" button leading to a two-step import backed by the same engine as the
  CLI and the upload page: (1) upload a file for a source → `import_validate` shows
  every row error (row, column, message) with nothing written; (2) confirm →
  `import_create_batch` + `monitoring.tasks.queue_import` (Celery, in-process without
  a broker). Between the steps the file waits in MEDIA_ROOT/import-staging under a
  random token kept in the admin's session.
- Original files and error reports are served by admin views after the scope check
  (never from MEDIA_URL).
- 调查数据, 监测名单家庭 (with members inline) and 监测名单成员: read-only, they
  change only through imports; search by name/ID, filter by township.
"""

import logging
import secrets
import tempfile
import time
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.files import File
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from cases.admin_base import (
    HouseholdColumns,
    PersonColumns,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ViewOnlyAdmin,
)
from cases.identity import mask_id_number
from cases.masking import shown_text

from .forms import ImportUploadForm
from .import_refusals import record_refused_upload
from .import_selectors import batch_file_download, can_import, import_batches, shown_rows
from .importing.report import report_name, write_error_report
from .models import ImportBatch, RosterHousehold, RosterMember, Source, SurveyRecord
from .services import import_create_batch, import_validate
from .tasks import queue_import

logger = logging.getLogger(__name__)

STAGING_DIR = "import-staging"
STAGING_SESSION_KEY = "monitoring_import_staging"
STAGING_MAX_AGE = 24 * 3600
STAGING_KEEP = 5  # staged files remembered per session
ERRORS_ON_BATCH_PAGE = 500


# --- staging between preview and confirm ---------------------------------------------------------


def _staging_dir() -> Path:
    directory = Path(settings.MEDIA_ROOT) / STAGING_DIR
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _clean_staging() -> None:
    """Forget staged files nobody confirmed within a day."""
    cutoff = time.time() - STAGING_MAX_AGE
    for staged in _staging_dir().glob("*"):
        try:
            if staged.is_file() and staged.stat().st_mtime < cutoff:
                staged.unlink()
        except OSError:
            logger.warning("could not remove staged import file %s", staged)


def _stage(request, upload, source: str, skip_invalid: bool) -> dict:
    _clean_staging()
    token = secrets.token_urlsafe(18)
    suffix = Path(upload.name or "").suffix.lower()
    target = _staging_dir() / f"{token}{suffix}"
    with open(target, "wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    entry = {
        "token": token,
        "file": target.name,
        "source": source,
        "original_name": (upload.name or "import")[:255],
        "skip_invalid": skip_invalid,
    }
    staged = [item for item in request.session.get(STAGING_SESSION_KEY, []) if item["token"]]
    for old in staged[: max(0, len(staged) - STAGING_KEEP + 1)]:
        (_staging_dir() / old["file"]).unlink(missing_ok=True)
    request.session[STAGING_SESSION_KEY] = [*staged[-(STAGING_KEEP - 1) :], entry]
    return entry


def _staged_entry(request, token: str) -> dict:
    for entry in request.session.get(STAGING_SESSION_KEY, []):
        if entry["token"] == token and (_staging_dir() / entry["file"]).is_file():
            return entry
    raise Http404("上传的文件已过期或不存在，请重新上传")


def _forget(request, token: str) -> None:
    kept = []
    for entry in request.session.get(STAGING_SESSION_KEY, []):
        if entry["token"] == token:
            (_staging_dir() / entry["file"]).unlink(missing_ok=True)
        else:
            kept.append(entry)
    request.session[STAGING_SESSION_KEY] = kept


def _remember_outcome(request, token: str, result) -> None:
    """Keep the preview's outcome with the staged file (the confirm step reads it)."""
    for entry in request.session.get(STAGING_SESSION_KEY, []):
        if entry["token"] == token:
            entry["invalid"] = result.invalid_count
            entry["file_error"] = bool(result.file_error)
            request.session.modified = True


class ConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    skip_invalid = forms.BooleanField(label="跳过错误行", required=False)


# --- import batches -------------------------------------------------------------------------------


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    change_list_template = "monitoring/admin/importbatch_change_list.html"
    list_display = (
        "id",
        "source",
        "status",
        "original_name",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "error_count",
        "uploaded_by",
        "created_at",
        "downloads",
    )
    list_display_links = ("id", "original_name")
    list_filter = ("source", "status", "skip_invalid", "townships")
    search_fields = ("original_name", "=sha256", "uploaded_by__username", "message")
    date_hierarchy = "created_at"
    fields = (
        "source",
        "status",
        "skip_invalid",
        "original_name",
        "sha256",
        "uploaded_by",
        "created_at",
        "started_at",
        "finished_at",
        "rows",
        "created",
        "updated",
        "unchanged",
        "skipped",
        "shown_message",
        "township_names",
        "downloads",
        "error_table",
        "conflict_table",
    )
    readonly_fields = fields

    def get_queryset(self, request):
        return import_batches(request.user)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_upload_view), name="monitoring_importbatch_import"),
            path(
                "import/confirm/",
                wrap(self.import_confirm_view),
                name="monitoring_importbatch_import_confirm",
            ),
            path(
                "import/preview-report/<str:token>/",
                wrap(self.preview_report_view),
                name="monitoring_importbatch_preview_report",
            ),
            path(
                "<int:pk>/download/<str:kind>/",
                wrap(self.download_view),
                name="monitoring_importbatch_download",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": can_import(request.user)}
        return super().changelist_view(request, extra_context)

    # --- columns ---

    @admin.display(description="错误数")
    def error_count(self, obj):
        return len(obj.errors)

    @admin.display(description="文件")
    def downloads(self, obj):
        links = [
            (
                reverse("admin:monitoring_importbatch_download", args=[obj.pk, "original"]),
                "原文件",
            )
        ]
        if obj.error_report:
            links.append(
                (
                    reverse("admin:monitoring_importbatch_download", args=[obj.pk, "errors"]),
                    "错误报告",
                )
            )
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    @admin.display(description="说明")
    def shown_message(self, obj):
        # Masked when shown: batches stored before messages were masked (shown_rows).
        return shown_text(obj.message) or "—"

    @admin.display(description="涉及乡镇")
    def township_names(self, obj):
        return "、".join(obj.townships.order_by("code").values_list("name", flat=True)) or "—"

    @admin.display(description="行错误")
    def error_table(self, obj):
        if not obj.errors:
            return "无"
        cells = [
            (
                f"第{error['row']}行" if error.get("row") else "整个文件",
                error.get("column") or "—",
                error.get("message", ""),
            )
            for error in shown_rows(obj.errors, ERRORS_ON_BATCH_PAGE)
        ]
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", cells)
        more = ""
        if len(obj.errors) > ERRORS_ON_BATCH_PAGE:
            more = f"共{len(obj.errors)}条，此处列出前{ERRORS_ON_BATCH_PAGE}条，全部见错误报告"
        return format_html(
            "<table><thead><tr><th>行号</th><th>列</th><th>错误说明</th></tr></thead>"
            "<tbody>{}</tbody></table><p>{}</p>",
            rows,
            more,
        )

    @admin.display(description="户内不一致（提示）")
    def conflict_table(self, obj):
        if not obj.household_conflicts:
            return "无"
        cells = [
            (conflict.get("household", ""), conflict.get("column", ""), conflict.get("message", ""))
            for conflict in shown_rows(obj.household_conflicts, ERRORS_ON_BATCH_PAGE)
        ]
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", cells)
        more = ""
        if len(obj.household_conflicts) > ERRORS_ON_BATCH_PAGE:
            more = (
                f"共{len(obj.household_conflicts)}条，此处列出前{ERRORS_ON_BATCH_PAGE}条，"
                "全部见错误报告"
            )
        return format_html(
            "<table><thead><tr><th>户编号</th><th>列</th><th>说明</th></tr></thead>"
            "<tbody>{}</tbody></table><p>{}</p>",
            rows,
            more,
        )

    # --- downloads ---

    def download_view(self, request, pk: int, kind: str):
        batch = self.get_queryset(request).filter(pk=pk).first()
        if batch is None or not self.has_view_permission(request, batch):
            raise Http404("不存在或不在您的数据范围内")
        return batch_file_download(request, batch, kind)

    # --- two-step import ---

    def _context(self, request, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "has_view_permission": self.has_view_permission(request),
            **extra,
        }

    def _require_importer(self, request):
        if not can_import(request.user):
            raise Http404("只有县残联管理员可以导入数据")

    def import_upload_view(self, request):
        """Step 1: choose the source and the file; a POST validates it (nothing written)."""
        self._require_importer(request)
        if request.method == "POST":
            form = ImportUploadForm(request.POST, request.FILES)
            if form.is_valid():
                entry = _stage(
                    request,
                    form.cleaned_data["file"],
                    form.cleaned_data["source"],
                    form.cleaned_data["skip_invalid"],
                )
                return self._preview(request, entry)
            record_refused_upload(form, request.user)  # every attempt leaves a batch
        else:
            form = ImportUploadForm(initial={"source": request.GET.get("source", "")})
        return TemplateResponse(
            request,
            "monitoring/admin/import_upload.html",
            self._context(
                request,
                "导入数据",
                form=form,
                max_upload_mb=settings.IMPORT_MAX_UPLOAD_BYTES // (1024 * 1024),
            ),
        )

    def _preview(self, request, entry: dict, confirm_error: str = ""):
        result = import_validate(entry["source"], _staging_dir() / entry["file"])
        _remember_outcome(request, entry["token"], result)
        form = ConfirmForm(initial={"token": entry["token"], "skip_invalid": entry["skip_invalid"]})
        return TemplateResponse(
            request,
            "monitoring/admin/import_preview.html",
            self._context(
                request,
                "导入预检",
                entry=entry,
                source_label=Source(entry["source"]).label,
                result=result,
                valid_count=len(result.valid_rows),
                form=form,
                confirm_error=confirm_error,
            ),
            status=400 if confirm_error else 200,
        )

    def import_confirm_view(self, request):
        """Step 2: create the batch from the staged file and queue its import."""
        self._require_importer(request)
        if request.method != "POST":
            return redirect("admin:monitoring_importbatch_import")
        form = ConfirmForm(request.POST)
        if not form.is_valid():
            raise Http404("上传的文件已过期或不存在，请重新上传")
        entry = _staged_entry(request, form.cleaned_data["token"])
        skip_invalid = form.cleaned_data["skip_invalid"]
        staged = _staging_dir() / entry["file"]
        # The staged file cannot change after the preview: its outcome decides here.
        if entry.get("file_error"):
            return self._preview(request, entry, "文件无法导入：请按上面的说明修改后重新上传")
        if entry.get("invalid") and not skip_invalid:
            return self._preview(
                request,
                entry,
                f"文件中有{entry['invalid']}行错误：按严格模式不会写入任何数据。"
                "请勾选“跳过错误行”只导入正确的行，或修改文件后重新上传",
            )
        batch = import_create_batch(
            entry["source"],
            staged,
            original_name=entry["original_name"],
            user=request.user,
            skip_invalid=skip_invalid,
        )
        _forget(request, entry["token"])
        queue_import(batch.pk)
        self.message_user(
            request,
            f"已创建导入批次{batch.pk}（{batch.get_source_display()}），正在后台导入；"
            "刷新本页查看结果",
            messages.SUCCESS,
        )
        return redirect("admin:monitoring_importbatch_change", batch.pk)

    def preview_report_view(self, request, token: str):
        """The error report of a staged (not yet imported) file."""
        self._require_importer(request)
        entry = _staged_entry(request, token)
        staged = _staging_dir() / entry["file"]
        result = import_validate(entry["source"], staged)
        if not result.errors and not result.warnings:
            raise Http404("该文件没有错误")
        handle = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        write_error_report(staged, result, handle)
        handle.seek(0)
        response = FileResponse(
            File(handle), as_attachment=True, filename=report_name(entry["original_name"])
        )
        response["Cache-Control"] = "no-store"
        return response


# --- imported source data (read-only) --------------------------------------------------------------


class ImportedAdmin(ViewOnlyAdmin):
    """Imported rows change only through imports."""

    show_full_result_count = False


@admin.register(SurveyRecord)
class SurveyRecordAdmin(PersonColumns, ImportedAdmin):
    list_display = (
        "person_name",
        "masked_id",
        "township",
        "village",
        "income_per_capita",
        "employment_status",
        "survival_status",
        "surveyed_on",
        "batch",
    )
    list_select_related = ("person__township", "person__village", "batch")
    list_filter = (
        ("person__township", admin.RelatedFieldListFilter),
        "survival_status",
        "employment_status",
        "in_school",
        "receives_dibao",
        "housing_safe",
        "water_safe",
    )
    search_fields = ("person__name", "=person__id_number")


# What the roster says of each member, in the household's rows and in the members' list.
ROSTER_MEMBER_FACTS = (
    "relation",
    "is_disabled",
    "disability_category",
    "disability_grade",
    "status",
    "is_current",
)


class RosterMemberColumns:
    @admin.display(description="证件号码", ordering="person__id_number")
    def masked_id(self, obj):
        return mask_id_number(obj.person.id_number)


class RosterMemberInline(RosterMemberColumns, ReadOnlyInline):
    model = RosterMember
    fields = ("name", "masked_id", *ROSTER_MEMBER_FACTS)
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("person")


@admin.register(RosterHousehold)
class RosterHouseholdAdmin(ImportedAdmin):
    list_display = (
        "household_number",
        "head_name",
        "township",
        "village",
        "household_type",
        "monitoring_category",
        "risk_cleared",
        "income_per_capita",
        "is_current",
        "batch",
    )
    list_select_related = ("township", "village__township", "batch")
    list_filter = (
        "township",
        "household_type",
        "monitoring_category",
        "risk_cleared",
        "is_current",
    )
    search_fields = (
        "household_number",
        "head_name",
        "members__name",
        "=members__person__id_number",
    )
    inlines = [RosterMemberInline]


@admin.register(RosterMember)
class RosterMemberAdmin(RosterMemberColumns, HouseholdColumns, ImportedAdmin):
    list_display = ("name", "masked_id", "household", "township", *ROSTER_MEMBER_FACTS)
    list_select_related = ("person", "household__township")
    list_filter = (
        ("household__township", admin.RelatedFieldListFilter),
        "is_current",
        "is_disabled",
        "status",
    )
    search_fields = ("name", "=person__id_number", "household__household_number")
    exclude = ("person",)
    readonly_fields = ("masked_id",)
