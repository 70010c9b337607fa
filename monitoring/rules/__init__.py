"""Cross-check rules (docs/RULES.md): the registry and one module per code family.

Importing this package registers every rule: M (monitoring.py), D (discrepancy.py),
S (benefits.py), E/R/P (services.py), Q (quality.py), V (visits.py).
"""

from . import benefits, discrepancy, monitoring, quality, services, visits  # noqa: F401  (register)
from .registry import (
    REGISTRY,
    Area,
    Rule,
    Subject,
    benefit_of,
    by_urgency,
    case_opening_codes,
    get,
    rule,
    rules,
)

__all__ = [
    "REGISTRY",
    "Area",
    "Rule",
    "Subject",
    "benefit_of",
    "by_urgency",
    "case_opening_codes",
    "get",
    "rule",
    "rules",
]
