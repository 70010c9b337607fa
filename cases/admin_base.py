"""Building blocks of every Django admin in the project (no model is registered here).

- `county_admin_only` / `CountyAdminMixin`: only active staff users whose role is
  县残联管理员 reach the admin; model permissions follow the role, not Django permission rows.
- `RevealAuditMixin`: a record page showing full ID/certificate/phone numbers is audited
  as a `reveal` each time it is shown.
- `ReadOnlyAdminMixin` / `ReadOnlyInline`: records nobody adds, changes or deletes here.
- `ScopedListMixin`: lists of personal data go through `scoped()`; `ViewOnlyAdmin`:
  records of personal data nobody edits here (monitoring cases, findings, imported rows).
- `PersonColumns` / `HouseholdColumns`: list columns naming the person or household of a
  record, ID numbers masked; `PersonRecordMixin` / `HouseholdRecordMixin` add how such
  records are listed and searched and how their person or household is chosen.
- `HistoryAdmin`: simple records (villages) saved through `services.record_save`.
- `ServiceAdmin`: records with a write service (the task-area records, benefits). The
  form only parses; the service checks and writes, and a refusal goes back onto the
  form as the service's Chinese message. A model without an add/change service is
  read-only here; nothing is deleted through the admin.

The registering modules (`cases.admin`, `cases.admin_taskareas`, `cases.admin_audit`, the
other apps' admins) import from here, so none of them needs to import another.
"""

import json
import re
import unicodedata
from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from . import services
from .audit import Action, audit
from .casework_base import NotPermitted
from .history import recorded_as
from .identity import mask_id_number
from .models import Village
from .scope import scope_for, scoped
from .services import ServiceError

ADMIN_SOURCE = "管理后台"


def county_admin_only(request) -> bool:
    """Replaces `AdminSite.has_permission`: active staff with the county-admin role."""
    user = request.user
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and scope_for(user).is_county_admin
    )


class CountyAdminMixin:
    """Model permissions come from the role, not from Django permission rows."""

    def _county_admin(self, request) -> bool:
        return county_admin_only(request)

    def has_module_permission(self, request):
        return self._county_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._county_admin(request)

    def has_add_permission(self, request, *args):
        return self._county_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._county_admin(request)

    def has_delete_permission(self, request, obj=None):
        return self._county_admin(request)


class ReadOnlyAdminMixin(CountyAdminMixin):
    """Viewable by county admins; never added, changed or deleted here."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RevealAuditMixin:
    """A change page that shows full ID, certificate or phone numbers is a reveal.

    The staff pages show a full number only through the audited 显示完整号码 button; the
    admin's record pages show it outright, so each rendering of such a page (a GET, or a
    form shown again with errors) records one `reveal` event naming the fields shown,
    instead of a plain page view. `reveal_fields` lists them; a field whose value is
    blank on this record (`revealed_fields`) is left out.
    """

    reveal_fields: tuple[str, ...] = ()

    def revealed_fields(self, obj) -> list[str]:
        return [name for name in self.reveal_fields if getattr(obj, name, None) not in ("", None)]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )
        fields = self.revealed_fields(obj) if obj is not None and obj.pk else []
        if fields:
            audit(request, Action.REVEAL, target=obj, details={"fields": fields, "page": "admin"})
        return response


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Rows shown under their record, for reading only."""

    extra = 0
    can_delete = False


class ScopedListMixin:
    """Lists go through `scoped()` like every other read of personal data.

    A county admin's scope is the whole county, so this hides nothing from them; it keeps
    the admin on the one path every read of personal data takes. Models without personal
    data (no `SCOPE_PATHS`) are listed whole.
    """

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if getattr(self.model, "SCOPE_PATHS", None):
            queryset = scoped(request.user, queryset)
        return queryset


class PersonColumns:
    """List columns for records of a person: name, masked ID number, township, village."""

    @admin.display(description="公民身份号码", ordering="person__id_number")
    def masked_id(self, obj):
        return mask_id_number(obj.person.id_number)

    @admin.display(description="姓名", ordering="person__name")
    def person_name(self, obj):
        return obj.person.name

    @admin.display(description="乡镇", ordering="person__township__code")
    def township(self, obj):
        return obj.person.township.name if obj.person.township_id else ""

    @admin.display(description="村（社区）", ordering="person__village__name")
    def village(self, obj):
        return obj.person.village.name if obj.person.village_id else ""


