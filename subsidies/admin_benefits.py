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

from cases.admin_base import PersonRecordMixin, SearchNormalisingMixin, ServiceAdmin

from . import services
from .models import BenefitApplication, BenefitRecord


class BenefitAdmin(PersonRecordMixin, SearchNormalisingMixin, ServiceAdmin):
    """Benefits of a person, written through `subsidies.services`."""


@admin.register(BenefitRecord)
class BenefitRecordAdmin(BenefitAdmin):
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
    list_filter = (
        "benefit_type",
        "status",
        "origin",
        "is_current",
        ("person__township", admin.RelatedFieldListFilter),
    )
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
        # The reason typed into the form reaches the history row through `recorded_as`.
        values = self.service_values(data)
        return services.benefit_record_save(
            request.user, person, benefit_type=benefit_type, **values
        )


# What the staff pages decided about an application: shown, never edited here.
DECISION_FIELDS = (
    "status",
    "decided_on",
    "decision_note",
    "decided_by",
    "benefit_record",
    "applied_by",
    "source_rule",
    "source_finding_id",
)


@admin.register(BenefitApplication)
class BenefitApplicationAdmin(BenefitAdmin):
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
    list_filter = (
        "benefit_type",
        "status",
        ("person__township", admin.RelatedFieldListFilter),
    )
    readonly_fields = DECISION_FIELDS
    date_hierarchy = "applied_on"
    add_fields = ("person", "benefit_type", "applied_on", "note")
    shown_fields = (*add_fields, *DECISION_FIELDS)
    add_service = staticmethod(services.benefit_application_create)
