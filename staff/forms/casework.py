"""Forms of the case-work pages of the staff app: input parsing and Chinese messages only.

Views validate a form, then call the service (`cases.casework`, `subsidies.services`,
`monitoring.findings`); a `ServiceError` the service raises is put back on the form
with `StaffForm.add_service_error` (on its field when the form has one). Nothing here
saves a model.
"""

from datetime import date

from django import forms

from cases.casework_base import NOTE_MAX_LENGTH, today, too_long_message
from cases.income import HOUSEHOLD_SIZE_MAX, INCOME_PARTS, PART_NAMES
from cases.models import (
    RISK_TYPES,
    AssistanceMeasure,
    EducationPlan,
    MonitoringCase,
    Pairing,
    TrackingVisit,
)
from cases.text import clean_text

DATE_FORMAT = "%Y-%m-%d"
DATE_INPUT_FORMATS = [DATE_FORMAT, "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=DATE_FORMAT)


def date_field(label: str, *, required: bool = True, **kwargs) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput(),
        input_formats=DATE_INPUT_FORMATS,
        **kwargs,
    )


def money_field(label: str, *, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01", "min": "0"}),
    )


def text_area(label: str, *, required: bool = False, max_length: int = NOTE_MAX_LENGTH, rows=3):
    """A multi-line text; its limit is the service's (`cases.casework_base`), so the browser
    stops at the same length (`maxlength`) and the message is the service's."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class StaffForm(forms.Form):
    """A form with plain Chinese messages for every field, and service errors put back.

    `title`, `submit_label` and `testid` are the heading, button and test id of the form's page
    when it is a case-work form about a household or person (`record_form_page`);
    `service_kwargs()` gives the service the cleaned values of `service_fields`.
    """

    title = ""
    submit_label = "保存"
    testid = ""
    service_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_messages()

    def set_messages(self) -> None:
        for field in self.fields.values():
            label = field.label or ""
            choosing = isinstance(field, forms.ChoiceField)
            field.error_messages["required"] = f"请{'选择' if choosing else '填写'}{label}"
            if isinstance(field, forms.DateField):
                field.error_messages["invalid"] = (
                    f"{label}格式不正确，请按“年-月-日”填写，如2026-03-05"
                )
            if isinstance(field, forms.DecimalField):
                field.error_messages["invalid"] = f"{label}应为金额（数字，单位元）"
                field.error_messages["min_value"] = f"{label}不能为负数"
                field.error_messages["max_digits"] = f"{label}数额过大"
                field.error_messages["max_decimal_places"] = f"{label}最多保留两位小数"
                field.error_messages["max_whole_digits"] = f"{label}数额过大"
            if isinstance(field, forms.CharField) and field.max_length:
                # The service's wording; Django fills in the length typed.
                field.error_messages["max_length"] = too_long_message(
                    label, field.max_length, "%(show_value)d"
                )
            if choosing:
                field.error_messages["invalid_choice"] = f"{label}的选项无效，请重新选择"

    def add_service_error(self, error) -> None:
        """Show a service's `ServiceError` on its field (or above the form)."""
        field = getattr(error, "field", None)
        message = getattr(error, "message", None) or str(error)
        self.add_error(field if field in self.fields else None, message)

    def values(self, *names) -> dict:
        return {name: self.cleaned_data.get(name) for name in names}

    def service_kwargs(self) -> dict:
        return self.values(*self.service_fields)


def _not_future(form: forms.Form, name: str, label: str) -> None:
    value = form.cleaned_data.get(name)
    if isinstance(value, date) and value > today():
        form.add_error(name, f"{label}不能晚于今天")


# --- visits ---------------------------------------------------------------------------------

CHECK_CHOICES = [("", "未查看"), *TrackingVisit.Check.choices]


