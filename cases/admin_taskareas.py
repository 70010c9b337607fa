"""Admin of the case-work records of the six task areas (imported at the end of cases/admin.py).

County admins only. Every add and change goes through the same `cases.casework` service
as the staff pages (`ServiceAdmin`), so the same rules hold and a refusal shows the
service's Chinese message on the form; the service writes the history row (source
管理后台, with the reason typed into the form). What has no service is read-only here:
monitoring cases (their steps go through the workflow), changes of records that are only
ever added (trainings, rehabilitation services, family-doctor contracts), and every
delete. Dated records (posts, pairings, care, jobs at a base) are changed only by ending
them; an accessibility modification only by its next step. ID numbers are masked in lists.
"""

from django import forms
from django.contrib import admin

from . import casework
from .admin_base import (
    HOUSEHOLD_SEARCH,
    PERSON_SEARCH,
    HouseholdRecordMixin,
    PersonRecordMixin,
    ReadOnlyInline,
    SearchNormalisingMixin,
    ServiceAdmin,
    ServiceForm,
    ViewOnlyAdmin,
)
from .casework_base import CaseworkError
from .income import PART_NAMES
from .models import (
    AccessibilityModification,
    AssistanceMeasure,
    BaseEmployment,
    ChildCareRecord,
    CommitteeMember,
    CustodialCare,
    EducationPlan,
    EmploymentBase,
    ExemplaryStory,
    FamilyDoctorContract,
    LabourProfile,
    MonitoringCase,
    MonitoringCaseStep,
    Pairing,
    RehabNeed,
    RehabService,
    TrackingVisit,
    Training,
    VillageAssociation,
    WelfarePostPlacement,
)


class TaskAreaAdmin(SearchNormalisingMixin, ServiceAdmin):
    """Writes through the record's service; lists scoped like every other read."""


END_HELP = "离岗/结束须填写结束日期，并在“修改原因”中写明原因"


class EndedRecordAdmin(TaskAreaAdmin):
    """A dated record changed only by ending it, while it is open.

    The first of `change_fields` is the end date; the reason is typed into 修改原因 unless
    the record keeps it in a field of its own (`aliases["reason"]`). A change calls
    `end(user, obj, <end date>=…, reason=…)`.
    """

    change_fields: tuple[str, ...] = ("ended_on",)
    aliases = {"reason": "change_reason"}

    def end(self, user, obj, **values):
        raise NotImplementedError

    def has_change_permission(self, request, obj=None):
        is_open = obj is None or getattr(obj, self.change_fields[0]) is None
        return is_open and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        ended_on = self.change_fields[0]
        typed_into_reason = self.aliases["reason"] == "change_reason"
        if obj is not None and typed_into_reason and ended_on in form.base_fields:
            form.base_fields[ended_on].help_text = END_HELP
        return form

    def update(self, request, obj, data, changed):
        fields = dict.fromkeys([*self.change_fields, self.aliases["reason"]])
        return self.end(request.user, obj, **self.service_values(data, fields))


# --- monitoring cases: view only (steps through cases.casework) ---


class MonitoringCaseStepInline(ReadOnlyInline):
    model = MonitoringCaseStep
    fields = ("acted_on", "from_status", "to_status", "actor", "reason", "created_at")
    readonly_fields = fields


@admin.register(MonitoringCase)
class MonitoringCaseAdmin(HouseholdRecordMixin, ViewOnlyAdmin):
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
    list_filter = (
        "status",
        "category",
        "clear_method",
        ("household__township", admin.RelatedFieldListFilter),
    )
    date_hierarchy = "opened_on"
    inlines = [MonitoringCaseStepInline]


# --- visits ---


@admin.register(TrackingVisit)
class TrackingVisitAdmin(HouseholdRecordMixin, TaskAreaAdmin):
    list_display = (
        "household",
        "township",
        "kind",
        "visited_on",
        "visitor_name",
        "problem_list",
        "next_due",
    )
    list_filter = ("kind", ("household__township", admin.RelatedFieldListFilter))
    search_fields = (*HOUSEHOLD_SEARCH, "visitor_name")
    autocomplete_fields = ("household", "person")
    raw_id_fields = ("case",)
    readonly_fields = ("visitor",)
    date_hierarchy = "visited_on"
    change_fields = casework.VISIT_EDITABLE
    add_fields = ("household", "case", *casework.VISIT_EDITABLE)
    shown_fields = ("household", "case")
    add_service = staticmethod(casework.visit_record)
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
                    # The parts first: when any is given the service computes the two totals
                    # from them (docs/INCOME.md).
                    *PART_NAMES,
                    "household_size",
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

    def update(self, request, obj, data, changed):
        return casework.visit_update(request.user, obj, **self.service_values(data, changed))


