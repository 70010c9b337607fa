"""Admin of the case-work records of the six task areas (imported at the end of cases/admin.py).

Same rules as the registry admin: county admins only (`CountyAdminMixin`), every save
and delete through `cases.services.record_save/record_delete` with a history row
(`HistoryAdmin`), ID numbers masked in lists, lists scoped with `cases.scope.scoped`.
Workflow fields (a monitoring case's status, an accessibility modification's progress)
are read-only here: steps go through `cases.casework` so each is checked and recorded.
EducationPlan, RehabService, Pairing and AssistanceMeasure already have their admin in
cases/admin.py (it lists every field, including the ones the case work added).
"""

from django.contrib import admin

from .admin import CountyAdminMixin, HistoryAdmin, SearchNormalisingMixin
from .identity import mask_id_number
from .models import (
    AccessibilityModification,
    BaseEmployment,
    CommitteeMember,
    CustodialCare,
    EmploymentBase,
    ExemplaryStory,
    FamilyDoctorContract,
    LabourProfile,
    MonitoringCase,
    MonitoringCaseStep,
    RehabNeed,
    TrackingVisit,
    Training,
    VillageAssociation,
    WelfarePostPlacement,
)
from .scope import scoped


class ScopedHistoryAdmin(SearchNormalisingMixin, HistoryAdmin):
    """History-recording admin whose lists are scoped like every other read."""

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))


class PersonColumns:
    """List columns for records of a person: masked ID number and township."""

    @admin.display(description="公民身份号码", ordering="person__id_number")
    def masked_id(self, obj):
        return mask_id_number(obj.person.id_number)

    @admin.display(description="乡镇", ordering="person__township__code")
    def township(self, obj):
        return obj.person.township.name if obj.person.township_id else ""


class HouseholdColumns:
    @admin.display(description="乡镇", ordering="household__township__code")
    def township(self, obj):
        return obj.household.township.name

    @admin.display(description="户主身份证号", ordering="household__head_id_number")
    def masked_head_id(self, obj):
        return mask_id_number(obj.household.head_id_number)


PERSON_SEARCH = ("person__name", "person__id_number")
HOUSEHOLD_SEARCH = ("household__head_name", "household__head_id_number")


# --- monitoring cases: view only (steps through cases.casework) ---


class MonitoringCaseStepInline(CountyAdminMixin, admin.TabularInline):
    model = MonitoringCaseStep
    fields = ("acted_on", "from_status", "to_status", "actor", "reason", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MonitoringCase)
class MonitoringCaseAdmin(
    HouseholdColumns, SearchNormalisingMixin, CountyAdminMixin, admin.ModelAdmin
):
    """监测对象 are opened and moved only through the workflow services: view only here."""

    list_display = (
        "household",
        "masked_head_id",
        "township",
        "status",
        "category",
        "opened_on",
        "source_rule",
        "cleared_on",
    )
    list_select_related = ("household__township",)
    list_filter = (
        "status",
        "category",
        "clear_method",
        ("household__township", admin.RelatedFieldListFilter),
    )
    search_fields = HOUSEHOLD_SEARCH
    date_hierarchy = "opened_on"
    inlines = [MonitoringCaseStepInline]

    def get_queryset(self, request):
        return scoped(request.user, super().get_queryset(request))

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- visits ---


@admin.register(TrackingVisit)
class TrackingVisitAdmin(HouseholdColumns, ScopedHistoryAdmin):
    list_display = (
        "household",
        "township",
        "kind",
        "visited_on",
        "visitor_name",
        "problem_list",
        "next_due",
    )
    list_select_related = ("household__township",)
    list_filter = ("kind", ("household__township", admin.RelatedFieldListFilter))
    search_fields = (*HOUSEHOLD_SEARCH, "visitor_name")
    autocomplete_fields = ("household", "person")
    raw_id_fields = ("case",)
    readonly_fields = ("visitor",)
    date_hierarchy = "visited_on"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "household",
                    "person",
                    "case",
                    "kind",
                    "visited_on",
                    "visitor_name",
                    "visitor",
                )
            },
        ),
        ("两不愁三保障及饮水安全", {"fields": tuple(TrackingVisit.CHECK_FIELDS)}),
        (
            "收入支出",
            {
                "fields": (
                    "annual_income",
                    "income_per_capita",
                    "annual_expenditure",
                    "rigid_expenditure",
                )
            },
        ),
        (
            "家庭成员与分户子女",
            {"fields": ("members_situation", "separated_children_situation", "notes")},
        ),
        (None, {"fields": ("next_due", "change_reason")}),
    )

    @admin.display(description="存在问题")
    def problem_list(self, obj):
        return "、".join(obj.problems) or "—"

    def save_model(self, request, obj, form, change):
        if not change and obj.visitor_id is None:
            obj.visitor = request.user
        super().save_model(request, obj, form, change)


