"""Forms of the household page's work: assistance measures (edit, close), benefit
applications and their steps (审核 → 批准 / 不批准 → 落实, 撤回), referrals (转办) and the
county admins' unit list. Parsing and Chinese messages only; the services validate again.
"""

from django import forms

from cases.casework_base import REASON_MAX_LENGTH
from cases.text import clean_text
from subsidies.models import BenefitType, Referral, ReferralUnit
from subsidies.referrals import (
    REQUEST_MAX_LENGTH,
    RESPONSE_MAX_LENGTH,
    STEP_LABELS,
    UNIT_NAME_MAX_LENGTH,
)

from .casework import StaffForm, _not_future, date_field, money_field, text_area

# --- assistance measures --------------------------------------------------------------------


class AssistanceEditForm(StaffForm):
    """修改帮扶措施: what may change after it was recorded (`casework.assistance_update`)."""

    title, submit_label, testid = "修改帮扶措施", "保存修改", "assistance-edit-form"
    service_fields = ("responsible_unit", "description", "result", "ended_on", "reason")

    responsible_unit = forms.CharField(label="责任单位", max_length=100)
    description = forms.CharField(label="内容", max_length=300, required=False)
    result = forms.CharField(label="成效", max_length=300, required=False)
    ended_on = date_field("结束日期", required=False)
    reason = text_area("修改原因", max_length=REASON_MAX_LENGTH, rows=2)


class AssistanceCloseForm(StaffForm):
    """结束帮扶措施: end date and result required (`casework.assistance_close`)."""

    title, submit_label, testid = "结束帮扶措施", "结束措施", "assistance-close-form"
    service_fields = ("ended_on", "result", "reason")

    ended_on = date_field("结束日期")
    result = forms.CharField(label="成效", max_length=300)
    reason = text_area("结束原因", max_length=REASON_MAX_LENGTH, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "ended_on", "结束日期")
        return cleaned


# --- benefit applications -------------------------------------------------------------------


class ApplicationCreateForm(StaffForm):
    """申请救助与补贴 for a member of the household."""

    title, submit_label, testid = "申请救助与补贴", "提交申请", "application-form"

    person = forms.ChoiceField(label="申请人")
    benefit_type = forms.ChoiceField(
        label="申请项目", choices=[("", "请选择"), *BenefitType.choices]
    )
    applied_on = date_field("申请日期")
    note = text_area("申请说明", max_length=500, rows=2)

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._members = {str(person.pk): person for person in members}
        self.fields["person"].choices = [("", "请选择")] + [
            (str(person.pk), clean_text(person.name)) for person in members
        ]

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "applied_on", "申请日期")
        return cleaned

    def person_object(self):
        return self._members[self.cleaned_data["person"]]

    def service_kwargs(self) -> dict:
        return self.values("benefit_type", "applied_on", "note")


class ApplicationStepForm(StaffForm):
    """A step of an application; `date_name` is its date field (today by default)."""

    date_name = ""


class ApplicationReviewForm(ApplicationStepForm):
    date_name = "reviewed_on"
    title, submit_label, testid = "审核申请", "审核通过", "application-review-form"
    service_fields = ("reviewed_on", "note")

    reviewed_on = date_field("审核日期")
    note = text_area("审核意见", required=True, max_length=500, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "reviewed_on", "审核日期")
        return cleaned

    def add_service_error(self, error) -> None:
        if getattr(error, "field", None) == "review_note":
            error.field = "note"
        super().add_service_error(error)


DECISION_CHOICES = [("approved", "批准"), ("rejected", "不批准")]


class ApplicationDecideForm(ApplicationStepForm):
    date_name = "decided_on"
    title, submit_label, testid = "批准 / 不批准", "提交决定", "application-decide-form"

    decision = forms.ChoiceField(label="决定", choices=DECISION_CHOICES, widget=forms.RadioSelect)
    decided_on = date_field("办结日期")
    note = text_area("办结说明（不批准须填写）", max_length=500, rows=2)
    monthly_amount = money_field("月标准（元，批准时填写）")
    start_month = date_field("起始年月（批准时填写，默认办结当月）", required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "decided_on", "办结日期")
        if cleaned.get("decision") == "rejected" and not cleaned.get("note"):
            self.add_error("note", "未批准须填写说明")
        return cleaned

    def add_service_error(self, error) -> None:
        if getattr(error, "field", None) == "decision_note":
            error.field = "note"
        super().add_service_error(error)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "approved": data["decision"] == "approved",
            "decided_on": data["decided_on"],
            "note": data.get("note", ""),
            "monthly_amount": data.get("monthly_amount"),
            "start_month": data.get("start_month"),
        }


