"""Scoped reads for the safety net: eligibility, receipt, coverage gaps, roster rows.

The population is the certified persons of the survey (`SurveyRecord`), alive (no
source says 死亡). Eligibility follows S01–S05 (docs/RULES.md) with the year's `PolicyYear`:

| benefit | eligible | receiving |
|---|---|---|
| 重度残疾人护理补贴 | grade 1–2 (+ grade 3 智力/精神 when the year turns it on) | care subsidy |
| 困难残疾人生活补贴 | receives 低保 | living subsidy |
| 城乡低保 | 18+, grade 1–2, 未就业/无劳动能力, income per person < L | 低保 or 特困 |
| 城乡居民养老保险 | grade 1–2, aged 16–59 | pension insured |
| 基本医疗保险 | everyone | medical insured |

This module is the one definition of benefit receipt and of "alive". Precedence: for
a person whose township (`Person.township`) is one the civil-affairs roster contains
(`civil_townships`: the townships of its current rows), a current 在保 civil row decides
低保, 特困 and the two subsidies (never unknown); everywhere else — and for insurance —
a current active record of any origin means receiving, else the survey answer
(`SURVEY_FLAG`; blank = unknown), exactly as when no civil roster exists. `receipt()`
turns that into two conditions on `SurveyRecord` (known receiving / known not
receiving); `civil_decides()` is the per-person switch between the two branches.

Why the cross-check cannot disagree with the coverage indicators, gap lists and rosters:
it does not evaluate receipt itself. Its loader reads the survey through
`with_receipt()`, which annotates each row with `receipt_state()` — a CASE over the
very `receipt()` conditions that `coverage_rules()` (indicators, `coverage_gaps`) and
`pension_contribution_rows` filter on — and with `alive_condition()`, the population
filter of `certified_alive()`. One expression, evaluated by the database in both
places, rather than a Python re-implementation kept in step by hand; the loader stays
one set-based query (see docs/CROSSCHECK.md, "Benefit receipt").
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from cases.casework_base import today
from cases.models import EducationPlan, Person, Township
from cases.scope import AnyUser, scope_for, scoped
from cases.selectors_casework import age_between
from monitoring.models import RosterMember, SurveyRecord
from subsidies.models import BenefitRecord, BenefitType, PolicyYear
from subsidies.policy import policy_for_year

# The benefits whose receipt the civil-affairs roster decides in the townships it contains.
CIVIL_TYPES = (
    BenefitType.DIBAO,
    BenefitType.TEKUN,
    BenefitType.LIVING_SUBSIDY,
    BenefitType.CARE_SUBSIDY,
)
# The benefits with an eligibility rule (S01–S05), in the order lists and charts show them.
COVERAGE_BENEFITS: tuple[str, ...] = (
    BenefitType.CARE_SUBSIDY,
    BenefitType.LIVING_SUBSIDY,
    BenefitType.DIBAO,
    BenefitType.PENSION_INSURANCE,
    BenefitType.MEDICAL_INSURANCE,
)
# The survey answer that decides receipt when no record does (blank = unknown).
SURVEY_FLAG: dict[str, str] = {
    BenefitType.DIBAO: "receives_dibao",
    BenefitType.TEKUN: "receives_tekun",
    BenefitType.LIVING_SUBSIDY: "receives_living_subsidy",
    BenefitType.CARE_SUBSIDY: "receives_care_subsidy",
    BenefitType.MEDICAL_INSURANCE: "medical_insured",
    BenefitType.PENSION_INSURANCE: "pension_insured",
}
# A survey person's facts as lookups from SurveyRecord.
GRADE = "person__certificate__grade"
CATEGORY = "person__certificate__category"
BIRTH = "person__birth_date"


CivilTownships = frozenset[int]  # ids of the townships the civil-affairs roster decides in
# Or those ids as a subquery (`civil_townships_query`): for a page that reads one person's
# receipt within a statement it runs anyway, instead of one more query for the set.
Civil = CivilTownships | QuerySet


def civil_townships() -> CivilTownships:
    """The townships the civil-affairs roster contains: those of its current rows.

    A civil file is a snapshot of the townships in its 乡镇 column (the import writer
    replaces a township's rows when a later file lists it and leaves the others alone),
    so this set grows township by township and the roster speaks only for those. One
    small query, read once per run or page and passed down, so the per-person condition
    stays a plain `IN` on the township column (docs/CROSSCHECK.md, "Benefit receipt").
    """
    return frozenset(civil_townships_query())


def civil_townships_query() -> QuerySet:
    """`civil_townships` unevaluated: the ids as a subquery (never NULL, so `IN` over it is
    true or false, never unknown, and an empty roster decides for no one)."""
    return (
        BenefitRecord.objects.filter(
            origin=BenefitRecord.Origin.CIVIL, is_current=True, township_id__isnull=False
        )
        .order_by()
        .values_list("township_id", flat=True)
        .distinct()
    )


def civil_decides(civil: Civil) -> Q:
    """Condition on a model with a `person` (SurveyRecord, BenefitRecord): the civil roster
    decides this person's 低保, 特困 and subsidies, because they live in one of its townships.

    The person's own township counts, not the township a civil row lists them under: a
    roster for township A that names a resident of B speaks for A's payments only, so B's
    survey answers stand for that person (their 在保 row there still counts as receiving,
    as any current active record does). Never NULL (a person without a township is not
    decided by the roster), so negating it is safe inside the receipt conditions.
    """
    if isinstance(civil, QuerySet):
        return Q(person__township_id__isnull=False) & Q(person__township_id__in=civil)
    if not civil:
        return Q(pk__isnull=True)  # false for every row, and no empty `IN ()`
    return Q(person__township_id__isnull=False) & Q(person__township_id__in=sorted(civil))


def civil_township_names(civil: CivilTownships) -> list[str]:
    """The names of those townships in the county's order, for page notes."""
    return list(
        Township.objects.filter(pk__in=civil).order_by("code").values_list("name", flat=True)
    )


def _record_exists(benefit_type: str, *, civil_only: bool) -> Exists:
    rows = BenefitRecord.objects.filter(
        person=OuterRef("person"),
        benefit_type=benefit_type,
        status=BenefitRecord.Status.ACTIVE,
        is_current=True,
    )
    if civil_only:
        rows = rows.filter(origin=BenefitRecord.Origin.CIVIL)
    return Exists(rows)


@dataclass(frozen=True)
class Receipt:
    """Conditions on SurveyRecord: known receiving, known not receiving (else unknown)."""

    yes: Q
    no: Q


def _survey_receipt(benefit_type: str) -> Receipt:
    """Any current active record, else the survey flag (NULL matches neither condition,
    so a blank answer stays unknown)."""
    has = Q(_record_exists(benefit_type, civil_only=False))
    flag = SURVEY_FLAG.get(benefit_type)
    if flag is None:
        return Receipt(yes=has, no=~has)
    return Receipt(yes=has | Q(**{flag: True}), no=~has & Q(**{flag: False}))


def receipt(benefit_type: str, civil: Civil) -> Receipt:
    """The precedence rule as conditions: in the civil roster's townships it decides the
    types it covers (a current 在保 civil row, else known "no"); elsewhere, and for the
    other types, `_survey_receipt`. With no civil township the conditions are exactly
    those of a county without a civil roster (a subquery is not tested for emptiness,
    which would cost the query it saves: an empty one makes `civil_decides` false for
    everyone, which gives the same conditions)."""
    survey = _survey_receipt(benefit_type)
    if benefit_type not in CIVIL_TYPES or (not isinstance(civil, QuerySet) and not civil):
        return survey
    decides = civil_decides(civil)
    has = Q(_record_exists(benefit_type, civil_only=True))
    return Receipt(
        yes=(decides & has) | (~decides & survey.yes),
        no=(decides & ~has) | (~decides & survey.no),
    )


def alive_condition() -> Q:
    """No source says 死亡: the survey, and the person's current roster membership."""
    dead_in_roster = RosterMember.objects.filter(
        person=OuterRef("person"), is_current=True, status="deceased"
    )
    return ~Q(survival_status="deceased") & ~Q(Exists(dead_in_roster))


# The benefits a survey row states receipt of (S01–S05 and 特困, which S03 reads).
RECEIPT_BENEFITS: tuple[str, ...] = tuple(SURVEY_FLAG)
ALIVE_FIELD: str = "eligibility_alive"  # the annotation `with_receipt` gives "alive"
# The annotation `with_receipt` gives "the civil roster decides this person's receipt".
CIVIL_FIELD: str = "eligibility_civil"


def receipt_field(benefit_type: str) -> str:
    """The name of the annotation `with_receipt` gives a benefit's receipt state."""
    return f"receipt_{benefit_type}"


def receipt_state(benefit_type: str, civil: CivilTownships) -> Case:
    """True (known receiving), False (known not receiving) or None (unknown).

    A CASE over exactly the conditions `coverage_rules` filters on: a WHEN branch is
    taken iff its condition is TRUE, as a WHERE row is kept iff it is TRUE, and `yes`
    and `no` exclude each other, so state True ⇔ the row is counted receiving and
    state False ⇔ it is in `coverage_gaps(include_unknown=False)`'s "not receiving".
    """
    r = receipt(benefit_type, civil)
    return Case(
        When(r.yes, then=Value(True)),
        When(r.no, then=Value(False)),
        default=Value(None),
        output_field=BooleanField(null=True),
    )


def with_receipt(records: QuerySet[SurveyRecord], civil: CivilTownships) -> QuerySet[SurveyRecord]:
    """SurveyRecords annotated, per row and in the same query, with `receipt_field(b)`
    for every benefit of RECEIPT_BENEFITS, `ALIVE_FIELD` (True iff `certified_alive`
    keeps the row) and `CIVIL_FIELD` (True iff `civil_decides`): how the cross-check's
    loader reads receipt instead of computing it.

    `civil` is the county's whole set (`civil_townships()`), also when `records` is one
    township's share: a partition then computes what the single pass computes for it."""
    states = {receipt_field(b): receipt_state(b, civil) for b in RECEIPT_BENEFITS}
    alive = Case(
        When(alive_condition(), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    from_civil = Case(
        When(civil_decides(civil), then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return records.annotate(**states, **{ALIVE_FIELD: alive, CIVIL_FIELD: from_civil})


@dataclass(frozen=True)
class Rules:
    """Eligibility and receipt conditions for each benefit, for one as-of date."""

    as_of: date
    policy: PolicyYear
    civil_townships: CivilTownships
    eligible: dict = field(default_factory=dict)
    receiving: dict = field(default_factory=dict)
    not_receiving: dict = field(default_factory=dict)


def coverage_rules(as_of: date | None = None, *, civil: CivilTownships | None = None) -> Rules:
    """The eligibility (rules S01–S05, docs/RULES.md) and receipt conditions for the as-of year."""
    as_of = as_of or today()
    policy = policy_for_year(as_of.year)
    if civil is None:
        civil = civil_townships()
    r = {b: receipt(b, civil) for b in (*COVERAGE_BENEFITS, BenefitType.TEKUN)}
    severe = Q(**{f"{GRADE}__in": (1, 2)})
    care = severe
    if policy.care_subsidy_includes_grade3_mental:
        care = care | Q(**{GRADE: 3, f"{CATEGORY}__in": (5, 6)})
    dibao_yes = r[BenefitType.DIBAO].yes | r[BenefitType.TEKUN].yes
    dibao_no = r[BenefitType.DIBAO].no & r[BenefitType.TEKUN].no
    eligible = {
        BenefitType.CARE_SUBSIDY: care,
        BenefitType.LIVING_SUBSIDY: r[BenefitType.DIBAO].yes,
        BenefitType.DIBAO: severe
        & age_between(as_of, 18, 200, BIRTH)
        & Q(employment_status__in=("unemployed", "no_ability"))
        & Q(income_per_capita__lt=policy.monitoring_line),
        BenefitType.PENSION_INSURANCE: severe & age_between(as_of, 16, 59, BIRTH),
        BenefitType.MEDICAL_INSURANCE: Q(pk__isnull=False),
    }
    receiving = {b: r[b].yes for b in COVERAGE_BENEFITS}
    not_receiving = {b: r[b].no for b in COVERAGE_BENEFITS}
    receiving[BenefitType.DIBAO] = dibao_yes
    not_receiving[BenefitType.DIBAO] = dibao_no
    return Rules(as_of, policy, civil, eligible, receiving, not_receiving)


def certified_alive(user: AnyUser) -> QuerySet:
    """The user's certified (surveyed) persons that no source reports dead."""
    return scoped(user, SurveyRecord.objects.filter(alive_condition()))


# --- Coverage (应保尽保、应补尽补) ---


@dataclass
class CoverageCell:
    eligible: int = 0
    receiving: int = 0
    unknown: int = 0  # eligible, receipt not known either way

    @property
    def gap(self) -> int:
        return self.eligible - self.receiving

    @property
    def rate(self) -> float | None:
        return self.receiving / self.eligible if self.eligible else None


@dataclass
class CoverageRow:
    township_id: int | None
    township: str
    cells: dict[str, CoverageCell]


@dataclass
class Coverage:
    as_of: date
    benefits: list[tuple[str, str]]  # (benefit_type, label)
    rows: list[CoverageRow]
    total: CoverageRow
    civil_townships: CivilTownships  # where the civil roster decides 低保, 特困, subsidies


def coverage_counts(user: AnyUser, rules: Rules) -> dict[int | None, dict[str, CoverageCell]]:
    """{township_id: {benefit: CoverageCell}} in one aggregate query."""
    aggregates = {}
    for b in COVERAGE_BENEFITS:
        eligible = rules.eligible[b]
        aggregates[f"{b}__e"] = Count("pk", filter=eligible)
        aggregates[f"{b}__r"] = Count("pk", filter=eligible & rules.receiving[b])
        aggregates[f"{b}__u"] = Count(
            "pk", filter=eligible & ~rules.receiving[b] & ~rules.not_receiving[b]
        )
    rows = (
        certified_alive(user)
        .values("person__township")
        .annotate(**aggregates)
        .order_by("person__township")
    )
    result = {}
    for row in rows:
        result[row["person__township"]] = {
            b: CoverageCell(row[f"{b}__e"], row[f"{b}__r"], row[f"{b}__u"])
            for b in COVERAGE_BENEFITS
        }
    return result


def scope_townships(user: AnyUser) -> list[Township]:
    """The townships whose rows the user's tables show (all 31 for county roles)."""
    scope = scope_for(user)
    if scope.sees_nothing:
        return []
    if scope.is_county:
        return list(Township.objects.order_by("code"))
    return list(Township.objects.filter(pk=scope.township_id))  # type: ignore[misc]  # set for township staff


def coverage_summary(user: AnyUser, as_of: date | None = None) -> Coverage:
    """Subsidy coverage (receiving ÷ eligible) per benefit, by township, with a county total."""
    rules = coverage_rules(as_of)
    counts = coverage_counts(user, rules)
    rows = []
    total = {b: CoverageCell() for b in COVERAGE_BENEFITS}
    for township in scope_townships(user):
        cells = counts.get(township.pk) or {b: CoverageCell() for b in COVERAGE_BENEFITS}
        rows.append(CoverageRow(township.pk, township.name, cells))
    for cells in counts.values():
        for b, cell in cells.items():
            total[b].eligible += cell.eligible
            total[b].receiving += cell.receiving
            total[b].unknown += cell.unknown
    return Coverage(
        as_of=rules.as_of,
        benefits=[(b, str(BenefitType(b).label)) for b in COVERAGE_BENEFITS],
        rows=rows,
        total=CoverageRow(None, "全县合计" if scope_for(user).is_county else "合计", total),
        civil_townships=rules.civil_townships,
    )


def coverage_gaps(
    user: AnyUser,
    benefit_type: str,
    *,
    as_of: date | None = None,
    township_id: int | None = None,
    include_unknown: bool = True,
) -> QuerySet:
    """Eligible persons who do not (known) — or, with include_unknown, not known to —
    receive the benefit: the 应保尽保/应补尽补 work list. Each row is a SurveyRecord with
    `receipt_unknown` (True: the sources do not say either way — to be verified).
    """
    if benefit_type not in COVERAGE_BENEFITS:
        raise ValueError(f"no eligibility rule for {benefit_type}")
    rules = coverage_rules(as_of)
    missing = ~rules.receiving[benefit_type]
    if not include_unknown:
        missing = rules.not_receiving[benefit_type]
    qs = certified_alive(user).filter(rules.eligible[benefit_type] & missing)
    if township_id:
        qs = qs.filter(person__township_id=township_id)
    return (
        qs.annotate(
            receipt_unknown=ExpressionWrapper(
                ~rules.not_receiving[benefit_type], output_field=BooleanField()
            )
        )
        .select_related("person__township", "person__village", "person__certificate")
        .order_by("person__township__code", "person__village__name", "person__id_number")
    )


# --- Roster rows (finance documents: county admins only, full ID numbers) ---


@dataclass
class RosterRow:
    township: str
    village: str
    name: str
    gender: str
    id_number: str
    certificate_number: str
    category: str
    grade: str
    amount: Decimal | None
    note: str = ""


# A roster row's person columns after the paying township, as both rosters read them.
_ROW_PERSON = (
    "person__village__name",
    "person__name",
    "person__gender",
    "person__id_number",
    "person__certificate__number",
    CATEGORY,
    GRADE,
)


def _roster_row(person: Sequence[Any], amount: Decimal | None, note: str = "") -> RosterRow:
    """A roster row from the township's name and the `_ROW_PERSON` values, in that order."""
    township, village, name, gender, id_number, cert, category, grade = person
    return RosterRow(
        township or "",
        village or "",
        name,
        "男" if gender == "M" else "女",
        id_number,
        cert or "",
        _CATEGORY_NAMES.get(category, ""),
        _GRADE_NAMES.get(grade, ""),
        amount,
        note,
    )


def pension_contribution_rows(
    year: int, on: date | None = None, township_id: int | None = None
) -> tuple[PolicyYear, Iterator[RosterRow]]:
    """The annual pension-contribution roster (城乡居保代缴): alive certified persons of
    grade 1–2, aged 16–59 on `on` (default 1 January of the year), insured in the
    residents' pension; the county pays the year's contribution tier for each.

    Returns (policy, rows) — rows is an iterator of RosterRow. Not scoped: the caller
    checks the user is a county admin.
    """
    on = on or date(year, 1, 1)
    policy = policy_for_year(year)
    # Insurance is never decided by the civil roster, so no civil townships are needed.
    insured = receipt(BenefitType.PENSION_INSURANCE, frozenset()).yes
    # Narrowed to value rows below, so typed loosely.
    qs: QuerySet[SurveyRecord, Any] = SurveyRecord.objects.filter(alive_condition()).filter(
        Q(**{f"{GRADE}__in": (1, 2)}) & age_between(on, 16, 59, BIRTH) & insured
    )
    if township_id:
        qs = qs.filter(person__township_id=township_id)
    qs = qs.order_by(
        "person__township__code", "person__village__name", "person__name", "person__id_number"
    ).values_list("person__township__name", *_ROW_PERSON)
    tier = policy.pension_contribution_tier

    def rows() -> Iterator[RosterRow]:
        for person in qs.iterator(chunk_size=2000):
            yield _roster_row(person, tier)

    return policy, rows()


_CATEGORY_NAMES = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}
_GRADE_NAMES = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
PAYMENT_BENEFITS = (
    BenefitType.DIBAO,
    BenefitType.TEKUN,
    BenefitType.LIVING_SUBSIDY,
    BenefitType.CARE_SUBSIDY,
    BenefitType.TEMPORARY_RELIEF,
)
POLICY_STANDARD: dict[str, str] = {
    BenefitType.DIBAO: "dibao_standard_monthly",
    BenefitType.LIVING_SUBSIDY: "living_subsidy_monthly",
    BenefitType.CARE_SUBSIDY: "care_subsidy_monthly",
}


def payment_rows(
    benefit_type: str, month: date, township_id: int | None = None
) -> tuple[PolicyYear | None, Any, Iterator[RosterRow]]:
    """The monthly payment roster of one benefit: every current 在保 record covering the
    month (with civil-affairs precedence, one row per person, civil first). For a person
    the civil roster decides (`civil_decides`) only civil rows pay, as only they count as
    receiving; elsewhere any origin does. A record belongs to the township the
    civil-affairs roster lists it under, else the person's.

    Returns (policy or None, missing, rows): `missing` counts rows with neither a monthly
    amount on the record nor a county standard for the year (the roster writer refuses
    those); rows is an iterator of RosterRow. Not scoped: the caller checks the user is
    a county admin.
    """
    if benefit_type not in PAYMENT_BENEFITS:
        raise ValueError(f"{benefit_type} is not paid monthly")
    month = month.replace(day=1)
    policy = PolicyYear.objects.filter(year=month.year).first()
    standard = (
        getattr(policy, POLICY_STANDARD[benefit_type])
        if (policy is not None and benefit_type in POLICY_STANDARD)
        else None
    )
    records = BenefitRecord.objects.filter(
        benefit_type=benefit_type, status=BenefitRecord.Status.ACTIVE, is_current=True
    ).filter(
        (Q(start_month__isnull=True) | Q(start_month__lte=month))
        & (Q(end_month__isnull=True) | Q(end_month__gte=month))
    )
    civil = civil_townships() if benefit_type in CIVIL_TYPES else frozenset()
    if civil:
        records = records.filter(Q(origin=BenefitRecord.Origin.CIVIL) | ~civil_decides(civil))
    # The township that pays: the one the civil-affairs roster lists, else the person's.
    records = records.annotate(
        paying_township=Coalesce("township_id", "person__township_id"),
        paying_code=Coalesce("township__code", "person__township__code"),
        paying_name=Coalesce("township__name", "person__township__name"),
    )
    if township_id:
        records = records.filter(paying_township=township_id)
    missing = 0
    if standard is None:
        missing = records.filter(monthly_amount__isnull=True).values("person_id").distinct().count()
    dead = Exists(
        SurveyRecord.objects.filter(person=OuterRef("person"), survival_status="deceased")
    ) | Exists(
        RosterMember.objects.filter(person=OuterRef("person"), is_current=True, status="deceased")
    )
    qs = (
        records.annotate(dead=ExpressionWrapper(dead, output_field=BooleanField()))
        .order_by(
            "paying_code",
            "person__village__name",
            "person__name",
            "person__id_number",
            "origin",
        )
        .values_list("person_id", "paying_name", *_ROW_PERSON, "monthly_amount", "dead")
    )

    def rows() -> Iterator[RosterRow]:
        previous = None
        for person_id, *person, amount, is_dead in qs.iterator(chunk_size=2000):
            if person_id == previous:
                continue
            previous = person_id
            yield _roster_row(
                person,
                amount if amount is not None else standard,
                "数据显示已死亡，请核实后再发放" if is_dead else "",
            )

    return policy, missing, rows()


# --- Education ---


def school_age_children(user: AnyUser, on: date | None = None) -> QuerySet:
    """Certified persons aged 6–15 on `on`, with their survey school status and plan.

    Each person carries `in_school` (是/否/不适用 or "" for unknown, from the survey),
    `has_plan` and, through select_related, `education_plan` when one exists.
    """
    on = on or today()
    plans = EducationPlan.objects.filter(person=OuterRef("pk"))
    school = SurveyRecord.objects.filter(person=OuterRef("pk")).values("in_school")[:1]
    qs = (
        Person.objects.filter(certificate__isnull=False)
        .filter(age_between(on, 6, 15))
        .annotate(in_school=Subquery(school), has_plan=Exists(plans))
        .select_related("township", "village", "certificate")
        .order_by("township__code", "village__name", "birth_date")
    )
    return scoped(user, qs)
