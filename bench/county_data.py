"""A fast synthetic county for the cross-check benchmark (COPY on PostgreSQL).

`build(persons)` writes `persons` certified persons with survey answers, about
2.5 × persons roster members (in households of about three, 30 % of them 监测户),
a civil-affairs benefit roster for a third of the persons, and task-area records
(education plans, rehabilitation services, pairings, assistance measures) at rates
that make every rule fire somewhere. Rows get explicit ids (after the current
maximum) and go in with COPY (PostgreSQL) or executemany (SQLite); sequences are
reset afterwards. Deterministic for a given seed.
"""

import io
import json
import random
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from cases.identity import check_character
from cases.models import (
    AssistanceMeasure,
    Certificate,
    EducationPlan,
    Household,
    Pairing,
    Person,
    RehabService,
    Township,
    Village,
)
from monitoring.models import ImportBatch, RosterHousehold, RosterMember, SurveyRecord
from subsidies.models import BenefitRecord

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉春国建文志红金凤梅云兵"
EMPLOYMENT = [
    ("farming", 30),
    ("unemployed", 25),
    ("no_ability", 20),
    ("flexible", 10),
    ("self", 5),
    ("welfare_post", 4),
    ("quota", 2),
    ("concentrated", 2),
    ("supported", 1),
    ("", 1),
]
NEEDS = ["康复训练", "辅助器具", "药物", "手术", "护理"]


