"""A synthetic Huoqiu county for demos and benchmarks (`manage.py seed_demo`).

Builds villages for all 31 townships, N certified disabled persons in survey
households (with non-disabled members), their survey answers, the
poverty-monitoring roster (脱贫户 and 监测户, covering part of the survey households
plus roster-only households) and five demo users. Everything is drawn from one
`random.Random(seed)` relative to an as-of date, so the same seed and date give
the same county.

`CountyOptions` shapes the county beyond its size; its defaults are seed_demo's
county. The benchmarks (bench/county_data.py) use the same generator with a larger
roster, a civil-affairs benefit roster and rehabilitation services, so there is one
synthetic county to keep realistic, not two.

The data are planned in plain Python and written in chunks of plain rows (no query
per row) inside one transaction. This module is a leaf tool: it writes `cases`,
`monitoring` and `subsidies` models, and nothing imports it but the command, the
benchmarks and tests.

It only fills a registry without certificates: on a registry that already holds
certificates it refuses (`DemoError`), so synthetic people never mix with real ones.
"""

import hashlib
import io
import json
import math
import random
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from cases.dbcopy import copy_line
from cases.geography import COUNTY_CODE
from cases.history import change_row
from cases.identity import check_character
from cases.models import (
    AssistanceMeasure,
    Certificate,
    ChangeRecord,
    EducationPlan,
    Household,
    HouseholdMember,
    Pairing,
    Person,
    RehabService,
    Role,
    Township,
    Village,
)
from cases.services import staff_profile_set
from monitoring import survey
from monitoring.models import (
    EmploymentStatus,
    HouseholdType,
    ImportBatch,
    MonitoringCategory,
    RiskClearMethod,
    RosterHousehold,
    RosterMember,
    Source,
    SurveyRecord,
    SurvivalStatus,
    TriState,
)
from subsidies.models import BenefitRecord, BenefitType

# The documented demo password. It passes the same validators as a real account's (no
# county name, 12+ characters), so the demo never teaches a password production refuses.
DEFAULT_PASSWORD = "demo-lantern-2026"  # noqa: S105
DEFAULT_PERSONS = 3000
DEFAULT_SEED = 20260630
DEMO_FILE_NAME = "演示数据（seed_demo）"
DEMO_SOURCE = "seed_demo"
CHUNK_ROWS = 5000

# (username, role, township, description); cunwei gets the first village of 城关镇.
DEMO_USERS = [
    ("admin", Role.COUNTY_ADMIN, None, "县残联管理员 county admin"),
    ("viewer", Role.COUNTY_VIEWER, None, "县级只读（乡村振兴局） county viewer"),
    ("chengguan", Role.TOWNSHIP_STAFF, "城关镇", "城关镇工作人员 township staff"),
    ("hekou", Role.TOWNSHIP_STAFF, "河口镇", "河口镇工作人员 township staff"),
    ("cunwei", Role.VILLAGE_MEMBER, "城关镇", "城关镇村残协专职委员 village member"),
]


@dataclass(frozen=True, slots=True)
class CountyOptions:
    """What the county holds besides its size; the defaults are seed_demo's county."""

    # Share of survey households on the poverty-monitoring roster, for households
    # below the 7,000 income line and for the others.
    roster_share_low_income: float = 0.7
    roster_share: float = 0.35
    # Roster-only households (no certified member) per survey household on the roster.
    roster_only_ratio: float = 0.25
    # Share of certified persons on a civil-affairs benefit roster (0: no civil roster,
    # so the cross-check reads receipt from the survey answers).
    civil_roster_share: float = 0.0
    # Share of certified persons with rehabilitation needs served in the as-of year.
    rehab_service_share: float = 0.0
    # The five demo logins; benchmarks that never log in skip the password hashing.
    users: bool = True


class DemoError(Exception):
    """The demo county cannot be built; `str()` is a Chinese + English reason."""


@dataclass
class DemoSummary:
    certified: int = 0
    persons: int = 0
    villages_created: int = 0
    villages: int = 0
    households: int = 0
    household_members: int = 0
    survey_records: int = 0
    roster_households: int = 0
    roster_households_left_poverty: int = 0
    roster_households_monitored: int = 0
    roster_members: int = 0
    roster_only_households: int = 0
    pairings: int = 0
    assistance_measures: int = 0
    education_plans: int = 0
    benefit_records: int = 0
    rehab_services: int = 0
    users: list = field(default_factory=list)  # (username, description, scope label)
    rows: dict[str, int] = field(default_factory=dict)  # model label → rows written
    seconds: float = 0.0


def registry_has_certificates() -> bool:
    return Certificate.objects.exists()


# --- vocabulary ---

SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严武戴孔汤"
)
# The most common surnames weigh more, as in a real county.
SURNAME_WEIGHTS = [max(1.0, 12.0 - index * 0.25) for index in range(len(SURNAMES))]
MALE_CHARS = "伟强军明建国华平东林德忠文海志永刚勇峰成辉杰涛斌俊新春生福贵学金山宝中正义兴家荣发才"
FEMALE_CHARS = "秀英兰芳丽娟敏静玲霞凤梅红萍燕桂珍翠琴云花香艳丹婷雪慧颖莉娜琳玉萍素彩月"
VILLAGE_FEATURES = "庄岗圩集湾店楼郢台桥塘寨墩营庙冲湖坝洼"
DIRECTIONS = "东西南北新前后大小中上下"
DIRECTION_FEATURES = "关湖岗圩集湾店庄楼塘桥街河山埠"
AUSPICIOUS = (
    "幸福团结和平胜利光明红星永丰新华建设民主联合新民兴隆长丰丰收五星先锋友谊前进和谐"  # pairs
)
AUSPICIOUS_WORDS = [AUSPICIOUS[i : i + 2] for i in range(0, len(AUSPICIOUS), 2)]

