"""Forms of the subsidies pages of the staff app: a staff-recorded benefit, a year's policy parameters.

Input parsing only; the views call `subsidies.services.benefit_record_save` and
`subsidies.policy.policy_set` (which validates again and records history).
"""

from django import forms

from staff.forms.casework import StaffForm, money_field, text_area
from subsidies.models import BenefitRecord, BenefitType, PolicyYear
from subsidies.policy import FIELDS, MAX_DAYS, REQUIRED

MONTH_FORMAT = "%Y-%m"


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=MONTH_FORMAT)


def month_field(label: str, *, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=MonthInput(),
        input_formats=[MONTH_FORMAT, "%Y/%m", "%Y%m", "%Y-%m-%d"],
    )


class BenefitRecordForm(StaffForm):
    """救助与补贴 recorded by staff (origin 工作人员录入); civil-affairs rows are imported."""

    title, submit_label, testid = "登记救助与补贴", "保存", "benefit-form"
    service_fields = ("benefit_type", "status", "monthly_amount", "start_month", "end_month")

    benefit_type = forms.ChoiceField(label="项目", choices=[("", "请选择"), *BenefitType.choices])
    status = forms.ChoiceField(label="状态", choices=BenefitRecord.Status.choices)
    monthly_amount = money_field("月标准（元）")
    start_month = month_field("起始年月", required=True)
    end_month = month_field("终止年月")
    reason = forms.CharField(label="说明", max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("start_month", "end_month"):
            label = self.fields[name].label
            self.fields[name].error_messages["invalid"] = (
                f"{label}格式不正确，请按“年-月”填写，如2026-03"
            )

    def service_kwargs(self) -> dict:
        return super().service_kwargs() | {"reason": self.cleaned_data.get("reason") or ""}

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_month"), cleaned.get("end_month")
        if start and end and end.replace(day=1) < start.replace(day=1):
            self.add_error("end_month", "终止年月不能早于起始年月")
        return cleaned


def days_field(label: str) -> forms.IntegerField:
    """Whole days 1–MAX_DAYS; blank keeps the current value (`policy_values`)."""
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=MAX_DAYS,
        help_text=f"1～{MAX_DAYS}天；留空则不修改（新建年度为30天）",
    )


class PolicyYearForm(StaffForm):
    """A year's policy parameters; the reason for the change is required (history)."""

    reason = text_area("修改原因", required=True, max_length=300, rows=2)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for name, (label, kind) in FIELDS.items():
            if kind == "flag":
                fields[name] = forms.BooleanField(label=label, required=False)
            elif kind == "days":
                fields[name] = days_field(label)
            else:
                fields[name] = money_field(f"{label}（元）", required=name in REQUIRED)
        fields["reason"] = self.fields["reason"]
        self.fields = fields
        self.set_messages()
        for name, (label, kind) in FIELDS.items():
            if kind == "days":
                refused = f"{label.removesuffix('（天）')}应为1～{MAX_DAYS}之间的整数天数"
                for key in ("invalid", "min_value", "max_value"):
                    self.fields[name].error_messages[key] = refused

    def clean(self):
        cleaned = super().clean()
        for name, (label, kind) in FIELDS.items():
            value = cleaned.get(name)
            if kind == "amount" and value is not None and value <= 0:
                self.add_error(name, f"{label}应大于0")
        return cleaned

    def policy_values(self) -> dict:
        values = {name: self.cleaned_data.get(name) for name in FIELDS}
        # A days field left blank keeps the year's value (a new year: the default 30).
        return {
            name: value
            for name, value in values.items()
            if value is not None or FIELDS[name][1] != "days"
        }


class NewPolicyYearForm(PolicyYearForm):
    """A year that has no parameters yet: the year itself, then the same fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
        self.fields = {"year": year, **self.fields}
        self.set_messages()

    def clean_year(self):
        year = self.cleaned_data["year"]
        if PolicyYear.objects.filter(year=year).exists():
            raise forms.ValidationError(f"{year}年度已有政策参数，请在列表中修改")
        return year


class BenefitStopForm(StaffForm):
    """停保 of a staff-recorded benefit: the month it ends and why."""

    title, submit_label, testid = "停保", "确认停保", "benefit-stop-form"
    service_fields = ("end_month", "reason")

    end_month = month_field("终止年月", required=True)
    reason = text_area("停保原因", required=True, max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["end_month"].error_messages["invalid"] = (
            "终止年月格式不正确，请按“年-月”填写，如2026-03"
        )


class WhatIfForm(StaffForm):
    """政策测算: a year and its trial parameters; a blank parameter keeps the year's value."""

    GRADE3_CHOICES = [("", "保持当年设置"), ("yes", "是"), ("no", "否")]

    year = forms.TypedChoiceField(label="测算年度", coerce=int)
    monitoring_line = money_field("试算防返贫监测收入线（元/人/年）")
    rigid_expenditure_threshold = money_field("试算大额刚性支出阈值（元）")
    care_subsidy_includes_grade3_mental = forms.ChoiceField(
        label="试算护理补贴含三级智力/精神残疾", choices=GRADE3_CHOICES, required=False
    )

    def __init__(self, *args, years=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(year, f"{year}年") for year in years]
        for name in ("monitoring_line", "rigid_expenditure_threshold"):
            self.fields[name].help_text = "留空则按该年度现行参数"
        self.set_messages()

    def clean(self):
        cleaned = super().clean()
        for name in ("monitoring_line", "rigid_expenditure_threshold"):
            value = cleaned.get(name)
            if value is not None and value <= 0:
                self.add_error(name, f"{self.fields[name].label}应大于0")
        return cleaned

    def parameters(self) -> dict:
        data = self.cleaned_data
        flag = data.get("care_subsidy_includes_grade3_mental") or ""
        return {
            "monitoring_line": data.get("monitoring_line"),
            "rigid_expenditure_threshold": data.get("rigid_expenditure_threshold"),
            "care_subsidy_includes_grade3_mental": {"yes": True, "no": False}.get(flag),
        }