class Writer:
    """Bulk rows into one table: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, model, fields: list[str]):
        self.model = model
        self.fields = fields
        self.columns = [model._meta.get_field(name).column for name in fields]
        self.rows: list[tuple] = []
        self.count = 0

    def add(self, *values):
        self.rows.append(values)
        if len(self.rows) >= 20000:
            self.flush()

    def flush(self):
        if not self.rows:
            return
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                buffer = io.StringIO(
                    "".join("\t".join(map(_text, row)) + "\n" for row in self.rows)
                )
                cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608
                    [tuple(_sqlite(v) for v in row) for row in self.rows],
                )
        self.count += len(self.rows)
        self.rows = []


def _text(value) -> str:
    """COPY text format (the generated values hold no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _sqlite(value):
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def _next_id(model) -> int:
    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


class IdNumbers:
    """Unique valid ID numbers: a per-birth-date sequence, spilling into other area codes."""

    def __init__(self):
        self.used: dict[date, int] = {}

    def __call__(self, birth: date) -> str:
        n = self.used.get(birth, 0)
        self.used[birth] = n + 1
        area = 341522 + 100 * (n // 1000)
        first17 = f"{area}{birth:%Y%m%d}{n % 1000:03d}"
        return first17 + check_character(first17)


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _maybe(rng: random.Random, yes=0.85, no=0.08):
    """True / False / None (unknown) with the given rates."""
    roll = rng.random()
    return True if roll < yes else False if roll < yes + no else None


@transaction.atomic  # foreign keys are checked at commit: tables fill in any order
def build(persons: int, seed: int = 2026, as_of: date = date(2026, 6, 30)) -> dict:
    """Write the synthetic county into an empty registry; returns the row counts."""
    rng = random.Random(seed)
    now = timezone.now()
    townships = list(Township.objects.order_by("code").values_list("id", flat=True))
    villages = {}
    for township_id in townships:
        for k in range(1, 11):
            village, _ = Village.objects.get_or_create(township_id=township_id, name=f"第{k}村")
            villages.setdefault(township_id, []).append(village.pk)
    batches = {
        source: ImportBatch.objects.create(
            source=source,
            status="done",
            original_name=f"bench-{source}.xlsx",
            file=f"imports/bench-{source}.xlsx",
            sha256=f"{seed:064d}"[-64:],
        ).pk
        for source in ("survey", "roster", "civil")
    }
    stamp = (now, now)

    person_w = Writer(
        Person,
        [
            "id",
            "created_at",
            "updated_at",
            "id_number",
            "name",
            "gender",
            "birth_date",
            "township",
            "village",
            "phone",
        ],
    )
    cert_w = Writer(
        Certificate,
        ["id", "created_at", "updated_at", "person", "number", "category", "grade", "reissue"],
    )
    household_w = Writer(
        Household,
        [
            "id",
            "created_at",
            "updated_at",
            "head_id_number",
            "head_name",
            "head",
            "township",
            "village",
            "size",
        ],
    )
    survey_fields = [
        "id",
        "created_at",
        "updated_at",
        "person",
        "batch",
        "household",
        "relation",
        "household_size",
        "income_per_capita",
        "receives_dibao",
        "receives_tekun",
        "receives_living_subsidy",
        "receives_care_subsidy",
        "medical_insured",
        "pension_insured",
        "housing_safe",
        "water_safe",
        "employment_status",
        "employment_willing",
        "in_school",
        "rehab_needs",
        "rehab_received",
        "accessibility_need",
        "care_need",
        "family_doctor",
        "rigid_expenditure",
        "survival_status",
        "surveyed_on",
    ]
    survey_w = Writer(SurveyRecord, survey_fields)
    benefit_w = Writer(
        BenefitRecord,
        [
            "id",
            "created_at",
            "updated_at",
            "person",
            "benefit_type",
            "monthly_amount",
            "start_month",
            "end_month",
            "status",
            "origin",
            "batch",
            "is_current",
            *(["township"] if _has_field(BenefitRecord, "township") else []),
        ],
    )
    plan_w = Writer(
        EducationPlan,
        [
            "id",
            "created_at",
            "updated_at",
            "person",
            "placement",
            "school",
            "not_enrolled_reason",
            "verified_on",
        ],
    )
    rehab_w = Writer(
        RehabService,
        [
            "id",
            "created_at",
            "updated_at",
            "person",
            "service_type",
            "provider",
            "served_on",
            *(["note"] if _has_field(RehabService, "note") else []),
        ],
    )

    next_person = _next_id(Person)
    ids = {
        "cert": _next_id(Certificate),
        "household": _next_id(Household),
        "survey": _next_id(SurveyRecord),
        "benefit": _next_id(BenefitRecord),
        "plan": _next_id(EducationPlan),
        "rehab": _next_id(RehabService),
    }
    new_id = IdNumbers()
    certified = []  # (person_id, township_id, village_id, household_id, name, cat, grade)
    for _ in range(persons):
        township_id = rng.choice(townships)
        village_id = rng.choice(villages[township_id])
        age = min(95, int(rng.triangular(0, 95, 60)))
        birth = date(as_of.year - age, rng.randint(1, 12), rng.randint(1, 28))
        id_number = new_id(birth)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        person_id = next_person
        next_person += 1
        gender = "M" if int(id_number[16]) % 2 else "F"
        person_w.add(person_id, *stamp, id_number, name, gender, birth, township_id, village_id, "")
        category = rng.randint(1, 7)
        grade = _pick(rng, [(1, 15), (2, 20), (3, 30), (4, 35)])
        cert_w.add(
            ids["cert"], *stamp, person_id, f"{id_number}{category}{grade}", category, grade, None
        )
        ids["cert"] += 1
        household_id = ids["household"]
        ids["household"] += 1
        household_w.add(
            household_id, *stamp, id_number, name, person_id, township_id, village_id, 3
        )
        income = Decimal(int(rng.lognormvariate(9.7, 0.6)))
        school_age = 6 <= age <= 15
        in_school = _pick(rng, [("yes", 90), ("no", 5), ("", 5)]) if school_age else "na"
        needs = rng.sample(NEEDS, rng.randint(1, 2)) if rng.random() < 0.4 else []
        dead = rng.random() < 0.01
        survey_w.add(
            ids["survey"],
            *stamp,
            person_id,
            batches["survey"],
            household_id,
            "户主",
            3,
            income,
            _maybe(rng, 0.2, 0.75),
            _maybe(rng, 0.03, 0.92),
            _maybe(rng, 0.2, 0.75),
            _maybe(rng, 0.3, 0.65),
            _maybe(rng, 0.95, 0.03),
            _maybe(rng, 0.8, 0.15),
            _maybe(rng, 0.93, 0.04),
            _maybe(rng, 0.95, 0.03),
            _pick(rng, EMPLOYMENT) if age >= 16 else "",
            _maybe(rng, 0.3, 0.6),
            in_school,
            json.dumps(needs, ensure_ascii=False),
            _maybe(rng, 0.7, 0.25) if needs else None,
            _maybe(rng, 0.1, 0.8),
            _maybe(rng, 0.05, 0.9),
            _maybe(rng, 0.6, 0.35),
            Decimal(rng.choice([0, 0, 0, 1500, 5000, 12000, 25000, 60000])),
            "deceased" if dead else "alive",
            as_of - timedelta(days=rng.randint(30, 400)),
        )
        ids["survey"] += 1
        certified.append((person_id, township_id, village_id, household_id, name, category, grade))
        if rng.random() < 0.33:  # on the civil-affairs roster
            for benefit in rng.sample(["dibao", "living_subsidy", "care_subsidy", "tekun"], 2):
                benefit_w.add(
                    ids["benefit"],
                    *stamp,
                    person_id,
                    benefit,
                    Decimal("90.00"),
                    date(2024, 1, 1),
                    None,
                    "active" if rng.random() < 0.9 else "stopped",
                    "civil",
                    batches["civil"],
                    True,
                    *([township_id] if _has_field(BenefitRecord, "township") else []),
                )
                ids["benefit"] += 1
        if school_age and in_school == "no" and rng.random() < 0.5:
            plan_w.add(ids["plan"], *stamp, person_id, "home_teaching", "", "", date(2026, 3, 1))
            ids["plan"] += 1
        if needs and rng.random() < 0.3:
            rehab_w.add(
                ids["rehab"],
                *stamp,
                person_id,
                needs[0],
                "镇卫生院",
                date(2026, rng.randint(1, 6), 1),
                *([""] if _has_field(RehabService, "note") else []),
            )
            ids["rehab"] += 1

    # --- the poverty-monitoring roster ---
    roster_hh_w = Writer(
        RosterHousehold,
        [
            "id",
            "created_at",
            "updated_at",
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
            "is_current",
            "batch",
        ],
    )
    member_w = Writer(
        RosterMember,
        [
            "id",
            "created_at",
            "updated_at",
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
        ],
    )
    pairing_w = Writer(
        Pairing,
        [
            "id",
            "created_at",
            "updated_at",
            "household",
            "helper_name",
            "helper_unit",
            "helper_phone",
            "started_on",
            "ended_on",
            *[f for f in ("helper_kind", "end_reason") if _has_field(Pairing, f)],
        ],
    )
    measure_w = Writer(
        AssistanceMeasure,
        [
            "id",
            "created_at",
            "updated_at",
            "household",
            "kind",
            "description",
            "responsible_unit",
            "started_on",
            "ended_on",
            "result",
        ],
    )
    roster_ids = {
        "household": _next_id(RosterHousehold),
        "member": _next_id(RosterMember),
        "pairing": _next_id(Pairing),
        "measure": _next_id(AssistanceMeasure),
    }
    in_roster = [c for c in certified if rng.random() < 0.4]
    target_members = int(persons * 2.5)
    others_needed = max(0, target_members - len(in_roster))
    household_count = max(1, target_members // 3)
    slots: list[list] = [[] for _ in range(household_count)]
    for c in in_roster:
        slots[rng.randrange(household_count)].append(c)
    for index in range(others_needed):
        slots[index % household_count].append(None)
    for members in slots:
        if not members:
            continue
        anchor = next((m for m in members if m), None)
        township_id = anchor[1] if anchor else rng.choice(townships)
        if anchor and rng.random() < 0.003:
            township_id = rng.choice(townships)  # D02: recorded in another township
        village_id = (
            anchor[2] if anchor and township_id == anchor[1] else rng.choice(villages[township_id])
        )
        household_type = "monitored" if rng.random() < 0.3 else "left_poverty"
        monitored = household_type == "monitored"
        identified = date(rng.randint(2021, 2026), rng.randint(1, 6), rng.randint(1, 28))
        cleared = _maybe(rng, 0.35, 0.6) if monitored else None
        cleared_on = identified + timedelta(days=rng.randint(60, 720)) if cleared else None
        head_name = anchor[4] if anchor else rng.choice(SURNAMES) + rng.choice(GIVEN)
        hh_id = roster_ids["household"]
        roster_ids["household"] += 1
        roster_hh_w.add(
            hh_id,
            *stamp,
            f"3415{hh_id:09d}",
            township_id,
            village_id,
            head_name,
            household_type,
            rng.choice(["unstable", "marginal", "sudden"]) if monitored else "",
            json.dumps(["因病"] if monitored else [], ensure_ascii=False),
            Decimal(int(rng.lognormvariate(9.8, 0.5))),
            identified if monitored else None,
            cleared,
            cleared_on,
            "assistance" if cleared else "",
            True,
            batches["roster"],
        )
        for member in members:
            status = "deceased" if rng.random() < 0.005 else "alive"
            if member:
                person_id, _, _, survey_household, name, category, grade = member
                recorded = rng.random() < 0.5
                if rng.random() < 0.02:
                    grade = 1 + grade % 4  # D03
                if rng.random() < 0.005:
                    name = name[::-1]  # D01
                member_w.add(
                    roster_ids["member"],
                    *stamp,
                    hh_id,
                    person_id,
                    name,
                    "户主",
                    True,
                    category if recorded else None,
                    grade if recorded else None,
                    status,
                    True,
                    batches["roster"],
                )
                if monitored and rng.random() < 0.8:
                    pairing_w.add(
                        roster_ids["pairing"],
                        *stamp,
                        survey_household,
                        "帮扶干部",
                        "",
                        "",
                        date(2025, 1, 1),
                        None,
                        *[""] * sum(_has_field(Pairing, f) for f in ("helper_kind", "end_reason")),
                    )
                    roster_ids["pairing"] += 1
                if monitored and rng.random() < 0.7:
                    measure_w.add(
                        roster_ids["measure"],
                        *stamp,
                        survey_household,
                        "health",
                        "",
                        "镇残联",
                        date(2025, 6, 1),
                        None,
                        "",
                    )
                    roster_ids["measure"] += 1
            else:
                age = rng.randint(0, 90)
                birth = date(as_of.year - age, rng.randint(1, 12), rng.randint(1, 28))
                id_number = new_id(birth)
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
                person_id = next_person
                next_person += 1
                gender = "M" if int(id_number[16]) % 2 else "F"
                person_w.add(
                    person_id, *stamp, id_number, name, gender, birth, township_id, village_id, ""
                )
                member_w.add(
                    roster_ids["member"],
                    *stamp,
                    hh_id,
                    person_id,
                    name,
                    "家庭成员",
                    rng.random() < 0.03,  # D05 leads
                    None,
                    None,
                    status,
                    True,
                    batches["roster"],
                )
            roster_ids["member"] += 1

    writers = [
        person_w,
        cert_w,
        household_w,
        survey_w,
        benefit_w,
        plan_w,
        rehab_w,
        roster_hh_w,
        member_w,
        pairing_w,
        measure_w,
    ]
    for writer in writers:
        writer.flush()
    models = [w.model for w in writers]
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), models):
            cursor.execute(statement)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {w.model._meta.label: w.count for w in writers}


def _has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except Exception:
        return False
    return True
