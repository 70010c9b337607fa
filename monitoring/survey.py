"""The columns of the federation's survey sheet (持证残疾人基本状况调查), declared once.

Each column names the importer's key, the canonical header and the aliases real
exports use, the kind of value (which decides the importer's parser and how a page
shows it) and, when the answer is kept on `SurveyRecord`, the model field. The
importer, the writer, the person page, the demo county, the benchmarks and the test
files all derive their lists from here, so a new answer is added in one place (plus
its model field and migration).

Plain Python without Django, so that `bench/generate_files.py` can read it too.
"""

from dataclasses import dataclass

# Value kinds. The importer maps each to a parser (`monitoring.importing.sources`);
# pages format "money", "amount" and "list" themselves.
NAME = "name"
ID_NUMBER = "id_number"
CERTIFICATE = "certificate"
CATEGORY = "category"
GRADE = "grade"
TOWNSHIP = "township"
VILLAGE = "village"
RELATION = "relation"
COUNT = "count"  # a whole number such as 家庭人口数
MONEY = "money"  # yuan, may be negative (incomes can be)
AMOUNT = "amount"  # yuan, never negative
YES_NO = "yes_no"  # True / False / None (unknown)
CHOICE = "choice"  # one word of a fixed set (the model field's choices)
LIST = "list"  # several words, stored as a JSON list
DATE = "date"


@dataclass(frozen=True)
class SurveyColumn:
    key: str  # the importer's name for the value (typed row field)
    header: str  # canonical header of the sheet
    kind: str
    aliases: tuple[str, ...] = ()
    field: str | None = None  # SurveyRecord field; None when the value lives elsewhere
    required: bool = False  # the column must be present in the header
    not_blank: bool = False  # a data row must fill it
    yes: tuple[str, ...] = ()  # this column's own words for yes (YES_NO), besides 是/有/√…
    no: tuple[str, ...] = ()
    listed: bool = True  # among the person page's survey answers (when it has a field)

    @property
    def label(self) -> str:
        """The label on pages: the header, as the federation's staff know it."""
        return self.header


def _insurance(key: str, header: str, aliases: tuple[str, ...]) -> SurveyColumn:
    """An insurance the person has joined or not: yes/no with 参加/参保 words."""
    return SurveyColumn(
        key,
        header,
        YES_NO,
        aliases,
        field=key,
        yes=("参加", "已参加", "参保"),
        no=("未参加", "未参保"),
    )


# Who the person is and which household they belong to; the writer spreads these over
# Person, Certificate, Household and HouseholdMember (relation and household size are
# kept on SurveyRecord as well).
PERSON_COLUMNS = (
    SurveyColumn("name", "姓名", NAME, required=True, not_blank=True),
    SurveyColumn(
        "id_number",
        "公民身份号码",
        ID_NUMBER,
        ("身份证号", "身份证号码", "证件号码", "公民身份证号", "公民身份证号码", "身份证"),
        required=True,
        not_blank=True,
    ),
    SurveyColumn(
        "cert_number",
        "残疾人证号",
        CERTIFICATE,
        ("残疾证号", "残疾人证号码", "残疾证号码", "残疾人证编号", "残疾证编号"),
    ),
    SurveyColumn("category", "残疾类别", CATEGORY, required=True, not_blank=True),
    SurveyColumn("grade", "残疾等级", GRADE, required=True, not_blank=True),
    SurveyColumn(
        "township",
        "乡镇（街道）",
        TOWNSHIP,
        ("乡镇", "乡镇街道", "乡（镇）", "所属乡镇"),
        required=True,
        not_blank=True,
    ),
    SurveyColumn(
        "village",
        "村（社区）",
        VILLAGE,
        ("村", "行政村", "村社区", "社区", "村居", "所属村"),
        required=True,
        not_blank=True,
    ),
    SurveyColumn("head_name", "户主姓名", NAME),
    SurveyColumn(
        "head_id", "户主身份证号", ID_NUMBER, ("户主身份证号码", "户主公民身份号码", "户主证件号码")
    ),
    # The person page shows the relation in the household's member list, not among answers.
    SurveyColumn("relation", "与户主关系", RELATION, field="relation", listed=False),
    SurveyColumn(
        "household_size",
        "家庭人口数",
        COUNT,
        ("家庭人口", "户人口数", "家庭成员数"),
        field="household_size",
    ),
)