def check_field(label: str) -> forms.ChoiceField:
    """One item of the 两不愁三保障 checklist: radio buttons, easy to tap on a phone."""
    return forms.ChoiceField(
        label=label, choices=CHECK_CHOICES, required=False, widget=forms.RadioSelect
    )


class VisitForm(StaffForm):
    """跟踪访视 / 入户走访 with the 两不愁三保障 + water checklist."""

    visited_on = date_field("走访日期")
    kind = forms.ChoiceField(label="走访类型", choices=TrackingVisit.Kind.choices)
    visitor_name = forms.CharField(label="走访人", max_length=64)
    person = forms.ChoiceField(label="走访对象（残疾人）", required=False)
    food = check_field("不愁吃")
    clothing = check_field("不愁穿")
    education = check_field("义务教育有保障")
    medical = check_field("基本医疗有保障")
    housing = check_field("住房安全有保障")
    water = check_field("饮水安全有保障")
    # The parts of the household's net income (cases/income.py, docs/INCOME.md): when any is
    # given the server computes the two totals below from them and ignores typed totals.
    wage_income = money_field("工资性收入（元）")
    business_income = money_field("生产经营性收入（元）")
    business_costs = money_field("生产经营性支出（元）")
    property_income = money_field("财产性收入（元）")
    transfer_income = money_field("转移性收入（元）")
    deductible_expenses = money_field("可扣除的其他支出（元）")
    household_size = forms.IntegerField(
        label="家庭人口数",
        required=False,
        min_value=1,
        max_value=HOUSEHOLD_SIZE_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": "1", "min": "1"}),
    )
    annual_income = money_field("家庭年纯收入（元）")
    income_per_capita = money_field("家庭年人均纯收入（元）")
    annual_expenditure = money_field("家庭年支出（元）")
    rigid_expenditure = money_field("大额刚性支出（元）")
    members_situation = text_area("家庭成员情况")
    separated_children_situation = text_area("分户子女家庭情况")
    notes = text_area("走访情况及发现问题", rows=4)
    next_due = date_field("下次访视日期", required=False)

    CHECKS = tuple(TrackingVisit.CHECK_FIELDS)
    INCOME = (*PART_NAMES, "household_size")
    MONEY = (
        *INCOME,
        "annual_income",
        "income_per_capita",
        "annual_expenditure",
        "rigid_expenditure",
    )

    def __init__(self, *args, members=(), village_member: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "（整户走访）")] + [
            (str(person.pk), clean_text(person.name)) for person in members
        ]
        self.household_members_of = {str(person.pk): person for person in members}
        if village_member:
            # 村残协专职委员 record home visits (入户走访) only.
            del self.fields["kind"]
        for name, sign, _label in INCOME_PARTS:
            self.fields[name].widget.attrs["data-income-part"] = str(sign)
        self.fields["household_size"].widget.attrs["data-income-size"] = ""
        for name in ("annual_income", "income_per_capita"):
            self.fields[name].widget.attrs["data-income-total"] = name
            self.fields[name].help_text = "填写收入构成时由系统计算"

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "visited_on", "走访日期")
        visited, due = cleaned.get("visited_on"), cleaned.get("next_due")
        if visited and due and due <= visited:
            self.add_error("next_due", "下次访视日期应晚于本次走访日期")
        parts_given = any(cleaned.get(name) is not None for name in PART_NAMES)
        if (
            parts_given
            and cleaned.get("household_size") is None
            and not self.has_error("household_size")
        ):
            self.add_error("household_size", "按收入构成计算时请填写家庭人口数")
        if parts_given:
            # The totals are computed from the parts and typed ones ignored (docs/INCOME.md).
            for name in ("annual_income", "income_per_capita"):
                self._errors.pop(name, None)
                cleaned[name] = None
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        values = {
            "visited_on": data["visited_on"],
            "visitor_name": data["visitor_name"],
            "person": self.household_members_of.get(data.get("person") or ""),
            "members_situation": data.get("members_situation", ""),
            "separated_children_situation": data.get("separated_children_situation", ""),
            "notes": data.get("notes", ""),
            "next_due": data.get("next_due"),
        }
        if "kind" in self.fields:
            values["kind"] = data["kind"]
        for name in self.CHECKS:
            values[name] = data.get(name) or ""
        for name in self.MONEY:
            values[name] = data.get(name)
        return values

    def income_parts(self):
        return [self[name] for name in self.INCOME]

    def income_totals(self):
        return [self[name] for name in ("annual_income", "income_per_capita")]

    def spending(self):
        return [self[name] for name in ("annual_expenditure", "rigid_expenditure")]

    def checklist(self):
        return [self[name] for name in self.CHECKS]

    def money(self):
        return [self[name] for name in self.MONEY]


