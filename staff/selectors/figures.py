"""Aggregate figures kept for a while: the county dashboard and the 统计 tables.

Those pages aggregate the whole county (every certified person, household and open
finding) on each view: 0.25–0.9 s of database time for figures that change when an import
or a cross-check finishes, and little in between (docs/PERFORMANCE.md, Pages). They are
computed once and kept in the cache (Redis in production, shared by the workers) with the
time they were computed, which the page shows as 数据截至 ….

They are computed again
- when an import batch or a cross-check run has changed since (`data_version`: one query
  over the two small run tables is part of the cache key, so a finished cross-check or
  import shows at once, in every worker);
- when they are older than `FIGURES_CACHE_SECONDS` (settings; case work such as visits
  and pairings reaches the figures within that time);
- when the user asks for it (`refresh`, the page's 重新计算 link).

The scope is part of the key: role, township and village are everything
`cases.scope.scope_for` gives the selectors, so a user only ever gets figures computed
for the same scope. Only aggregates are kept: the dashboards that list households by
name (township staff, village members) are not cached (staff/views/dashboard.py).
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from cases.scope import Scope
from monitoring.models import CrosscheckRun, ImportBatch

T = TypeVar("T")

KEY_PREFIX = "staff:figures:v1"


@dataclass(frozen=True)
class Figures(Generic[T]):
    value: T
    computed_at: datetime
    # Names this computation (scope, date, data version, time): the key of the page's
    # rendered fragments of these figures (`{% cache %}` in the templates), so a fragment
    # is never shown with other figures or to another scope.
    key: str = ""

    @property
    def fragment_key(self) -> str:
        return f"{self.key}:{self.computed_at.timestamp()}"


def max_age() -> int:
    return int(getattr(settings, "FIGURES_CACHE_SECONDS", 600))


def data_version() -> str:
    """When an import batch or a cross-check run last changed (started, finished)."""
    quote = connection.ops.quote_name
    runs = quote(CrosscheckRun._meta.db_table)
    batches = quote(ImportBatch._meta.db_table)
    with connection.cursor() as cursor:
        # Two small tables (a few rows a day): no index is needed for their maximum.
        cursor.execute(
            f"SELECT (SELECT MAX(updated_at) FROM {runs}), "  # noqa: S608 (model tables)
            f"(SELECT MAX(updated_at) FROM {batches})"
        )
        run, batch = cursor.fetchone()
    # Compared, never parsed: SQLite gives text here, PostgreSQL a datetime.
    return f"{run or '-'}|{batch or '-'}"


def live_fragment_key(scope: Scope) -> str:
    """A fragment key for figures computed for this view only: never found in the cache
    (the fragment is rendered with a timeout of 0, so it is not kept either)."""
    return f"live:{scope.role}:{scope.township_id}:{scope.village_id}:{time.time_ns()}"


def figures_key(kind: str, scope: Scope, as_of: date, version: str) -> str:
    place = f"{scope.role}:{scope.township_id}:{scope.village_id}"
    # Hashed: the version holds spaces, which some cache backends refuse in a key.
    digest = hashlib.sha256(version.encode()).hexdigest()[:16]
    return f"{KEY_PREFIX}:{kind}:{place}:{as_of.isoformat()}:{digest}"


def cached_figures(
    kind: str, scope: Scope, as_of: date, compute: Callable[[], T], *, refresh: bool = False
) -> Figures[T]:
    """`compute()` for (kind, scope, as_of), or what it gave within `max_age()` for the same
    data version. `refresh` computes again whatever is kept."""
    key = figures_key(kind, scope, as_of, data_version())
    if max_age() <= 0:
        # Keeping is off: never serve what was kept while it was on.
        return Figures(compute(), timezone.now(), key)
    if not refresh:
        kept = cache.get(key)
        if isinstance(kept, Figures):
            return kept
    figures = Figures(compute(), timezone.now(), key)
    cache.set(key, figures, max_age())
    return figures