CATEGORY_ADULT = {4: 47, 1: 14, 2: 13, 6: 10, 5: 6, 7: 6, 3: 4}
CATEGORY_CHILD = {5: 30, 4: 25, 7: 15, 2: 10, 3: 10, 1: 5, 6: 5}
GRADE_WEIGHTS = {1: 10, 2: 21, 3: 31, 4: 38}  # with GRADE_SEVERE: grade 1–2 ≈ 35%
GRADE_SEVERE = {1: 25, 2: 33, 3: 25, 4: 17}  # 多重, 智力, 精神 tend to be more severe
# (lowest age, highest age, weight) of the anchor certified person of a household; with
# the certified relatives drawn among household members, children 0–17 come to ≈ 8%.
AGE_BANDS = [
    (0, 5, 1.2),
    (6, 15, 4.0),
    (16, 17, 1.6),
    (18, 44, 14.0),
    (45, 59, 26.0),
    (60, 74, 32.0),
    (75, 95, 20.0),
]
HOUSEHOLD_SIZES = {1: 15, 2: 25, 3: 22, 4: 18, 5: 12, 6: 8}
REHAB_NEEDS = {
    1: ["辅助器具", "康复训练", "白内障复明手术"],
    2: ["辅助器具", "助听器适配", "康复训练"],
    3: ["言语训练", "康复训练"],
    4: ["辅助器具", "康复训练", "功能训练", "医疗康复"],
    5: ["康复训练", "生活自理训练", "托养照护"],
    6: ["精神康复服务", "药物治疗", "康复训练"],
    7: ["康复训练", "辅助器具", "护理服务"],
}
RISK_TYPES = ["因残", "因病", "因学", "因灾", "因意外事故", "因务工就业不稳", "缺劳动力", "其他"]
RISK_WEIGHTS = [40, 30, 6, 4, 4, 6, 8, 2]


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass(slots=True)
class _Member:
    relation: str
    age: int
    male: bool
    certified: bool = False
    surname: str = ""
    person_id: int = 0
    id_number: str = ""
    name: str = ""
    category: int = 0
    grade: int = 0
    rehab_needs: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Household:
    village: Village
    members: list  # of _Member, head first
    income: Decimal | None = None
    pk: int = 0


