"""The rule registry: one small documented function per cross-check rule (docs/RULES.md).

A rule is a pure function `(record, ctx) -> str | None`: it returns the Chinese
reason (with the numbers that tripped it) when the rule fires for the record,
or None. Rules never touch the database; `monitoring.crosscheck` builds the
records and the context, calls every registered rule and writes the findings.

Adding a rule is adding one decorated function to the family module of its
code letter (and its tests)::

    @rule("M09", "规则中文名", area=Area.MONITORING, urgency=21)
    def m09(p: Certified, ctx: Context) -> str | None:
        \"\"\"What it checks and every interpretation decision.\"\"\"
        ...
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Area(StrEnum):
    """The six task areas of the policy (docs/RULES.md) plus data quality."""

    MONITORING = "动态监测"
    SAFETY_NET = "兜底保障"
    EMPLOYMENT = "就业"
    REHABILITATION = "康复、无障碍、托养"
    PUBLICITY = "宣传"
    GRASSROOTS = "基层组织"


class Subject(StrEnum):
    """What a rule is evaluated over."""

    CERTIFIED = "certified"  # a person in the survey (a `Certified` record)
    ROSTER_ONLY = "roster_only"  # a roster member who is not in the survey (`RosterOnly`)


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    area: Area
    subject: Subject
    alive_only: bool
    check: Callable
    # Where the work queue puts the rule's findings, 1 first: a sudden hardship before a
    # missing subsidy before a data mismatch (docs/RULES.md#urgency). Only the order counts,
    # so a rule fits between two others with a fraction (V01 is 1.5).
    urgency: float
    # The benefit (a `subsidies.models.BenefitType` value) the rule finds missing, if any:
    # handling its finding opens an application for that benefit.
    benefit: str = ""
    # Whether handling a finding of this rule may open a monitoring case for the household.
    opens_case: bool = False
    # The facts the rule reads, kept on each finding as its evidence
    # (`monitoring.rules.evidence`, docs/CROSSCHECK.md#evidence).
    evidence: tuple = ()

    @property
    def explanation(self) -> str:
        """The rule's docstring: what it checks and how ambiguities were settled."""
        return " ".join((self.check.__doc__ or "").split())


REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    *,
    area: Area,
    urgency: float,
    subject: Subject = Subject.CERTIFIED,
    alive_only: bool = True,
    benefit: str = "",
    opens_case: bool = False,
    evidence: tuple = (),
) -> Callable[[Callable], Callable]:
    """Register a rule function under its code.

    `alive_only` (the default: rules concern alive persons only, docs/RULES.md#terms) makes the
    engine skip records of persons some source reports as 死亡. `evidence` lists the facts
    the rule reads (`monitoring.rules.evidence.Fact`), in the order a finding shows them.
    """

    def register(check: Callable) -> Callable:
        if code in REGISTRY:
            raise ValueError(f"rule {code} registered twice")
        if not check.__doc__:
            raise ValueError(f"rule {code} needs a docstring explaining it")
        taken = [r.code for r in REGISTRY.values() if r.urgency == urgency]
        if taken:
            raise ValueError(f"rule {code} has the urgency of {taken[0]}")
        REGISTRY[code] = Rule(
            code,
            name,
            area,
            subject,
            alive_only,
            check,
            urgency,
            benefit=benefit,
            opens_case=opens_case,
            evidence=tuple(evidence),
        )
        return check

    return register


def rules(subject: Subject | None = None) -> list[Rule]:
    """Registered rules in code order (optionally only those over one subject)."""
    return [
        REGISTRY[code]
        for code in sorted(REGISTRY)
        if subject is None or REGISTRY[code].subject == subject
    ]


def get(code: str) -> Rule:
    return REGISTRY[code]


def case_opening_codes() -> tuple[str, ...]:
    """Codes of the rules whose finding may be handled by opening a monitoring case."""
    return tuple(r.code for r in rules() if r.opens_case)


def by_urgency() -> list[Rule]:
    """Registered rules, most urgent first (the work queue's order)."""
    return sorted(REGISTRY.values(), key=lambda r: r.urgency)


def benefit_of(code: str) -> str:
    """The benefit the rule finds missing ("" for rules about no single benefit)."""
    found = REGISTRY.get(code)
    return found.benefit if found else ""
