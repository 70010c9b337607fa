"""Forms of the work queue of the staff app: handle, dismiss, bulk decision, open a case.

Input parsing and Chinese messages only; the views call `monitoring.findings` and
`monitoring.finding_actions`.
"""

from django import forms

from cases.casework_base import today
from staff.forms.casework import StaffForm, date_field, text_area
from subsidies.models import BenefitType

BULK_LIMIT = 500


class FindingHandleForm(StaffForm):
    # Empty, these forms look the same to every user (`list_html.form_field` keeps them).
    FIXED_UNBOUND_HTML = True

    action_taken = text_area("处理措施", required=True, max_length=500)


class FindingDismissForm(StaffForm):
    FIXED_UNBOUND_HTML = True

    reason = text_area("不予处理原因", required=True, max_length=500)


class FindingOpenCaseForm(StaffForm):
    FIXED_UNBOUND_HTML = True

    reason = text_area("建立原因", required=False, max_length=500)


class IdsField(forms.Field):
    """The ticked findings of the queue (`ids`, repeated): a list of distinct ints."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        ids = []
        for raw in values:
            try:
                number = int(raw)
            except (TypeError, ValueError):
                raise forms.ValidationError("所选记录编号无效，请刷新页面后重新选择") from None
            if number not in ids:
                ids.append(number)
        return ids

    def validate(self, value):
        if not value:
            raise forms.ValidationError("请至少勾选一条比对发现")
        if len(value) > BULK_LIMIT:
            raise forms.ValidationError(f"一次最多批量处理{BULK_LIMIT}条，请分批处理")


class FindingBulkForm(StaffForm):
    DECISIONS = [("handle", "标记为已处理"), ("dismiss", "不予处理")]
    FIXED_UNBOUND_HTML = True

    ids = IdsField(label="比对发现")
    decision = forms.ChoiceField(label="批量操作", choices=[("", "请选择"), *DECISIONS])
    text = text_area("处理措施或不予处理原因", required=True, max_length=500, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].error_messages["required"] = "请至少勾选一条比对发现"


class FindingApplicationForm(StaffForm):
    """申请 on the person's behalf, from an S-finding: the benefit is the rule's own."""

    title, submit_label, testid = "代为申请救助与补贴", "提交申请", "finding-application-form"
    service_fields = ("benefit_type", "applied_on", "note")

    benefit_type = forms.ChoiceField(label="申请项目", choices=BenefitType.choices)
    applied_on = date_field("申请日期")
    note = text_area("申请说明", max_length=500)

    def clean(self):
        cleaned = super().clean()
        applied_on = cleaned.get("applied_on")
        if applied_on is not None and applied_on > today():
            self.add_error("applied_on", "申请日期不能晚于今天")
        return cleaned
