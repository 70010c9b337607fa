"""One column spec per data source and the per-row checks that span columns.

The sources and their semantics: docs/IMPORTS.md, docs/RULES.md#sources.

A `SourceSpec` lists its columns (canonical header, aliases, required or not, and
the value parser), the typed row it produces, and `build`, which turns one row's
parsed values into a typed row or reports row errors through the context. A roster
column also says where the writer keeps its value: the household or the member.
"""

import functools
from collections import namedtuple
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from cases.identity import IdentityError, mask_certificate_number, parse_certificate_number
from cases.models import RISK_TYPES
from monitoring import survey
from monitoring.models import (
    EmploymentStatus,
    HouseholdType,
    MonitoringCategory,
    RiskClearMethod,
    Source,
    SurvivalStatus,
    TriState,
)
from subsidies.models import BenefitRecord, BenefitType

from . import values as v

# Where the roster writer keeps a column's value: RosterHousehold or RosterMember.
HOUSEHOLD, MEMBER = "household", "member"


@dataclass(frozen=True)
class Column:
    key: str
    name: str  # canonical header, as the source's own format names it
    parse: Callable
    aliases: tuple[str, ...] = ()
    required: bool = False  # the column must be present in the header
    not_blank: bool = False  # a data row must fill it
    table: str | None = None  # roster: HOUSEHOLD or MEMBER, when the value is kept there
    field: str | None = None  # that model's field, when not named like `key`


def stored_fields(columns: Iterable[Column], table: str) -> dict[str, str]:
    """{typed row field: model field} of the columns whose values are kept in `table`."""
    return {column.key: column.field or column.key for column in columns if column.table == table}


@dataclass(frozen=True)
class SourceSpec:
    source: str
    label: str
    columns: tuple[Column, ...]
    row_type: type
    build: Callable  # (values: dict, ctx: RowContext) -> typed row or None
    duplicate_key: Callable  # (values: dict) -> hashable or None
    duplicate_messages: (
        Callable  # (first: dict, other: dict, first_row, other_row) -> (msg_first, msg_other)
    )
    key_column: str = "id_number"

    @functools.cached_property
    def not_blank_columns(self) -> tuple[Column, ...]:
        """The columns a data row must fill (checked on every row)."""
        return tuple(column for column in self.columns if column.not_blank)

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


