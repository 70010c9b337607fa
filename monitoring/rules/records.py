"""Plain records the rules read: no ORM, no queries (built by `monitoring.crosscheck`).

Unknown survey answers stay None (booleans) or "" (choices): a rule never treats
unknown as "no". Derived facts that several rules share (age on the as-of date,
alive, monitored, benefit receipt after civil-affairs precedence) are computed once
when the record is built, so each rule stays a few lines.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

# Keyed by the stored code; a missing code (None) simply finds no name.
CATEGORY_NAMES: dict[int | None, str] = {
    1: "视力",
    2: "听力",
    3: "言语",
    4: "肢体",
    5: "智力",
    6: "精神",
    7: "多重",
}
GRADE_NAMES: dict[int | None, str] = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
HOUSEHOLD_TYPE_NAMES = {"left_poverty": "脱贫户", "monitored": "监测户", "ordinary": "一般户"}
EMPLOYMENT_NAMES = {
    "quota": "按比例就业",
    "concentrated": "集中就业",
    "self": "个体就业",
    "welfare_post": "公益性岗位",
    "supported": "辅助性就业",
    "flexible": "灵活就业",
    "farming": "农村种养加",
    "unemployed": "未就业",
    "no_ability": "无劳动能力",
}
DECEASED = "deceased"
ALIVE = "alive"


@dataclass(frozen=True, slots=True)
class Policy:
    """The as-of year's policy parameters the rules use (from `subsidies.PolicyYear`)."""

    year: int
    monitoring_line: Decimal
    rigid_threshold: Decimal
    care_grade3_mental: bool
    pension_tier: Decimal | None = None
    is_default: bool = False


@dataclass(slots=True)
class RosterHousehold:
    """A current household of the poverty-monitoring roster, with member aggregates."""

    id: int
    number: str
    township_id: int | None
    village_id: int | None
    household_type: str  # left_poverty / monitored / ordinary
    risk_cleared: bool | None
    identified_on: date | None
    cleared_on: date | None
    # 户类型 监测户 and risk not cleared (docs/RULES.md#terms). Not derived here: the
    # loader reads it from `monitoring.populations.roster_monitored`, the condition the
    # indicators count monitored households with, so the two cannot disagree.
    monitored: bool
    # Where the household's values came from (docs/CROSSCHECK.md#evidence): the import
    # batch and the member row whose household values were kept.
    batch_id: int | None = None
    source_row: int | None = None
    # Living certified (surveyed) members, and how many of them are grade 1–2.
    living_certified: int = 0
    living_severe: int = 0


@dataclass(slots=True)
class RosterLink:
    """A person's row in the current roster."""

    name: str
    is_disabled: bool | None
    category: int | None
    grade: int | None
    status: str  # alive / deceased / moved_out / ""
    household: RosterHousehold
    batch_id: int | None = None  # the member's row in its import (evidence)
    source_row: int | None = None


@dataclass(slots=True)
class Certified:
    """A certified disabled person: their survey answers, certificate and roster row."""

    person_id: int
    id_number: str
    name: str
    birth_date: date
    age: int
    township_id: int | None
    village_id: int | None
    household_id: int | None  # the survey household (cases.Household)
    category: int | None
    grade: int | None
    income: Decimal | None = None
    rigid_expenditure: Decimal | None = None
    housing_safe: bool | None = None
    water_safe: bool | None = None
    in_school: str = ""  # yes / no / na / "" (unknown)
    employment_status: str = ""
    rehab_needs: tuple[str, ...] = ()
    rehab_received: bool | None = None
    medical_insured: bool | None = None
    pension_insured: bool | None = None
    receives_dibao: bool | None = None
    receives_tekun: bool | None = None
    receives_living_subsidy: bool | None = None
    receives_care_subsidy: bool | None = None
    # 低保, 特困 and subsidies decided by the civil-affairs roster: it contains their township.
    benefits_from_civil: bool = False
    survival_status: str = ""
    roster: RosterLink | None = None
    alive: bool = True
    monitored: bool = False
    # The survey row the answers came from (docs/CROSSCHECK.md#evidence).
    survey_batch_id: int | None = None
    survey_row: int | None = None


@dataclass(slots=True)
class RosterOnly:
    """A current roster member who is not in the survey (D05's subject)."""

    person_id: int
    id_number: str
    name: str
    township_id: int | None
    village_id: int | None
    has_certificate: bool
    roster: RosterLink
    alive: bool = True

    @property
    def household_id(self) -> None:
        """No survey household: a finding about a roster-only member names none."""
        return None


@dataclass(frozen=True)
class Context:
    """Everything a rule may read besides the record: as-of date, policy, lookups."""

    as_of: date
    policy: Policy
    education_plans: frozenset[int] = frozenset()  # person ids with a 一人一案
    rehab_served: frozenset[int] = frozenset()  # person ids served in the as-of year
    paired_households: frozenset[int] = frozenset()  # household ids with an active pairing
    assisted_households: frozenset[int] = frozenset()  # household ids with a measure
    township_names: dict[int, str] = field(default_factory=dict)
    # Each survey household's latest visit on or before the as-of date (V01).
    household_visits: "dict[int, HouseholdVisit]" = field(default_factory=dict)
    # {import batch id: its file and sheet as evidence JSON} (`rules.evidence.quoted_batches`).
    batches: dict[int, str] = field(default_factory=dict)


def yuan(amount: Decimal | int | float) -> str:
    """3121 → "3,121元"; 3121.5 → "3,121.50元"."""
    return _yuan(amount)


# Memoised: a run formats about 70,000 amounts (reasons and evidence) of a few thousand
# distinct values. Equal amounts print alike (PostgreSQL numerics have no negative zero).
@lru_cache(maxsize=16384)
def _yuan(amount: Decimal | int | float) -> str:
    value = Decimal(amount)
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{text}元"


def disability_label(category: int | None, grade: int | None) -> str:
    """(6, 2) → "精神二级"; unknown parts are left out."""
    return f"{CATEGORY_NAMES.get(category, '')}{GRADE_NAMES.get(grade, '')}" or "未知"


# Compulsory-education age, whole years, both ends included (E01, M02 and the
# school-age indicator through `monitoring.populations.school_age`).
SCHOOL_AGE = (6, 15)


def school_age(p: Certified) -> bool:
    """Compulsory-education age, 6–15 whole years on the as-of date."""
    return SCHOOL_AGE[0] <= p.age <= SCHOOL_AGE[1]


# The visit checklist's "存在问题" (cases.TrackingVisit.Check.PROBLEM).
CHECK_PROBLEM = "problem"


@dataclass(frozen=True, slots=True)
class HouseholdVisit:
    """A household's latest visit (cases.TrackingVisit) as V01 reads it."""

    household_id: int
    visited_on: date
    income: Decimal | None  # 家庭年人均纯收入 recorded on the visit
    housing: str  # ok / problem / na / "" (not asked)
    water: str
    education: str
    # The visit year's monitoring line L (None: that year has no policy parameters).
    monitoring_line: Decimal | None
    # `monitoring.populations.monitored_household`, read by the loader.
    monitored: bool
    visit_id: int | None = None  # the TrackingVisit, named in V01's evidence
