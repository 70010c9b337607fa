"""Q rules: quality of the monitoring work (docs/RULES.md, Q01–Q02)."""

from datetime import date
from functools import lru_cache

from dateutil.relativedelta import relativedelta

from . import evidence as ev
from .records import Certified, Context
from .registry import Area, rule

ASSISTANCE_DUE_DAYS = 30
MIN_MONITORED_MONTHS = 6


@rule(
    "Q01",
    "监测后未落实帮扶",
    area=Area.MONITORING,
    urgency=6,
    evidence=(
        ev.HOUSEHOLD_NUMBER,
        ev.IDENTIFIED_ON,
        ev.Fact(ev.RECORD, "帮扶措施", lambda p, ctx: "未录入"),
    ),
)
def q01(p: Certified, ctx: Context) -> str | None:
    """Monitored, 识别监测时间 (identified_on) at least 30 days before the as-of date, and
    no assistance measure (cases.AssistanceMeasure started on or before the as-of date)
    recorded for the person's survey household. A blank 识别监测时间 never fires.
    """
    if not p.monitored or p.roster is None:
        return None
    identified = p.roster.household.identified_on
    if identified is None:
        return None
    days = (ctx.as_of - identified).days
    if days < ASSISTANCE_DUE_DAYS or p.household_id in ctx.assisted_households:
        return None
    return f"{identified:%Y-%m-%d}识别纳入监测，已{days}天，未录入帮扶措施"


@rule(
    "Q02",
    "风险消除过快",
    area=Area.MONITORING,
    urgency=15,
    evidence=(ev.HOUSEHOLD_NUMBER, ev.IDENTIFIED_ON, ev.CLEARED_ON),
)
def q02(p: Certified, ctx: Context) -> str | None:
    """The current roster says the household's risk was cleared less than 6 calendar months
    after 识别监测时间 (风险消除时间 < 识别监测时间 + 6 months). Both dates must be known.
    """
    if p.roster is None or p.roster.household.risk_cleared is not True:
        return None
    household = p.roster.household
    identified, cleared = household.identified_on, household.cleared_on
    if identified is None or cleared is None:
        return None
    if cleared >= _monitored_enough_on(identified):
        return None
    days = (cleared - identified).days
    return (
        f"识别监测时间{identified:%Y-%m-%d}，风险消除时间{cleared:%Y-%m-%d}，"
        f"仅{days}天，不足{MIN_MONITORED_MONTHS}个月"
    )


# Memoised: few distinct 识别监测时间 over a county, and date arithmetic with relativedelta
# costs about as much as the rest of the rule.
@lru_cache(maxsize=4096)
def _monitored_enough_on(identified: date) -> date:
    """The day the household has been monitored MIN_MONITORED_MONTHS calendar months."""
    return identified + relativedelta(months=MIN_MONITORED_MONTHS)