class _Builder:
    def __init__(self, seed: int, as_of: date):
        self.rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
        self.as_of = as_of
        self.taken_ids: set[str] = set()
        self.taken_first17: set[str] = set()

    # --- names, ages, IDs ---

    def surname(self) -> str:
        return self.rng.choices(SURNAMES, weights=SURNAME_WEIGHTS)[0]

    def given_name(self, male: bool) -> str:
        chars = MALE_CHARS if male else FEMALE_CHARS
        length = 2 if self.rng.random() < 0.7 else 1
        return "".join(self.rng.choice(chars) for _ in range(length))

    def certified_age(self) -> int:
        low, high, _ = self.rng.choices(AGE_BANDS, weights=[band[2] for band in AGE_BANDS])[0]
        return self.rng.randint(low, high)

    def birth_date(self, age: int) -> date:
        """A birth date giving exactly `age` whole years on the as-of date."""
        latest = _years_before(self.as_of, age)
        earliest = _years_before(self.as_of, age + 1) + timedelta(days=1)
        span = (latest - earliest).days
        return earliest + timedelta(days=self.rng.randint(0, max(span, 0)))

    def id_number(self, born: date, male: bool) -> str:
        prefix = f"{COUNTY_CODE}{born:%Y%m%d}"
        for _ in range(2000):
            sequence = self.rng.randrange(1 if male else 0, 1000, 2)
            first17 = f"{prefix}{sequence:03d}"
            if first17 not in self.taken_first17:
                number = first17 + check_character(first17)
                if number not in self.taken_ids:
                    self.taken_first17.add(first17)
                    self.taken_ids.add(number)
                    return number
        raise DemoError(f"出生日期{born}的身份证顺序码已用尽 / no free ID sequence for {born}")

    # --- villages ---

    def village_names(self, township: Township, count: int) -> list[str]:
        names: list[str] = ["东关村"] if township.name == "城关镇" else []
        is_zone = township.kind == Township.Kind.ZONE
        while len(names) < count:
            roll = self.rng.random()
            if is_zone:
                name = f"{self.rng.choice(AUSPICIOUS_WORDS)}社区"
            elif roll < 0.55:
                name = f"{self.surname()}{self.rng.choice(VILLAGE_FEATURES)}村"
            elif roll < 0.8:
                name = f"{self.rng.choice(DIRECTIONS)}{self.rng.choice(DIRECTION_FEATURES)}村"
            elif roll < 0.95:
                name = f"{self.rng.choice(AUSPICIOUS_WORDS)}村"
            else:
                name = f"{township.short_name}社区"
            if name not in names:
                names.append(name)
        return names

    # --- households ---

    def family(self, size: int, anchor_age: int) -> list[_Member]:
        """Relations and ages of a household around one certified member (the anchor)."""
        rng = self.rng
        anchor = _Member("", anchor_age, rng.random() < 0.55, certified=True)
        if anchor_age < 18:
            head = _Member("户主", min(anchor_age + rng.randint(22, 38), 95), rng.random() < 0.8)
            anchor.relation = "子" if anchor.male else "女"
            members = [head, anchor]
        elif anchor_age >= 65 and size >= 3 and rng.random() < 0.35:
            head = _Member("户主", max(anchor_age - rng.randint(22, 35), 20), rng.random() < 0.8)
            anchor.relation = "父亲" if anchor.male else "母亲"
            members = [head, anchor]
        else:
            anchor.relation = "户主"
            head = anchor
            members = [anchor]
        has_spouse = False
        while len(members) < size:
            options = []
            if not has_spouse and head.age >= 20:
                options += ["spouse"] * 4
            if head.age >= 22:
                options += ["child"] * 3
            if head.age <= 60:
                options.append("parent")
            if head.age >= 50:
                options += ["grandchild"] * 2
            kind = rng.choice(options or ["child"])
            male = rng.random() < 0.5
            if kind == "spouse":
                has_spouse = True
                male = not head.male
                age = min(max(head.age + rng.randint(-5, 5), 18), 98)
                members.append(_Member("配偶", age, male))
            elif kind == "parent":
                age = min(head.age + rng.randint(22, 32), 98)
                members.append(_Member("父亲" if male else "母亲", age, male))
            elif kind == "grandchild":
                age = max(head.age - rng.randint(45, 60), 0)
                members.append(_Member("孙子" if male else "孙女", age, male))
            else:
                age = max(head.age - rng.randint(22, 36), 0)
                members.append(_Member("子" if male else "女", age, male))
        return members

    def plan_households(self, persons: int, villages: list[Village]) -> list[_Household]:
        rng = self.rng
        weights = [rng.uniform(0.5, 1.5) for _ in villages]
        households: list[_Household] = []
        remaining = persons
        while remaining > 0:
            village = rng.choices(villages, weights=weights)[0]
            anchor_age = self.certified_age()
            size = _weighted(rng, HOUSEHOLD_SIZES)
            if anchor_age < 18 and size == 1:
                size = rng.randint(2, 4)
            members = self.family(size, anchor_age)
            extra = 0
            roll = rng.random()
            if roll < 0.02:
                extra = 2
            elif roll < 0.10:
                extra = 1
            extra = min(extra, remaining - 1, len(members) - 1)
            others = [m for m in members if not m.certified]
            for member in rng.sample(others, extra):
                member.certified = True
            remaining -= 1 + extra
            family_name = self.surname()
            for member in members:
                keeps_name = member.relation not in ("配偶", "母亲") or rng.random() < 0.1
                member.surname = family_name if keeps_name else self.surname()
            households.append(_Household(village, members))
        return households


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 Feb in a common year
        return day.replace(year=day.year - years, day=28)


def _money(value: float) -> Decimal:
    return Decimal(int(round(value, -1)))


# --- writing: plain rows, explicit primary keys, one multi-row statement per chunk ---


class _Table:
    """Rows of one table with primary keys assigned here, so later rows can refer to them.

    Django's `bulk_create` spends ~6 µs per value compiling SQL, which made 60,000
    persons (≈7 million values) take about a minute; plain rows written with
    `executemany` (SQLite) or COPY (PostgreSQL) take a fraction of that.
    Values are given as the database takes them (foreign keys as ids, JSON as lists).
    On PostgreSQL the rows go through COPY, which is several times faster than INSERT.

    Every full chunk is written as soon as it is planned, so memory stays flat for the
    million-person benchmark county. A chunk may refer to rows of a table not written
    yet: foreign keys are deferred, checked when the transaction commits.
    """

    def __init__(self, model: type[models.Model], fields: tuple[str, ...], now: datetime):
        self.model = model
        self.fields = [model._meta.get_field(name) for name in fields]
        self.rows: list[tuple] = []
        self.count = 0
        top = model.objects.aggregate(top=Max("pk"))["top"] or 0
        self.next_pk = top + 1
        self.stamp = (
            connection.ops.adapt_datetimefield_value(now) if connection.vendor == "sqlite" else now
        )
        self.json_columns = [
            index + 1 for index, f in enumerate(self.fields) if isinstance(f, models.JSONField)
        ]

    def add(self, *values) -> int:
        pk = self.next_pk
        self.next_pk += 1
        self.rows.append((pk, *values))
        self.count += 1
        if len(self.rows) >= CHUNK_ROWS:
            self.flush()
        return pk

    def _ready(self, row: tuple) -> list:
        values = [*row, self.stamp, self.stamp]
        for index in self.json_columns:
            values[index] = json.dumps(values[index], ensure_ascii=False)
        return values

    def flush(self) -> None:
        """Write the planned rows not written yet."""
        if not self.rows:
            return
        meta = self.model._meta
        columns = [meta.pk.column, *(f.column for f in self.fields), "created_at", "updated_at"]
        quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
        table = connection.ops.quote_name(meta.db_table)
        chunk = [self._ready(row) for row in self.rows]
        self.rows = []
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                text = "".join(map(copy_line, chunk))
                cursor.cursor.copy_expert(f"COPY {table} ({quoted}) FROM STDIN", io.StringIO(text))
            else:
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})",  # noqa: S608
                    chunk,
                )


