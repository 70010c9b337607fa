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
from .admin_base import CountyAdminMixin, SearchNormalisingMixin, ServiceAdmin, ServiceForm
from .casework_base import CaseworkError
from .identity import mask_id_number
from .models import (
    AccessibilityModification,
    AssistanceMeasure,
    BaseEmployment,
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
from .scope import scoped


class TaskAreaAdmin(SearchNormalisingMixin, ServiceAdmin):
    """Writes through the record's service; lists scoped like every other read."""


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
class TrackingVisitAdmin(HouseholdColumns, TaskAreaAdmin):
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
    change_fields = casework.VISIT_EDITABLE
    add_fields = ("household", "case", *casework.VISIT_EDITABLE)
    shown_fields = ("household", "case")
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

    def create(self, request, data):
        fields = {name: data[name] for name in casework.VISIT_EDITABLE if name in data}
        return casework.visit_record(
            request.user, data["household"], case=data.get("case"), **fields
        )

    def update(self, request, obj, data, changed):
        return casework.visit_update(request.user, obj, **{name: data[name] for name in changed})


# --- measures and pairing ---


@admin.register(AssistanceMeasure)
class AssistanceMeasureAdmin(HouseholdColumns, TaskAreaAdmin):
    list_display = ("household", "kind", "responsible_unit", "started_on", "ended_on", "township")
    list_select_related = ("household__township",)
    list_filter = ("kind", ("household__township", admin.RelatedFieldListFilter))
    search_fields = (*HOUSEHOLD_SEARCH, "responsible_unit")
    autocomplete_fields = ("household",)
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

    def create(self, request, data):
        return casework.assistance_add(
            request.user,
            data["household"],
            kind=data["kind"],
            responsible_unit=data["responsible_unit"],
            started_on=data["started_on"],
            description=data.get("description") or "",
            ended_on=data.get("ended_on"),
            result=data.get("result") or "",
            case=data.get("case"),
        )

    def update(self, request, obj, data, changed):
        return casework.assistance_update(
            request.user, obj, **{name: data[name] for name in changed}
        )


@admin.register(Pairing)
class PairingAdmin(HouseholdColumns, TaskAreaAdmin):
    """Started here like on the household page; changed only by ending it (date, reason)."""

    list_display = ("household", "helper_name", "helper_unit", "started_on", "ended_on", "township")
    list_select_related = ("household__township",)
    list_filter = (("household__township", admin.RelatedFieldListFilter), "ended_on")
    search_fields = (*HOUSEHOLD_SEARCH, "helper_name")
    autocomplete_fields = ("household",)
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
    error_aliases = {"reason": "end_reason"}

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.ended_on is None) and super().has_change_permission(request, obj)

    def create(self, request, data):
        return casework.pairing_start(
            request.user,
            data["household"],
            helper_name=data["helper_name"],
            helper_kind=data.get("helper_kind") or "",
            started_on=data["started_on"],
            helper_unit=data.get("helper_unit") or "",
            helper_phone=data.get("helper_phone") or "",
            case=data.get("case"),
        )

    def update(self, request, obj, data, changed):
        return casework.pairing_end(
            request.user, obj, ended_on=data.get("ended_on"), reason=data.get("end_reason") or ""
        )


# --- education ---


@admin.register(EducationPlan)
class EducationPlanAdmin(PersonColumns, TaskAreaAdmin):
    list_display = ("person", "masked_id", "placement", "school", "verified_on", "township")
    list_select_related = ("person__township",)
    list_filter = ("placement", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "school")
    autocomplete_fields = ("person",)
    readonly_fields = ("recorded_by",)
    date_hierarchy = "verified_on"
    add_fields = ("person", "placement", "school", "not_enrolled_reason", "verified_on")
    change_fields = add_fields[1:]
    shown_fields = ("person", "recorded_by")

    def create(self, request, data):
        return self._save(request, data["person"], data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj.person, data)

    def _save(self, request, person, data):
        return casework.education_plan_save(
            request.user,
            person,
            placement=data["placement"],
            verified_on=data["verified_on"],
            school=data.get("school") or "",
            not_enrolled_reason=data.get("not_enrolled_reason") or "",
            reason=data.get("change_reason") or "",
        )


# --- employment ---


END_HELP = "离岗/结束须填写结束日期，并在“修改原因”中写明原因"


@admin.register(LabourProfile)
class LabourProfileAdmin(PersonColumns, TaskAreaAdmin):
    list_display = ("person", "masked_id", "township", "ability", "willing", "assessed_on")
    list_select_related = ("person__township",)
    list_filter = ("ability", "willing", ("person__township", admin.RelatedFieldListFilter))
    search_fields = PERSON_SEARCH
    autocomplete_fields = ("person",)
    add_fields = ("person", "ability", "willing", "wanted_work", "assessed_on", "note")
    change_fields = add_fields[1:]

    def create(self, request, data):
        return self._save(request, data["person"], data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj.person, data)

    def _save(self, request, person, data):
        return casework.labour_profile_save(
            request.user,
            person,
            ability=data["ability"],
            willing=data.get("willing"),
            assessed_on=data["assessed_on"],
            wanted_work=data.get("wanted_work") or "",
            note=data.get("note") or "",
        )


