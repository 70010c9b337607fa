"""Admin for the cross-check: findings, their events and the run records (county admins).

Findings are never edited here field by field: their core is read-only (the job owns
it) and decisions go through the admin actions "标记为已处理" / "不予处理", which call
`monitoring.findings` (FindingEvent history, scope check). Runs and events are
read-only. ImportBatch and the imported source rows are registered by the import UI.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse

from cases.admin_base import (
    PersonColumns,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    RevealAuditMixin,
    ScopedListMixin,
    ViewOnlyAdmin,
)
from cases.scope import scope_for

from .findings import FindingError, findings_dismiss_bulk, findings_handle_bulk
from .models import CrosscheckRun, Finding, FindingEvent
from .rules import REGISTRY


class RuleFilter(admin.SimpleListFilter):
    title = "规则"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return [(code, f"{code} {rule.name}") for code, rule in sorted(REGISTRY.items())]

    def queryset(self, request, queryset):
        return queryset.filter(rule=self.value()) if self.value() else queryset


class FindingEventInline(ReadOnlyInline):
    model = FindingEvent
    fields = ("created_at", "from_status", "to_status", "actor", "run", "note")
    readonly_fields = fields


class DecisionForm(forms.Form):
    text = forms.CharField(label="说明", max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Finding)
class FindingAdmin(RevealAuditMixin, ViewOnlyAdmin):
    """The change page is a read-only view; decisions go through the actions.

    It shows the person's full ID number (`id_number`), so each view is a reveal.
    """

    def revealed_fields(self, obj):
        return ["id_number"]

    list_display = (
        "rule",
        "rule_name",
        "masked_id",
        "person_name",
        "township",
        "village",
        "status",
        "opened_at",
    )
    list_filter = (RuleFilter, "status", "township")
    search_fields = ("person__name", "=person__id_number", "reason")
    list_select_related = ("person", "township", "village")
    readonly_fields = (
        "rule",
        "rule_name",
        "rule_explanation",
        "person",
        "id_number",
        "household",
        "township",
        "village",
        "reason",
        "status",
        "action_taken",
        "dismiss_reason",
        "decided_by",
        "decided_at",
        "first_run",
        "last_run",
        "opened_at",
        "cleared_at",
    )
    fields = readonly_fields
    inlines = [FindingEventInline]
    actions = ["mark_handled", "mark_dismissed"]

    def has_decide_permission(self, request):
        return self._county_admin(request) and scope_for(request.user).can_write

    @admin.display(description="规则名称")
    def rule_name(self, obj):
        rule = REGISTRY.get(obj.rule)
        return rule.name if rule else ""

    @admin.display(description="规则说明")
    def rule_explanation(self, obj):
        rule = REGISTRY.get(obj.rule)
        return rule.explanation if rule else ""

    # Only the person's columns: a finding has its own township and village.
    masked_id = PersonColumns.masked_id
    person_name = PersonColumns.person_name

    @admin.display(description="公民身份号码")
    def id_number(self, obj):
        return obj.person.id_number

    @admin.action(description="标记为已处理（填写处理措施）", permissions=["decide"])
    def mark_handled(self, request, queryset):
        return self._decide(request, queryset, findings_handle_bulk, "标记为已处理", "处理措施")

    @admin.action(description="不予处理（填写原因）", permissions=["decide"])
    def mark_dismissed(self, request, queryset):
        return self._decide(request, queryset, findings_dismiss_bulk, "不予处理", "不予处理原因")

    def _decide(self, request, queryset, service, title, label):
        form = DecisionForm(request.POST if "apply" in request.POST else None)
        form.fields["text"].label = label
        if form.is_bound and form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            try:
                result = service(ids, request.user, form.cleaned_data["text"])
            except FindingError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            self.message_user(
                request,
                f"{title}：{result['updated']}条；跳过{result['skipped']}条（已消除或不在范围内）",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "findings": queryset.select_related("person")[:200],
            "count": queryset.count(),
            "action": request.POST.get("action"),
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/monitoring/finding/decide.html", context)


@admin.register(CrosscheckRun)
class CrosscheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "as_of",
        "status",
        "started_by",
        "new",
        "still_open",
        "cleared",
        "reopened",
        "duration_seconds",
        "started_at",
        "message",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("triggered_by",)
    fields = (
        "as_of",
        "status",
        "trigger",
        "triggered_by",
        "os_user",
        "batches",
        "new",
        "still_open",
        "cleared",
        "reopened",
        "by_rule",
        "started_at",
        "finished_at",
        "duration_seconds",
        "message",
    )
    readonly_fields = fields

    @admin.display(description="发起人")
    def started_by(self, run: CrosscheckRun) -> str:
        return run.started_by_label


@admin.register(FindingEvent)
class FindingEventAdmin(ScopedListMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "finding", "from_status", "to_status", "actor", "run", "note")
    list_filter = ("to_status",)
    search_fields = ("finding__person__name", "=finding__person__id_number", "note")
    list_select_related = ("finding__person", "actor", "run")
    fields = ("finding", "created_at", "from_status", "to_status", "actor", "run", "note")
    readonly_fields = fields


# Imports: ImportBatch (two-step import, downloads), SurveyRecord, roster households and members.
from . import admin_imports  # noqa: E402, F401
