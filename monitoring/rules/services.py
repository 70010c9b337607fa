"""E, R and P rules: education, rehabilitation and pairing (policy task areas 2, 4, 6; docs/RULES.md)."""

from . import evidence as ev
from .records import Certified, Context, school_age
from .registry import Area, rule


@rule(
    "E01",
    "适龄残疾儿童少年未入学",
    area=Area.SAFETY_NET,
    urgency=9,
    evidence=(
        *ev.OUT_OF_SCHOOL,
        ev.Fact(ev.RECORD, "一人一案", lambda p, ctx: "未建立"),
    ),
)
def e01(p: Certified, ctx: Context) -> str | None:
    """Aged 6–15 (whole years on the as-of date), survey 在校情况 否, and no education plan
    (一人一案, cases.EducationPlan) recorded for the child. Blank or 不适用 never fires.
    Monitored or not does not matter.
    """
    if not school_age(p) or p.in_school != "no" or p.person_id in ctx.education_plans:
        return None
    return f"{p.age}岁适龄残疾儿童少年，调查显示未在校，且未建立一人一案"


@rule(
    "R01",
    "康复需求未满足",
    area=Area.REHABILITATION,
    urgency=14,
    evidence=(
        ev.Fact(ev.SURVEY, "康复需求", lambda p, ctx: "、".join(p.rehab_needs)),
        ev.Fact(ev.SURVEY, "已获康复服务", lambda p, ctx: ev.yes_no(p.rehab_received)),
        ev.Fact(ev.RECORD, "{as_of_year}年康复服务", lambda p, ctx: "无记录"),
    ),
)
def r01(p: Certified, ctx: Context) -> str | None:
    """The survey lists a rehabilitation need (康复需求 not empty), the survey says no service
    was received (已获康复服务 否), and no rehabilitation service (cases.RehabService) is
    recorded in the as-of year on or before the as-of date.

    Settled against the sample: 已获康复服务 是 suppresses the finding (熊强兰, 赵春平 with
    needs and 是 are not flagged); a blank answer is unknown and never fires; a service
    recorded this year clears it.
    """
    if not p.rehab_needs or p.rehab_received is not False:
        return None
    if p.person_id in ctx.rehab_served:
        return None
    return (
        f"调查康复需求为{'、'.join(p.rehab_needs)}，未获康复服务，"
        f"{ctx.as_of.year}年也未记录康复服务"
    )


@rule(
    "P01",
    "监测户未结对",
    area=Area.GRASSROOTS,
    urgency=7,
    evidence=(
        ev.HOUSEHOLD_NUMBER,
        ev.HOUSEHOLD_TYPE,
        ev.RISK_CLEARED,
        ev.Fact(ev.RECORD, "结对帮扶", lambda p, ctx: "无在结对记录"),
    ),
)
def p01(p: Certified, ctx: Context) -> str | None:
    """Monitored (current roster 监测户, risk not cleared), and no active one-to-one pairing
    (cases.Pairing started on or before the as-of date and not ended before it) for the
    person's survey household. A person without a survey household has no pairing.
    """
    if not p.monitored or p.household_id in ctx.paired_households:
        return None
    number = p.roster.household.number if p.roster else ""
    return f"监测户（户编号{number}）未落实一对一结对帮扶"
