"""M rules: dynamic monitoring, 应纳尽纳 (policy task area 1; docs/RULES.md, M01–M05)."""

from . import evidence as ev
from .records import Certified, Context, school_age, yuan
from .registry import Area, rule

NOT_MONITORED = "且未纳入防返贫监测"


def below_line(p: Certified, ctx: Context) -> bool:
    """Survey income per person known and below the as-of year's monitoring line L."""
    return p.income is not None and p.income < ctx.policy.monitoring_line


def income_text(p: Certified, ctx: Context) -> str:
    return (
        # Only written for a finding, where the check above saw a known income.
        f"调查家庭年人均收入{yuan(p.income)}，"  # type: ignore[arg-type]
        f"低于{ctx.policy.year}年监测线{yuan(ctx.policy.monitoring_line)}"
    )


def basic_needs_gaps(p: Certified) -> list[str]:
    """The M02 conditions that hold: housing unsafe, water unsafe, 6–15 and not in school.

    Only an explicit "否" counts: a blank answer (unknown) never does, and 在校情况
    不适用 is not "not in school".
    """
    gaps = []
    if p.housing_safe is False:
        gaps.append("住房不安全")
    if p.water_safe is False:
        gaps.append("饮水不安全")
    if school_age(p) and p.in_school == "no":
        gaps.append(f"{p.age}岁适龄儿童未在校（义务教育无保障）")
    return gaps


@rule(
    "M01",
    "应纳未纳·收入低于监测线",
    area=Area.MONITORING,
    urgency=2,
    opens_case=True,
    evidence=(ev.INCOME, ev.LINE, *ev.NOT_MONITORED),
)
def m01(p: Certified, ctx: Context) -> str | None:
    """Survey income per person < L (the as-of year's monitoring line), and not monitored.

    "Monitored" = a member of a current roster household with 户类型 监测户 whose risk is
    not cleared (a blank 风险是否消除 counts as not cleared, so an unknown never fires
    M01). A blank income is unknown and never fires.
    """
    if p.monitored or not below_line(p, ctx):
        return None
    return f"{income_text(p, ctx)}，{NOT_MONITORED}"


@rule(
    "M02",
    "应纳未纳·住房/饮水/义务教育",
    area=Area.MONITORING,
    urgency=3,
    opens_case=True,
    evidence=(ev.HOUSING_UNSAFE, ev.WATER_UNSAFE, *ev.OUT_OF_SCHOOL, *ev.NOT_MONITORED),
)
def m02(p: Certified, ctx: Context) -> str | None:
    """Survey says housing unsafe, or drinking water unsafe, or the person is 6–15 (whole
    years on the as-of date) and 在校情况 is 否; and not monitored.

    Blank answers are unknown and never fire; 不适用 is not "not in school".
    """
    if p.monitored:
        return None
    gaps = basic_needs_gaps(p)
    if not gaps:
        return None
    return f"调查显示{'、'.join(gaps)}，{NOT_MONITORED}"


@rule(
    "M03",
    "风险消除存疑",
    area=Area.MONITORING,
    urgency=4,
    opens_case=True,
    evidence=(
        ev.RISK_CLEARED,
        ev.CLEARED_ON,
        ev.INCOME_BELOW_LINE,
        ev.LINE_IF_BELOW,
        ev.HOUSING_UNSAFE,
        ev.WATER_UNSAFE,
        *ev.OUT_OF_SCHOOL,
    ),
)
def m03(p: Certified, ctx: Context) -> str | None:
    """The current roster says the person's household risk is cleared (风险是否消除 是),
    but the survey shows income per person < L or an M02 condition (housing unsafe,
    water unsafe, 6–15 and not in school).
    """
    if p.roster is None or p.roster.household.risk_cleared is not True:
        return None
    problems = []
    if below_line(p, ctx):
        problems.append(income_text(p, ctx))
    problems.extend(basic_needs_gaps(p))
    if not problems:
        return None
    cleared_on = p.roster.household.cleared_on
    when = f"已于{cleared_on:%Y-%m-%d}" if cleared_on else "已"
    return f"监测名单显示该户风险{when}消除，但{'；'.join(problems)}"


@rule(
    "M04",
    "脱贫不稳定风险",
    area=Area.MONITORING,
    urgency=5,
    opens_case=True,
    evidence=(
        ev.HOUSEHOLD_TYPE,
        ev.HOUSEHOLD_NUMBER,
        ev.Fact(
            ev.HOUSEHOLD,
            "户内在世持证残疾人",
            lambda p, ctx: f"{p.roster.household.living_certified}人",
        ),
        ev.Fact(
            ev.HOUSEHOLD,
            "其中一、二级",
            lambda p, ctx: f"{p.roster.household.living_severe}人",
        ),
        ev.INCOME,
        ev.Fact(
            ev.POLICY,
            "{year}年监测线的1.5倍",
            lambda p, ctx: yuan(ctx.policy.monitoring_line * 3 / 2),
        ),
    ),
)
def m04(p: Certified, ctx: Context) -> str | None:
    """The person's current roster household is a 脱贫户 (so not monitored) that has two or
    more living certified disabled members, or a living grade 1–2 member; and the
    person's survey income per person < 1.5 × L.

    "Certified member" = a member of that roster household who is in the survey (their
    grade comes from the certificate); "living" = no source says 死亡. Every certified
    member of such a household gets the finding (the sample flags both 陆胜强 and his
    son 李英). The person must be alive.
    """
    if p.roster is None:
        return None
    household = p.roster.household
    if household.household_type != "left_poverty" or household.monitored:
        return None
    if household.living_certified < 2 and household.living_severe < 1:
        return None
    limit = ctx.policy.monitoring_line * 3 / 2
    if p.income is None or p.income >= limit:
        return None
    members = []
    if household.living_certified >= 2:
        members.append(f"{household.living_certified}名在世持证残疾人")
    if household.living_severe:
        members.append(f"{household.living_severe}名在世一、二级重度残疾人")
    return f"脱贫户家中有{'、'.join(members)}，调查家庭年人均收入{yuan(p.income)}，低于监测线的1.5倍{yuan(limit)}"


@rule(
    "M05",
    "突发严重困难",
    area=Area.MONITORING,
    urgency=1,
    opens_case=True,
    evidence=(
        ev.Fact(ev.SURVEY, "大额刚性支出", lambda p, ctx: ev.money(p.rigid_expenditure)),
        ev.Fact(
            ev.POLICY, "{year}年大额刚性支出阈值", lambda p, ctx: yuan(ctx.policy.rigid_threshold)
        ),
        *ev.NOT_MONITORED,
    ),
)
def m05(p: Certified, ctx: Context) -> str | None:
    """Survey 大额刚性支出 ≥ the as-of year's rigid-expenditure threshold (policy parameter,
    default 20,000 yuan), and not monitored. Blank expenditure never fires.
    """
    threshold = ctx.policy.rigid_threshold
    if p.monitored or p.rigid_expenditure is None or p.rigid_expenditure < threshold:
        return None
    return (
        f"调查大额刚性支出{yuan(p.rigid_expenditure)}，"
        f"达到{ctx.policy.year}年阈值{yuan(threshold)}，{NOT_MONITORED}"
    )
