"""S rules: safety net, 应保尽保、应补尽补 (policy task area 2; docs/RULES.md, S01–S05).

Benefit receipt (低保, 特困, the two subsidies, both insurances) is resolved before the
rules run, by the database, with the conditions `monitoring.eligibility` defines for the
coverage lists too (so S01–S05 equal the gap lists; docs/CROSSCHECK.md, "Benefit
receipt"): for a person whose township is one the civil-affairs roster contains (the
townships of its current rows) it decides 低保, 特困 and the two subsidies (a current 在保
row = receiving, anything else = not receiving; `benefits_from_civil`); in every other
township the survey answer decides, and a current active benefit record of any origin
counts as receiving — as in a county with no civil roster. A blank survey answer is
unknown and never fires a "not receiving" rule.
"""

from subsidies.models import BenefitType

from . import evidence as ev
from .records import EMPLOYMENT_NAMES, Certified, Context, disability_label, yuan
from .registry import Area, rule


def source(p: Certified) -> str:
    return "民政名册" if p.benefits_from_civil else "调查"


def severe(p: Certified) -> bool:
    return p.grade in (1, 2)


def receipt_facts(column: str, attr: str, *, civil: bool = True) -> tuple[ev.Fact, ...]:
    """Evidence of one benefit's receipt: the survey column, or — where the civil-affairs
    roster decides (`benefits_from_civil`, only for 低保, 特困 and the two subsidies) — that
    roster's rows, named as a record."""

    def from_civil(p: Certified) -> bool:
        return civil and p.benefits_from_civil

    def survey_value(p: Certified, ctx: Context) -> str | None:
        return None if from_civil(p) else ev.yes_no(getattr(p, attr))

    def civil_value(p: Certified, ctx: Context) -> str | None:
        if not from_civil(p):
            return None
        return "在保" if getattr(p, attr) else "无在保记录"

    survey = ev.Fact(ev.SURVEY, column, survey_value)
    if not civil:
        return (survey,)
    return (survey, ev.Fact(ev.RECORD, f"民政名册·{column}", civil_value))


EMPLOYMENT = ev.Fact(ev.SURVEY, "就业状况", lambda p, ctx: ev.employment(p.employment_status))


@rule(
    "S01",
    "应补未补·重度残疾人护理补贴",
    area=Area.SAFETY_NET,
    urgency=10,
    benefit=BenefitType.CARE_SUBSIDY,
    evidence=(
        ev.SURVEY_CATEGORY,
        ev.SURVEY_GRADE,
        *receipt_facts("重度残疾人护理补贴", "receives_care_subsidy"),
    ),
)
def s01(p: Certified, ctx: Context) -> str | None:
    """Grade 1–2 — and grade 3 智力/精神 when the county turns that on for the year
    (PolicyYear.care_subsidy_includes_grade3_mental) — and not receiving the care
    subsidy (重度残疾人护理补贴).
    """
    eligible = severe(p) or (
        ctx.policy.care_grade3_mental and p.grade == 3 and p.category in (5, 6)
    )
    if not eligible or p.receives_care_subsidy is not False:
        return None
    return f"{disability_label(p.category, p.grade)}残疾，{source(p)}显示未享受重度残疾人护理补贴"


@rule(
    "S02",
    "应补未补·困难残疾人生活补贴",
    area=Area.SAFETY_NET,
    urgency=11,
    benefit=BenefitType.LIVING_SUBSIDY,
    evidence=(
        *receipt_facts("享受低保", "receives_dibao"),
        *receipt_facts("困难残疾人生活补贴", "receives_living_subsidy"),
    ),
)
def s02(p: Certified, ctx: Context) -> str | None:
    """Receives 低保 and does not receive the living subsidy (困难残疾人生活补贴)."""
    if p.receives_dibao is not True or p.receives_living_subsidy is not False:
        return None
    return f"{source(p)}显示享受低保，但未享受困难残疾人生活补贴"


@rule(
    "S03",
    "应保未保·重度残疾人单人户低保",
    area=Area.SAFETY_NET,
    urgency=8,
    benefit=BenefitType.DIBAO,
    evidence=(
        ev.AGE,
        ev.SURVEY_CATEGORY,
        ev.SURVEY_GRADE,
        EMPLOYMENT,
        ev.INCOME,
        ev.LINE,
        *receipt_facts("享受低保", "receives_dibao"),
        *receipt_facts("特困供养", "receives_tekun"),
    ),
)
def s03(p: Certified, ctx: Context) -> str | None:
    """18 or older, grade 1–2, 就业状况 未就业 or 无劳动能力, survey income per person < L,
    and neither 低保 nor 特困 (both must be known "no"; an unknown either way does not fire).
    """
    if p.age < 18 or not severe(p) or p.employment_status not in ("unemployed", "no_ability"):
        return None
    if p.income is None or p.income >= ctx.policy.monitoring_line:
        return None
    if p.receives_dibao is not False or p.receives_tekun is not False:
        return None
    return (
        f"{p.age}岁{disability_label(p.category, p.grade)}残疾、"
        f"{EMPLOYMENT_NAMES[p.employment_status]}，调查家庭年人均收入{yuan(p.income)}，"
        f"低于{ctx.policy.year}年监测线{yuan(ctx.policy.monitoring_line)}，"
        f"{source(p)}显示未享受低保或特困供养，可按单人户纳入低保"
    )


@rule(
    "S04",
    "应保未保·城乡居保",
    area=Area.SAFETY_NET,
    urgency=12,
    benefit=BenefitType.PENSION_INSURANCE,
    evidence=(
        ev.AGE,
        ev.SURVEY_GRADE,
        *receipt_facts("城乡居民养老保险", "pension_insured", civil=False),
    ),
)
def s04(p: Certified, ctx: Context) -> str | None:
    """Grade 1–2, aged 16–59 (whole years on the as-of date), and not insured by the
    urban-rural residents' pension (城乡居民养老保险 否; the county pays the
    contribution tier for them).
    """
    if not severe(p) or not 16 <= p.age <= 59 or p.pension_insured is not False:
        return None
    reason = f"{p.age}岁{disability_label(p.category, p.grade)}残疾，未参加城乡居民养老保险"
    if ctx.policy.pension_tier:
        reason += f"（县财政按每人每年{yuan(ctx.policy.pension_tier)}档代缴）"
    return reason


@rule(
    "S05",
    "应保未保·基本医疗保险",
    area=Area.SAFETY_NET,
    urgency=13,
    benefit=BenefitType.MEDICAL_INSURANCE,
    evidence=receipt_facts("基本医疗保险", "medical_insured", civil=False),
)
def s05(p: Certified, ctx: Context) -> str | None:
    """Not in basic medical insurance (基本医疗保险 否). Blank is unknown and never fires."""
    if p.medical_insured is not False:
        return None
    return "调查显示未参加基本医疗保险"
