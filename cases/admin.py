"""The Django admin for the registry, in Chinese, for county admins only (docs/RULES.md#roles).

- Only active staff users whose role is 县残联管理员 reach any admin page:
  `admin.site.has_permission` is replaced below. Model permissions follow the role
  too (`CountyAdminMixin`), so a county admin needs no Django permission rows;
  admins of other apps should inherit the mixin.
- Every save and delete goes through `cases.services`, so each one leaves a
  `ChangeRecord` with the admin user and the reason typed into the form.
- ID numbers are masked in every list; the full number shows on the record's page.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils.safestring import mark_safe

from . import services
from .admin_base import (
    ADMIN_SOURCE,
    CountyAdminMixin,
    HistoryAdmin,
    HouseholdColumns,
    PersonColumns,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ReasonForm,
    RevealAuditMixin,
    SearchNormalisingMixin,
    VillageQuerysetMixin,
    adopt_saved,
    county_admin_only,
    deleted_by,
    pretty_json,
    saved_by,
)
from .exports import persons_xlsx_response
from .geography import normalise_text
from .identity import IdentityError, mask_id_number, parse_certificate_number, parse_id_number
from .models import (
    Certificate,
    ChangeRecord,
    Household,
    HouseholdMember,
    Person,
    StaffProfile,
    Township,
    Village,
)
from .services import ServiceError

# Only county admins reach any admin page (also the other apps' admins).
admin.site.has_permission = county_admin_only


def village_filter(village_path: str, township_path: str):
    """A village filter listing the villages of the township chosen in the township filter."""
    township_param = f"{township_path}__id__exact"

    class VillageFilter(admin.SimpleListFilter):
        title = "村（社区）"
        parameter_name = f"{village_path}__id__exact"

        def lookups(self, request, model_admin):
            township_id = request.GET.get(township_param)
            if not township_id or not str(township_id).isdigit():
                return []
            return list(
                Village.objects.filter(township_id=township_id)
                .order_by("name")
                .values_list("pk", "name")
            )

        def queryset(self, request, queryset):
            if self.value() and str(self.value()).isdigit():
                return queryset.filter(**{village_path: self.value()})
            return queryset

    return VillageFilter


class CertifiedFilter(admin.SimpleListFilter):
    title = "是否持证"
    parameter_name = "certified"

    def lookups(self, request, model_admin):
        return [("yes", "持证残疾人"), ("no", "未持证（家庭成员等）")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(certificate__isnull=False)
        if self.value() == "no":
            return queryset.filter(certificate__isnull=True)
        return queryset


# --- geography ---


class VillageInline(ReadOnlyInline):
    model = Village
    fields = ("name", "code")
    show_change_link = True


@admin.register(Township)
class TownshipAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The 31 units are fixed (loaded by a migration): view only."""

    list_display = ("code", "name", "short_name", "kind", "village_count")
    list_filter = ("kind",)
    search_fields = ("name", "short_name", "code")
    inlines = [VillageInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_villages=Count("villages"))

    @admin.display(description="村（社区）数", ordering="_villages")
    def village_count(self, obj):
        return obj._villages


class VillageForm(ReasonForm):
    class Meta:
        model = Village
        fields = ("township", "name", "code")

    def clean_name(self):
        return normalise_text(self.cleaned_data.get("name") or "")


@admin.register(Village)
class VillageAdmin(HistoryAdmin):
    form = VillageForm
    fields = ("township", "name", "code", "change_reason")
    list_display = ("name", "township", "code", "person_count")
    list_filter = ("township",)
    list_select_related = ("township",)
    search_fields = ("name", "township__name", "code")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_persons=Count("persons"))

    @admin.display(description="登记人数", ordering="_persons")
    def person_count(self, obj):
        return obj._persons

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.village_create(
            data["township"], data["name"], code=data["code"], **saved_by(request, form, change)
        )
        adopt_saved(obj, created)