class HouseholdColumns:
    """List columns for records of a household: its township and its head's masked ID."""

    @admin.display(description="乡镇", ordering="household__township__code")
    def township(self, obj):
        return obj.household.township.name

    @admin.display(description="户主身份证号", ordering="household__head_id_number")
    def masked_head_id(self, obj):
        return mask_id_number(obj.household.head_id_number)


PERSON_SEARCH = ("person__name", "person__id_number")
HOUSEHOLD_SEARCH = ("household__head_name", "household__head_id_number")


class PersonRecordMixin(PersonColumns):
    """Records of a person: listed with the person's township, the person chosen by search."""

    list_select_related: tuple[str, ...] = ("person__township",)
    search_fields: tuple[str, ...] = PERSON_SEARCH
    autocomplete_fields: tuple[str, ...] = ("person",)


class HouseholdRecordMixin(HouseholdColumns):
    """Records of a household: listed with its township, the household chosen by search."""

    list_select_related: tuple[str, ...] = ("household__township",)
    search_fields: tuple[str, ...] = HOUSEHOLD_SEARCH
    autocomplete_fields: tuple[str, ...] = ("household",)


def pretty_json(value):
    """A JSON field on a read-only page, indented."""
    return format_html(
        "<pre>{}</pre>", json.dumps(value, ensure_ascii=False, indent=2, default=str)
    )


_ID_LIKE = re.compile(r"^[0-9Xx]{4,22}$|^[0-9]{17}[0-9Xx](?:[1-7][1-4])?(?:[Bb][1-9])?$")


def normalise_search_term(term: str) -> str:
    """Full-width digits and spaces folded; an ID-like term upper-cased (`x` → `X`)."""
    text = unicodedata.normalize("NFKC", term or "").strip().lstrip("'")
    compact = "".join(text.split())
    return compact.upper() if _ID_LIKE.match(compact) else text


def form_reason(form, default: str) -> str:
    return (form.cleaned_data.get("change_reason") or "").strip() or default


def saved_by(request, form, change: bool) -> dict:
    """Who saved and why, for the history row the service writes (source 管理后台)."""
    reason = form_reason(form, "管理后台修改" if change else "管理后台新增")
    return {"actor": request.user, "reason": reason, "source": ADMIN_SOURCE}


def deleted_by(request) -> dict:
    return {"actor": request.user, "reason": "管理后台删除", "source": ADMIN_SOURCE}


def adopt_saved(obj: models.Model, saved: models.Model) -> None:
    """The admin's messages and log name the record the service saved."""
    for field in saved._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False


def reason_field(help_text: str = "记入变更历史；不填则记为“管理后台新增/修改”") -> forms.CharField:
    """The 修改原因 box of every admin form that writes history."""
    return forms.CharField(label="修改原因", required=False, max_length=500, help_text=help_text)


class ReasonForm(forms.ModelForm):
    change_reason = reason_field()

    def add_service_error(self, error: ServiceError, aliases: dict | None = None):
        field = (aliases or {}).get(error.field, error.field)
        self.add_error(field if field in self.fields else None, error.message)


class VillageQuerysetMixin:
    """Village choices with their township loaded (their label names the township)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Village:
            kwargs["queryset"] = Village.objects.select_related("township")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SearchNormalisingMixin:
    def get_search_results(self, request, queryset, search_term):
        return super().get_search_results(request, queryset, normalise_search_term(search_term))


class ViewOnlyAdmin(SearchNormalisingMixin, ScopedListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Personal data written elsewhere (a workflow, the cross-check, an import): read here."""


class HistoryAdmin(ScopedListMixin, CountyAdminMixin, VillageQuerysetMixin, admin.ModelAdmin):
    """Saves and deletes of simple records through `services.record_save/record_delete`."""

    form = ReasonForm

    def save_model(self, request, obj, form, change):
        if not change and hasattr(obj, "recorded_by_id") and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        services.record_save(obj, **saved_by(request, form, change))

    def delete_model(self, request, obj):
        services.record_delete(obj, **deleted_by(request))

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


# --- records written by a service ---


class ServiceRefused(Exception):
    """A service refused the admin's save; carries its error back to the form."""

    def __init__(self, error: ServiceError):
        super().__init__(error.message)
        self.error = error


class ServiceForm(ReasonForm):
    """Django parses the fields; the service validates and writes.

    The model's own validation (`full_clean`, run by a ModelForm) is skipped: the service
    runs it after its own checks, so the admin shows the service's message (e.g. who
    already holds the post), not a generic constraint message.
    """

    refused: ServiceError | None = None
    aliases: dict = {}

    def _post_clean(self):
        if self.refused is not None:
            self.add_service_error(self.refused, self.aliases)