# The answers proper: kept only on SurveyRecord.
ANSWER_COLUMNS = (
    SurveyColumn(
        "income",
        "家庭年人均收入（元）",
        MONEY,
        ("家庭人均年收入", "人均收入", "家庭人均收入", "年人均收入"),
        field="income_per_capita",
    ),
    SurveyColumn("dibao", "享受低保", YES_NO, ("低保",), field="receives_dibao"),
    SurveyColumn("tekun", "特困供养", YES_NO, ("享受特困供养", "特困"), field="receives_tekun"),
    SurveyColumn(
        "living_subsidy",
        "困难残疾人生活补贴",
        YES_NO,
        ("享受困难残疾人生活补贴", "生活补贴"),
        field="receives_living_subsidy",
    ),
    SurveyColumn(
        "care_subsidy",
        "重度残疾人护理补贴",
        YES_NO,
        ("享受重度残疾人护理补贴", "护理补贴"),
        field="receives_care_subsidy",
    ),
    _insurance("medical_insured", "基本医疗保险", ("参加基本医疗保险", "医疗保险", "医保")),
    _insurance(
        "pension_insured",
        "城乡居民养老保险",
        ("参加城乡居民养老保险", "城乡居民基本养老保险", "养老保险"),
    ),
    SurveyColumn(
        "housing_safe", "住房安全", YES_NO, field="housing_safe", yes=("安全",), no=("不安全",)
    ),
    SurveyColumn(
        "water_safe", "饮水安全", YES_NO, field="water_safe", yes=("安全",), no=("不安全",)
    ),
    SurveyColumn("employment_status", "就业状况", CHOICE, ("就业情况",), field="employment_status"),
    SurveyColumn("employment_willing", "就业意愿", YES_NO, field="employment_willing"),
    SurveyColumn("in_school", "在校情况", CHOICE, ("在校", "是否在校"), field="in_school"),
    SurveyColumn("rehab_needs", "康复需求", LIST, field="rehab_needs"),
    SurveyColumn(
        "rehab_received",
        "已获康复服务",
        YES_NO,
        ("获得康复服务", "已获得康复服务"),
        field="rehab_received",
    ),
    SurveyColumn("accessibility_need", "无障碍改造需求", YES_NO, field="accessibility_need"),
    SurveyColumn("care_need", "托养照护需求", YES_NO, ("托养需求",), field="care_need"),
    SurveyColumn(
        "family_doctor",
        "家庭医生签约",
        YES_NO,
        ("家庭医生签约服务",),
        field="family_doctor",
        yes=("已签约", "签约"),
        no=("未签约",),
    ),
    SurveyColumn(
        "rigid_expenditure",
        "大额刚性支出（元）",
        AMOUNT,
        ("大额刚性支出",),
        field="rigid_expenditure",
    ),
    SurveyColumn("survival_status", "存活状态", CHOICE, ("生存状态",), field="survival_status"),
    SurveyColumn("surveyed_on", "调查日期", DATE, ("调查时间",), field="surveyed_on"),
)

# The whole sheet, in the federation's column order.
SURVEY_COLUMNS = PERSON_COLUMNS + ANSWER_COLUMNS
# The columns kept on SurveyRecord, in sheet order.
RECORD_COLUMNS = tuple(column for column in SURVEY_COLUMNS if column.field)
# The answers the person page lists, in sheet order.
LISTED_COLUMNS = tuple(column for column in RECORD_COLUMNS if column.listed)
