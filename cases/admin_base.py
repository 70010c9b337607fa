"""Building blocks of every Django admin in the project (no model is registered here).

- `county_admin_only` / `CountyAdminMixin`: only active staff users whose role is
  县残联管理员 reach the admin; model permissions follow the role, not Django permission rows.
- `HistoryAdmin`: simple records (villages) saved through `services.record_save`.
- `ServiceAdmin`: records with a write service (the task-area records, benefits). The
  form only parses; the service checks and writes, and a refusal goes back onto the
  form as the service's Chinese message. A model without an add/change service is
  read-only here; nothing is deleted through the admin.

The registering modules (`cases.admin`, `cases.admin_taskareas`, `cases.admin_audit`, the
other apps' admins) import from here, so none of them needs to import another.
"""

import re
import unicodedata

from django import forms
from django.contrib import admin
from django.db import models

from . import services
from .casework_base import NotPermitted
from .history import recorded_as
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


_ID_LIKE = re.compile(r"^[0-9Xx]{4,22}$|^[0-9]{17}[0-9Xx](?:[1-7][1-4])?(?:[Bb][1-9])?$")


def normalise_search_term(term: str) -> str:
    """Full-width digits and spaces folded; an ID-like term upper-cased (`x` → `X`)."""
    text = unicodedata.normalize("NFKC", term or "").strip().lstrip("'")
    compact = "".join(text.split())
    return compact.upper() if _ID_LIKE.match(compact) else text


def form_reason(form, default: str) -> str:
    return (form.cleaned_data.get("change_reason") or "").strip() or default


class ReasonForm(forms.ModelForm):
    change_reason = forms.CharField(
        label="修改原因",
        required=False,
        max_length=500,
        help_text="记入变更历史；不填则记为“管理后台新增/修改”",
    )

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


class HistoryAdmin(CountyAdminMixin, VillageQuerysetMixin, admin.ModelAdmin):
    """Saves and deletes of simple records through `services.record_save/record_delete`.

    Lists go through `scoped()` like every other read of personal data (a county
    admin's scope is the whole county, so this changes nothing for them).
    """

    form = ReasonForm

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if getattr(self.model, "SCOPE_PATHS", None):
            queryset = scoped(request.user, queryset)
        return queryset

    def save_model(self, request, obj, form, change):
        if not change and hasattr(obj, "recorded_by_id") and obj.recorded_by_id is None:
            obj.recorded_by = request.user
        services.record_save(
            obj,
            actor=request.user,
            reason=form_reason(form, "管理后台修改" if change else "管理后台新增"),
            source=ADMIN_SOURCE,
        )

    def delete_model(self, request, obj):
        services.record_delete(obj, actor=request.user, reason="管理后台删除", source=ADMIN_SOURCE)

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
    error_aliases: dict = {}

    def _post_clean(self):
        if self.refused is not None:
            self.add_service_error(self.refused, self.error_aliases)


class ServiceAdmin(CountyAdminMixin, VillageQuerysetMixin, admin.ModelAdmin):
    """An admin whose saves go through the model's service, like the staff pages.

    Subclasses implement `create(request, data)` and/or `update(request, obj, data,
    changed)` (`data`: the form's cleaned values; `changed`: which of `change_fields` the
    user changed, never empty) and return the saved record. Without `create` there is no add page, without `update`
    the change page is view-only; no record is deleted here (no service does it).
    `add_fields` / `change_fields` list what the form edits; everything else shown is
    read-only. A refusal by the service (`ServiceError`, `NotPermitted`) rolls the save
    back and shows the form again with the message on its field (`error_aliases` maps a
    service's field name to the form's) or above the form.
    """

    form = ServiceForm
    add_fields: tuple[str, ...] = ()
    change_fields: tuple[str, ...] = ()
    shown_fields: tuple[str, ...] = ()  # read-only on the change page
    error_aliases: dict[str, str] = {}

    def create(self, request, data: dict) -> models.Model:
        raise NotImplementedError

    def update(self, request, obj: models.Model, data: dict, changed: set[str]) -> models.Model:
        raise NotImplementedError

    def _implements(self, name: str) -> bool:
        return getattr(type(self), name) is not getattr(ServiceAdmin, name)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if getattr(self.model, "SCOPE_PATHS", None):
            queryset = scoped(request.user, queryset)
        return queryset

    def has_add_permission(self, request, *args):
        return self._implements("create") and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._implements("update") and super().has_change_permission(request, obj)

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
        attrs = {"error_aliases": self.error_aliases}
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
        # The admin's messages and log name the saved record.
        for field in saved._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # Inlines of a service-written record are read-only; the form has no m2m fields.
        pass

    def delete_model(self, request, obj):
        raise NotPermitted("管理后台不能删除此类记录")