class ApplicationDeliverForm(ApplicationStepForm):
    date_name = "delivered_on"
    title, submit_label, testid = "登记落实", "确认已落实", "application-deliver-form"
    service_fields = ("delivered_on", "note")

    delivered_on = date_field("落实日期")
    note = text_area("落实情况", required=True, max_length=500, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "delivered_on", "落实日期")
        return cleaned

    def add_service_error(self, error) -> None:
        if getattr(error, "field", None) == "delivery_note":
            error.field = "note"
        super().add_service_error(error)


class ApplicationWithdrawForm(ApplicationStepForm):
    date_name = "on"
    title, submit_label, testid = "撤回申请", "撤回申请", "application-withdraw-form"
    service_fields = ("on", "reason")

    on = date_field("撤回日期")
    reason = text_area("撤回原因", required=True, max_length=500, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "on", "撤回日期")
        return cleaned


APPLICATION_STEP_FORMS: dict[str, type[ApplicationStepForm]] = {
    "review": ApplicationReviewForm,
    "decide": ApplicationDecideForm,
    "deliver": ApplicationDeliverForm,
    "withdraw": ApplicationWithdrawForm,
}
"""The step forms by the step's name in the URL."""

NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "applying": ("review", "withdraw"),
    "reviewed": ("decide", "withdraw"),
    "approved": ("deliver",),
}
"""The steps an application's status allows (the household page offers these only)."""


# --- referrals ------------------------------------------------------------------------------


class ReferralForm(StaffForm):
    """转办 a measure or an application to an active unit."""

    title, submit_label, testid = "转办", "转办", "referral-form"

    unit = forms.ChoiceField(label="转办单位")
    request = text_area("转办事项", required=True, max_length=REQUEST_MAX_LENGTH, rows=2)
    referred_on = date_field("转办日期")

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._units = {str(unit.pk): unit for unit in units}
        self.fields["unit"].choices = [("", "请选择")] + [
            (str(unit.pk), clean_text(unit.name)) for unit in units
        ]

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "referred_on", "转办日期")
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "unit": self._units[data["unit"]],
            "request": data["request"],
            "referred_on": data["referred_on"],
        }


class ReferralStatusForm(StaffForm):
    """登记转办办理情况: 已受理 / 已办结 / 已退回 with the date and the unit's response."""

    title, submit_label, testid = "登记办理情况", "保存", "referral-status-form"
    service_fields = ("status", "on", "response")

    status = forms.ChoiceField(label="办理情况")
    on = date_field("办理日期")
    response = text_area(
        "办理结果 / 退回原因（办结、退回须填写）", max_length=RESPONSE_MAX_LENGTH, rows=2
    )

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [(status, STEP_LABELS[status]) for status in allowed]

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "on", "办理日期")
        status = cleaned.get("status")
        if status in (Referral.Status.DONE, Referral.Status.RETURNED) and not cleaned.get(
            "response"
        ):
            label = "退回原因" if status == Referral.Status.RETURNED else "办理结果"
            self.add_error("response", f"{label}不能为空")
        return cleaned


class ReferralUnitForm(StaffForm):
    """A unit of the list (county admins): name, order, active."""

    title, submit_label, testid = "转办单位", "保存", "referral-unit-form"
    service_fields = ("name", "sort_order", "is_active", "reason")

    name = forms.CharField(label="单位名称", max_length=UNIT_NAME_MAX_LENGTH)
    sort_order = forms.IntegerField(label="排序（小的在前）", min_value=0, max_value=32767)
    is_active = forms.BooleanField(label="启用", required=False, initial=True)
    reason = forms.CharField(label="修改原因", max_length=REASON_MAX_LENGTH, required=False)

    def set_messages(self) -> None:
        super().set_messages()
        sort = self.fields["sort_order"]
        sort.error_messages["invalid"] = "排序应为整数"
        sort.error_messages["min_value"] = "排序不能为负数"
        sort.error_messages["max_value"] = "排序不能超过32767"


def unit_initial(unit: ReferralUnit) -> dict:
    return {"name": unit.name, "sort_order": unit.sort_order, "is_active": unit.is_active}