def _reset_sequences(model_list):
    """After explicit primary keys, PostgreSQL's sequences must move past them."""
    statements = connection.ops.sequence_reset_sql(no_style(), model_list)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def build_demo_county(
    *,
    persons: int = DEFAULT_PERSONS,
    password: str = DEFAULT_PASSWORD,
    seed: int = DEFAULT_SEED,
    as_of: date | None = None,
    options: CountyOptions | None = None,
) -> DemoSummary:
    """Build the synthetic county; refuse if the registry already has certificates."""
    options = options or CountyOptions()
    if persons < 1:
        raise DemoError("--persons 至少为1 / --persons must be at least 1")
    try:
        validate_password(password)
    except ValidationError as error:
        raise DemoError(
            "演示账号密码不符合要求 / the demo password is refused: " + "；".join(error.messages)
        ) from None
    if registry_has_certificates():
        count = Certificate.objects.count()
        raise DemoError(
            f"数据库中已有{count}张残疾人证，seed_demo只在没有持证数据的库中生成演示县，以免与真实数据混杂；"
            "如需重建演示数据，请先清空数据库（或加 --if-empty 跳过）。"
            f" / The registry already holds {count} certificates: seed_demo only fills an empty"
            " registry so that synthetic persons never mix with real ones; start from an empty"
            " database (or pass --if-empty to skip)."
        )
    started = time.monotonic()
    now = timezone.now()
    as_of = as_of or timezone.localdate()
    builder = _Builder(seed, as_of)
    summary = DemoSummary()
    with transaction.atomic():
        builder.taken_ids = set(Person.objects.values_list("id_number", flat=True))
        villages, summary.villages_created = _ensure_villages(builder)
        summary.villages = len(villages)
        households = builder.plan_households(persons, villages)
        sources = [Source.SURVEY, Source.ROSTER]
        if options.civil_roster_share:
            sources.append(Source.CIVIL)
        batches = _batches(seed, persons, now, sources)
        tables = _Tables(now, options)
        _plan_registry(builder, households, tables)
        _plan_survey(builder, households, batches[Source.SURVEY], tables)
        summary.roster_only_households, summary.roster_households_monitored = _plan_roster(
            builder, households, villages, batches[Source.ROSTER], tables, options
        )
        # Drawn last, and only when asked for: the default county's draws stay as they were.
        _plan_services(builder, households, batches.get(Source.CIVIL), tables, options)
        for table in tables.in_order():
            table.flush()
        _reset_sequences([table.model for table in tables.in_order()])
        _summarise(summary, tables)
        _finish_batches(batches, summary)
        if options.users:
            summary.users = _ensure_users(password, villages)
    summary.seconds = time.monotonic() - started
    return summary


class _Tables:
    def __init__(self, now: datetime, options: CountyOptions):
        self.persons = _Table(Person, PERSON_FIELDS, now)
        self.certificates = _Table(
            Certificate, ("person", "number", "category", "grade", "reissue"), now
        )
        self.households = _Table(
            Household, ("head_id_number", "head_name", "head", "township", "village", "size"), now
        )
        self.members = _Table(HouseholdMember, ("household", "person", "relation"), now)
        self.survey = _Table(SurveyRecord, SURVEY_FIELDS, now)
        self.roster_households = _Table(RosterHousehold, ROSTER_HOUSEHOLD_FIELDS, now)
        self.roster_members = _Table(RosterMember, ROSTER_MEMBER_FIELDS, now)
        self.pairings = _Table(Pairing, PAIRING_FIELDS, now)
        self.measures = _Table(AssistanceMeasure, MEASURE_FIELDS, now)
        self.education_plans = _Table(EducationPlan, EDUCATION_FIELDS, now)
        # Only when asked for, so the default county runs no query for them.
        self.benefits = (
            _Table(BenefitRecord, BENEFIT_FIELDS, now) if options.civil_roster_share else None
        )
        self.rehab_services = (
            _Table(RehabService, REHAB_FIELDS, now) if options.rehab_service_share else None
        )

    def in_order(self) -> list[_Table]:
        """Referenced tables first."""
        extras = [table for table in (self.benefits, self.rehab_services) if table is not None]
        return [
            self.persons,
            self.certificates,
            self.households,
            self.members,
            self.survey,
            self.roster_households,
            self.roster_members,
            self.pairings,
            self.measures,
            self.education_plans,
            *extras,
        ]