class RegistryAdmin(SearchNormalisingMixin, HistoryAdmin):
    """A registry record written by its `<entity>_create` / `<entity>_update` services.

    Adding passes the form's `created_from` fields; a change passes the stored record and
    only the fields the user changed among the service's `editable` ones.
    """

    created_from: tuple[str, ...] | frozenset[str] = ()
    editable: frozenset[str] = frozenset()

    @staticmethod
    def create_service(**values):
        raise NotImplementedError

    @staticmethod
    def update_service(stored, **values):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        history = saved_by(request, form, change)
        if change:
            stored = type(obj).objects.get(pk=obj.pk)
            changes = {field: data[field] for field in form.changed_data if field in self.editable}
            self.update_service(stored, **changes, **history)
            return
        values = {field: data[field] for field in self.created_from}
        adopt_saved(obj, self.create_service(**values, **history))


# --- persons and certificates ---


class PersonForm(ReasonForm):
    # Longer than 18: the raw text may carry spaces, an apostrophe or a 15-digit old number.
    id_number = forms.CharField(label="公民身份号码", max_length=40)

    class Meta:
        model = Person
        fields = ("id_number", "name", "township", "village", "phone")

    def clean_id_number(self):
        try:
            return parse_id_number(self.cleaned_data.get("id_number")).number
        except IdentityError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        township, village = cleaned.get("township"), cleaned.get("village")
        if village is not None and township is not None and village.township_id != township.pk:
            self.add_error("village", f"{village.name}不属于{township.name}")
        return cleaned

    def _post_clean(self):
        # gender and birth date come from the ID number (the model requires them).
        number = self.cleaned_data.get("id_number")
        if number and "id_number" not in self.errors:
            parsed = parse_id_number(number)
            self.instance.gender, self.instance.birth_date = parsed.gender, parsed.birth_date
        super()._post_clean()


@admin.register(Person)
class PersonAdmin(RevealAuditMixin, RegistryAdmin):
    form = PersonForm
    reveal_fields = ("id_number", "phone")
    fields = (
        "id_number",
        "name",
        "gender",
        "birth_date",
        "township",
        "village",
        "phone",
        "certificate_info",
        "change_reason",
    )
    readonly_fields = ("gender", "birth_date", "certificate_info")
    list_display = (
        "name",
        "masked_id_number",
        "gender",
        "birth_date",
        "township",
        "village_name",
        "category",
        "grade",
    )
    list_select_related = ("township", "village", "certificate")
    list_filter = (
        "township",
        village_filter("village", "township"),
        CertifiedFilter,
        "certificate__category",
        "certificate__grade",
        "gender",
    )
    search_fields = ("name", "id_number")
    show_full_result_count = False
    actions = ["export_xlsx"]
    created_from = editable = services.PERSON_EDITABLE
    create_service = staticmethod(services.person_create)
    update_service = staticmethod(services.person_update)

    @admin.action(description="导出所选人员为Excel（含完整身份证号）", permissions=["view"])
    def export_xlsx(self, request, queryset):
        # Full ID numbers: only county admins reach the admin (docs/RULES.md#roles).

        return persons_xlsx_response(queryset, user=request.user)

    @admin.display(description="公民身份号码", ordering="id_number")
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)

    @admin.display(description="村（社区）", ordering="village__name")
    def village_name(self, obj):
        return obj.village.name if obj.village_id else ""

    def revealed_fields(self, obj):
        # The page also shows the full certificate number (`certificate_info`).
        fields = super().revealed_fields(obj)
        return [*fields, "certificate_number"] if self._certificate(obj) else fields

    def _certificate(self, obj):
        try:
            return obj.certificate
        except Certificate.DoesNotExist:
            return None

    @admin.display(description="残疾类别", ordering="certificate__category")
    def category(self, obj):
        certificate = self._certificate(obj)
        return certificate.get_category_display() if certificate else "—"

    @admin.display(description="残疾等级", ordering="certificate__grade")
    def grade(self, obj):
        certificate = self._certificate(obj)
        return certificate.get_grade_display() if certificate else "—"

    @admin.display(description="残疾人证")
    def certificate_info(self, obj):
        certificate = self._certificate(obj) if obj and obj.pk else None
        if certificate is None:
            return "未持证"
        return f"{certificate.number}（{certificate.get_category_display()}{certificate.get_grade_display()}）"

    def has_delete_permission(self, request, obj=None):
        # Persons are the join key of every source and are never deleted (docs/RULES.md#identity).
        return False


