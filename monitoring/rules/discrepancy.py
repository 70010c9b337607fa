"""D rules: survey and roster disagree (docs/RULES.md, D01–D05)."""

import unicodedata

from . import evidence as ev
from .records import (
    ALIVE,
    CATEGORY_NAMES,
    DECEASED,
    Certified,
    Context,
    RosterOnly,
    disability_label,
)
from .registry import Area, Subject, rule

ROSTER_CATEGORY = ev.Fact(ev.ROSTER, "残疾类别", lambda p, ctx: ev.category(p.roster.category))


def normalise_name(name: str) -> str:
    """Full-width to half-width (NFKC) and every space removed."""
    return "".join(unicodedata.normalize("NFKC", name or "").split())


@rule(
    "D01",
    "姓名不一致",
    area=Area.MONITORING,
    urgency=18,
    evidence=(
        ev.Fact(ev.SURVEY, "姓名", lambda p, ctx: p.name),
        ev.Fact(ev.ROSTER, "成员姓名", lambda p, ctx: p.roster.name),
    ),
)
def d01(p: Certified, ctx: Context) -> str | None:
    """Same ID number, different names in the survey and the current roster, compared
    after normalising width and removing spaces (" 赵春平 " equals "赵春平").
    """
    if p.roster is None or p.name == p.roster.name:  # most names are stored alike
        return None
    survey, roster = normalise_name(p.name), normalise_name(p.roster.name)
    if not survey or not roster or survey == roster:
        return None
    return f"调查姓名“{survey}”与监测名单姓名“{roster}”不一致"


@rule(
    "D02",
    "乡镇不一致",
    area=Area.MONITORING,
    urgency=19,
    evidence=(
        ev.Fact(
            ev.SURVEY, "乡镇（街道）", lambda p, ctx: ctx.township_names.get(p.township_id, "")
        ),
        ev.HOUSEHOLD_NUMBER,
        ev.Fact(
            ev.HOUSEHOLD,
            "乡镇",
            lambda p, ctx: ctx.township_names.get(p.roster.household.township_id, ""),
        ),
    ),
)
def d02(p: Certified, ctx: Context) -> str | None:
    """Same ID number, the survey's township differs from the current roster household's
    township. Townships are compared as registry rows, so 河口 and 河口镇 are the same.
    """
    if p.roster is None:
        return None
    survey, roster = p.township_id, p.roster.household.township_id
    if survey is None or roster is None or survey == roster:
        return None
    names = ctx.township_names
    return (
        f"调查乡镇为{names.get(survey, survey)}，"
        f"监测名单（户编号{p.roster.household.number}）乡镇为{names.get(roster, roster)}"
    )


@rule(
    "D03",
    "残疾信息不一致",
    area=Area.MONITORING,
    urgency=20,
    evidence=(
        ev.SURVEY_CATEGORY,
        ev.SURVEY_GRADE,
        ROSTER_CATEGORY,
        ev.Fact(ev.ROSTER, "残疾等级", lambda p, ctx: ev.grade(p.roster.grade)),
    ),
)
def d03(p: Certified, ctx: Context) -> str | None:
    """The roster records a disability category or grade that differs from the survey's
    (the certificate's). Only what the roster actually records is compared: a blank
    roster category or grade is not a disagreement.
    """
    if p.roster is None:
        return None
    roster = p.roster
    category_differs = roster.category is not None and p.category is not None
    category_differs = category_differs and roster.category != p.category
    grade_differs = roster.grade is not None and p.grade is not None and roster.grade != p.grade
    if not (category_differs or grade_differs):
        return None
    return (
        f"调查（残疾人证）为{disability_label(p.category, p.grade)}残疾，"
        f"监测名单登记为{disability_label(roster.category, roster.grade)}"
    )


@rule(
    "D04",
    "死亡状态冲突",
    area=Area.MONITORING,
    urgency=16,
    alive_only=False,
    evidence=(
        ev.Fact(ev.SURVEY, "存活状态", lambda p, ctx: ev.status(p.survival_status)),
        ev.Fact(ev.ROSTER, "人员状态", lambda p, ctx: ev.status(p.roster.status)),
    ),
)
def d04(p: Certified, ctx: Context) -> str | None:
    """One source says 死亡 while the other lists the person as 正常 — checked for everyone,
    alive or not. The sources with a survival status are the survey (存活状态) and the
    roster (人员状态); a blank status or 迁出 is not 正常 and never conflicts.
    """
    if p.roster is None:
        return None
    survey, roster = p.survival_status, p.roster.status
    if {survey, roster} != {ALIVE, DECEASED}:
        return None
    label = {ALIVE: "正常", DECEASED: "死亡"}
    return f"调查存活状态为{label[survey]}，监测名单人员状态为{label[roster]}"


@rule(
    "D05",
    "疑似未办证残疾人",
    area=Area.MONITORING,
    urgency=17,
    subject=Subject.ROSTER_ONLY,
    evidence=(
        ev.HOUSEHOLD_NUMBER,
        ev.Fact(ev.ROSTER, "是否残疾", lambda p, ctx: ev.yes_no(p.roster.is_disabled)),
        ROSTER_CATEGORY,
        ev.Fact(ev.SURVEY, "持证残疾人调查", lambda p, ctx: "无此公民身份号码"),
    ),
)
def d05(m: RosterOnly, ctx: Context) -> str | None:
    """The current roster says 是否残疾 是 but the ID number is not in the survey — a lead
    for certification. The finding names the roster member; a person who already holds
    a certificate (recorded without a survey row) is not a lead. Alive only (roster
    人员状态 not 死亡).
    """
    if m.roster.is_disabled is not True or m.has_certificate:
        return None
    recorded = CATEGORY_NAMES.get(m.roster.category)
    what = f"（{recorded}残疾）" if recorded else ""
    return (
        f"监测名单（户编号{m.roster.household.number}）登记为残疾人{what}，"
        f"但不在持证残疾人调查中，疑似未办理残疾人证"
    )