PERSON_FIELDS = ("id_number", "name", "gender", "birth_date", "township", "village", "phone")
SURVEY_FIELDS = ("person", "batch", "household", *(c.field for c in survey.RECORD_COLUMNS))
ROSTER_HOUSEHOLD_FIELDS = (
    "household_number",
    "township",
    "village",
    "head_name",
    "household_type",
    "monitoring_category",
    "risk_types",
    "income_per_capita",
    "identified_on",
    "risk_cleared",
    "cleared_on",
    "clear_method",
    "wage_income",
    "business_income",
    "property_income",
    "transfer_income",
    "is_current",
    "batch",
)
PAIRING_FIELDS = (
    "household",
    "helper_name",
    "helper_unit",
    "helper_phone",
    "started_on",
    "ended_on",
    "helper_kind",
    "end_reason",
)
MEASURE_FIELDS = (
    "household",
    "kind",
    "description",
    "responsible_unit",
    "started_on",
    "ended_on",
    "result",
)
EDUCATION_FIELDS = ("person", "placement", "school", "not_enrolled_reason", "verified_on")
BENEFIT_FIELDS = (
    "person",
    "benefit_type",
    "monthly_amount",
    "start_month",
    "end_month",
    "status",
    "origin",
    "batch",
    "is_current",
    "township",
)
REHAB_FIELDS = ("person", "service_type", "provider", "served_on", "note")
# The benefits whose receipt the cross-check reads from the civil-affairs roster.
CIVIL_BENEFITS = [
    BenefitType.DIBAO,
    BenefitType.LIVING_SUBSIDY,
    BenefitType.CARE_SUBSIDY,
    BenefitType.TEKUN,
]
HELPER_UNITS = ["县残联", "县乡村振兴局", "县民政局", "县卫健委", "县教育局", "镇政府", "村委会"]
MEASURE_BY_RISK = {
    "因残": (AssistanceMeasure.Kind.HEALTH, "康复服务与辅具适配", "乡镇卫生院"),
    "因病": (AssistanceMeasure.Kind.HEALTH, "医疗救助与家庭医生签约", "县卫健委"),
    "因学": (AssistanceMeasure.Kind.EDUCATION, "教育资助", "县教育局"),
    "因灾": (AssistanceMeasure.Kind.HOUSING, "危房改造", "县住建局"),
    "因意外事故": (AssistanceMeasure.Kind.TEMPORARY_RELIEF, "临时救助", "县民政局"),
    "因务工就业不稳": (AssistanceMeasure.Kind.EMPLOYMENT, "公益性岗位安置", "县人社局"),
    "缺劳动力": (AssistanceMeasure.Kind.SAFETY_NET, "纳入低保", "县民政局"),
    "其他": (AssistanceMeasure.Kind.INDUSTRY, "产业奖补", "镇政府"),
}
ROSTER_TYPE = ROSTER_HOUSEHOLD_FIELDS.index("household_type")
ROSTER_IDENTIFIED = ROSTER_HOUSEHOLD_FIELDS.index("identified_on")
ROSTER_RISKS = ROSTER_HOUSEHOLD_FIELDS.index("risk_types")
ROSTER_MEMBER_FIELDS = (
    "household",
    "person",
    "name",
    "relation",
    "is_disabled",
    "disability_category",
    "disability_grade",
    "status",
    "is_current",
    "batch",
)


def _ensure_villages(builder: _Builder) -> tuple[list[Village], int]:
    """5–25 villages per township; existing villages of the same name are reused."""
    townships = list(Township.objects.order_by("code"))
    existing = {(v.township_id, v.name) for v in Village.objects.all()}
    wanted: list[tuple[Township, str, str]] = []
    for township in townships:
        count = builder.rng.randint(5, 25)
        for index, name in enumerate(builder.village_names(township, count), start=1):
            wanted.append((township, name, f"{township.code}{index:03d}"))
    new = [
        Village(township=township, name=name, code=code)
        for township, name, code in wanted
        if (township.pk, name) not in existing
    ]
    Village.objects.bulk_create(new, batch_size=500)
    by_key = {(v.township_id, v.name): v for v in Village.objects.select_related("township")}
    return [by_key[(township.pk, name)] for township, name, _ in wanted], len(new)


def _add_person(builder: _Builder, tables: _Tables, member: _Member, village: Village):
    rng = builder.rng
    born = builder.birth_date(member.age)
    member.id_number = builder.id_number(born, member.male)
    member.name = member.surname + builder.given_name(member.male)
    phone = ""
    if member.age >= 18 and rng.random() < 0.4:
        phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    member.person_id = tables.persons.add(
        member.id_number,
        member.name,
        "M" if member.male else "F",
        born,
        village.township_id,
        village.pk,
        phone,
    )


def _plan_registry(builder: _Builder, households: list[_Household], tables: _Tables):
    rng = builder.rng
    for household in households:
        village = household.village
        for member in household.members:
            _add_person(builder, tables, member, village)
            if not member.certified:
                continue
            category = _weighted(rng, CATEGORY_CHILD if member.age < 18 else CATEGORY_ADULT)
            grade = _weighted(rng, GRADE_SEVERE if category in (5, 6, 7) else GRADE_WEIGHTS)
            roll = rng.random()
            reissue = 1 if roll < 0.05 else 2 if roll < 0.06 else None
            number = f"{member.id_number}{category}{grade}" + (f"B{reissue}" if reissue else "")
            member.category, member.grade = category, grade
            tables.certificates.add(member.person_id, number, category, grade, reissue)
        head = household.members[0]
        household.pk = tables.households.add(
            head.id_number,
            head.name,
            head.person_id,
            village.township_id,
            village.pk,
            len(household.members),
        )
        for member in household.members:
            tables.members.add(household.pk, member.person_id, member.relation)


