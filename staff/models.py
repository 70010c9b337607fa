"""Monthly snapshots of the indicator tables (统计), kept so the dashboard can draw trends.

The live tables (`staff.selectors.indicators.dashboard`) answer "how are we doing now";
a month's figures are gone once the data changes. `staff.snapshots.indicator_snapshot_take`
stores every numeric cell of every township-rowed table once a month (the nightly job
rewrites the current month, so the month's last run is what remains).
"""

from django.db import models
from django.db.models import Q

from cases.models import Township


class IndicatorSnapshot(models.Model):
    """One cell of one indicator table for one township (or the county total) in one month.

    Aggregates only, no personal data: it is read by place, through
    `staff.snapshots.trend_for`, never through `cases.scope.scoped`.
    """

    month = models.DateField("月份", help_text="当月1日")
    table_key = models.CharField("指标表", max_length=64)
    column_key = models.CharField("指标列", max_length=64)
    # None = the county total row (全县合计), which is not a sum of rows for every table.
    township = models.ForeignKey(
        Township,
        verbose_name="乡镇",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    value = models.DecimalField("数值", max_digits=20, decimal_places=6, null=True, blank=True)
    # Kept for rates, so a year's trend can be re-aggregated without rounding.
    numerator = models.BigIntegerField("分子", null=True, blank=True)
    denominator = models.BigIntegerField("分母", null=True, blank=True)
    created_at = models.DateTimeField("生成时间", auto_now_add=True)

    class Meta:
        verbose_name = "指标月度快照"
        verbose_name_plural = "指标月度快照"
        ordering = ["month", "table_key", "column_key", "township"]
        # Two partial constraints: NULL townships are distinct in a plain unique index
        # (SQLite, PostgreSQL < 15), which would let the county total be stored twice.
        constraints = [
            models.UniqueConstraint(
                fields=["month", "table_key", "column_key", "township"],
                condition=Q(township__isnull=False),
                name="indicator_snapshot_unique_township",
            ),
            models.UniqueConstraint(
                fields=["month", "table_key", "column_key"],
                condition=Q(township__isnull=True),
                name="indicator_snapshot_unique_county",
            ),
        ]
        indexes = [models.Index(fields=["table_key", "column_key", "township", "month"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.table_key}.{self.column_key} {self.township_id or '全县'}"