class RowContext:
    """Collects one row's errors; knows the file's header text for each column."""

    def __init__(self, row: int, names: dict[str, str], spec: SourceSpec, townships: dict):
        self.row = row
        self.names = names
        self.spec = spec
        self.townships = townships
        self.problems: list[tuple[str, str]] = []  # (column key, message)

    def error(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def has_error(self, key: str | None = None) -> bool:
        if key is None:
            return bool(self.problems)
        return any(problem_key == key for problem_key, _ in self.problems)

    def township_id(self, values: dict) -> int | None:
        name = values.get("township")
        if name is None:
            return None
        township_id = self.townships.get(name)
        if township_id is None:  # only if the Township table lacks a county unit
            self.error("township", f"乡镇“{name}”在系统中不存在，请联系管理员")
        return township_id


# --- shared parsers ------------------------------------------------------------------------


def certificate_text(raw: v.Cell) -> str | None:
    """Width, spaces and apostrophes normalised; checked against the ID later (`build`)."""
    if v.is_blank(raw):
        return None
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        raise v.ValueProblem(
            "残疾人证号被Excel存成了数字，末几位已丢失，无法还原。"
            "请把该列设置为“文本”格式后重新录入或重新导出"
        )
    return v.text(raw).lstrip("'‘’`").upper()


def _words(yes: str, no: str) -> dict:
    mapping = dict.fromkeys(v.YES_WORDS, yes)
    mapping.update(dict.fromkeys(v.NO_WORDS, no))
    return mapping


EMPLOYMENT = {label: value for value, label in EmploymentStatus.choices}
EMPLOYMENT.update(
    {
        "无劳动力": EmploymentStatus.NO_LABOUR_ABILITY,
        "丧失劳动能力": EmploymentStatus.NO_LABOUR_ABILITY,
    }
)

IN_SCHOOL = _words(TriState.YES, TriState.NO)
IN_SCHOOL.update(
    {
        "在校": TriState.YES,
        "在读": TriState.YES,
        "不在校": TriState.NO,
        "未入学": TriState.NO,
        "辍学": TriState.NO,
        "不适用": TriState.NOT_APPLICABLE,
        "非适龄": TriState.NOT_APPLICABLE,
    }
)

SURVIVAL = {
    "正常": SurvivalStatus.ALIVE,
    "健在": SurvivalStatus.ALIVE,
    "存活": SurvivalStatus.ALIVE,
    "在世": SurvivalStatus.ALIVE,
    "死亡": SurvivalStatus.DECEASED,
    "已死亡": SurvivalStatus.DECEASED,
    "已故": SurvivalStatus.DECEASED,
    "去世": SurvivalStatus.DECEASED,
    "迁出": SurvivalStatus.MOVED_OUT,
    "已迁出": SurvivalStatus.MOVED_OUT,
}

HOUSEHOLD_TYPES = {
    "脱贫户": HouseholdType.LEFT_POVERTY,
    "监测户": HouseholdType.MONITORED,
    "监测对象": HouseholdType.MONITORED,
    "一般户": HouseholdType.ORDINARY,
    "一般农户": HouseholdType.ORDINARY,
}
MONITORING_CATEGORIES = {}
for _value, _label in MonitoringCategory.choices:
    MONITORING_CATEGORIES[_label] = _value
    MONITORING_CATEGORIES[_label.removesuffix("户")] = _value
CLEAR_METHODS = {label: value for value, label in RiskClearMethod.choices}

BENEFITS = {
    "城乡低保": BenefitType.DIBAO,
    "低保": BenefitType.DIBAO,
    "农村低保": BenefitType.DIBAO,
    "城市低保": BenefitType.DIBAO,
    "最低生活保障": BenefitType.DIBAO,
    "特困供养": BenefitType.TEKUN,
    "特困": BenefitType.TEKUN,
    "特困人员供养": BenefitType.TEKUN,
    "特困人员救助供养": BenefitType.TEKUN,
    "困难残疾人生活补贴": BenefitType.LIVING_SUBSIDY,
    "残疾人生活补贴": BenefitType.LIVING_SUBSIDY,
    "生活补贴": BenefitType.LIVING_SUBSIDY,
    "重度残疾人护理补贴": BenefitType.CARE_SUBSIDY,
    "残疾人护理补贴": BenefitType.CARE_SUBSIDY,
    "护理补贴": BenefitType.CARE_SUBSIDY,
    "临时救助": BenefitType.TEMPORARY_RELIEF,
}
BENEFIT_STATUS = {
    "在保": BenefitRecord.Status.ACTIVE,
    "正常": BenefitRecord.Status.ACTIVE,
    "享受中": BenefitRecord.Status.ACTIVE,
    "在册": BenefitRecord.Status.ACTIVE,
    "停保": BenefitRecord.Status.STOPPED,
    "已停保": BenefitRecord.Status.STOPPED,
    "停发": BenefitRecord.Status.STOPPED,
    "暂停": BenefitRecord.Status.STOPPED,
    "退出": BenefitRecord.Status.STOPPED,
}


def _yes_no(label: str, extra_yes: Iterable[str] = (), extra_no: Iterable[str] = ()) -> Callable:
    return v.cached(v.yes_no_parser(label, extra_yes, extra_no))


def _choice(label: str, mapping: dict[str, Any], hint: str | None = None) -> Callable:
    return v.cached(v.choice_parser(label, mapping, hint))


# One memory for person and head ID columns: a head's ID is usually a row's own ID.
_id = v.cached(v.id_number)
_category = v.cached(v.category)
_grade = v.cached(v.grade)
_township = v.cached(v.township)
_date = v.cached(v.date_parser())
_month_or_date = v.cached(v.date_parser(allow_month=True))
_village = v.cached(v.plain_text(64, "村（社区）"))
_roster_village = v.cached(v.plain_text(64, "村"))
_relation = v.cached(v.plain_text(16, "与户主关系"))
# Person and head names: a county repeats many names (and a head's name on each member row).
_name = v.cached(v.person_name)


def _money(label: str, allow_negative: bool = True) -> Callable:
    return v.cached(v.money(label, allow_negative))


def _require_values(values: dict, ctx: RowContext) -> None:
    """Required cells that are blank (and did not already fail to parse)."""
    for column in ctx.spec.not_blank_columns:
        if values.get(column.key) is None and not ctx.has_error(column.key):
            shown_name = ctx.names.get(column.key, column.name)
            ctx.error(column.key, f"{shown_name}不能为空，请填写")


def _id_fields(values: dict) -> tuple:
    parsed = values.get("id_number")
    if parsed is None:
        return None, None, None
    return parsed.number, parsed.gender, parsed.birth_date


def _roster_row(row_type: Any, values: dict, ctx: RowContext) -> tuple | None:
    """A roster's typed row: the row number, the ID's parts and the township id, every other
    field its parsed value (None when blank); None when the row has errors."""
    _require_values(values, ctx)
    number, gender, birth = _id_fields(values)
    township_id = ctx.township_id(values)
    if ctx.has_error():
        return None
    fields = {
        **values,
        "row": ctx.row,
        "id_number": number,
        "gender": gender,
        "birth_date": birth,
        "township_id": township_id,
    }
    return row_type._make(map(fields.get, row_type._fields))


# --- 4.1 survey ---------------------------------------------------------------------------------

# The choice columns' words; the other survey columns get their parser from their kind.
SURVEY_CHOICES = {
    "employment_status": _choice("就业状况", EMPLOYMENT, "、".join(EmploymentStatus.labels)),
    "in_school": _choice("在校情况", IN_SCHOOL, "是、否、不适用"),
    "survival_status": _choice("存活状态", SURVIVAL, "正常、死亡"),
}


def _survey_parser(column: survey.SurveyColumn) -> Callable:
    """The parser for one survey column, from its kind (messages name the header)."""
    kind = column.kind
    if kind == survey.YES_NO:
        return _yes_no(column.header, column.yes, column.no)
    if kind in (survey.MONEY, survey.AMOUNT):
        return _money(column.header.removesuffix("（元）"), allow_negative=kind == survey.MONEY)
    if kind == survey.CHOICE:
        return SURVEY_CHOICES[column.key]
    if kind == survey.COUNT:
        return v.cached(v.whole_number(column.header, 1, 99))
    if kind == survey.LIST:
        return v.cached(v.list_parser(column.header))
    return {
        survey.NAME: _name,
        survey.ID_NUMBER: _id,
        survey.CERTIFICATE: certificate_text,
        survey.CATEGORY: _category,
        survey.GRADE: _grade,
        survey.TOWNSHIP: _township,
        survey.VILLAGE: _village,
        survey.RELATION: _relation,
        survey.DATE: _date,
    }[kind]


SURVEY_COLUMNS = tuple(
    Column(
        column.key,
        column.header,
        _survey_parser(column),
        column.aliases,
        required=column.required,
        not_blank=column.not_blank,
    )
    for column in survey.SURVEY_COLUMNS
)

SURVEY_ANSWER_FIELDS = tuple(column.key for column in survey.ANSWER_COLUMNS)

# The answer fields come from survey.ANSWER_COLUMNS, which mypy cannot expand.
SurveyRow = namedtuple(  # type: ignore[misc]
    "SurveyRow",
    (
        "row",
        "id_number",
        "name",
        "gender",
        "birth_date",
        "cert_number",
        "cert_reissue",
        "category",
        "grade",
        "township_id",
        "village",
        "head_name",
        "head_id",
        "relation",
        "household_size",
        *SURVEY_ANSWER_FIELDS,
    ),
)


def build_survey(values: dict, ctx: RowContext) -> tuple | None:
    _require_values(values, ctx)
    number, gender, birth = _id_fields(values)
    category, grade = values.get("category"), values.get("grade")
    cert_number, cert_reissue = values.get("cert_number"), None
    if (
        cert_number is not None
        and number is not None
        and len(cert_number) == 20
        and cert_number == f"{number}{category}{grade}"
    ):
        pass  # the common case: ID + category + grade, all already checked
    elif cert_number is not None and not ctx.has_error("cert_number"):
        try:
            parsed = parse_certificate_number(
                cert_number,
                id_number=number,
                category=category if not ctx.has_error("category") else None,
                grade=grade if not ctx.has_error("grade") else None,
            )
        except IdentityError as error:
            ctx.error(
                "cert_number", f"残疾人证号“{mask_certificate_number(cert_number)}”有误：{error}"
            )
        else:
            cert_number, cert_reissue = parsed.number, parsed.reissue
    head = values.get("head_id")
    township_id = ctx.township_id(values)
    if ctx.has_error():
        return None
    return SurveyRow(  # type: ignore[call-arg]  # mypy sees only the literal fields
        ctx.row,
        number,
        values["name"],
        gender,
        birth,
        cert_number,
        cert_reissue,
        category,
        grade,
        township_id,
        values["village"],
        values.get("head_name"),
        head.number if head is not None else None,
        values.get("relation"),
        values.get("household_size"),
        *map(values.get, SURVEY_ANSWER_FIELDS),
    )


def _id_key(values: dict) -> str | None:
    parsed = values.get("id_number")
    return parsed.number if parsed is not None else None


def _survey_duplicates(first: dict, other: dict, first_row: int, other_row: int) -> tuple[str, str]:
    return (
        f"公民身份号码与第{other_row}行重复：同一人在调查表中只能有一行，请删除或合并重复行",
        f"公民身份号码与第{first_row}行重复：同一人在调查表中只能有一行，请删除或合并重复行",
    )


SURVEY = SourceSpec(
    source=Source.SURVEY,
    label="持证残疾人基本状况调查",
    columns=SURVEY_COLUMNS,
    row_type=SurveyRow,
    build=build_survey,
    duplicate_key=_id_key,
    duplicate_messages=_survey_duplicates,
)


# --- 4.2 poverty-monitoring roster ----------------------------------------------------------

# The places as both rosters name them (the civil roster may leave the village blank).
ROSTER_TOWNSHIP = Column(
    "township",
    "乡镇",
    _township,
    ("乡镇（街道）", "乡镇街道", "所属乡镇"),
    required=True,
    not_blank=True,
)
ROSTER_VILLAGE = Column(
    "village",
    "村",
    _roster_village,
    ("村（社区）", "行政村", "村社区", "社区", "所属村"),
    required=True,
    not_blank=True,
)

ROSTER_COLUMNS = (
    Column(
        "household_number",
        "户编号",
        v.code_text(32, "户编号"),
        ("户码", "户编码", "家庭编号"),
        required=True,
        not_blank=True,
    ),
    ROSTER_TOWNSHIP,
    ROSTER_VILLAGE,
    Column("head_name", "户主姓名", _name, table=HOUSEHOLD),
    Column("name", "成员姓名", _name, ("姓名",), required=True, not_blank=True, table=MEMBER),
    Column(
        "id_number",
        "证件号码",
        _id,
        ("身份证号", "公民身份号码", "身份证号码", "成员身份证号", "成员证件号码"),
        required=True,
        not_blank=True,
    ),
    Column("relation", "与户主关系", _relation, table=MEMBER),
    Column(
        "household_type",
        "户类型",
        _choice("户类型", HOUSEHOLD_TYPES, "脱贫户、监测户、一般户"),
        ("户类别",),
        required=True,
        not_blank=True,
        table=HOUSEHOLD,
    ),
    Column(
        "monitoring_category",
        "监测对象类别",
        _choice(
            "监测对象类别", MONITORING_CATEGORIES, "脱贫不稳定户、边缘易致贫户、突发严重困难户"
        ),
        ("监测类型", "监测对象类型"),
        table=HOUSEHOLD,
    ),
    Column(
        "risk_types",
        "风险类型",
        v.cached(v.list_parser("风险类型", RISK_TYPES)),
        ("致贫返贫风险",),
        table=HOUSEHOLD,
    ),
    Column("is_disabled", "是否残疾", _yes_no("是否残疾", ("残疾",), ("非残疾",)), table=MEMBER),
    Column("category", "残疾类别", _category, table=MEMBER, field="disability_category"),
    Column("grade", "残疾等级", _grade, table=MEMBER, field="disability_grade"),
    Column(
        "income",
        "家庭人均纯收入（元）",
        _money("家庭人均纯收入"),
        ("人均纯收入", "家庭人均纯收入"),
        table=HOUSEHOLD,
        field="income_per_capita",
    ),
    Column(
        "identified_on",
        "识别监测时间",
        _month_or_date,
        ("识别时间", "纳入监测时间"),
        table=HOUSEHOLD,
    ),
    Column(
        "risk_cleared",
        "风险是否消除",
        _yes_no("风险是否消除", ("已消除",), ("未消除",)),
        ("风险消除",),
        table=HOUSEHOLD,
    ),
    Column("cleared_on", "风险消除时间", _month_or_date, table=HOUSEHOLD),
    Column(
        "clear_method",
        "风险消除方式",
        _choice("风险消除方式", CLEAR_METHODS, "帮扶消除、自然消除"),
        table=HOUSEHOLD,
    ),
    *(
        Column(key, label, _money(label), table=HOUSEHOLD)
        for key, label in (
            ("wage_income", "工资性收入"),
            ("business_income", "生产经营性收入"),
            ("property_income", "财产性收入"),
            ("transfer_income", "转移性收入"),
        )
    ),
    Column(
        "status",
        "人员状态",
        _choice("人员状态", SURVIVAL, "正常、死亡、迁出"),
        ("成员状态",),
        table=MEMBER,
    ),
)

# {typed field: model field} of what the writer keeps on RosterHousehold / RosterMember.
HOUSEHOLD_STORED = stored_fields(ROSTER_COLUMNS, HOUSEHOLD)
MEMBER_STORED = stored_fields(ROSTER_COLUMNS, MEMBER)
# A household's values on a typed row: its place, then what RosterHousehold keeps.
ROSTER_HOUSEHOLD_FIELDS = ("township_id", "village", *HOUSEHOLD_STORED)

# The household fields are star-unpacked from a constant, which mypy cannot expand.
RosterRow = namedtuple(  # type: ignore[misc]
    "RosterRow",
    (
        "row",
        "household_number",
        "id_number",
        "name",
        "gender",
        "birth_date",
        "relation",
        "is_disabled",
        "category",
        "grade",
        "status",
        *ROSTER_HOUSEHOLD_FIELDS,
    ),
)


def build_roster(values: dict, ctx: RowContext) -> tuple | None:
    return _roster_row(RosterRow, values, ctx)


def _roster_duplicates(first: dict, other: dict, first_row: int, other_row: int) -> tuple[str, str]:
    first_household = first.get("household_number")
    other_household = other.get("household_number")
    if first_household == other_household:
        return (
            f"证件号码与第{other_row}行重复：同一户（户编号{first_household}）内同一人出现两次，请删除重复行",
            f"证件号码与第{first_row}行重复：同一户（户编号{first_household}）内同一人出现两次，请删除重复行",
        )
    text = (
        f"同一证件号码出现在两个户中：第{first_row}行（户编号{first_household}）和"
        f"第{other_row}行（户编号{other_household}），一人只能属于一个户，请核对"
    )
    return text, text


ROSTER = SourceSpec(
    source=Source.ROSTER,
    label="防返贫监测对象名单",
    columns=ROSTER_COLUMNS,
    row_type=RosterRow,
    build=build_roster,
    duplicate_key=_id_key,
    duplicate_messages=_roster_duplicates,
)


# --- 4.3 civil-affairs benefit roster ---------------------------------------------------------

CIVIL_COLUMNS = (
    Column("name", "姓名", _name, required=True, not_blank=True),
    Column(
        "id_number",
        "身份证号",
        _id,
        ("公民身份号码", "身份证号码", "证件号码", "公民身份证号"),
        required=True,
        not_blank=True,
    ),
    ROSTER_TOWNSHIP,
    replace(ROSTER_VILLAGE, not_blank=False),
    Column(
        "benefit_type",
        "项目",
        _choice(
            "项目",
            BENEFITS,
            "城乡低保、特困供养、困难残疾人生活补贴、重度残疾人护理补贴、临时救助",
        ),
        ("救助项目", "补贴项目", "保障项目"),
        required=True,
        not_blank=True,
    ),
    Column(
        "monthly_amount",
        "月标准（元）",
        _money("月标准", allow_negative=False),
        ("月标准", "月保障金额", "月补贴标准", "月发放标准"),
    ),
    Column(
        "start_month",
        "起始年月",
        _month_or_date,
        ("起始时间", "开始年月", "享受起始年月"),
    ),
    Column(
        "status",
        "状态",
        _choice("状态", BENEFIT_STATUS, "在保、停保"),
        ("保障状态", "享受状态"),
        required=True,
        not_blank=True,
    ),
)

CivilRow = namedtuple(
    "CivilRow",
    (
        "row",
        "id_number",
        "name",
        "gender",
        "birth_date",
        "township_id",
        "village",
        "benefit_type",
        "monthly_amount",
        "start_month",
        "status",
    ),
)


def build_civil(values: dict, ctx: RowContext) -> tuple | None:
    return _roster_row(CivilRow, values, ctx)


def _civil_key(values: dict) -> tuple[Hashable, Hashable] | None:
    parsed, benefit = values.get("id_number"), values.get("benefit_type")
    if parsed is None or benefit is None:
        return None
    return parsed.number, benefit


def _civil_duplicates(first: dict, other: dict, first_row: int, other_row: int) -> tuple[str, str]:
    label = BenefitType(first["benefit_type"]).label
    return (
        f"同一人的“{label}”在第{other_row}行重复出现，一人一个项目只能有一行，请删除重复行",
        f"同一人的“{label}”在第{first_row}行已出现，一人一个项目只能有一行，请删除重复行",
    )


CIVIL = SourceSpec(
    source=Source.CIVIL,
    label="民政救助与补贴名册",
    columns=CIVIL_COLUMNS,
    row_type=CivilRow,
    build=build_civil,
    duplicate_key=_civil_key,
    duplicate_messages=_civil_duplicates,
)

SPECS = {spec.source: spec for spec in (SURVEY, ROSTER, CIVIL)}


def spec_for(source: str) -> SourceSpec:
    try:
        return SPECS[str(source)]
    except KeyError:
        raise ValueError(f"unknown import source {source!r}") from None