def _batches(seed: int, persons: int, now: datetime, sources: list[Source]) -> dict:
    batches = {}
    for source in sources:
        description = f"seed_demo {source} seed={seed} persons={persons} at={now.isoformat()}"
        batch = ImportBatch(
            source=source,
            status=ImportBatch.Status.DONE,
            original_name=DEMO_FILE_NAME,
            sha256=hashlib.sha256(description.encode()).hexdigest(),
            started_at=now,
            finished_at=now,
            progress=100,
            message="由 seed_demo 生成的演示数据，没有原始文件",
        )
        placeholder = (
            f"演示数据（seed_demo）：{Source(source).label}，随机种子{seed}，持证残疾人{persons}人。"
            "此批次由程序生成，没有原始文件。\n"
        )
        batch.file.save(f"seed_demo_{source}.txt", ContentFile(placeholder.encode()), save=False)
        batch.save()
        batches[source] = batch
    return batches


def _finish_batches(batches: dict, summary: DemoSummary):
    townships = list(Township.objects.all())
    counts = {
        Source.SURVEY: summary.survey_records,
        Source.ROSTER: summary.roster_members,
        Source.CIVIL: summary.benefit_records,
    }
    history = []
    for source, batch in batches.items():
        batch.rows = batch.created = counts[source]
        batch.save(update_fields=["rows", "created", "updated_at"])
        batch.townships.set(townships)
        history.append(
            change_row(
                batch,
                ChangeRecord.Action.CREATE,
                {"rows": [None, batch.rows]},
                reason="演示数据",
                source=DEMO_SOURCE,
            )
        )
    ChangeRecord.objects.bulk_create(history)


def _tri(rng: random.Random, yes: float, no: float) -> bool | None:
    roll = rng.random()
    return True if roll < yes else False if roll < yes + no else None


EMPLOYMENT_WORKING_AGE = list(EmploymentStatus)
EMPLOYMENT_ELDERLY = [
    EmploymentStatus.NO_LABOUR_ABILITY,
    EmploymentStatus.FARMING,
    EmploymentStatus.UNEMPLOYED,
]


def _survey_row(builder: _Builder, member: _Member, household: _Household, batch_id: int):
    """One survey row (in SURVEY_FIELDS order) with realistic answers."""
    rng = builder.rng
    category, grade, age = member.category, member.grade, member.age
    income = household.income
    size = len(household.members)
    dibao = rng.random() < (0.45 if income is not None and income < 7000 else 0.12)
    severe = grade <= 2
    willing = None
    if age < 16:
        employment = ""
    elif age >= 60:
        employment = rng.choices(EMPLOYMENT_ELDERLY, weights=[60, 25, 15])[0]
    else:
        weights = [2, 1, 4, 4, 2, 15, 25, 22, 45 if severe else 25]
        employment = rng.choices(EMPLOYMENT_WORKING_AGE, weights=weights)[0]
        if employment == EmploymentStatus.UNEMPLOYED:
            willing = rng.random() < 0.4
    if 6 <= age <= 15:
        in_school = TriState.YES if rng.random() < 0.93 else TriState.NO
    elif 16 <= age <= 17:
        in_school = TriState.YES if rng.random() < 0.7 else TriState.NO
    elif age < 6:
        in_school = TriState.NOT_APPLICABLE if age < 3 or rng.random() < 0.5 else TriState.YES
    else:
        in_school = TriState.NOT_APPLICABLE
    needs = []
    if rng.random() < 0.45:
        options = REHAB_NEEDS[category]
        needs = rng.sample(options, rng.randint(1, min(2, len(options))))
    roll = rng.random()
    if roll < 0.55:
        rigid = Decimal(0)
    elif roll < 0.96:
        rigid = _money(rng.uniform(500, 19999))
    else:
        rigid = _money(rng.uniform(20000, 80000))
    return (
        member.person_id,
        batch_id,
        household.pk,
        member.relation,
        size if rng.random() < 0.97 else None,
        income,
        dibao,
        age >= 60 and size == 1 and rng.random() < 0.3,
        rng.random() < (0.9 if dibao else 0.02),
        severe and rng.random() < 0.9,
        rng.random() < 0.985,
        (rng.random() < 0.93) if 16 <= age <= 59 else None,
        _tri(rng, 0.965, 0.025),
        _tri(rng, 0.975, 0.015),
        employment,
        willing,
        in_school,
        needs,
        (rng.random() < 0.8) if needs else None,
        severe and category in (1, 4, 7) and rng.random() < 0.2,
        (grade == 1 or category in (5, 6)) and rng.random() < 0.12,
        rng.random() < 0.75,
        rigid,
        SurvivalStatus.DECEASED if rng.random() < 0.007 else SurvivalStatus.ALIVE,
        builder.as_of - timedelta(days=rng.randint(10, 300)),
    )


def _plan_survey(builder: _Builder, households: list[_Household], batch, tables: _Tables):
    rng = builder.rng
    for household in households:
        # Income per person: most households above the 7,000 line, a tail below it.
        if rng.random() < 0.03:
            household.income = None
        else:
            household.income = _money(max(1800.0, rng.lognormvariate(math.log(11000), 0.42)))
        for member in household.members:
            if member.certified:
                row = _survey_row(builder, member, household, batch.pk)
                tables.survey.add(*row)
                member.rehab_needs = row[NEEDS_COLUMN]
                if 6 <= member.age <= 15 and row[IN_SCHOOL] == TriState.NO:
                    _maybe_education_plan(builder, member, row[SURVEYED_ON], tables)


IN_SCHOOL = SURVEY_FIELDS.index("in_school")
SURVEYED_ON = SURVEY_FIELDS.index("surveyed_on")
NEEDS_COLUMN = SURVEY_FIELDS.index("rehab_needs")


