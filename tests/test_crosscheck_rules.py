"""Each cross-check rule as a pure function: fires, does not fire, unknown never fires.

No database: the records are built directly, as `monitoring.crosscheck` would build them.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from monitoring.rules import REGISTRY, Area, Subject, rules
from monitoring.rules.records import (
    Certified,
    Context,
    Policy,
    RosterHousehold,
    RosterLink,
    RosterOnly,
    yuan,
)

AS_OF = date(2026, 6, 30)
POLICY = Policy(
    year=2026,
    monitoring_line=Decimal("7000"),
    rigid_threshold=Decimal("20000"),
    care_grade3_mental=False,
    pension_tier=Decimal("200"),
)


def ctx(**overrides) -> Context:
    return Context(as_of=AS_OF, policy=overrides.pop("policy", POLICY), **overrides)


def household(**overrides) -> RosterHousehold:
    values = {
        "id": 7,
        "number": "3415221000007",
        "township_id": 1,
        "village_id": 11,
        "household_type": "monitored",
        "risk_cleared": False,
        "identified_on": date(2026, 3, 1),
        "cleared_on": None,
        "living_certified": 1,
        "living_severe": 0,
    }
    values.update(overrides)
    # The loader reads "monitored" from monitoring.populations.roster_monitored (checked
    # end to end by the sample and tests/test_indicators_equal_rules.py); a hand-built
    # record states the same reading of its type and risk.
    values.setdefault(
        "monitored", values["household_type"] == "monitored" and values["risk_cleared"] is not True
    )
    return RosterHousehold(**values)


def link(name="张三", status="alive", category=None, grade=None, is_disabled=True, **hh):
    return RosterLink(name, is_disabled, category, grade, status, household(**hh))


def person(**overrides) -> Certified:
    values = {
        "person_id": 1,
        "id_number": "341522198005201234",
        "name": "张三",
        "birth_date": date(1980, 5, 20),
        "age": 46,
        "township_id": 1,
        "village_id": 11,
        "household_id": 10,
        "category": 4,
        "grade": 2,
        "survival_status": "alive",
    }
    values.update(overrides)
    record = Certified(**values)
    record.monitored = record.roster is not None and record.roster.household.monitored
    return record


def fires(code: str, record, context: Context | None = None) -> str | None:
    return REGISTRY[code].check(record, context or ctx())


# --- the registry ---


def test_registry_holds_every_rule_of_spec_section_5_with_its_chinese_name():
    expected = {
        "M01": "应纳未纳·收入低于监测线",
        "M02": "应纳未纳·住房/饮水/义务教育",
        "M03": "风险消除存疑",
        "M04": "脱贫不稳定风险",
        "M05": "突发严重困难",
        "D01": "姓名不一致",
        "D02": "乡镇不一致",
        "D03": "残疾信息不一致",
        "D04": "死亡状态冲突",
        "D05": "疑似未办证残疾人",
        "S01": "应补未补·重度残疾人护理补贴",
        "S02": "应补未补·困难残疾人生活补贴",
        "S03": "应保未保·重度残疾人单人户低保",
        "S04": "应保未保·城乡居保",
        "S05": "应保未保·基本医疗保险",
        "E01": "适龄残疾儿童少年未入学",
        "R01": "康复需求未满足",
        "P01": "监测户未结对",
        "Q01": "监测后未落实帮扶",
        "Q02": "风险消除过快",
        "V01": "走访发现风险",
    }
    assert {code: rule.name for code, rule in REGISTRY.items()} == expected
    for rule in rules():
        assert isinstance(rule.area, Area)
        assert len(rule.explanation) > 40, rule.code
    assert [r.code for r in rules(Subject.ROSTER_ONLY)] == ["D05"]
    assert [r.code for r in rules() if not r.alive_only] == ["D04"]


def test_registering_a_rule_twice_without_docstring_or_with_a_taken_urgency_is_refused():
    from monitoring.rules.registry import rule

    with pytest.raises(ValueError, match="twice"):
        rule("M01", "x", area=Area.MONITORING, urgency=99)(lambda p, c: None)

    def undocumented(p, c):
        return None

    with pytest.raises(ValueError, match="docstring"):
        rule("Z99", "x", area=Area.MONITORING, urgency=99)(undocumented)

    def documented(p, c):
        """A rule that would share M05's place at the head of the queue."""

    with pytest.raises(ValueError, match="urgency of M05"):
        rule("Z98", "x", area=Area.MONITORING, urgency=1)(documented)
    assert "Z98" not in REGISTRY