class CertificateForm(ReasonForm):
    number = forms.CharField(
        label="残疾人证号", max_length=40, help_text="身份证号+类别+等级（换领证加B1～B9）"
    )

    class Meta:
        model = Certificate
        fields = ("person", "number", "category", "grade")

    def clean(self):
        cleaned = super().clean()
        person = cleaned.get("person") or getattr(self.instance, "person", None)
        number = cleaned.get("number")
        if person is None or not number:
            return cleaned
        try:
            parsed = parse_certificate_number(
                number,
                id_number=person.id_number,
                category=cleaned.get("category"),
                grade=cleaned.get("grade"),
            )
        except IdentityError as error:
            self.add_error("number", str(error))
            return cleaned
        cleaned["number"] = parsed.number
        self.instance.reissue = parsed.reissue
        return cleaned


@admin.register(Certificate)
class CertificateAdmin(RevealAuditMixin, PersonColumns, SearchNormalisingMixin, HistoryAdmin):
    form = CertificateForm
    reveal_fields = ("number",)
    fields = ("person", "number", "category", "grade", "reissue", "change_reason")
    readonly_fields = ("reissue",)
    autocomplete_fields = ("person",)
    list_display = (
        "masked_number",
        "person_name",
        "category",
        "grade",
        "reissue",
        "township",
        "village",
    )
    list_select_related = ("person__township", "person__village")
    list_filter = (
        "category",
        "grade",
        ("person__township", admin.RelatedFieldListFilter),
        village_filter("person__village", "person__township"),
    )
    search_fields = ("person__name", "person__id_number", "number")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A certificate belongs to its holder; a new holder needs a new certificate.
        return ("person", "reissue") if obj else ("reissue",)

    @admin.display(description="残疾人证号", ordering="number")
    def masked_number(self, obj):
        return mask_id_number(obj.number[:18]) + obj.number[18:]

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj):
        # The stock checkbox labels itself with str(obj), the full certificate number.
        attrs = {"class": "action-select", "aria-label": f"选择此对象执行操作 - {obj.person.name}"}
        checkbox = forms.CheckboxInput(attrs, lambda value: False)
        return checkbox.render(helpers.ACTION_CHECKBOX_NAME, str(obj.pk))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        certificate = services.certificate_set(
            obj.person if change else data["person"],
            data["number"],
            category=data.get("category"),
            grade=data.get("grade"),
            **saved_by(request, form, change),
        )
        obj.pk = certificate.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.certificate_remove(obj, **deleted_by(request))


# --- households ---


class HouseholdMemberInline(CountyAdminMixin, VillageQuerysetMixin, admin.TabularInline):
    model = HouseholdMember
    fields = ("person", "relation")
    autocomplete_fields = ("person",)
    extra = 0


class HouseholdForm(ReasonForm):
    head_id_number = forms.CharField(
        label="户主身份证号",
        max_length=40,
        required=False,
        help_text="选择了户主（已登记人员）时可不填",
    )

    class Meta:
        model = Household
        fields = ("head", "head_id_number", "head_name", "township", "village", "size")

    def clean_head_id_number(self):
        raw = self.cleaned_data.get("head_id_number")
        if not raw:
            return raw
        try:
            return parse_id_number(raw).number
        except IdentityError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        cleaned = super().clean()
        head = cleaned.get("head")
        if self.instance.pk is None:
            if head is not None:
                if cleaned.get("head_id_number") not in (None, "", head.id_number):
                    self.add_error("head_id_number", "户主身份证号与所选户主不一致")
                cleaned["head_id_number"] = head.id_number
                self.instance.head_id_number = head.id_number
            elif not cleaned.get("head_id_number"):
                self.add_error("head_id_number", "请选择户主或填写户主身份证号")
        township, village = cleaned.get("township"), cleaned.get("village")
        if village is not None and township is not None and village.township_id != township.pk:
            self.add_error("village", f"{village.name}不属于{township.name}")
        return cleaned


