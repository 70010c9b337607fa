"""Admin of benefit records and benefit applications (imported at the end of subsidies/admin.py).

County admins only. Staff-recorded records (origin 工作人员录入) are saved through
`cases.services.record_save` with a history row; rows imported from the civil-affairs
roster belong to their import and are read-only. An application's status moves only
through `subsidies.services` (申请中 → 已批准/未批准/已撤回).
"""

from django.contrib import admin

from cases.admin import HistoryAdmin, SearchNormalisingMixin
from cases.identity import mask_id_number
from cases.scope import scoped

from .models import BenefitApplication, BenefitRecord


class _PersonColumns:
    @admin.display(description="公民身份号码", ordering="person__id_number")
    def masked_id(self, obj):
        return mask_id_number(obj.person.id_number)

    @admin.display(description="乡镇", ordering="person__township__code")
    def township(self, obj):
        return obj.person.township.name if obj.person.township_id else ""


@admin.register(BenefitRecord)
class BenefitRecordAdmin(_PersonColumns, SearchNormalisingMixin, HistoryAdmin):
    list_display = (
        "person",
        "masked_id",
        "township",
        "benefit_type",
        "monthly_amount",
        "start_month",
        "end_month",
        "status",
        "origin",
        "is_current",
    )
    list_select_related = ("person__township",)
    list_filter = (
        "benefit_type",
        "status",
        "origin",
        "is_current",
        ("person__township", admin.RelatedFieldListFilter),
    )
    search_fields = ("person__name", "person__id_number")
    autocomplete_fields = ("person",)
    readonly_fields = ("origin", "batch", "recorded_by")

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.origin == BenefitRecord.Origin.CIVIL:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.origin == BenefitRecord.Origin.CIVIL:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.origin = BenefitRecord.Origin.MANUAL
        super().save_model(request, obj, form, change)


@admin.register(BenefitApplication)
class BenefitApplicationAdmin(_PersonColumns, SearchNormalisingMixin, HistoryAdmin):
    list_display = (
        "person",
        "masked_id",
        "township",
        "benefit_type",
        "status",
        "applied_on",
        "decided_on",
        "source_rule",
    )
    list_select_related = ("person__township",)
    list_filter = (
        "benefit_type",
        "status",
        ("person__township", admin.RelatedFieldListFilter),
    )
    search_fields = ("person__name", "person__id_number")
    autocomplete_fields = ("person",)
    readonly_fields = (
        "status",
        "decided_on",
        "decision_note",
        "decided_by",
        "benefit_record",
        "applied_by",
        "source_rule",
        "source_finding_id",
    )
    date_hierarchy = "applied_on"

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        if not change and obj.applied_by_id is None:
            obj.applied_by = request.user
        super().save_model(request, obj, form, change)