def test_yuan_formats_amounts_with_thousands_separators():
    assert yuan(Decimal("3121.00")) == "3,121元"
    assert yuan(Decimal("3121.5")) == "3,121.50元"
    assert yuan(10500) == "10,500元"


# --- M rules ---


def test_m01_fires_below_the_line_when_not_monitored_with_the_numbers():
    reason = fires("M01", person(income=Decimal("3121")))
    assert reason == "调查家庭年人均收入3,121元，低于2026年监测线7,000元，且未纳入防返贫监测"


@pytest.mark.parametrize(
    "overrides",
    [
        {"income": Decimal("7000")},  # at the line is not below it
        {"income": None},  # unknown
        {"income": Decimal("3121"), "roster": link()},  # monitored
        {"income": Decimal("3121"), "roster": link(risk_cleared=None)},  # blank = not cleared
    ],
)
def test_m01_does_not_fire(overrides):
    assert fires("M01", person(**overrides)) is None


def test_m01_fires_for_a_cleared_or_left_poverty_household_member():
    assert fires("M01", person(income=Decimal("5000"), roster=link(risk_cleared=True)))
    assert fires("M01", person(income=Decimal("5000"), roster=link(household_type="left_poverty")))


def test_m01_reads_the_line_from_the_policy():
    high = replace(POLICY, monitoring_line=Decimal("10000"))
    assert fires("M01", person(income=Decimal("8000"))) is None
    assert "10,000元" in fires("M01", person(income=Decimal("8000")), ctx(policy=high))


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"housing_safe": False}, "住房不安全"),
        ({"water_safe": False}, "饮水不安全"),
        ({"age": 13, "in_school": "no"}, "13岁适龄儿童未在校"),
        ({"age": 6, "in_school": "no"}, "6岁"),
        ({"age": 15, "in_school": "no"}, "15岁"),
    ],
)
def test_m02_fires(overrides, text):
    reason = fires("M02", person(**overrides))
    assert text in reason and reason.endswith("且未纳入防返贫监测")


@pytest.mark.parametrize(
    "overrides",
    [
        {"housing_safe": None, "water_safe": None},  # unknown
        {"housing_safe": True, "water_safe": True},
        {"age": 16, "in_school": "no"},  # past compulsory age
        {"age": 5, "in_school": "no"},
        {"age": 10, "in_school": ""},  # unknown
        {"age": 10, "in_school": "na"},  # 不适用
        {"housing_safe": False, "roster": link()},  # monitored
    ],
)
def test_m02_does_not_fire(overrides):
    assert fires("M02", person(**overrides)) is None


def test_m03_fires_when_risk_cleared_but_income_below_line_or_basic_need_gap():
    cleared = link(risk_cleared=True, cleared_on=date(2025, 12, 1), household_type="monitored")
    reason = fires("M03", person(roster=cleared, income=Decimal("4500")))
    assert reason.startswith("监测名单显示该户风险已于2025-12-01消除")
    assert "4,500元" in reason and "7,000元" in reason
    assert "饮水不安全" in fires("M03", person(roster=cleared, water_safe=False))


@pytest.mark.parametrize(
    "overrides",
    [
        {"roster": link(risk_cleared=True), "income": Decimal("9000")},
        {"roster": link(risk_cleared=True), "income": None, "housing_safe": None},
        {"roster": link(risk_cleared=False), "income": Decimal("3000")},
        {"roster": link(risk_cleared=None), "income": Decimal("3000")},
        {"roster": None, "income": Decimal("3000")},
    ],
)
def test_m03_does_not_fire(overrides):
    assert fires("M03", person(**overrides)) is None


def test_m04_fires_for_left_poverty_household_with_two_living_certified_members():
    roster = link(household_type="left_poverty", living_certified=2, living_severe=0)
    reason = fires("M04", person(roster=roster, income=Decimal("10499"), grade=4))
    assert reason == (
        "脱贫户家中有2名在世持证残疾人，调查家庭年人均收入10,499元，低于监测线的1.5倍10,500元"
    )