@admin.register(Household)
class HouseholdAdmin(RevealAuditMixin, RegistryAdmin):
    form = HouseholdForm
    reveal_fields = ("head_id_number",)
    inlines = [HouseholdMemberInline]
    fields = ("head", "head_id_number", "head_name", "township", "village", "size", "change_reason")
    autocomplete_fields = ("head",)
    list_display = (
        "head_name",
        "masked_head_id_number",
        "township",
        "village_name",
        "size",
        "member_count",
    )
    list_select_related = ("township", "village")
    list_filter = ("township", village_filter("village", "township"))
    search_fields = ("head_name", "head_id_number")
    show_full_result_count = False
    created_from = services.HOUSEHOLD_FIELDS
    editable = services.HOUSEHOLD_EDITABLE
    create_service = staticmethod(services.household_create)
    update_service = staticmethod(services.household_update)

    def get_readonly_fields(self, request, obj=None):
        # The head's ID number is the household's key.
        return ("head", "head_id_number") if obj else ()

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("members"))

    @admin.display(description="户主身份证号", ordering="head_id_number")
    def masked_head_id_number(self, obj):
        return mask_id_number(obj.head_id_number)

    @admin.display(description="村（社区）", ordering="village__name")
    def village_name(self, obj):
        return obj.village.name

    @admin.display(description="登记成员数", ordering="_members")
    def member_count(self, obj):
        return obj._members

    def has_delete_permission(self, request, obj=None):
        # Households are keyed by the survey; they are corrected, not deleted.
        return False

    def save_formset(self, request, form, formset, change):
        if formset.model is not HouseholdMember:
            return super().save_formset(request, form, formset, change)
        household = form.instance
        # The members' history rows carry the household's reason.
        history = saved_by(request, form, change)
        # The admin's change message reads these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for member_form in formset.forms:
            stored = member_form.instance.pk and HouseholdMember.objects.get(
                pk=member_form.instance.pk
            )
            if formset.can_delete and formset._should_delete_form(member_form):
                if stored:
                    services.household_remove_member(stored, **history)
                    formset.deleted_objects.append(stored)
                continue
            if not member_form.has_changed():
                continue
            if stored and "person" in member_form.changed_data:
                # Another person in an existing row: the old member leaves, the new one joins.
                services.household_remove_member(stored, **history)
                formset.deleted_objects.append(stored)
                stored = None
            member = services.household_add_member(
                household,
                member_form.cleaned_data["person"],
                relation=member_form.cleaned_data.get("relation") or "",
                **history,
            )
            if stored:
                formset.changed_objects.append((member, member_form.changed_data))
            else:
                formset.new_objects.append(member)
        return None


class HouseholdMemberForm(ReasonForm):
    class Meta:
        model = HouseholdMember
        fields = ("household", "person", "relation")


@admin.register(HouseholdMember)
class HouseholdMemberAdmin(HouseholdColumns, PersonColumns, SearchNormalisingMixin, HistoryAdmin):
    form = HouseholdMemberForm
    fields = ("household", "person", "relation", "change_reason")
    autocomplete_fields = ("household", "person")
    list_display = ("person_name", "masked_id", "relation", "household", "township")
    list_select_related = ("person", "household__township")
    list_filter = (
        ("household__township", admin.RelatedFieldListFilter),
        village_filter("household__village", "household__township"),
        "relation",
    )
    search_fields = ("person__name", "person__id_number", "household__head_name")
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return ("person",) if obj else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        member = services.household_add_member(
            data["household"],
            obj.person if change else data["person"],
            relation=data.get("relation") or "",
            move=change,
            **saved_by(request, form, change),
        )
        obj.pk = member.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        services.household_remove_member(obj, **deleted_by(request))


