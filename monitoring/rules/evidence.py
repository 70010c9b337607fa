"""What tripped a rule: the evidence a finding keeps (docs/CROSSCHECK.md#evidence).

Each rule declares, in its `@rule(…, evidence=…)` registration, the facts it reads: a
`Fact` names a source (the survey row, the roster member row, the roster household's
row, the year's policy, or a case-work record) and the Chinese label of the column or
field, and computes the value as shown ("5,200元", "否", "脱贫户") — or None when the fact
did not play a part for this person (M02 lists only the unsafe items).

The engine evaluates a fired rule's facts on the same plain record the rule read, so the
evidence costs a few attribute reads per hit and no query. The stored form
(`Finding.evidence`) is a list of items

    {"source": "survey"|"roster"|"policy"|"record", "batch": id|null, "file": name,
     "sheet": name, "row": n|null, "column": label, "value": text}

plus `"record": {"kind", "id", "date"}` on an item taken from a case-work record. A hit
carries it already as JSON text, written the way PostgreSQL prints jsonb (keys ordered by
length, then bytes; ", " and ": " separators): a re-run compares that text with the stored
`evidence::text` and writes only findings whose evidence changed. Encoding and decoding
60,000 JSON values per run with json.dumps/json.loads would cost more than the rest of a
re-run (docs/CROSSCHECK.md, "Speed"); a text difference is checked decoded before it counts
(`same_as_stored`), so a value stored in another spelling (SQLite, the ORM) is never
rewritten for its spelling alone. A hit's text is a plain str: hashable, and unchanged
through a Celery result.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from .records import (
    CATEGORY_NAMES,
    EMPLOYMENT_NAMES,
    GRADE_NAMES,
    HOUSEHOLD_TYPE_NAMES,
    Certified,
    Context,
    RosterOnly,
    school_age,
    yuan,
)

SURVEY = "survey"
ROSTER = "roster"
POLICY = "policy"
RECORD = "record"
# Internal only, stored as "roster": a fact on the household's row, and the fact that
# the person has no current roster row at all.
HOUSEHOLD = "household"
NOT_LISTED = "not_listed"

SOURCE_LABELS = {SURVEY: "调查数据", ROSTER: "监测名单", POLICY: "年度政策参数", RECORD: "业务记录"}
RECORD_KINDS = {"visit": "走访记录"}

RecordRef = tuple[str, int | None, str]  # (kind, id, ISO date)
Subject = Certified | RosterOnly
Value = Callable[[Any, Context], str | None]
EMPTY = "[]"

_QUOTED: dict[str, str] = {}
_QUOTED_MAX = 200_000


def _quoted(text: str) -> str:
    """`text` as a JSON string (memoised: labels, sources and most values repeat)."""
    found = _QUOTED.get(text)
    if found is None:
        found = json.dumps(text, ensure_ascii=False)
        if len(_QUOTED) < _QUOTED_MAX:
            _QUOTED[text] = found
    return found


def quoted_batches(batches: Mapping[int, tuple[str, str]]) -> dict[int, str]:
    """{batch id: the item's `"file": …, "batch": …, "sheet": …` part}, for `Context.batches`."""
    return {
        key: f'"file": {_quoted(file)}, "batch": {key}, "sheet": {_quoted(sheet)}'
        for key, (file, sheet) in batches.items()
    }


NO_BATCH = '"file": "", "batch": null, "sheet": ""'
# Each fact's source as the item's last key (a household or not-listed fact is "roster").
SOURCE_TEXT = {
    name: f'"source": "{ROSTER if name in (HOUSEHOLD, NOT_LISTED) else name}"}}'
    for name in (SURVEY, ROSTER, HOUSEHOLD, NOT_LISTED, POLICY, RECORD)
}


@dataclass(frozen=True, slots=True)
class Fact:
    """One field a rule reads: where it lives, its label, and its value as shown."""

    source: str  # SURVEY, ROSTER, HOUSEHOLD, NOT_LISTED, POLICY or RECORD
    column: str
    value: Value
    # RECORD facts: the record the value comes from, or None (e.g. "no plan recorded").
    record: Callable[[Any, Context], RecordRef | None] | None = None

    def tail(self, ctx: Context) -> str:
        """The item's closing part after its value: column (labels may name the policy or
        as-of year), then the record and source parts `text` adds."""
        column = self.column.format(year=ctx.policy.year, as_of_year=ctx.as_of.year)
        return f'"column": {_quoted(column)}, '

    def text(self, p: Subject, ctx: Context, tail: str) -> str | None:
        """The item as stored JSON text, or None when the fact plays no part for `p`;
        `tail` is `self.tail(ctx)`, worked out once per run (`bind`)."""
        source = self.source
        if source == SURVEY:
            batch, row = getattr(p, "survey_batch_id", None), getattr(p, "survey_row", None)
        elif source == ROSTER:
            if p.roster is None:
                return None
            batch, row = p.roster.batch_id, p.roster.source_row
        elif source == HOUSEHOLD:
            if p.roster is None:
                return None
            batch, row = p.roster.household.batch_id, p.roster.household.source_row
        elif source == NOT_LISTED and p.roster is not None:
            return None
        else:
            batch = row = None
        value = self.value(p, ctx)
        if value is None:
            return None
        where = NO_BATCH if batch is None else ctx.batches.get(batch) or NO_BATCH
        record = ""
        if self.record is not None:
            ref = self.record(p, ctx)
            if ref is not None:
                kind, record_id, when = ref
                record = (
                    f'"record": {{"id": {"null" if record_id is None else record_id}, '
                    f'"date": {_quoted(when)}, "kind": {_quoted(kind)}}}, '
                )
        return (
            f'{{"row": {"null" if row is None else row}, {where}, "value": {_quoted(value)}, '
            f"{tail}{record}{SOURCE_TEXT[source]}"
        )


# A rule's facts bound to one run's context (`bind`): each takes the record and returns
# its item as stored JSON text, or None.
BoundFacts = tuple[Callable[[Subject], str | None], ...]


def bind(facts: Iterable[Fact], ctx: Context) -> BoundFacts:
    """A rule's facts as functions of the record alone, for `collect`: the tail, the source's
    branch and the context are worked out once per run rather than once per item (a run
    writes about 270,000 items at 60,000 persons). Each returns what `Fact.text` returns."""
    return tuple(_bound(fact, ctx) for fact in facts)


def _bound(fact: Fact, ctx: Context) -> Callable[[Subject], str | None]:
    tail = fact.tail(ctx)
    if fact.record is not None:
        # Case-work records: a small share of the items.
        return partial(fact.text, ctx=ctx, tail=tail)
    value, source, batches = fact.value, fact.source, ctx.batches
    end = f"{tail}{SOURCE_TEXT[source]}"
    quoted = _QUOTED.get
    unplaced = f'{{"row": null, {NO_BATCH}, "value": '

    if source == POLICY:

        def policy_text(p: Subject) -> str | None:
            shown = value(p, ctx)
            return None if shown is None else f"{unplaced}{quoted(shown) or _quoted(shown)}, {end}"

        return policy_text
    if source == NOT_LISTED:

        def not_listed_text(p: Subject) -> str | None:
            if p.roster is not None:
                return None
            shown = value(p, ctx)
            return None if shown is None else f"{unplaced}{quoted(shown) or _quoted(shown)}, {end}"

        return not_listed_text
    if source == RECORD:  # a record fact naming no record
        return partial(fact.text, ctx=ctx, tail=tail)

    # Same text as `Fact.text`: the location first (a roster fact without a roster row plays
    # no part, and its value must not be computed), then the value.
    def item(batch: int | None, row: int | None, shown: str) -> str:
        where = NO_BATCH if batch is None else batches.get(batch) or NO_BATCH
        return (
            f'{{"row": {"null" if row is None else row}, {where}, '
            f'"value": {quoted(shown) or _quoted(shown)}, {end}'
        )

    if source == SURVEY:

        def survey_text(p: Subject) -> str | None:
            shown = value(p, ctx)
            if shown is None:
                return None
            return item(getattr(p, "survey_batch_id", None), getattr(p, "survey_row", None), shown)

        return survey_text
    if source == ROSTER:

        def roster_text(p: Subject) -> str | None:
            link = p.roster
            if link is None:
                return None
            shown = value(p, ctx)
            return None if shown is None else item(link.batch_id, link.source_row, shown)

        return roster_text

    def household_text(p: Subject) -> str | None:
        link = p.roster
        if link is None:
            return None
        shown = value(p, ctx)
        if shown is None:
            return None
        return item(link.household.batch_id, link.household.source_row, shown)

    return household_text


def collect(facts: BoundFacts, p: Subject, ctx: Context | None = None) -> str:
    """The evidence of one hit as stored JSON text, items in the rule's declared order
    (`facts` from `bind`, which holds the context)."""
    parts = [text for fact in facts if (text := fact(p)) is not None]
    return "[" + ", ".join(parts) + "]" if parts else EMPTY


def same_as_stored(text: str, stored_text: str | None) -> bool:
    """Whether the stored evidence (its text as the database returns it) equals `text`."""
    if stored_text == text:
        return True
    try:
        return json.loads(stored_text or EMPTY) == json.loads(text)
    except ValueError:
        return False


# --- value formatting --------------------------------------------------------------------


def yes_no(value: bool | None) -> str:
    return {True: "是", False: "否"}.get(value, "（空白）")  # type: ignore[arg-type]


def money(value: Decimal | None) -> str | None:
    return None if value is None else yuan(value)


def day(value: Any) -> str:
    return value.isoformat() if value else "（空白）"


def category(value: int | None) -> str:
    return CATEGORY_NAMES.get(value, "（空白）")


def grade(value: int | None) -> str:
    return GRADE_NAMES.get(value, "（空白）")


STATUS_NAMES = {"alive": "正常", "deceased": "死亡", "moved_out": "迁出"}


def status(value: str) -> str:
    return STATUS_NAMES.get(value, value or "（空白）")


def household_type(value: str) -> str:
    return HOUSEHOLD_TYPE_NAMES.get(value, value or "（空白）")


def employment(value: str) -> str:
    return EMPLOYMENT_NAMES.get(value, value or "（空白）")


IN_SCHOOL_NAMES = {"yes": "是", "no": "否", "na": "不适用"}


def in_school(value: str) -> str:
    return IN_SCHOOL_NAMES.get(value, value or "（空白）")


def age(p: Certified, ctx: Context) -> str:
    return f"{p.age}岁（{p.birth_date:%Y-%m-%d}出生，按{ctx.as_of:%Y-%m-%d}计）"


def _household(p: Subject) -> Any:
    return p.roster.household  # type: ignore[union-attr]  # located facts have a roster row


# --- facts several rules read -----------------------------------------------------------

INCOME = Fact(SURVEY, "家庭年人均收入", lambda p, ctx: money(p.income))
LINE = Fact(POLICY, "{year}年监测线", lambda p, ctx: yuan(ctx.policy.monitoring_line))
INCOME_BELOW_LINE = Fact(
    SURVEY,
    "家庭年人均收入",
    lambda p, ctx: (
        money(p.income) if p.income is not None and p.income < ctx.policy.monitoring_line else None
    ),
)
LINE_IF_BELOW = Fact(
    POLICY,
    "{year}年监测线",
    lambda p, ctx: (
        yuan(ctx.policy.monitoring_line)
        if p.income is not None and p.income < ctx.policy.monitoring_line
        else None
    ),
)
AGE = Fact(SURVEY, "年龄", age)
HOUSEHOLD_TYPE = Fact(
    HOUSEHOLD, "户类型", lambda p, ctx: household_type(_household(p).household_type)
)
HOUSEHOLD_NUMBER = Fact(HOUSEHOLD, "户编号", lambda p, ctx: _household(p).number or "（空白）")
RISK_CLEARED = Fact(HOUSEHOLD, "风险是否消除", lambda p, ctx: yes_no(_household(p).risk_cleared))
# "Not monitored" although a 监测户: its risk is cleared.
MONITORED_RISK = Fact(
    HOUSEHOLD,
    "风险是否消除",
    lambda p, ctx: (
        yes_no(_household(p).risk_cleared) if _household(p).household_type == "monitored" else None
    ),
)
CLEARED_ON = Fact(
    HOUSEHOLD,
    "风险消除时间",
    lambda p, ctx: day(_household(p).cleared_on) if _household(p).cleared_on else None,
)
IDENTIFIED_ON = Fact(HOUSEHOLD, "识别监测时间", lambda p, ctx: day(_household(p).identified_on))
NOT_ON_ROSTER = Fact(NOT_LISTED, "防返贫监测", lambda p, ctx: "不在当前监测名单中")
# Who is "not monitored" (M01, M02, M05): the roster row that says so, or its absence.
NOT_MONITORED = (HOUSEHOLD_TYPE, MONITORED_RISK, NOT_ON_ROSTER)

SURVEY_CATEGORY = Fact(SURVEY, "残疾类别", lambda p, ctx: category(p.category))
SURVEY_GRADE = Fact(SURVEY, "残疾等级", lambda p, ctx: grade(p.grade))
HOUSING_UNSAFE = Fact(
    SURVEY, "住房安全", lambda p, ctx: "不安全" if p.housing_safe is False else None
)
WATER_UNSAFE = Fact(SURVEY, "饮水安全", lambda p, ctx: "不安全" if p.water_safe is False else None)

OUT_OF_SCHOOL = (
    Fact(SURVEY, "年龄", lambda p, ctx: age(p, ctx) if out_of_school(p) else None),
    Fact(SURVEY, "在校情况", lambda p, ctx: "否" if out_of_school(p) else None),
)


def out_of_school(p: Certified) -> bool:
    return school_age(p) and p.in_school == "no"


# --- evidence as pages and exports show it ----------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One stored evidence item, in Chinese, for the finding page and the export.

    Texts are as stored (file names are the uploader's): pages pass them through
    `bidi_safe`, exports through `cases.text.clean_text`."""

    source: str  # 调查数据 / 监测名单 / 年度政策参数 / 业务记录
    file: str
    sheet: str
    row: int | None
    column: str
    value: str
    batch: int | None
    record: str  # "走访记录 2026-05-01（编号 12）" or ""

    @property
    def place(self) -> str:
        """Where the value stands: "调查2026.xlsx · Sheet1 · 第128行", a record, or ""."""
        parts = [part for part in (self.file, self.sheet) if part]
        if self.row is not None:
            parts.append(f"第{self.row:,}行")
        if self.record:
            parts.append(self.record)
        return " · ".join(parts)

    @property
    def fact(self) -> str:
        return f"{self.column}：{self.value}"

    @property
    def text(self) -> str:
        """ "调查数据 · 调查2026.xlsx · Sheet1 · 第128行 · 家庭年人均收入：5,200元"."""
        return " · ".join(part for part in (self.source, self.place, self.fact) if part)


def shown(stored: Any) -> list[Shown]:
    """A finding's stored evidence as `Shown` items (malformed items are left out)."""
    items = []
    for item in stored if isinstance(stored, list) else ():
        if not isinstance(item, dict):
            continue
        record = item.get("record") if isinstance(item.get("record"), dict) else None
        record_text = ""
        if record:
            kind = RECORD_KINDS.get(str(record.get("kind")), "记录")
            number = f"（编号{record['id']}）" if record.get("id") is not None else ""
            record_text = f"{kind} {record.get('date') or ''}{number}".strip()
        batch = item.get("batch")
        row = item.get("row")
        items.append(
            Shown(
                source=SOURCE_LABELS.get(str(item.get("source")), str(item.get("source") or "")),
                file=str(item.get("file") or ""),
                sheet=str(item.get("sheet") or ""),
                row=row if isinstance(row, int) else None,
                column=str(item.get("column") or ""),
                value=str(item.get("value") or ""),
                batch=batch if isinstance(batch, int) else None,
                record=record_text,
            )
        )
    return items


def batch_ids(stored: Any) -> set[int]:
    """The import batches a finding's evidence names (their files may be downloaded)."""
    return {item.batch for item in shown(stored) if item.batch is not None}