# --- employment ---


@admin.register(LabourProfile)
class LabourProfileAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = ("person", "masked_id", "township", "ability", "willing", "assessed_on")
    list_select_related = ("person__township",)
    list_filter = ("ability", "willing", ("person__township", admin.RelatedFieldListFilter))
    search_fields = PERSON_SEARCH
    autocomplete_fields = ("person",)


@admin.register(WelfarePostPlacement)
class WelfarePostPlacementAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = ("person", "masked_id", "township", "post", "employer", "started_on", "ended_on")
    list_select_related = ("person__township",)
    list_filter = (("person__township", admin.RelatedFieldListFilter), "ended_on")
    search_fields = (*PERSON_SEARCH, "post", "employer")
    autocomplete_fields = ("person",)
    date_hierarchy = "started_on"


@admin.register(Training)
class TrainingAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = ("person", "masked_id", "township", "kind", "course", "organiser", "started_on")
    list_select_related = ("person__township",)
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "course", "organiser")
    autocomplete_fields = ("person",)
    date_hierarchy = "started_on"


class BaseEmploymentInline(CountyAdminMixin, admin.TabularInline):
    model = BaseEmployment
    fields = ("person", "job", "monthly_income", "started_on", "ended_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(EmploymentBase)
class EmploymentBaseAdmin(ScopedHistoryAdmin):
    list_display = ("name", "kind", "township", "village", "leader_name", "recognised_on")
    list_select_related = ("township", "village")
    list_filter = ("kind", "township")
    search_fields = ("name", "leader_name", "business")
    inlines = [BaseEmploymentInline]


@admin.register(BaseEmployment)
class BaseEmploymentAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = ("person", "masked_id", "township", "base", "job", "started_on", "ended_on")
    list_select_related = ("person__township", "base")
    list_filter = (("person__township", admin.RelatedFieldListFilter), "base__kind")
    search_fields = (*PERSON_SEARCH, "base__name", "job")
    autocomplete_fields = ("person", "base")


# --- rehabilitation and care ---


@admin.register(RehabNeed)
class RehabNeedAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = ("person", "masked_id", "township", "kind", "identified_on", "closed_on")
    list_select_related = ("person__township",)
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "detail")
    autocomplete_fields = ("person",)


@admin.register(FamilyDoctorContract)
class FamilyDoctorContractAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = (
        "person",
        "masked_id",
        "township",
        "institution",
        "doctor",
        "signed_on",
        "expires_on",
    )
    list_select_related = ("person__township",)
    list_filter = (("person__township", admin.RelatedFieldListFilter),)
    search_fields = (*PERSON_SEARCH, "institution", "doctor")
    autocomplete_fields = ("person",)
    date_hierarchy = "signed_on"


@admin.register(AccessibilityModification)
class AccessibilityModificationAdmin(PersonColumns, ScopedHistoryAdmin):
    """Progress (申请 → 评估 → 施工 → 验收) moves only through the workflow service."""

    list_display = (
        "person",
        "masked_id",
        "township",
        "status",
        "applied_on",
        "accepted_on",
        "cost",
    )
    list_select_related = ("person__township",)
    list_filter = ("status", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "contractor")
    autocomplete_fields = ("person",)
    readonly_fields = (
        "status",
        "assessed_on",
        "construction_started_on",
        "accepted_on",
        "cancelled_on",
        "cancel_reason",
    )


@admin.register(CustodialCare)
class CustodialCareAdmin(PersonColumns, ScopedHistoryAdmin):
    list_display = (
        "person",
        "masked_id",
        "township",
        "mode",
        "institution",
        "started_on",
        "ended_on",
    )
    list_select_related = ("person__township",)
    list_filter = ("mode", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "institution")
    autocomplete_fields = ("person",)


# --- publicity and grassroots ---


@admin.register(ExemplaryStory)
class ExemplaryStoryAdmin(ScopedHistoryAdmin):
    list_display = ("name", "kind", "title", "township", "published_in", "published_on")
    list_select_related = ("township",)
    list_filter = ("kind", "township")
    search_fields = ("name", "title", "published_in")
    autocomplete_fields = ("person",)
    date_hierarchy = "published_on"


@admin.register(VillageAssociation)
class VillageAssociationAdmin(ScopedHistoryAdmin):
    list_display = ("village", "chair_name", "member_count", "established_on")
    list_select_related = ("village__township",)
    list_filter = (("village__township", admin.RelatedFieldListFilter),)
    search_fields = ("village__name", "chair_name")


@admin.register(CommitteeMember)
class CommitteeMemberAdmin(ScopedHistoryAdmin):
    list_display = ("name", "level", "township", "village", "started_on", "ended_on", "user")
    list_select_related = ("township", "village", "user")
    list_filter = ("level", "township")
    search_fields = ("name", "village__name")
    raw_id_fields = ("user",)