def test_m04_fires_for_a_living_severe_member():
    roster = link(household_type="left_poverty", living_certified=1, living_severe=1)
    assert "1名在世一、二级重度残疾人" in fires("M04", person(roster=roster, income=Decimal(3121)))


@pytest.mark.parametrize(
    ("roster", "income"),
    [
        (link(household_type="left_poverty", living_certified=2), Decimal("10500")),
        (link(household_type="left_poverty", living_certified=2), None),
        (link(household_type="left_poverty", living_certified=1, living_severe=0), Decimal(3000)),
        (link(household_type="monitored", living_certified=2), Decimal("3000")),
        (link(household_type="ordinary", living_certified=2), Decimal("3000")),
        (None, Decimal("3000")),
    ],
)
def test_m04_does_not_fire(roster, income):
    assert fires("M04", person(roster=roster, income=income)) is None


def test_m05_fires_at_the_threshold_and_reads_it_from_the_policy():
    reason = fires("M05", person(rigid_expenditure=Decimal("20000")))
    assert reason == "调查大额刚性支出20,000元，达到2026年阈值20,000元，且未纳入防返贫监测"
    higher = replace(POLICY, rigid_threshold=Decimal("30000"))
    assert fires("M05", person(rigid_expenditure=Decimal("25000")), ctx(policy=higher)) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"rigid_expenditure": Decimal("19999.99")},
        {"rigid_expenditure": None},
        {"rigid_expenditure": Decimal("55185"), "roster": link()},
    ],
)
def test_m05_does_not_fire(overrides):
    assert fires("M05", person(**overrides)) is None


# --- D rules ---


def test_d01_fires_on_different_names_after_normalising_width_and_spaces():
    reason = fires("D01", person(name="程梅刚", roster=link(name="程霞江")))
    assert reason == "调查姓名“程梅刚”与监测名单姓名“程霞江”不一致"
    assert fires("D01", person(name=" 赵春平 ", roster=link(name="赵 春平"))) is None
    assert fires("D01", person(name="ＡＢ", roster=link(name="AB"))) is None
    assert fires("D01", person(name="张三", roster=None)) is None
    assert fires("D01", person(name="张三", roster=link(name=""))) is None


def test_d02_fires_on_different_townships_with_their_names():
    context = ctx(township_names={1: "城关镇", 2: "河口镇"})
    reason = fires("D02", person(township_id=1, roster=link(township_id=2)), context)
    assert reason == "调查乡镇为城关镇，监测名单（户编号3415221000007）乡镇为河口镇"
    assert fires("D02", person(township_id=1, roster=link(township_id=1)), context) is None
    assert fires("D02", person(township_id=None, roster=link(township_id=2)), context) is None
    assert fires("D02", person(township_id=1, roster=None), context) is None


def test_d03_fires_when_the_roster_records_a_different_category_or_grade():
    reason = fires("D03", person(category=3, grade=2, roster=link(category=3, grade=3)))
    assert reason == "调查（残疾人证）为言语二级残疾，监测名单登记为言语三级"
    assert fires("D03", person(category=3, grade=2, roster=link(category=4, grade=None)))
    # blank roster values are not a disagreement
    assert fires("D03", person(category=3, grade=2, roster=link(category=None, grade=None))) is None
    assert fires("D03", person(category=3, grade=2, roster=link(category=3, grade=2))) is None
    assert fires("D03", person(category=None, grade=None, roster=link(category=3))) is None


def test_d04_fires_both_ways_and_only_between_deceased_and_alive():
    assert fires("D04", person(survival_status="deceased", roster=link(status="alive"))) == (
        "调查存活状态为死亡，监测名单人员状态为正常"
    )
    assert fires("D04", person(survival_status="alive", roster=link(status="deceased")))
    assert fires("D04", person(survival_status="", roster=link(status="deceased"))) is None
    assert fires("D04", person(survival_status="deceased", roster=link(status="moved_out"))) is None
    assert fires("D04", person(survival_status="deceased", roster=link(status="deceased"))) is None
    assert fires("D04", person(survival_status="deceased", roster=None)) is None


