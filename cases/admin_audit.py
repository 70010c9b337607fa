"""The audit trail in the Django admin: read-only, searchable, exportable (county admins only).

Only county admins reach the admin (`cases.admin_base.county_admin_only`). Nobody can add,
change or delete an event here (the model refuses it anyway). The export actions write
.xlsx/.csv through `cases.exports` (formula-safe) and are themselves audited.
"""

import json

from django.contrib import admin
from django.utils import timezone

from .admin_base import ReadOnlyAdminMixin, pretty_json
from .exports import csv_response, xlsx_response
from .models import AuditEvent

EXPORT_HEADERS = (
    "时间",
    "用户名",
    "IP地址",
    "操作",
    "结果",
    "对象类型",
    "对象编号",
    "对象（已脱敏）",
    "请求",
    "详情（已脱敏）",
)


def export_rows(queryset):
    for event in queryset.order_by("created_at", "id").iterator(chunk_size=2000):
        yield (
            timezone.localtime(event.created_at).strftime("%Y-%m-%d %H:%M:%S"),
            event.username,
            event.ip_address or "",
            event.get_action_display(),
            event.get_result_display(),
            event.target_model,
            event.target_id,
            event.target_label,
            f"{event.method} {event.path}".strip(),
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "username",
        "ip_address",
        "action",
        "result",
        "target_model",
        "target_label",
        "path",
    )
    list_filter = ("action", "result", "created_at", "target_model")
    search_fields = ("username", "target_label", "target_id", "ip_address", "path")
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 100
    fields = (
        "created_at",
        "username",
        "actor",
        "ip_address",
        "action",
        "result",
        "target_model",
        "target_id",
        "target_label",
        "method",
        "path",
        "details_pretty",
    )
    readonly_fields = fields
    actions = ["export_xlsx", "export_csv"]

    @admin.display(description="详情（已脱敏）")
    def details_pretty(self, obj):
        return pretty_json(obj.details)

    def _export(self, request, queryset, response_for, suffix):
        filters = dict(request.GET.items())
        filters["selected"] = queryset.count()
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return response_for(
            f"审计日志-{stamp}.{suffix}",
            EXPORT_HEADERS,
            export_rows(queryset),
            request=request,
            label="cases.auditevent",
            filters=filters,
        )

    @admin.action(description="导出所选审计日志为Excel", permissions=["view"])
    def export_xlsx(self, request, queryset):
        return self._export(
            request,
            queryset,
            lambda *args, **kwargs: xlsx_response(
                *args,
                sheet_title="审计日志",
                widths=(20, 14, 16, 12, 8, 20, 10, 30, 40, 60),
                **kwargs,
            ),
            "xlsx",
        )

    @admin.action(description="导出所选审计日志为CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return self._export(request, queryset, csv_response, "csv")
