"""Forms of the person page's 就业 and 康复 sections: input parsing and Chinese messages only.

Each form's `service_kwargs()` are the keyword arguments of its `cases.casework` service;
the end forms choose which of the person's current records to end (`record`), so their
pages need the person only. Nothing here saves a model.
"""

from collections.abc import Callable, Sequence
from datetime import date

from django import forms

from cases.models import LabourProfile, RehabNeed, Training
from cases.text import clean_text
from staff.forms.casework import StaffForm, _not_future, date_field, money_field, text_area

UNKNOWN_YES_NO = [("", "未知"), ("yes", "有"), ("no", "无")]


def yes_no_field(label: str, choices=UNKNOWN_YES_NO) -> forms.ChoiceField:
    return forms.ChoiceField(label=label, choices=choices, required=False, widget=forms.RadioSelect)


def as_bool(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def bool_initial(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _not_before(form: forms.Form, name: str, label: str, start: date | None, start_label: str):
    value = form.cleaned_data.get(name)
    if isinstance(value, date) and start is not None and value < start:
        form.add_error(name, f"{label}不能早于{start_label}")


# --- employment -------------------------------------------------------------------------------


class LabourProfileForm(StaffForm):
    title, submit_label, testid = "劳动能力与就业意愿", "保存摸底结果", "labour-form"
    service_fields = ("ability", "assessed_on", "wanted_work", "note")

    ability = forms.ChoiceField(
        label="劳动能力", choices=[("", "请选择"), *LabourProfile.Ability.choices]
    )
    willing = yes_no_field("就业意愿")
    wanted_work = forms.CharField(label="意向岗位/技能", max_length=200, required=False)
    assessed_on = date_field("摸底日期")
    note = forms.CharField(label="备注", max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "assessed_on", "摸底日期")
        return cleaned

    def service_kwargs(self) -> dict:
        return super().service_kwargs() | {"willing": as_bool(self.cleaned_data.get("willing"))}


class WelfarePostForm(StaffForm):
    title, submit_label, testid = "公益性岗位安置", "保存安置", "welfare-post-form"
    service_fields = ("post", "employer", "started_on", "monthly_pay", "note")

    post = forms.CharField(label="岗位名称", max_length=100)
    employer = forms.CharField(label="设岗单位", max_length=100)
    started_on = date_field("上岗日期")
    monthly_pay = money_field("月补贴/工资（元）")
    note = forms.CharField(label="备注", max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "started_on", "上岗日期")
        return cleaned


class TrainingForm(StaffForm):
    title, submit_label, testid = "登记培训", "保存培训", "training-form"
    service_fields = ("kind", "course", "organiser", "started_on", "ended_on", "result")

    kind = forms.ChoiceField(label="培训类型", choices=[("", "请选择"), *Training.Kind.choices])
    course = forms.CharField(label="培训内容", max_length=100)
    organiser = forms.CharField(label="培训机构", max_length=100)
    started_on = date_field("开始日期")
    ended_on = date_field("结束日期", required=False)
    certificate_obtained = yes_no_field(
        "取得证书", choices=[("", "未知"), ("yes", "已取得"), ("no", "未取得")]
    )
    result = forms.CharField(label="培训效果", max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        _not_before(self, "ended_on", "结束日期", cleaned.get("started_on"), "开始日期")
        return cleaned

    def service_kwargs(self) -> dict:
        certificate = as_bool(self.cleaned_data.get("certificate_obtained"))
        return super().service_kwargs() | {"certificate_obtained": certificate}


class BaseEmploymentForm(StaffForm):
    title, submit_label, testid = "登记基地带动就业", "保存", "base-job-form"
    service_fields = ("job", "started_on", "monthly_income")

    base = forms.ChoiceField(label="带动主体（基地/合作社/能人大户）")
    job = forms.CharField(label="岗位/带动方式", max_length=100)
    started_on = date_field("开始日期")
    monthly_income = money_field("月收入（元）")

    def __init__(self, *args, bases=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._bases = {str(base.pk): base for base in bases}
        self.fields["base"].choices = [("", "请选择")] + [
            (
                str(base.pk),
                clean_text(f"{base.name}（{base.get_kind_display()}，{base.township.name}）"),
            )
            for base in bases
        ]
        if not bases:
            self.fields[
                "base"
            ].help_text = (
                "您的数据范围内还没有登记就业基地、合作社或能人大户，请先由县残联在管理后台登记"
            )

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "started_on", "开始日期")
        return cleaned

    def service_kwargs(self) -> dict:
        return super().service_kwargs() | {"base": self._bases[self.cleaned_data["base"]]}


# --- rehabilitation ---------------------------------------------------------------------------


class RehabNeedForm(StaffForm):
    title, submit_label, testid = "登记康复需求", "保存康复需求", "rehab-need-form"
    service_fields = ("kind", "detail", "identified_on")

    kind = forms.ChoiceField(label="需求类型", choices=[("", "请选择"), *RehabNeed.Kind.choices])
    detail = forms.CharField(label="需求说明", max_length=200, required=False)
    identified_on = date_field("发现日期")

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "identified_on", "发现日期")
        return cleaned


class FamilyDoctorForm(StaffForm):
    title, submit_label, testid = "家庭医生签约", "保存签约", "family-doctor-form"
    service_fields = ("institution", "doctor", "package", "signed_on", "expires_on")

    institution = forms.CharField(label="签约机构", max_length=100)
    doctor = forms.CharField(label="签约医生/团队", max_length=100)
    package = forms.CharField(label="服务包", max_length=200, required=False)
    signed_on = date_field("签约日期")
    expires_on = date_field("到期日期", required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "signed_on", "签约日期")
        signed, expires = cleaned.get("signed_on"), cleaned.get("expires_on")
        if signed and expires and expires <= signed:
            self.add_error("expires_on", "到期日期应晚于签约日期")
        return cleaned


# --- ending a current record ----------------------------------------------------------------


class EndForm(StaffForm):
    """End one of the person's current records (`records`), chosen in `record`.

    Subclasses name the record's start (`start_attr`, `start_label`), the date and reason
    fields the service takes, and how a record reads in the list (`describe`).
    """

    record_label = ""
    date_name = "ended_on"
    date_label = "结束日期"
    start_attr = "started_on"
    start_label = "开始日期"
    reason_label = "结束原因"
    reason_max_length = 300
    after_start = False  # the end must be later than the start, not the same day

    def __init__(self, *args, records: Sequence = (), describe: Callable = str, **kwargs):
        super().__init__(*args, **kwargs)
        self._records = {str(record.pk): record for record in records}
        choice = forms.ChoiceField(
            label=self.record_label,
            choices=[(str(record.pk), describe(record)) for record in records],
        )
        if len(records) == 1:
            choice.initial = str(records[0].pk)
        self.fields = {
            "record": choice,
            self.date_name: date_field(self.date_label),
            "reason": text_area(
                self.reason_label, required=True, max_length=self.reason_max_length, rows=2
            ),
        }
        self.set_messages()

    def chosen(self):
        return self._records.get(self.cleaned_data.get("record") or "")

    def clean(self):
        cleaned = super().clean()
        _not_future(self, self.date_name, self.date_label)
        record, value = self.chosen(), cleaned.get(self.date_name)
        start = getattr(record, self.start_attr, None) if record is not None else None
        if isinstance(value, date) and start is not None:
            if self.after_start and value <= start:
                self.add_error(self.date_name, f"{self.date_label}应晚于{self.start_label}")
            elif value < start:
                self.add_error(self.date_name, f"{self.date_label}不能早于{self.start_label}")
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {self.date_name: data[self.date_name], "reason": data["reason"]}


class WelfarePostEndForm(EndForm):
    title, submit_label, testid = "公益性岗位离岗", "办理离岗", "welfare-post-end-form"
    record_label, date_label, start_label = "岗位", "离岗日期", "上岗日期"
    reason_label = "离岗原因"


class BaseEmploymentEndForm(EndForm):
    title, submit_label, testid = "结束基地带动就业", "结束", "base-job-end-form"
    record_label = "带动就业"


class RehabNeedCloseForm(EndForm):
    title, submit_label, testid = "关闭康复需求", "关闭需求", "rehab-need-close-form"
    record_label = "康复需求"
    date_name, date_label = "closed_on", "关闭日期"
    start_attr, start_label = "identified_on", "发现日期"
    reason_label, reason_max_length = "关闭原因", 200


class FamilyDoctorEndForm(EndForm):
    title, submit_label, testid = "终止家庭医生签约", "终止签约", "family-doctor-end-form"
    record_label = "签约"
    date_label = "终止日期"
    start_attr, start_label = "signed_on", "签约日期"
    reason_label = "终止原因"
    after_start = True
