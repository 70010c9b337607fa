"""V rules: what a recorded visit found (policy task areas 1 and 6; docs/RULES.md, V01)."""

from . import evidence as ev
from .monitoring import NOT_MONITORED
from .records import CHECK_PROBLEM, Certified, Context, HouseholdVisit, yuan
from .registry import Area, rule

# The checklist items V01 reads, with the words of its reason.
V01_CHECKS = (
    ("housing", "住房安全存在问题"),
    ("water", "饮水安全存在问题"),
    ("education", "义务教育存在问题（适龄儿童少年失学）"),
)


def visit_problems(visit: HouseholdVisit) -> list[str]:
    """What the visit found that V01 names, in checklist order ([] = nothing).

    Income counts when recorded and below the visit year's line; a blank income, or a year
    without policy parameters, is unknown and never counts. Only 存在问题 counts on the
    checklist (有保障, 不涉及 and an item left blank do not).
    """
    problems = []
    line = visit.monitoring_line
    if visit.income is not None and line is not None and visit.income < line:
        problems.append(
            f"家庭年人均纯收入{yuan(visit.income)}，低于{visit.visited_on.year}年监测线{yuan(line)}"
        )
    problems.extend(text for name, text in V01_CHECKS if getattr(visit, name) == CHECK_PROBLEM)
    return problems


def visit_reason(visit: HouseholdVisit) -> str | None:
    """V01's reason for the household's latest visit, or None (monitored, or nothing found)."""
    if visit.monitored:
        return None
    problems = visit_problems(visit)
    if not problems:
        return None
    return f"{visit.visited_on:%Y-%m-%d}走访发现{'；'.join(problems)}，{NOT_MONITORED}"


def _visit(p: Certified, ctx: Context) -> HouseholdVisit:
    return ctx.household_visits[p.household_id]  # type: ignore[index]  # V01 fired: it exists


def _visit_ref(p: Certified, ctx: Context) -> ev.RecordRef:
    visit = _visit(p, ctx)
    return ("visit", visit.visit_id, visit.visited_on.isoformat())


def _below_line(visit: HouseholdVisit) -> bool:
    line = visit.monitoring_line
    return visit.income is not None and line is not None and visit.income < line


def _check_fact(name: str, label: str) -> ev.Fact:
    return ev.Fact(
        ev.RECORD,
        label,
        lambda p, ctx: "存在问题" if getattr(_visit(p, ctx), name) == CHECK_PROBLEM else None,
        record=_visit_ref,
    )


# The visit, what it found, and the line it was measured against.
V01_EVIDENCE = (
    ev.Fact(
        ev.RECORD,
        "走访日期",
        lambda p, ctx: f"{_visit(p, ctx).visited_on:%Y-%m-%d}",
        record=_visit_ref,
    ),
    ev.Fact(
        ev.RECORD,
        "家庭年人均纯收入",
        lambda p, ctx: yuan(_visit(p, ctx).income) if _below_line(_visit(p, ctx)) else None,  # type: ignore[arg-type]
        record=_visit_ref,
    ),
    ev.Fact(
        ev.POLICY,
        "走访年度监测线",
        lambda p, ctx: (
            f"{_visit(p, ctx).visited_on.year}年{yuan(_visit(p, ctx).monitoring_line)}"  # type: ignore[arg-type]
            if _below_line(_visit(p, ctx))
            else None
        ),
    ),
    _check_fact("housing", "住房安全"),
    _check_fact("water", "饮水安全"),
    _check_fact("education", "义务教育"),
)


# 1.5: after a sudden hardship (M05, 1), before the survey's 应纳未纳 (M01, 2): the same kind
# of finding, from a first-hand visit that is more recent than the yearly survey.
@rule(
    "V01",
    "走访发现风险",
    area=Area.MONITORING,
    urgency=1.5,
    opens_case=True,
    evidence=V01_EVIDENCE,
)
def v01(p: Certified, ctx: Context) -> str | None:
    """The latest visit (cases.TrackingVisit, on or before the as-of date; the latest date,
    then the latest recorded) to the person's survey household found income per person below
    the visit year's monitoring line L (PolicyYear.monitoring_line of the visit date's year),
    or 住房安全 or 饮水安全 or 义务教育 marked 存在问题; and the household is not monitored
    (`monitoring.populations.monitored_household`: no living certified member in a current
    roster 监测户 whose risk is not cleared). Every living certified member of the household
    gets the finding, as for M01. A later visit that finds none of these clears it. A school-age
    child out of school is what the visit's 义务教育 item records; an education plan (一人一案)
    of 未入学 is not a trigger: it is the education work's own record, which E01 reads. Blank
    income, a blank item, 不涉及, or a visit year without policy parameters never fire.
    """
    if p.household_id is None:
        return None
    visit = ctx.household_visits.get(p.household_id)
    return None if visit is None else visit_reason(visit)