# --- assistance, pairing ----------------------------------------------------------------------


class AssistanceForm(StaffForm):
    title, submit_label, testid = "登记帮扶措施", "保存帮扶措施", "assistance-form"
    service_fields = ("kind", "responsible_unit", "started_on", "ended_on", "description", "result")

    kind = forms.ChoiceField(
        label="措施类型", choices=[("", "请选择"), *AssistanceMeasure.Kind.choices]
    )
    responsible_unit = forms.CharField(label="责任单位", max_length=100)
    started_on = date_field("开始日期")
    ended_on = date_field("结束日期", required=False)
    description = forms.CharField(label="内容", max_length=300, required=False)
    result = forms.CharField(label="成效", max_length=300, required=False)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("started_on"), cleaned.get("ended_on")
        if start and end and end < start:
            self.add_error("ended_on", "结束日期不能早于开始日期")
        return cleaned


HELPER_KIND_CHOICES = [("", "请选择"), *Pairing.HelperKind.choices]


class PairingForm(StaffForm):
    title, submit_label, testid = "安排结对帮扶", "保存结对", "pairing-form"
    service_fields = ("helper_name", "helper_kind", "helper_unit", "helper_phone", "started_on")

    helper_name = forms.CharField(label="帮扶人", max_length=64)
    helper_kind = forms.ChoiceField(label="帮扶人身份", choices=HELPER_KIND_CHOICES)
    helper_unit = forms.CharField(label="帮扶人单位", max_length=100, required=False)
    helper_phone = forms.CharField(
        label="帮扶人电话",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    started_on = date_field("结对日期")

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "started_on", "结对日期")
        return cleaned


class EndedOnForm(StaffForm):
    """A record ended on a day (not in the future) for a reason: `<service>(…, ended_on,
    reason)` of the pairing, custodial care and the like."""

    service_fields = ("ended_on", "reason")

    ended_on = date_field("结束日期")
    reason = text_area("结束原因", required=True, max_length=300, rows=2)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "ended_on", "结束日期")
        return cleaned


class PairingEndForm(EndedOnForm):
    title, submit_label, testid = "结束结对帮扶", "结束结对", "pairing-end-form"


# --- monitoring cases -----------------------------------------------------------------------


class CaseOpenForm(StaffForm):
    """建立监测对象（待核实）for a household, by hand or from an M-finding."""

    reason = text_area("建立原因", required=True, max_length=500)
    opened_on = date_field("建立日期", required=False)

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "opened_on", "建立日期")
        return cleaned


Status = MonitoringCase.Status
TRANSITION_LABELS = {
    Status.INCLUDED: "纳入监测",
    Status.REJECTED: "不予纳入",
    Status.ASSISTING: "转为帮扶中",
    Status.CLEARED: "风险已消除",
}