def roster_only(**overrides) -> RosterOnly:
    values = {
        "person_id": 9,
        "id_number": "341522197312065003",
        "name": "曹英兰",
        "township_id": 1,
        "village_id": 11,
        "has_certificate": False,
        "roster": link(name="曹英兰", is_disabled=True, household_type="left_poverty"),
    }
    values.update(overrides)
    return RosterOnly(**values)


def test_d05_fires_for_a_disabled_roster_member_without_certificate():
    assert fires("D05", roster_only()) == (
        "监测名单（户编号3415221000007）登记为残疾人，但不在持证残疾人调查中，疑似未办理残疾人证"
    )
    assert "（肢体残疾）" in fires("D05", roster_only(roster=link(category=4)))
    assert fires("D05", roster_only(has_certificate=True)) is None
    assert fires("D05", roster_only(roster=link(is_disabled=False))) is None
    assert fires("D05", roster_only(roster=link(is_disabled=None))) is None


# --- S rules ---


def test_s01_fires_for_grade_1_2_not_receiving_the_care_subsidy():
    assert fires("S01", person(category=3, grade=1, receives_care_subsidy=False)) == (
        "言语一级残疾，调查显示未享受重度残疾人护理补贴"
    )
    civil = person(grade=2, receives_care_subsidy=False, benefits_from_civil=True)
    assert "民政名册显示" in fires("S01", civil)
    assert fires("S01", person(grade=2, receives_care_subsidy=True)) is None
    assert fires("S01", person(grade=2, receives_care_subsidy=None)) is None
    assert fires("S01", person(grade=3, receives_care_subsidy=False)) is None


def test_s01_grade_3_intellectual_or_mental_only_when_the_county_turns_it_on():
    mental3 = person(category=6, grade=3, receives_care_subsidy=False)
    physical3 = person(category=4, grade=3, receives_care_subsidy=False)
    assert fires("S01", mental3) is None
    on = ctx(policy=replace(POLICY, care_grade3_mental=True))
    assert fires("S01", mental3, on) == "精神三级残疾，调查显示未享受重度残疾人护理补贴"
    assert fires("S01", person(category=5, grade=3, receives_care_subsidy=False), on)
    assert fires("S01", physical3, on) is None


def test_s02_fires_for_dibao_without_living_subsidy():
    assert fires("S02", person(receives_dibao=True, receives_living_subsidy=False)) == (
        "调查显示享受低保，但未享受困难残疾人生活补贴"
    )
    assert fires("S02", person(receives_dibao=True, receives_living_subsidy=None)) is None
    assert fires("S02", person(receives_dibao=None, receives_living_subsidy=False)) is None
    assert fires("S02", person(receives_dibao=False, receives_living_subsidy=False)) is None
    assert fires("S02", person(receives_dibao=True, receives_living_subsidy=True)) is None


S03_BASE = {
    "age": 40,
    "grade": 1,
    "employment_status": "unemployed",
    "income": Decimal("4000"),
    "receives_dibao": False,
    "receives_tekun": False,
}


def test_s03_fires_with_age_grade_employment_and_income():
    reason = fires("S03", person(**S03_BASE))
    assert reason.startswith("40岁肢体一级残疾、未就业，调查家庭年人均收入4,000元")
    assert "7,000元" in reason
    assert fires("S03", person(**{**S03_BASE, "age": 18, "employment_status": "no_ability"}))


@pytest.mark.parametrize(
    "change",
    [
        {"age": 17},
        {"grade": 3},
        {"employment_status": "farming"},
        {"employment_status": ""},
        {"income": Decimal("7000")},
        {"income": None},
        {"receives_dibao": True},
        {"receives_tekun": True},
        {"receives_dibao": None},  # unknown is not "no"
        {"receives_tekun": None},
    ],
)
def test_s03_does_not_fire(change):
    assert fires("S03", person(**{**S03_BASE, **change})) is None


def test_s04_fires_for_grade_1_2_aged_16_to_59_not_pension_insured():
    assert fires("S04", person(age=16, grade=2, pension_insured=False)) == (
        "16岁肢体二级残疾，未参加城乡居民养老保险（县财政按每人每年200元档代缴）"
    )
    assert fires("S04", person(age=59, grade=1, pension_insured=False))
    assert fires("S04", person(age=60, grade=1, pension_insured=False)) is None
    assert fires("S04", person(age=15, grade=1, pension_insured=False)) is None
    assert fires("S04", person(age=40, grade=3, pension_insured=False)) is None
    assert fires("S04", person(age=40, grade=1, pension_insured=None)) is None
    assert fires("S04", person(age=40, grade=1, pension_insured=True)) is None


