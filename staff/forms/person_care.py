"""Forms of the person page's 无障碍改造, 托养照护 and 困境残疾儿童关爱 sections: input parsing
and Chinese messages only; the services (`cases.casework`) check again and write.

An accessibility modification has one form per step, each asking only what that step
needs (评估: the assessment; 施工: contractor and items; 验收: date and cost; 终止: reason).
"""

from django import forms

from cases.casework_base import REASON_MAX_LENGTH
from cases.models import AccessibilityModification, ChildCareRecord, CustodialCare

from .casework import EndedOnForm, StaffForm, _not_future, date_field, money_field, text_area

A = AccessibilityModification.Status


class AccessibilityApplyForm(StaffForm):
    title, submit_label, testid = "无障碍改造申请", "提交申请", "accessibility-apply-form"
    service_fields = ("applied_on", "items")

    applied_on = date_field("申请日期")
    items = text_area("申请改造内容", max_length=300, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "applied_on", "申请日期")
        return cleaned


class AccessibilityStepForm(StaffForm):
    """One step after 申请; `status` is the step the form records."""

    status: str = ""
    date_label = "办理日期"
    service_fields: tuple[str, ...] = ("on",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["on"].label = self.date_label
        self.set_messages()

    on = date_field("办理日期")

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "on", self.date_label)
        return cleaned


class AccessibilityAssessForm(AccessibilityStepForm):
    title, submit_label, testid = "无障碍改造评估", "保存评估", "accessibility-assess-form"
    status = A.ASSESSED
    date_label = "评估日期"
    service_fields = ("on", "assessment", "items")

    assessment = text_area("评估意见", required=True, max_length=300, rows=2)
    items = text_area("改造内容", max_length=300, rows=2)


class AccessibilityConstructionForm(AccessibilityStepForm):
    title, submit_label, testid = "无障碍改造施工", "登记开工", "accessibility-construction-form"
    status = A.CONSTRUCTION
    date_label = "开工日期"
    service_fields = ("on", "contractor", "items")

    contractor = forms.CharField(label="施工单位", max_length=100)
    items = text_area("改造内容", required=True, max_length=300, rows=2)


class AccessibilityAcceptForm(AccessibilityStepForm):
    title, submit_label, testid = "无障碍改造验收", "登记验收", "accessibility-accept-form"
    status = A.ACCEPTED
    date_label = "验收日期"
    service_fields = ("on", "cost")

    cost = money_field("改造费用（元）", required=True)


class AccessibilityCancelForm(AccessibilityStepForm):
    title, submit_label, testid = "终止无障碍改造", "终止改造", "accessibility-cancel-form"
    status = A.CANCELLED
    date_label = "终止日期"
    service_fields = ("on", "reason")

    reason = text_area("终止原因", required=True, max_length=300, rows=2)


# The form of each step, by the step's slug in the URL (the status value).
ACCESSIBILITY_STEP_FORMS: dict[str, type[AccessibilityStepForm]] = {
    form.status: form
    for form in (
        AccessibilityAssessForm,
        AccessibilityConstructionForm,
        AccessibilityAcceptForm,
        AccessibilityCancelForm,
    )
}


class CustodialCareStartForm(StaffForm):
    title, submit_label, testid = "登记托养照护", "保存托养", "custodial-start-form"
    service_fields = ("mode", "institution", "started_on", "note")

    mode = forms.ChoiceField(
        label="托养方式", choices=[("", "请选择"), *CustodialCare.Mode.choices]
    )
    institution = forms.CharField(label="托养机构/服务人员", max_length=100, required=False)
    started_on = date_field("开始日期")
    note = forms.CharField(label="备注", max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "started_on", "开始日期")
        return cleaned


class CustodialCareEndForm(EndedOnForm):
    title, submit_label, testid = "结束托养照护", "结束托养", "custodial-end-form"


class ChildCareForm(StaffForm):
    title, submit_label, testid = "登记困境残疾儿童关爱", "保存关爱记录", "child-care-form"
    service_fields = ("kind", "cared_on", "provider", "content")

    kind = forms.ChoiceField(
        label="关爱类型", choices=[("", "请选择"), *ChildCareRecord.Kind.choices]
    )
    cared_on = date_field("关爱日期")
    provider = forms.CharField(label="关爱人/单位", max_length=100)
    content = text_area("关爱内容", required=True, max_length=300, rows=3)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "cared_on", "关爱日期")
        return cleaned


class ChildCareEditForm(ChildCareForm):
    title, submit_label, testid = "更正关爱记录", "保存更正", "child-care-edit-form"
    service_fields = ("kind", "cared_on", "provider", "content", "reason")

    reason = forms.CharField(label="更正原因", max_length=REASON_MAX_LENGTH, required=False)
