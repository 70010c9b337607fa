"""Admin of benefit records and benefit applications (imported at the end of subsidies/admin.py).

County admins only. Writes go through `subsidies.services` like the staff pages
(`ServiceAdmin`): a staff-recorded benefit (origin 工作人员录入) through
`benefit_record_save`, a new application through `benefit_application_create`; the
service's Chinese message shows on the form when it refuses. Rows imported from the
civil-affairs roster belong to their import and are read-only; an application is decided
or withdrawn on the staff pages (申请中 → 已批准/未批准/已撤回), so it is view-only here.
Nothing is deleted here.
"""

from django.contrib import admin

from cases.admin_base import SearchNormalisingMixin, ServiceAdmin
from cases.identity import mask_id_number

from . import services
from .models import BenefitApplication, BenefitRecord


class _PersonColumns:
    @admin.display(description="公民身份号码", ordering="person__id_number")
    def masked_id(self, obj):
        return mask_id_number(obj.person.id_number)

    @admin.display(description="乡镇", ordering="person__township__code")
    def township(self, obj):
        return obj.person.township.name if obj.person.township_id else ""


@admin.register(BenefitRecord)
class BenefitRecordAdmin(_PersonColumns, SearchNormalisingMixin, ServiceAdmin):
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
    add_fields = ("person", "benefit_type", "status", "monthly_amount", "start_month", "end_month")
    change_fields = ("status", "monthly_amount", "start_month", "end_month")
    shown_fields = (*add_fields, "is_current", "origin", "batch", "recorded_by")

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.origin == BenefitRecord.Origin.CIVIL:
            return False
        return super().has_change_permission(request, obj)

    def create(self, request, data):
        return self._save(request, data["person"], data["benefit_type"], data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj.person, obj.benefit_type, data)

    def _save(self, request, person, benefit_type, data):
        return services.benefit_record_save(
            request.user,
            person,
            benefit_type=benefit_type,
            status=data["status"],
            monthly_amount=data.get("monthly_amount"),
            start_month=data.get("start_month"),
            end_month=data.get("end_month"),
            reason=data.get("change_reason") or "",
        )


@admin.register(BenefitApplication)
class BenefitApplicationAdmin(_PersonColumns, SearchNormalisingMixin, ServiceAdmin):
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
    add_fields = ("person", "benefit_type", "applied_on", "note")
    shown_fields = (
        *add_fields,
        "status",
        "decided_on",
        "decision_note",
        "decided_by",
        "benefit_record",
        "applied_by",
        "source_rule",
        "source_finding_id",
    )

    def create(self, request, data):
        return services.benefit_application_create(
            request.user,
            data["person"],
            benefit_type=data["benefit_type"],
            applied_on=data.get("applied_on"),
            note=data.get("note") or "",
        )