class EndedRecordAdmin(TaskAreaAdmin):
    """A dated record changed only by ending it; the reason is typed into 修改原因."""

    change_fields = ("ended_on",)
    error_aliases = {"reason": "change_reason"}

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.ended_on is None) and super().has_change_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "ended_on" in form.base_fields:
            form.base_fields["ended_on"].help_text = END_HELP
        return form

    def end(self, user, obj, *, ended_on, reason):
        raise NotImplementedError

    def update(self, request, obj, data, changed):
        return self.end(
            request.user, obj, ended_on=data.get("ended_on"), reason=data.get("change_reason")
        )


@admin.register(WelfarePostPlacement)
class WelfarePostPlacementAdmin(PersonColumns, EndedRecordAdmin):
    list_display = ("person", "masked_id", "township", "post", "employer", "started_on", "ended_on")
    list_select_related = ("person__township",)
    list_filter = (("person__township", admin.RelatedFieldListFilter), "ended_on")
    search_fields = (*PERSON_SEARCH, "post", "employer")
    autocomplete_fields = ("person",)
    date_hierarchy = "started_on"
    add_fields = ("person", "post", "employer", "monthly_pay", "started_on", "note")
    end = staticmethod(casework.welfare_post_end)

    def create(self, request, data):
        return casework.welfare_post_place(
            request.user,
            data["person"],
            post=data["post"],
            employer=data["employer"],
            started_on=data["started_on"],
            monthly_pay=data.get("monthly_pay"),
            note=data.get("note") or "",
        )


@admin.register(Training)
class TrainingAdmin(PersonColumns, TaskAreaAdmin):
    """Trainings are only recorded (no correction service): add here, then view only."""

    list_display = ("person", "masked_id", "township", "kind", "course", "organiser", "started_on")
    list_select_related = ("person__township",)
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "course", "organiser")
    autocomplete_fields = ("person",)
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

    def create(self, request, data):
        return casework.training_add(
            request.user,
            data["person"],
            kind=data["kind"],
            course=data["course"],
            organiser=data["organiser"],
            started_on=data["started_on"],
            ended_on=data.get("ended_on"),
            certificate_obtained=data.get("certificate_obtained"),
            result=data.get("result") or "",
        )


