"""Admin of benefit records and benefit applications (imported at the end of subsidies/admin.py).

County admins only. Writes go through `subsidies.services` like the staff pages
(`ServiceAdmin`): a staff-recorded benefit (origin 工作人员录入) through
`benefit_record_save`, a new application through `benefit_application_create`; the
service's Chinese message shows on the form when it refuses. Rows imported from the
civil-affairs roster belong to their import and are read-only; an application is reviewed,
decided, delivered or withdrawn on the household page (申请中 → 已审核 → 已批准/未批准 →
已落实, 已撤回), so those steps are view-only here. Referral units are kept through
`subsidies.referrals.referral_unit_save` (as on /referrals/units/); referrals themselves
are made and followed on the household page and only viewed here. Nothing is deleted here.
"""

from django.contrib import admin

from cases.admin_base import (
    HouseholdRecordMixin,
    PersonRecordMixin,
    SearchNormalisingMixin,
    ServiceAdmin,
    ViewOnlyAdmin,
)

from . import referrals, services
from .models import BenefitApplication, BenefitRecord, Referral, ReferralUnit


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
    "reviewed_on",
    "reviewed_by",
    "review_note",
    "decided_on",
    "decision_note",
    "decided_by",
    "benefit_record",
    "delivered_on",
    "delivered_by",
    "delivery_note",
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


@admin.register(ReferralUnit)
class ReferralUnitAdmin(ServiceAdmin):
    """The unit list, written through `referral_unit_save` (county admins, history)."""

    list_display = ("name", "sort_order", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name",)
    add_fields = change_fields = ("name", "sort_order", "is_active")
    save_service = staticmethod(referrals.referral_unit_save)


@admin.register(Referral)
class ReferralAdmin(HouseholdRecordMixin, ViewOnlyAdmin):
    """Referrals are made and followed on the household page; shown here."""

    list_display = (
        "household",
        "masked_head_id",
        "township",
        "unit",
        "status",
        "referred_on",
        "accepted_on",
        "closed_on",
    )
    list_filter = ("status", "unit", ("household__township", admin.RelatedFieldListFilter))
    list_select_related = ("household__township", "unit")
    readonly_fields = (
        "household",
        "unit",
        "measure",
        "application",
        "status",
        "referred_on",
        "request",
        "referred_by",
        "accepted_on",
        "closed_on",
        "response",
    )
