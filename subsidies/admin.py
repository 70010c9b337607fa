"""Admin of the subsidies app: the yearly policy parameters (county admins).

Every save goes through `subsidies.policy.policy_set`, so each change is recorded
in the history (`cases.ChangeRecord`, shown on the year's page) with the admin user
and the reason typed into the form, and the year stops being a system default.
Years are never deleted: the cross-check of a past as-of date still needs them.
"""

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from cases.admin_base import CountyAdminMixin, form_reason, reason_field

from .models import PolicyYear
from .policy import FIELDS, LABELS, PolicyError, clean_value, policy_history, policy_set


class PolicyYearForm(forms.ModelForm):
    change_reason = reason_field("记入修改历史，如“依据2026年县政府文件调整监测线”")

    class Meta:
        model = PolicyYear
        fields = ["year", *FIELDS]

    def clean(self):
        cleaned = super().clean()
        for field in FIELDS:
            if field in cleaned and field in self.changed_data:
                try:
                    cleaned[field] = clean_value(field, cleaned[field])
                except PolicyError as error:
                    self.add_error(field, str(error).split(" / ")[0])
        return cleaned


@admin.register(PolicyYear)
class PolicyYearAdmin(CountyAdminMixin, admin.ModelAdmin):
    form = PolicyYearForm
    list_display = (
        "year",
        "monitoring_line",
        "rigid_expenditure_threshold",
        "care_subsidy_includes_grade3_mental",
        "dibao_standard_monthly",
        "living_subsidy_monthly",
        "care_subsidy_monthly",
        "pension_contribution_tier",
        "is_default",
        "updated_at",
    )
    list_filter = ("is_default",)
    ordering = ("-year",)
    readonly_fields = ("is_default", "history")

    def get_fields(self, request, obj=None):
        fields = ["year", *FIELDS, "change_reason", "is_default"]
        return [*fields, "history"] if obj else fields

    def get_readonly_fields(self, request, obj=None):
        return ("year", "is_default", "history") if obj else ("is_default",)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        values = {field: form.cleaned_data[field] for field in FIELDS if field in form.cleaned_data}
        saved = policy_set(
            obj.year,
            actor=request.user,
            reason=form_reason(form, "管理后台修改" if change else "管理后台新增"),
            **values,
        )
        obj.pk = saved.pk
        obj.is_default = saved.is_default

    @admin.display(description="修改历史")
    def history(self, obj):
        rows = [
            (
                record.created_at.strftime("%Y-%m-%d %H:%M"),
                record.actor or "系统",
                record.get_action_display(),
                "；".join(
                    f"{LABELS.get(field, field)}：{old} → {new}"
                    for field, (old, new) in record.changes.items()
                ),
                record.reason,
            )
            for record in policy_history(obj)
        ]
        if not rows:
            return "暂无修改记录（系统默认值）"
        return format_html(
            "<table><tr><th>时间</th><th>操作人</th><th>操作</th><th>变更</th><th>原因</th></tr>"
            "{}</table>",
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows
            ),
        )


from . import admin_benefits  # noqa: E402, F401