class BaseEmploymentInline(CountyAdminMixin, admin.TabularInline):
    model = BaseEmployment
    fields = ("person", "job", "monthly_income", "started_on", "ended_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def create(self, request, data):
        return self._save(request, None, data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj, data)

    def _save(self, request, base, data):
        return casework.employment_base_save(
            request.user,
            base,
            name=data["name"],
            kind=data["kind"],
            township=data["township"],
            village=data.get("village"),
            leader_name=data["leader_name"],
            phone=data.get("phone") or "",
            business=data.get("business") or "",
            recognised_on=data.get("recognised_on"),
            note=data.get("note") or "",
        )


@admin.register(BaseEmployment)
class BaseEmploymentAdmin(PersonColumns, EndedRecordAdmin):
    list_display = ("person", "masked_id", "township", "base", "job", "started_on", "ended_on")
    list_select_related = ("person__township", "base")
    list_filter = (("person__township", admin.RelatedFieldListFilter), "base__kind")
    search_fields = (*PERSON_SEARCH, "base__name", "job")
    autocomplete_fields = ("person", "base")
    add_fields = ("base", "person", "job", "monthly_income", "started_on")
    end = staticmethod(casework.base_employment_end)

    def create(self, request, data):
        return casework.base_employment_add(
            request.user,
            data["base"],
            data["person"],
            job=data["job"],
            started_on=data["started_on"],
            monthly_income=data.get("monthly_income"),
        )


# --- rehabilitation and care ---


@admin.register(RehabNeed)
class RehabNeedAdmin(PersonColumns, TaskAreaAdmin):
    """Changed only by closing the need (date and reason)."""

    list_display = ("person", "masked_id", "township", "kind", "identified_on", "closed_on")
    list_select_related = ("person__township",)
    list_filter = ("kind", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "detail")
    autocomplete_fields = ("person",)
    add_fields = ("person", "kind", "detail", "identified_on")
    change_fields = ("closed_on", "close_reason")
    error_aliases = {"reason": "close_reason"}

    def has_change_permission(self, request, obj=None):
        return (obj is None or obj.closed_on is None) and super().has_change_permission(
            request, obj
        )

    def create(self, request, data):
        return casework.rehab_need_add(
            request.user,
            data["person"],
            kind=data["kind"],
            identified_on=data["identified_on"],
            detail=data.get("detail") or "",
        )

    def update(self, request, obj, data, changed):
        return casework.rehab_need_close(
            request.user,
            obj,
            closed_on=data.get("closed_on"),
            reason=data.get("close_reason") or "",
        )


@admin.register(RehabService)
class RehabServiceAdmin(PersonColumns, TaskAreaAdmin):
    """Services are only recorded (no correction service): add here, then view only."""

    list_display = ("person", "masked_id", "service_type", "provider", "served_on", "township")
    list_select_related = ("person__township",)
    list_filter = ("service_type", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "provider", "service_type")
    autocomplete_fields = ("person",)
    raw_id_fields = ("need",)
    readonly_fields = ("recorded_by",)
    date_hierarchy = "served_on"
    add_fields = ("person", "service_type", "provider", "served_on", "need", "note")
    shown_fields = (*add_fields, "recorded_by")

    def create(self, request, data):
        return casework.rehab_service_add(
            request.user,
            data["person"],
            service_type=data["service_type"],
            provider=data["provider"],
            served_on=data["served_on"],
            need=data.get("need"),
            note=data.get("note") or "",
        )


@admin.register(FamilyDoctorContract)
class FamilyDoctorContractAdmin(PersonColumns, TaskAreaAdmin):
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
    list_select_related = ("person__township",)
    list_filter = (("person__township", admin.RelatedFieldListFilter),)
    search_fields = (*PERSON_SEARCH, "institution", "doctor")
    autocomplete_fields = ("person",)
    date_hierarchy = "signed_on"
    add_fields = ("person", "institution", "doctor", "package", "signed_on", "expires_on")

    def create(self, request, data):
        return casework.family_doctor_sign(
            request.user,
            data["person"],
            institution=data["institution"],
            doctor=data["doctor"],
            signed_on=data["signed_on"],
            expires_on=data.get("expires_on"),
            package=data.get("package") or "",
        )


class AccessibilityStepForm(ServiceForm):
    to_status = forms.ChoiceField(
        label="办理下一步", choices=AccessibilityModification.Status.choices
    )
    on = forms.DateField(label="办理日期")


@admin.register(AccessibilityModification)
class AccessibilityModificationAdmin(PersonColumns, TaskAreaAdmin):
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
    list_select_related = ("person__township",)
    list_filter = ("status", ("person__township", admin.RelatedFieldListFilter))
    search_fields = (*PERSON_SEARCH, "contractor")
    autocomplete_fields = ("person",)
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
    error_aliases = {"status": "to_status", "reason": "change_reason"}

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

    def create(self, request, data):
        return casework.accessibility_apply(
            request.user, data["person"], applied_on=data["applied_on"], items=data.get("items")
        )

    def update(self, request, obj, data, changed):
        if not data.get("to_status"):
            raise CaseworkError("请选择办理下一步", "to_status")
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
class CustodialCareAdmin(PersonColumns, EndedRecordAdmin):
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
    add_fields = ("person", "mode", "institution", "started_on", "note")
    end = staticmethod(casework.custodial_care_end)

    def create(self, request, data):
        return casework.custodial_care_start(
            request.user,
            data["person"],
            mode=data["mode"],
            started_on=data["started_on"],
            institution=data.get("institution") or "",
            note=data.get("note") or "",
        )


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

    def create(self, request, data):
        return self._save(request, None, data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj, data)

    def _save(self, request, story, data):
        return casework.story_save(
            request.user,
            story,
            kind=data["kind"],
            name=data["name"],
            title=data["title"],
            story_text=data["story"],
            township=data["township"],
            village=data.get("village"),
            person=data.get("person"),
            published_in=data.get("published_in") or "",
            published_on=data.get("published_on"),
        )


@admin.register(VillageAssociation)
class VillageAssociationAdmin(TaskAreaAdmin):
    list_display = ("village", "chair_name", "member_count", "established_on")
    list_select_related = ("village__township",)
    list_filter = (("village__township", admin.RelatedFieldListFilter),)
    search_fields = ("village__name", "chair_name")
    add_fields = ("village", "established_on", "chair_name", "phone", "member_count", "note")
    change_fields = add_fields[1:]

    def create(self, request, data):
        return self._save(request, data["village"], data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj.village, data)

    def _save(self, request, village, data):
        return casework.association_save(
            request.user,
            village,
            established_on=data.get("established_on"),
            chair_name=data.get("chair_name") or "",
            phone=data.get("phone") or "",
            member_count=data.get("member_count"),
            note=data.get("note") or "",
        )


@admin.register(CommitteeMember)
class CommitteeMemberAdmin(TaskAreaAdmin):
    list_display = ("name", "level", "township", "village", "started_on", "ended_on", "user")
    list_select_related = ("township", "village", "user")
    list_filter = ("level", "township")
    search_fields = ("name", "village__name")
    raw_id_fields = ("user",)
    add_fields = ("name", "level", "township", "village", "phone", "started_on", "ended_on", "user")
    change_fields = add_fields
    error_aliases = {"account": "user"}

    def create(self, request, data):
        return self._save(request, None, data)

    def update(self, request, obj, data, changed):
        return self._save(request, obj, data)

    def _save(self, request, member, data):
        return casework.committee_member_save(
            request.user,
            member,
            name=data["name"],
            level=data["level"],
            township=data["township"],
            village=data.get("village"),
            phone=data.get("phone") or "",
            started_on=data.get("started_on"),
            ended_on=data.get("ended_on"),
            account=data.get("user"),
        )