def _maybe_education_plan(builder: _Builder, member: _Member, surveyed_on: date, tables):
    """Most school-age children out of school already have a plan (一人一案); some do not."""
    rng = builder.rng
    if rng.random() >= 0.6:
        return
    placement = rng.choices(list(EducationPlan.Placement), weights=[10, 25, 50, 15])[0]
    school, reason = "", ""
    if placement == EducationPlan.Placement.NOT_ENROLLED:
        reason = rng.choice(["病情较重，暂缓入学", "家长暂不同意", "正在康复治疗"])
    elif placement == EducationPlan.Placement.SPECIAL_SCHOOL:
        school = "霍邱县特殊教育学校"
    else:
        school = f"霍邱县第{rng.randint(1, 9)}小学"
    verified = min(surveyed_on + timedelta(days=rng.randint(5, 60)), builder.as_of)
    tables.education_plans.add(member.person_id, placement, school, reason, verified)


def _plan_help(builder: _Builder, household: _Household, row: tuple, tables):
    """Pairing and assistance for most monitored households (rules P01 and Q01 see the rest)."""
    rng = builder.rng
    if row[ROSTER_TYPE] != HouseholdType.MONITORED:
        return
    identified = row[ROSTER_IDENTIFIED]
    if rng.random() < 0.85:
        started = identified + timedelta(days=rng.randint(3, 40))
        if started <= builder.as_of:
            male = rng.random() < 0.6
            tables.pairings.add(
                household.pk,
                builder.surname() + builder.given_name(male),
                rng.choice(HELPER_UNITS),
                f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                started,
                None,
                Pairing.HelperKind.PARTY_MEMBER if rng.random() < 0.6 else Pairing.HelperKind.CADRE,
                "",
            )
    if rng.random() < 0.8:
        started = identified + timedelta(days=rng.randint(5, 60))
        if started <= builder.as_of:
            risk = (row[ROSTER_RISKS] or ["其他"])[0]
            kind, description, unit = MEASURE_BY_RISK.get(risk, MEASURE_BY_RISK["其他"])
            tables.measures.add(household.pk, kind, description, unit, started, None, "")


def _roster_household_row(builder: _Builder, number: str, village, head_name, income, batch_id):
    """One roster household row (ROSTER_HOUSEHOLD_FIELDS order); 30% are 监测户."""
    rng = builder.rng
    monitored = rng.random() < 0.3
    category, risks, identified, cleared, cleared_on, method = "", [], None, None, None, ""
    if monitored:
        category = rng.choices(list(MonitoringCategory), weights=[40, 45, 15])[0]
        drawn = {rng.choices(RISK_TYPES, weights=RISK_WEIGHTS)[0] for _ in range(rng.randint(1, 2))}
        risks = sorted(drawn, key=RISK_TYPES.index)
        first = date(2021, 3, 1)
        span = max((builder.as_of - first).days - 20, 1)
        identified = first + timedelta(days=rng.randint(0, span))
        cleared = False
        if rng.random() < 0.4:
            quick = rng.random() < 0.15  # a few cleared within 6 months (rule Q02)
            day = identified + timedelta(
                days=rng.randint(60, 170) if quick else rng.randint(190, 600)
            )
            if day <= builder.as_of:
                cleared, cleared_on = True, day
                method = (
                    RiskClearMethod.ASSISTANCE if rng.random() < 0.8 else RiskClearMethod.NATURAL
                )
    parts = [None, None, None, None]
    if income is not None and rng.random() < 0.6:
        total = float(income) * rng.uniform(2.0, 4.0)
        shares = [rng.uniform(0.2, 1.0) for _ in range(4)]
        shares[2] *= 0.2  # little property income
        parts = [_money(total * share / sum(shares)) for share in shares]
    roster_income = None if income is None else _money(float(income) * rng.uniform(0.9, 1.12))
    return (
        number,
        village.township_id,
        village.pk,
        head_name,
        HouseholdType.MONITORED if monitored else HouseholdType.LEFT_POVERTY,
        category,
        risks,
        roster_income,
        identified,
        cleared,
        cleared_on,
        method,
        *parts,
        True,
        batch_id,
    )