class CaseTransitionForm(StaffForm):
    """One step of the monitoring-case workflow: the next statuses the case allows."""

    to_status = forms.ChoiceField(label="办理事项")
    category = forms.ChoiceField(
        label="监测对象类别",
        choices=[("", "请选择"), *MonitoringCase.Category.choices],
        required=False,
    )
    risk_types = forms.MultipleChoiceField(
        label="风险类型",
        choices=[(risk, risk) for risk in RISK_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    clear_method = forms.ChoiceField(
        label="风险消除方式",
        choices=[("", "请选择"), *MonitoringCase.ClearMethod.choices],
        required=False,
    )
    reason = text_area("办理说明", required=True, max_length=500)
    on = date_field("办理日期", required=False)

    def __init__(self, *args, allowed=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = [
            (status, TRANSITION_LABELS.get(status, status)) for status in allowed
        ]

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "on", "办理日期")
        target = cleaned.get("to_status")
        if target == Status.INCLUDED:
            if not cleaned.get("category"):
                self.add_error("category", "纳入监测须选择监测对象类别")
            if not cleaned.get("risk_types"):
                self.add_error("risk_types", "纳入监测须至少选择一项风险类型")
        if target == Status.CLEARED and not cleaned.get("clear_method"):
            self.add_error("clear_method", "风险已消除须选择消除方式")
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        target = data["to_status"]
        kwargs = {"reason": data["reason"], "on": data.get("on")}
        if target == Status.INCLUDED:
            kwargs |= {"category": data["category"], "risk_types": data["risk_types"]}
        if target == Status.CLEARED:
            kwargs["method"] = data["clear_method"]
        return kwargs


# --- education, rehabilitation --------------------------------------------------------------


class EducationPlanForm(StaffForm):
    """一人一案 of a school-age child."""

    title, submit_label, testid = "适龄残疾儿童少年一人一案", "保存一人一案", "education-form"
    service_fields = ("placement", "school", "not_enrolled_reason", "verified_on")

    placement = forms.ChoiceField(
        label="安置方式", choices=[("", "请选择"), *EducationPlan.Placement.choices]
    )
    school = forms.CharField(label="学校", max_length=100, required=False)
    not_enrolled_reason = forms.CharField(label="未入学原因", max_length=200, required=False)
    verified_on = date_field("核查日期")

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "verified_on", "核查日期")
        placement = cleaned.get("placement")
        P = EducationPlan.Placement
        if placement in (P.MAINSTREAM, P.SPECIAL_SCHOOL) and not cleaned.get("school"):
            self.add_error("school", "随班就读或特殊教育学校须填写学校名称")
        if placement == P.NOT_ENROLLED and not cleaned.get("not_enrolled_reason"):
            self.add_error("not_enrolled_reason", "未入学须填写原因")
        return cleaned


REHAB_SERVICE_SUGGESTIONS = ("康复训练", "辅助器具适配", "康复医疗", "支持性服务", "康复评估")


class RehabServiceForm(StaffForm):
    """精准康复服务: what, by whom, when."""

    title, submit_label, testid = "登记康复服务", "保存康复服务", "rehab-form"
    service_fields = ("service_type", "provider", "served_on", "note")

    service_type = forms.CharField(
        label="服务内容",
        max_length=50,
        widget=forms.TextInput(attrs={"list": "rehab-service-types"}),
    )
    provider = forms.CharField(label="服务机构", max_length=100)
    served_on = date_field("服务日期")
    need = forms.ChoiceField(label="对应康复需求", required=False)
    note = forms.CharField(label="备注", max_length=300, required=False)

    def __init__(self, *args, needs=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._needs = {str(need.pk): need for need in needs}
        self.fields["need"].choices = [("", "（不对应具体需求）")] + [
            (str(need.pk), clean_text(f"{need.get_kind_display()} {need.detail}".strip()))
            for need in needs
        ]
        if not needs:
            del self.fields["need"]

    def clean(self):
        cleaned = super().clean()
        _not_future(self, "served_on", "服务日期")
        return cleaned

    def need_object(self):
        return self._needs.get(self.cleaned_data.get("need") or "")

    def service_kwargs(self) -> dict:
        return super().service_kwargs() | {"need": self.need_object()}