# --- measures and pairing ---


@admin.register(AssistanceMeasure)
class AssistanceMeasureAdmin(HouseholdRecordMixin, TaskAreaAdmin):
    list_display = ("household", "kind", "responsible_unit", "started_on", "ended_on", "township")
    list_filter = ("kind", ("household__township", admin.RelatedFieldListFilter))
    search_fields = (*HOUSEHOLD_SEARCH, "responsible_unit")
    raw_id_fields = ("case",)
    readonly_fields = ("recorded_by",)
    add_fields = (
        "household",
        "case",
        "kind",
        "description",
        "responsible_unit",
        "started_on",
        "ended_on",
        "result",
    )
    change_fields = ("description", "responsible_unit", "ended_on", "result")
    shown_fields = (*add_fields, "recorded_by")
    add_service = staticmethod(casework.assistance_add)

    def update(self, request, obj, data, changed):
        return casework.assistance_update(request.user, obj, **self.service_values(data, changed))


@admin.register(Pairing)
class PairingAdmin(HouseholdRecordMixin, EndedRecordAdmin):
    """Started here like on the household page; changed only by ending it (date, reason)."""

    list_display = ("household", "helper_name", "helper_unit", "started_on", "ended_on", "township")
    list_filter = (("household__township", admin.RelatedFieldListFilter), "ended_on")
    search_fields = (*HOUSEHOLD_SEARCH, "helper_name")
    raw_id_fields = ("case",)
    readonly_fields = ("recorded_by",)
    add_fields = (
        "household",
        "helper_name",
        "helper_kind",
        "helper_unit",
        "helper_phone",
        "started_on",
        "case",
    )
    change_fields = ("ended_on", "end_reason")
    shown_fields = (*add_fields, "recorded_by")
    aliases = {"reason": "end_reason"}
    add_service = staticmethod(casework.pairing_start)
    end = staticmethod(casework.pairing_end)


# --- education ---


@admin.register(EducationPlan)
class EducationPlanAdmin(PersonRecordMixin, TaskAreaAdmin):
    list_display = ("person", "masked_id", "placement", "school", "verified_on", "township")
    list_filter = ("placement", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "school")
    readonly_fields = ("recorded_by",)
    date_hierarchy = "verified_on"
    add_fields = ("person", "placement", "school", "not_enrolled_reason", "verified_on")
    change_fields = add_fields[1:]
    shown_fields = ("person", "recorded_by")
    # The reason typed into the form reaches the history row through `recorded_as`.
    save_service = staticmethod(casework.education_plan_save)
    save_key = "person"


# --- employment ---


@admin.register(LabourProfile)
class LabourProfileAdmin(PersonRecordMixin, TaskAreaAdmin):
    list_display = ("person", "masked_id", "township", "ability", "willing", "assessed_on")
    list_filter = ("ability", "willing", ("person__township", admin.RelatedFieldListFilter))
    add_fields = ("person", "ability", "willing", "wanted_work", "assessed_on", "note")
    change_fields = add_fields[1:]
    save_service = staticmethod(casework.labour_profile_save)
    save_key = "person"


@admin.register(WelfarePostPlacement)
class WelfarePostPlacementAdmin(PersonRecordMixin, EndedRecordAdmin):
    list_display = ("person", "masked_id", "township", "post", "employer", "started_on", "ended_on")
    list_filter = (("person__township", admin.RelatedFieldListFilter), "ended_on")
    search_fields = (*PERSON_SEARCH, "post", "employer")
    date_hierarchy = "started_on"
    add_fields = ("person", "post", "employer", "monthly_pay", "started_on", "note")
    add_service = staticmethod(casework.welfare_post_place)
    end = staticmethod(casework.welfare_post_end)


@admin.register(Training)
class TrainingAdmin(PersonRecordMixin, TaskAreaAdmin):
    """Trainings are only recorded (no correction service): add here, then view only."""

    list_display = ("person", "masked_id", "township", "kind", "course", "organiser", "started_on")
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "course", "organiser")
    date_hierarchy = "started_on"
    add_fields = (
        "person",
        "kind",
        "course",
        "organiser",
        "started_on",
        "ended_on",
        "certificate_obtained",
        "result",
    )
    add_service = staticmethod(casework.training_add)


class BaseEmploymentInline(ReadOnlyInline):
    model = BaseEmployment
    fields = ("person", "job", "monthly_income", "started_on", "ended_on")
    readonly_fields = fields
    show_change_link = True