class ServiceAdmin(ScopedListMixin, CountyAdminMixin, VillageQuerysetMixin, admin.ModelAdmin):
    """An admin whose saves go through the model's service, like the staff pages.

    Subclasses implement `create(request, data)` and/or `update(request, obj, data,
    changed)` (`data`: the form's cleaned values; `changed`: which of `change_fields` the
    user changed, never empty) and return the saved record, or name the service instead:

    - `add_service(user, *keys, **values)` adds a record: `keys` are the first `add_keys`
      of `add_fields` (the person, the household…), `values` the rest of them;
    - `save_service(user, key, **values)` adds and changes a record: `key` is the record's
      `save_key` (its person, its village…), or without one the record itself (None when
      adding); `values` are the `change_fields`.

    A form field reaches the service under its own name or the one `aliases` gives it
    (service name → form field; a refusal's field is mapped back the same way). Without
    a way to add there is no add page, without one to change the change page is
    view-only; no record is deleted here (no service does it). `add_fields` /
    `change_fields` list what the form edits; everything else shown is read-only. A
    refusal by the service (`ServiceError`, `NotPermitted`) rolls the save back and shows
    the form again with the message on its field or above the form.
    """

    form = ServiceForm
    add_fields: tuple[str, ...] = ()
    change_fields: tuple[str, ...] = ()
    shown_fields: tuple[str, ...] = ()  # read-only on the change page
    aliases: dict[str, str] = {}
    add_service: Callable[..., models.Model] | None = None
    add_keys = 1
    save_service: Callable[..., models.Model] | None = None
    save_key: str | None = None

    def create(self, request, data: dict) -> models.Model:
        if self.save_service is not None:
            key = data[self.save_key] if self.save_key else None
            return self.save_service(request.user, key, **self.service_values(data))
        if self.add_service is None:
            raise NotImplementedError
        keys = [data[name] for name in self.add_fields[: self.add_keys]]
        values = self.service_values(data, self.add_fields[self.add_keys :])
        return self.add_service(request.user, *keys, **values)

    def update(self, request, obj: models.Model, data: dict, changed: set[str]) -> models.Model:
        if self.save_service is None:
            raise NotImplementedError
        key = getattr(obj, self.save_key) if self.save_key else obj
        return self.save_service(request.user, key, **self.service_values(data))

    def service_values(self, data: dict, fields: Iterable[str] | None = None) -> dict:
        """The form's values of `fields` (default: `change_fields`) named as the service names them."""
        argument = {field: name for name, field in self.aliases.items()}
        names = self.change_fields if fields is None else fields
        return {argument.get(name, name): data[name] for name in names}

    def _implements(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(ServiceAdmin, name)

    def has_add_permission(self, request, *args):
        can_add = self.add_service or self.save_service or self._implements("create")
        return bool(can_add) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        can_change = self.save_service or self._implements("update")
        return bool(can_change) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*self.add_fields, "change_reason"]
        fields = [*self._shown(obj), *self.change_fields]
        return [*fields, "change_reason"] if self.has_change_permission(request, obj) else fields

    def _shown(self, obj) -> list[str]:
        shown = self.shown_fields or self.add_fields
        return [name for name in shown if name not in self.change_fields]

    def get_readonly_fields(self, request, obj=None):
        # A view-only page makes every field read-only by itself.
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [name for name in self._shown(obj) if name not in readonly]
        return readonly

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        attrs = {"aliases": self.aliases}
        refused = getattr(request, "_service_refused", None)
        if refused is not None:
            attrs["refused"] = refused
        return type(form.__name__, (form,), attrs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The admin's transaction is rolled back by now; show the form again with
            # the service's message (the second pass does not call the service).
            request._service_refused = refused.error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            with recorded_as(source=ADMIN_SOURCE, reason=form_reason(form, "")):
                if change:
                    changed = set(form.changed_data) & set(self.change_fields)
                    saved = self.update(request, obj, data, changed) if changed else obj
                else:
                    saved = self.create(request, data)
        except ServiceError as error:
            raise ServiceRefused(error) from error
        except NotPermitted as error:
            raise ServiceRefused(ServiceError(error.message)) from error
        adopt_saved(obj, saved)

    def save_related(self, request, form, formsets, change):
        # Inlines of a service-written record are read-only; the form has no m2m fields.
        pass

    def delete_model(self, request, obj):
        raise NotPermitted("管理后台不能删除此类记录")
