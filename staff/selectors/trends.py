"""The dashboard's trend chart: a few key indicators over the last 12 monthly snapshots.

One query over `IndicatorSnapshot` (written by `staff.snapshots`). County roles see the
county total rows, township staff their township's rows. Snapshots are kept per township,
so a village member (whose figures cover one village) gets no trend rather than their
whole township's.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q

from cases.casework_base import today
from cases.scope import Scope
from staff.models import IndicatorSnapshot
from staff.selectors.indicators import PAIRING_TARGET, REHAB_TARGET

MONTHS = 12

# (table key, column key, label, target %): the rates the county reports on most.
TREND_SERIES: list[tuple[str, str, str, int | None]] = [
    ("rehab_rate", "all", "康复服务率", round(REHAB_TARGET * 100)),
    ("pairing", "rate", "结对帮扶覆盖率", round(PAIRING_TARGET * 100)),
    ("subsidy_coverage", "care_subsidy", "重度残疾人护理补贴覆盖率", None),
    ("subsidy_coverage", "living_subsidy", "困难残疾人生活补贴覆盖率", None),
]


@dataclass
class Trend:
    months: list[date]
    series: list[dict] = field(default_factory=list)
    available: bool = True  # False: the scope has no snapshots by design (village members)

    @property
    def empty(self) -> bool:
        return not any(value is not None for s in self.series for value in s["values"])

    def chart_data(self) -> dict:
        """Plain data for static/js/dashboard.js (rendered with json_script)."""
        return {
            "labels": [f"{m.year}年{m.month}月" for m in self.months],
            "series": self.series,
        }


def last_months(until: date, count: int = MONTHS) -> list[date]:
    """The first days of the `count` months ending with `until`'s month, oldest first."""
    year, month = until.year, until.month
    result = []
    for _ in range(count):
        result.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return result[::-1]


def trend(scope: Scope, until: date | None = None) -> Trend:
    """Key rates (percent, one decimal) per month for the scope's place; one query."""
    months = last_months(until or today())
    if scope.sees_nothing or scope.village_id is not None:
        return Trend(months, available=False)
    place = Q(township__isnull=True) if scope.is_county else Q(township_id=scope.township_id)
    wanted = Q()
    for table_key, column_key, _label, _target in TREND_SERIES:
        wanted |= Q(table_key=table_key, column_key=column_key)
    found = {
        (row["table_key"], row["column_key"], row["month"]): row["value"]
        for row in IndicatorSnapshot.objects.filter(place, wanted, month__gte=months[0])
        .filter(month__lte=months[-1])
        .values("table_key", "column_key", "month", "value")
    }
    series = []
    for table_key, column_key, label, target in TREND_SERIES:
        values = [found.get((table_key, column_key, month)) for month in months]
        series.append(
            {
                "key": f"{table_key}.{column_key}",
                "label": label,
                "target": target,
                "values": [None if v is None else round(float(v) * 100, 1) for v in values],
            }
        )
    return Trend(months, series)