def _plan_roster(
    builder: _Builder,
    households: list[_Household],
    villages: list[Village],
    batch: ImportBatch,
    tables: _Tables,
    options: CountyOptions,
) -> tuple[int, int]:
    """Part of the survey households, plus roster-only households not in the survey.

    Returns the numbers of roster-only and of monitored (监测户) roster households.
    """
    rng = builder.rng
    per_village: dict[int, int] = {}
    taken_numbers = set(RosterHousehold.objects.values_list("household_number", flat=True))

    def next_number(village: Village) -> str:
        while True:
            per_village[village.pk] = per_village.get(village.pk, 0) + 1
            number = f"{village.code or village.pk}{per_village[village.pk]:05d}"
            if number not in taken_numbers:
                taken_numbers.add(number)
                return number

    pairs: list[tuple[int, _Member]] = []
    covered = monitored = 0
    for household in households:
        low = household.income is not None and household.income < 7000
        if rng.random() >= (options.roster_share_low_income if low else options.roster_share):
            continue
        village = household.village
        if rng.random() < 0.003:  # the station files a few households elsewhere (rule D02)
            village = rng.choice(villages)
        row = _roster_household_row(
            builder,
            next_number(village),
            village,
            household.members[0].name,
            household.income,
            batch.pk,
        )
        roster_pk = tables.roster_households.add(*row)
        pairs += [(roster_pk, member) for member in household.members]
        covered += 1
        monitored += row[ROSTER_TYPE] == HouseholdType.MONITORED
        _plan_help(builder, household, row, tables)

    roster_only = max(1, int(covered * options.roster_only_ratio))
    for _ in range(roster_only):
        village = rng.choice(villages)
        family = builder.family(_weighted(rng, HOUSEHOLD_SIZES), rng.randint(25, 85))
        family_name = builder.surname()
        for member in family:
            member.certified = False  # roster-only households hold no certified person
            keeps_name = member.relation not in ("配偶", "母亲")
            member.surname = family_name if keeps_name else builder.surname()
            _add_person(builder, tables, member, village)
        income = _money(max(2500.0, rng.lognormvariate(math.log(9500), 0.4)))
        row = _roster_household_row(
            builder, next_number(village), village, family[0].name, income, batch.pk
        )
        roster_pk = tables.roster_households.add(*row)
        pairs += [(roster_pk, member) for member in family]
        monitored += row[ROSTER_TYPE] == HouseholdType.MONITORED

    for roster_pk, member in pairs:
        name = member.name
        if member.certified:
            disabled, category, grade = True, member.category, member.grade
            if rng.random() < 0.02:  # the station recorded another grade (rule D03)
                grade = grade % 4 + 1
            if rng.random() < 0.01:  # a mistyped name (rule D01)
                name = name[:-1] + builder.given_name(member.male)[-1]
        elif rng.random() < 0.04:  # disabled by the station's account, not certified (D05)
            disabled = True
            category = _weighted(rng, CATEGORY_ADULT)
            grade = _weighted(rng, GRADE_WEIGHTS)
        else:
            disabled, category, grade = (False if rng.random() < 0.9 else None), None, None
        tables.roster_members.add(
            roster_pk,
            member.person_id,
            name,
            member.relation,
            disabled,
            category,
            grade,
            SurvivalStatus.ALIVE,
            True,
            batch.pk,
        )
    return roster_only, monitored


def _plan_services(
    builder: _Builder,
    households: list[_Household],
    civil_batch: ImportBatch | None,
    tables: _Tables,
    options: CountyOptions,
) -> None:
    """The civil-affairs benefit roster and this year's rehabilitation services, if asked for.

    Drawn independently of the survey answers, so that rules comparing them (receipt
    per the civil roster, rehabilitation needs without service) fire somewhere.
    """
    rng = builder.rng
    as_of = builder.as_of
    year_start = date(as_of.year, 1, 1)
    for household in households:
        for member in household.members:
            if not member.certified:
                continue
            if tables.benefits is not None and rng.random() < options.civil_roster_share:
                for benefit in rng.sample(CIVIL_BENEFITS, 2):
                    started = _years_before(as_of, rng.randint(1, 5)).replace(day=1)
                    active = rng.random() < 0.9
                    tables.benefits.add(
                        member.person_id,
                        benefit,
                        Decimal("90.00"),  # no rule reads the amount
                        started,
                        None,
                        BenefitRecord.Status.ACTIVE if active else BenefitRecord.Status.STOPPED,
                        BenefitRecord.Origin.CIVIL,
                        civil_batch.pk,
                        True,
                        household.village.township_id,
                    )
            if (
                tables.rehab_services is not None
                and member.rehab_needs
                and rng.random() < options.rehab_service_share
            ):
                served = year_start + timedelta(days=rng.randint(0, (as_of - year_start).days))
                tables.rehab_services.add(
                    member.person_id, member.rehab_needs[0], "乡镇卫生院", served, ""
                )


def _summarise(summary: DemoSummary, tables: _Tables) -> None:
    summary.certified = tables.certificates.count
    summary.persons = tables.persons.count
    summary.households = tables.households.count
    summary.household_members = tables.members.count
    summary.survey_records = tables.survey.count
    summary.roster_households = tables.roster_households.count
    summary.roster_households_left_poverty = (
        summary.roster_households - summary.roster_households_monitored
    )
    summary.roster_members = tables.roster_members.count
    summary.pairings = tables.pairings.count
    summary.assistance_measures = tables.measures.count
    summary.education_plans = tables.education_plans.count
    summary.benefit_records = tables.benefits.count if tables.benefits else 0
    summary.rehab_services = tables.rehab_services.count if tables.rehab_services else 0
    summary.rows = {table.model._meta.label: table.count for table in tables.in_order()}


def _ensure_users(password: str, villages: list[Village]) -> list[tuple[str, str, str]]:
    """The five demo logins; existing users of those names are updated, not duplicated."""
    User = get_user_model()
    first_chengguan = next(v for v in villages if v.township.name == "城关镇")
    townships = {t.name: t for t in Township.objects.filter(name__in=["城关镇", "河口镇"])}
    users = []
    for username, role, township_name, description in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        village = first_chengguan if role == Role.VILLAGE_MEMBER else None
        township = townships.get(township_name) if role == Role.TOWNSHIP_STAFF else None
        staff_profile_set(
            user,
            role=role,
            township=township,
            village=village,
            reason="演示账号",
            source=DEMO_SOURCE,
        )
        scope = "全县" if township_name is None else str(village or township)
        users.append((username, description, scope))
    return users