def test_s05_fires_only_on_an_explicit_no():
    assert fires("S05", person(medical_insured=False)) == "调查显示未参加基本医疗保险"
    assert fires("S05", person(medical_insured=None)) is None
    assert fires("S05", person(medical_insured=True)) is None


# --- E, R, P rules ---


def test_e01_fires_for_a_school_age_child_not_in_school_without_a_plan():
    child = person(person_id=5, age=10, in_school="no")
    assert fires("E01", child) == "10岁适龄残疾儿童少年，调查显示未在校，且未建立一人一案"
    assert fires("E01", child, ctx(education_plans=frozenset({5}))) is None
    assert fires("E01", person(age=10, in_school="")) is None
    assert fires("E01", person(age=10, in_school="na")) is None
    assert fires("E01", person(age=10, in_school="yes")) is None
    assert fires("E01", person(age=16, in_school="no")) is None
    # monitored or not does not matter
    assert fires("E01", person(age=10, in_school="no", roster=link()))


def test_r01_fires_for_a_need_without_service():
    needy = person(person_id=5, rehab_needs=("康复训练", "辅助器具"), rehab_received=False)
    assert fires("R01", needy) == (
        "调查康复需求为康复训练、辅助器具，未获康复服务，2026年也未记录康复服务"
    )
    assert fires("R01", needy, ctx(rehab_served=frozenset({5}))) is None
    assert fires("R01", person(rehab_needs=("药物",), rehab_received=True)) is None
    assert fires("R01", person(rehab_needs=("药物",), rehab_received=None)) is None
    assert fires("R01", person(rehab_needs=(), rehab_received=False)) is None


def test_p01_fires_for_a_monitored_person_whose_household_has_no_active_pairing():
    monitored = person(household_id=10, roster=link())
    assert fires("P01", monitored) == "监测户（户编号3415221000007）未落实一对一结对帮扶"
    assert fires("P01", monitored, ctx(paired_households=frozenset({10}))) is None
    assert fires("P01", person(household_id=10, roster=link(risk_cleared=True))) is None
    assert fires("P01", person(household_id=10, roster=None)) is None


# --- Q rules ---


def test_q01_fires_thirty_days_after_identification_without_a_measure():
    identified = link(identified_on=date(2026, 5, 31))  # 30 days before the as-of date
    monitored = person(household_id=10, roster=identified)
    assert fires("Q01", monitored) == "2026-05-31识别纳入监测，已30天，未录入帮扶措施"
    assert fires("Q01", monitored, ctx(assisted_households=frozenset({10}))) is None
    assert fires("Q01", person(roster=link(identified_on=date(2026, 6, 1)))) is None
    assert fires("Q01", person(roster=link(identified_on=None))) is None
    assert fires("Q01", person(roster=None)) is None


def test_q01_does_not_fire_for_a_cleared_household():
    cleared = link(risk_cleared=True, identified_on=date(2025, 1, 1))
    assert fires("Q01", person(roster=cleared)) is None


def test_q02_fires_when_risk_cleared_under_six_months_after_identification():
    fast = link(risk_cleared=True, identified_on=date(2024, 1, 6), cleared_on=date(2024, 3, 11))
    assert fires("Q02", person(roster=fast)) == (
        "识别监测时间2024-01-06，风险消除时间2024-03-11，仅65天，不足6个月"
    )
    exactly = link(risk_cleared=True, identified_on=date(2024, 1, 12), cleared_on=date(2024, 7, 12))
    assert fires("Q02", person(roster=exactly)) is None
    day_short = link(
        risk_cleared=True, identified_on=date(2024, 1, 12), cleared_on=date(2024, 7, 11)
    )
    assert fires("Q02", person(roster=day_short))
    unknown = link(risk_cleared=True, identified_on=None, cleared_on=date(2024, 3, 11))
    assert fires("Q02", person(roster=unknown)) is None
    not_cleared = link(
        risk_cleared=False, identified_on=date(2024, 1, 6), cleared_on=date(2024, 3, 1)
    )
    assert fires("Q02", person(roster=not_cleared)) is None