# --- history (read-only) ---


@admin.register(ChangeRecord)
class ChangeRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "model", "object_id", "source", "reason")
    list_filter = ("action", "model")  # no filter on source: unindexed on a large table
    search_fields = ("object_id", "reason", "actor__username", "source")
    list_select_related = ("actor",)
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "actor",
        "source",
        "model",
        "object_id",
        "action",
        "changes_pretty",
        "reason",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="变更（字段: [原值, 新值]）")
    def changes_pretty(self, obj):
        return pretty_json(obj.changes)


# --- users, roles and scope ---


class StaffProfileForm(forms.ModelForm):
    class Meta:
        model = StaffProfile
        fields = ("role", "township", "village")

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if not role:
            return cleaned
        try:
            _role, township, village = services.staff_scope(
                role, cleaned.get("township"), cleaned.get("village")
            )
        except ServiceError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
            return cleaned
        cleaned["township"], cleaned["village"] = township, village
        self.instance.township, self.instance.village = township, village
        return cleaned


class StaffProfileInline(CountyAdminMixin, VillageQuerysetMixin, admin.StackedInline):
    model = StaffProfile
    form = StaffProfileForm
    fields = ("role", "township", "village")
    can_delete = True
    max_num = 1
    extra = 1
    verbose_name = verbose_name_plural = "角色与数据范围"


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)
if admin.site.is_registered(Group):
    # Roles and scope live in StaffProfile; Django groups are not used.
    admin.site.unregister(Group)


@admin.register(User)
class HuoqiuUserAdmin(CountyAdminMixin, UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ("username", "first_name", "last_name", "role", "scope", "is_active", "is_staff")
    list_select_related = ("staff_profile__township", "staff_profile__village__township")
    list_filter = ("staff_profile__role", "staff_profile__township", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")

    @admin.display(description="角色", ordering="staff_profile__role")
    def role(self, obj):
        profile = getattr(obj, "staff_profile", None)
        return profile.get_role_display() if profile else "未分配角色"

    @admin.display(description="数据范围")
    def scope(self, obj):
        profile = getattr(obj, "staff_profile", None)
        if profile is None:
            return "无"
        if profile.village_id:
            return str(profile.village)
        if profile.township_id:
            return profile.township.name
        return "全县"

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser hands out superuser rights or raw permissions.
            readonly += ["is_superuser", "groups", "user_permissions"]
        return readonly

    def save_formset(self, request, form, formset, change):
        if formset.model is not StaffProfile:
            return super().save_formset(request, form, formset, change)
        user = form.instance
        history = {"actor": request.user, "source": ADMIN_SOURCE}
        # The admin's change message reads these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for profile_form in formset.forms:
            existed = profile_form.instance.pk is not None
            if formset.can_delete and formset._should_delete_form(profile_form):
                if existed:
                    formset.deleted_objects.append(profile_form.instance)
                    services.staff_profile_remove(user, reason="管理后台删除角色", **history)
                continue
            if not profile_form.has_changed():
                continue
            data = profile_form.cleaned_data
            profile = services.staff_profile_set(
                user,
                role=data["role"],
                township=data.get("township"),
                village=data.get("village"),
                reason="管理后台设置角色",
                **history,
            )
            if existed:
                formset.changed_objects.append((profile, profile_form.changed_data))
            else:
                formset.new_objects.append(profile)
        return None


# Admin autodiscovery imports only this module of the app; these register the case-work
# records of the six task areas and the audit trail. They import from admin_base, never
# from here, so there is no import cycle.
from . import (  # noqa: E402
    admin_audit,  # noqa: F401
    admin_taskareas,  # noqa: F401
)