@admin.register(EmploymentBase)
class EmploymentBaseAdmin(TaskAreaAdmin):
    list_display = ("name", "kind", "township", "village", "leader_name", "recognised_on")
    list_select_related = ("township", "village")
    list_filter = ("kind", "township")
    search_fields = ("name", "leader_name", "business")
    inlines = [BaseEmploymentInline]
    add_fields = (
        "name",
        "kind",
        "township",
        "village",
        "leader_name",
        "phone",
        "business",
        "recognised_on",
        "note",
    )
    change_fields = add_fields
    save_service = staticmethod(casework.employment_base_save)


@admin.register(BaseEmployment)
class BaseEmploymentAdmin(PersonRecordMixin, EndedRecordAdmin):
    list_display = ("person", "masked_id", "township", "base", "job", "started_on", "ended_on")
    list_select_related = ("person__township", "base")
    list_filter = (("person__township", admin.RelatedFieldListFilter), "base__kind")
    search_fields = (*PERSON_SEARCH, "base__name", "job")
    autocomplete_fields = ("person", "base")
    add_fields = ("base", "person", "job", "monthly_income", "started_on")
    add_service = staticmethod(casework.base_employment_add)
    add_keys = 2
    end = staticmethod(casework.base_employment_end)


# --- rehabilitation and care ---


@admin.register(RehabNeed)
class RehabNeedAdmin(PersonRecordMixin, EndedRecordAdmin):
    """Changed only by closing the need (date and reason)."""

    list_display = ("person", "masked_id", "township", "kind", "identified_on", "closed_on")
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "detail")
    add_fields = ("person", "kind", "detail", "identified_on")
    change_fields = ("closed_on", "close_reason")
    aliases = {"reason": "close_reason"}
    add_service = staticmethod(casework.rehab_need_add)
    end = staticmethod(casework.rehab_need_close)


@admin.register(RehabService)
class RehabServiceAdmin(PersonRecordMixin, TaskAreaAdmin):
    """Services are only recorded (no correction service): add here, then view only."""

    list_display = ("person", "masked_id", "service_type", "provider", "served_on", "township")
    list_filter = ("service_type", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "provider", "service_type")
    raw_id_fields = ("need",)
    readonly_fields = ("recorded_by",)
    date_hierarchy = "served_on"
    add_fields = ("person", "service_type", "provider", "served_on", "need", "note")
    shown_fields = (*add_fields, "recorded_by")
    add_service = staticmethod(casework.rehab_service_add)


@admin.register(FamilyDoctorContract)
class FamilyDoctorContractAdmin(PersonRecordMixin, TaskAreaAdmin):
    """Contracts are only signed (no correction service): add here, then view only."""

    list_display = (
        "person",
        "masked_id",
        "township",
        "institution",
        "doctor",
        "signed_on",
        "expires_on",
    )
    list_filter = (("person__township", admin.RelatedFieldListFilter),)
    search_fields = (*PERSON_SEARCH, "institution", "doctor")
    date_hierarchy = "signed_on"
    add_fields = ("person", "institution", "doctor", "package", "signed_on", "expires_on")
    add_service = staticmethod(casework.family_doctor_sign)


class StepChoiceField(forms.ChoiceField):
    """Lists the allowed next steps, but passes any known status on to the service.

    A step that is not the next one (申请 → 验收, say, from a stale page or a hand-made
    POST) must be refused with the service's own reason (which steps are allowed), not
    with Django's generic "not one of the available choices".
    """

    def valid_value(self, value):
        return value in AccessibilityModification.Status.values or super().valid_value(value)


class AccessibilityStepForm(ServiceForm):
    to_status = StepChoiceField(
        label="办理下一步", choices=AccessibilityModification.Status.choices
    )
    on = forms.DateField(label="办理日期")


# What each step writes besides its date (`casework.accessibility_advance`): a value typed
# into a field the chosen step does not take would be dropped without a word, so it is
# refused instead, naming the step that takes it.
_STEP_ONLY_FIELDS = {
    "contractor": (AccessibilityModification.Status.CONSTRUCTION, "施工单位"),
    "cost": (AccessibilityModification.Status.ACCEPTED, "改造费用"),
}


@admin.register(AccessibilityModification)
class AccessibilityModificationAdmin(PersonRecordMixin, TaskAreaAdmin):
    """申请 → 评估 → 施工 → 验收 (or 已终止): a change is the next step, checked by the service."""

    list_display = (
        "person",
        "masked_id",
        "township",
        "status",
        "applied_on",
        "accepted_on",
        "cost",
    )
    list_filter = ("status", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "contractor")
    add_fields = ("person", "applied_on", "items")
    change_fields = ("to_status", "on", "assessment", "items", "contractor", "cost")
    shown_fields = (
        "person",
        "status",
        "applied_on",
        "assessed_on",
        "construction_started_on",
        "accepted_on",
        "cancelled_on",
        "cancel_reason",
    )
    aliases = {"status": "to_status", "reason": "change_reason"}
    add_service = staticmethod(casework.accessibility_apply)

    def has_change_permission(self, request, obj=None):
        return (
            obj is None or bool(casework.ACCESSIBILITY_TRANSITIONS[obj.status])
        ) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and self.has_change_permission(request, obj):
            kwargs["form"] = AccessibilityStepForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if "to_status" in form.base_fields:
            allowed = casework.ACCESSIBILITY_TRANSITIONS[obj.status]
            form.base_fields["to_status"].choices = [
                (value, label)
                for value, label in AccessibilityModification.Status.choices
                if value in allowed
            ]
        return form

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # View only: the step fields are not on the model.
            fields = [name for name in fields if name not in ("to_status", "on")]
        return fields

    def update(self, request, obj, data, changed):
        if not data.get("to_status"):
            raise CaseworkError("请选择办理下一步", "to_status")
        for field, (step, label) in _STEP_ONLY_FIELDS.items():
            if field in changed and data["to_status"] != step:
                step_label = AccessibilityModification.Status(step).label
                raise CaseworkError(f"{label}在“{step_label}”这一步填写，本次办理不会保存它", field)
        return casework.accessibility_advance(
            request.user,
            obj,
            data["to_status"],
            on=data.get("on"),
            reason=data.get("change_reason") or "",
            assessment=data.get("assessment"),
            items=data.get("items"),
            contractor=data.get("contractor"),
            cost=data.get("cost"),
        )


@admin.register(CustodialCare)
class CustodialCareAdmin(PersonRecordMixin, EndedRecordAdmin):
    list_display = (
        "person",
        "masked_id",
        "township",
        "mode",
        "institution",
        "started_on",
        "ended_on",
    )
    list_filter = ("mode", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "institution")
    add_fields = ("person", "mode", "institution", "started_on", "note")
    add_service = staticmethod(casework.custodial_care_start)
    end = staticmethod(casework.custodial_care_end)


@admin.register(ChildCareRecord)
class ChildCareRecordAdmin(PersonRecordMixin, TaskAreaAdmin):
    """困境残疾儿童关爱 records: added and corrected through the care-record services."""

    list_display = ("person", "masked_id", "township", "kind", "cared_on", "provider")
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "provider", "content")
    readonly_fields = ("recorded_by",)
    date_hierarchy = "cared_on"
    add_fields = ("person", "kind", "cared_on", "provider", "content")
    change_fields = ("kind", "cared_on", "provider", "content")
    shown_fields = (*add_fields, "recorded_by")
    add_service = staticmethod(casework.child_care_record_add)

    def update(self, request, obj, data, changed):
        return casework.child_care_record_update(request.user, obj, **self.service_values(data))


# --- publicity and grassroots ---


@admin.register(ExemplaryStory)
class ExemplaryStoryAdmin(TaskAreaAdmin):
    list_display = ("name", "kind", "title", "township", "published_in", "published_on")
    list_select_related = ("township",)
    list_filter = ("kind", "township")
    search_fields = ("name", "title", "published_in")
    autocomplete_fields = ("person",)
    date_hierarchy = "published_on"
    add_fields = (
        "kind",
        "name",
        "title",
        "story",
        "township",
        "village",
        "person",
        "published_in",
        "published_on",
    )
    change_fields = add_fields
    aliases = {"story_text": "story"}
    save_service = staticmethod(casework.story_save)


@admin.register(VillageAssociation)
class VillageAssociationAdmin(TaskAreaAdmin):
    list_display = ("village", "chair_name", "member_count", "established_on")
    list_select_related = ("village__township",)
    list_filter = (("village__township", admin.RelatedFieldListFilter),)
    search_fields = ("village__name", "chair_name")
    add_fields = ("village", "established_on", "chair_name", "phone", "member_count", "note")
    change_fields = add_fields[1:]
    save_service = staticmethod(casework.association_save)
    save_key = "village"


@admin.register(CommitteeMember)
class CommitteeMemberAdmin(TaskAreaAdmin):
    list_display = ("name", "level", "township", "village", "started_on", "ended_on", "user")
    list_select_related = ("township", "village", "user")
    list_filter = ("level", "township")
    search_fields = ("name", "village__name")
    raw_id_fields = ("user",)
    add_fields = ("name", "level", "township", "village", "phone", "started_on", "ended_on", "user")
    change_fields = add_fields
    aliases = {"account": "user"}
    save_service = staticmethod(casework.committee_member_save)
