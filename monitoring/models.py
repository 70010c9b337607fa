"""Imported source data, findings and cross-check runs.

Survey values live in `SurveyRecord` (one current row per certified person);
the poverty-monitoring roster in `RosterHousehold`/`RosterMember` (current
snapshot flagged by `is_current`); the civil-affairs roster in
`subsidies.BenefitRecord` with source `civil`. Nothing here is deleted by an
import: rows stop being current.
"""

from django.conf import settings
from django.db import models

from cases.models import (
    DisabilityCategory,
    DisabilityGrade,
    Household,
    Person,
    TimeStamped,
    Township,
    Village,
)
from cases.text import clean_text


class Source(models.TextChoices):
    SURVEY = "survey", "持证残疾人基本状况调查"
    ROSTER = "roster", "防返贫监测对象名单"
    CIVIL = "civil", "民政救助与补贴名册"


class ImportBatch(TimeStamped):
    """One import of one file. Never edited after it finishes."""

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "导入中"
        DONE = "done", "已完成"
        REJECTED = "rejected", "有错误，未写入"
        FAILED = "failed", "失败"

    source = models.CharField("数据来源", max_length=10, choices=Source.choices)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    skip_invalid = models.BooleanField("跳过错误行", default=False)
    original_name = models.CharField("原文件名", max_length=255)
    file = models.FileField("原文件", upload_to="imports/%Y/%m/", max_length=300)
    sheet_name = models.CharField("工作表", max_length=100, blank=True)
    sha256 = models.CharField("文件SHA-256", max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导入人",
    )
    rows = models.PositiveIntegerField("数据行", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    skipped = models.PositiveIntegerField("跳过", default=0)
    errors = models.JSONField("行错误", default=list, blank=True)
    household_conflicts = models.JSONField(
        "户内不一致",
        default=list,
        blank=True,
        help_text="监测名单中同一户编号的成员行在乡镇、村或户级信息上不一致之处（只提示，不影响导入）："
        "[{household, column, rows, values, kept_row, kept, message}]",
    )
    error_report = models.FileField(
        "错误报告", upload_to="import-errors/%Y/%m/", max_length=300, blank=True
    )
    townships = models.ManyToManyField(
        Township, blank=True, related_name="+", verbose_name="涉及乡镇"
    )
    unattributed_rows = models.PositiveIntegerField(
        "未能确定乡镇的行",
        default=0,
        help_text="乡镇为空或无法识别的数据行；有此类行的批次只对县级用户可见",
    )
    message = models.CharField("说明", max_length=500, blank=True)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        "最近心跳",
        null=True,
        blank=True,
        help_text="导入进程最近一次报告仍在运行的时间；长时间没有心跳的批次由清理任务标为失败"
        "（monitoring/import_sweeper.py）",
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = verbose_name_plural = "导入批次"

    def __str__(self):
        # The file name is the uploader's: cleaned, as everywhere it is shown.
        return f"批次{self.pk} · {self.get_source_display()} · {clean_text(self.original_name)}"


class TriState(models.TextChoices):
    """For 在校情况, where 不适用 is a real answer distinct from blank (unknown)."""

    YES = "yes", "是"
    NO = "no", "否"
    NOT_APPLICABLE = "na", "不适用"


class EmploymentStatus(models.TextChoices):
    QUOTA = "quota", "按比例就业"
    CONCENTRATED = "concentrated", "集中就业"
    SELF = "self", "个体就业"
    WELFARE_POST = "welfare_post", "公益性岗位"
    SUPPORTED = "supported", "辅助性就业"
    FLEXIBLE = "flexible", "灵活就业"
    FARMING = "farming", "农村种养加"
    UNEMPLOYED = "unemployed", "未就业"
    NO_LABOUR_ABILITY = "no_ability", "无劳动能力"


class SurvivalStatus(models.TextChoices):
    ALIVE = "alive", "正常"
    DECEASED = "deceased", "死亡"
    MOVED_OUT = "moved_out", "迁出"


class SurveyRecord(TimeStamped):
    """The current survey answers for one certified person. Blank (None) means unknown."""

    SCOPE_PATHS = ("person__township", "person__village")

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="survey", verbose_name="持证残疾人"
    )
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="+", verbose_name="最近导入批次"
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="家庭",
    )
    relation = models.CharField("与户主关系", max_length=16, blank=True)
    household_size = models.PositiveSmallIntegerField("家庭人口数", null=True, blank=True)
    income_per_capita = models.DecimalField(
        "家庭年人均收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    receives_dibao = models.BooleanField("享受低保", null=True, blank=True)
    receives_tekun = models.BooleanField("特困供养", null=True, blank=True)
    receives_living_subsidy = models.BooleanField("困难残疾人生活补贴", null=True, blank=True)
    receives_care_subsidy = models.BooleanField("重度残疾人护理补贴", null=True, blank=True)
    medical_insured = models.BooleanField("基本医疗保险", null=True, blank=True)
    pension_insured = models.BooleanField("城乡居民养老保险", null=True, blank=True)
    housing_safe = models.BooleanField("住房安全", null=True, blank=True)
    water_safe = models.BooleanField("饮水安全", null=True, blank=True)
    employment_status = models.CharField(
        "就业状况", max_length=16, choices=EmploymentStatus.choices, blank=True
    )
    employment_willing = models.BooleanField("就业意愿", null=True, blank=True)
    in_school = models.CharField("在校情况", max_length=4, choices=TriState.choices, blank=True)
    rehab_needs = models.JSONField("康复需求", default=list, blank=True)
    rehab_received = models.BooleanField("已获康复服务", null=True, blank=True)
    accessibility_need = models.BooleanField("无障碍改造需求", null=True, blank=True)
    care_need = models.BooleanField("托养照护需求", null=True, blank=True)
    family_doctor = models.BooleanField("家庭医生签约", null=True, blank=True)
    rigid_expenditure = models.DecimalField(
        "大额刚性支出（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    survival_status = models.CharField(
        "存活状态", max_length=10, choices=SurvivalStatus.choices, blank=True
    )
    surveyed_on = models.DateField("调查日期", null=True, blank=True)
    # Where the answers came from: the row of `batch`'s file (as a spreadsheet numbers it,
    # the header row included), shown as a finding's evidence.
    source_row = models.PositiveIntegerField("来源行号", null=True, blank=True)

    class Meta:
        ordering = ["person_id"]
        verbose_name = verbose_name_plural = "调查数据"

    def __str__(self):
        return f"{self.person} 调查数据"


class HouseholdType(models.TextChoices):
    LEFT_POVERTY = "left_poverty", "脱贫户"
    MONITORED = "monitored", "监测户"
    ORDINARY = "ordinary", "一般户"


class MonitoringCategory(models.TextChoices):
    UNSTABLE = "unstable", "脱贫不稳定户"
    MARGINAL = "marginal", "边缘易致贫户"
    SUDDEN_HARDSHIP = "sudden", "突发严重困难户"


class RiskClearMethod(models.TextChoices):
    ASSISTANCE = "assistance", "帮扶消除"
    NATURAL = "natural", "自然消除"


class RosterHousehold(TimeStamped):
    """A household of the poverty-monitoring roster (the station's data)."""

    SCOPE_PATHS = ("township", "village")

    household_number = models.CharField("户编号", max_length=32, unique=True)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="roster_households", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="roster_households", verbose_name="村"
    )
    head_name = models.CharField("户主姓名", max_length=64, blank=True)
    household_type = models.CharField("户类型", max_length=16, choices=HouseholdType.choices)
    monitoring_category = models.CharField(
        "监测对象类别", max_length=10, choices=MonitoringCategory.choices, blank=True
    )
    risk_types = models.JSONField("风险类型", default=list, blank=True)
    income_per_capita = models.DecimalField(
        "家庭人均纯收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    identified_on = models.DateField("识别监测时间", null=True, blank=True)
    risk_cleared = models.BooleanField("风险是否消除", null=True, blank=True)
    cleared_on = models.DateField("风险消除时间", null=True, blank=True)
    clear_method = models.CharField(
        "风险消除方式", max_length=12, choices=RiskClearMethod.choices, blank=True
    )
    wage_income = models.DecimalField(
        "工资性收入", max_digits=12, decimal_places=2, null=True, blank=True
    )
    business_income = models.DecimalField(
        "生产经营性收入", max_digits=12, decimal_places=2, null=True, blank=True
    )
    property_income = models.DecimalField(
        "财产性收入", max_digits=12, decimal_places=2, null=True, blank=True
    )
    transfer_income = models.DecimalField(
        "转移性收入", max_digits=12, decimal_places=2, null=True, blank=True
    )
    is_current = models.BooleanField("在当前名单中", default=True, db_index=True)
    conflicts = models.JSONField(
        "成员行不一致",
        default=list,
        # Plain-row writers (the demo county, benchmarks) list their columns and leave this out.
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
        help_text="最近一次导入时该户成员行之间不一致的列（行号为该次导入文件中的行号）",
    )
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="+", verbose_name="最近导入批次"
    )
    # The member row whose household-level values were kept (as a spreadsheet numbers it).
    source_row = models.PositiveIntegerField("来源行号", null=True, blank=True)

    class Meta:
        ordering = ["township__code", "village__name", "household_number"]
        verbose_name = verbose_name_plural = "监测名单家庭"

    def __str__(self):
        return f"{self.household_number} {self.head_name}"


class RosterMember(TimeStamped):
    """A member of a roster household. One ID belongs to one roster household."""

    SCOPE_PATHS = ("household__township", "household__village")

    household = models.ForeignKey(
        RosterHousehold, on_delete=models.PROTECT, related_name="members", verbose_name="监测户"
    )
    person = models.OneToOneField(
        Person, on_delete=models.PROTECT, related_name="roster_member", verbose_name="人员"
    )
    name = models.CharField("成员姓名", max_length=64)
    relation = models.CharField("与户主关系", max_length=16, blank=True)
    is_disabled = models.BooleanField("是否残疾", null=True, blank=True)
    disability_category = models.PositiveSmallIntegerField(
        "残疾类别", choices=DisabilityCategory.choices, null=True, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(
        "残疾等级", choices=DisabilityGrade.choices, null=True, blank=True
    )
    status = models.CharField("人员状态", max_length=10, choices=SurvivalStatus.choices, blank=True)
    is_current = models.BooleanField("在当前名单中", default=True, db_index=True)
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.PROTECT, related_name="+", verbose_name="最近导入批次"
    )
    source_row = models.PositiveIntegerField("来源行号", null=True, blank=True)

    class Meta:
        ordering = ["household_id", "id"]
        verbose_name = verbose_name_plural = "监测名单成员"

    def __str__(self):
        return self.name


class CrosscheckRun(TimeStamped):
    """One run of the cross-check (nightly or on demand)."""

    class Status(models.TextChoices):
        RUNNING = "running", "运行中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "定时任务"
        COMMAND = "command", "命令行"
        STAFF = "staff", "工作人员"

    as_of = models.DateField("比对基准日")
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(
        "发起方式", max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    # Who ran `manage.py crosscheck`: no staff account is behind a shell, so the operating
    # system's user name is the only trace of the person (blank when it cannot be told).
    os_user = models.CharField("命令行用户", max_length=64, blank=True)
    batches = models.ManyToManyField(
        ImportBatch, blank=True, related_name="crosscheck_runs", verbose_name="使用的数据批次"
    )
    new = models.PositiveIntegerField("新增", default=0)
    still_open = models.PositiveIntegerField("仍存在", default=0)
    cleared = models.PositiveIntegerField("已消除", default=0)
    reopened = models.PositiveIntegerField("重新出现", default=0)
    by_rule = models.JSONField("分规则统计", default=dict, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    duration_seconds = models.FloatField("耗时（秒）", null=True, blank=True)
    message = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = verbose_name_plural = "比对运行记录"

    def __str__(self):
        return f"比对#{self.pk} {self.as_of}"

    @property
    def started_by_label(self) -> str:
        """How the run started, in words: 定时任务, 命令行（user）, or the staff account.

        The pages show a staff member's display name instead (the `staff_name` filter);
        this plain form is for the admin and the audit trail.
        """
        if self.trigger == self.Trigger.COMMAND:
            return f"命令行（{self.os_user}）" if self.os_user else "命令行"
        if self.trigger == self.Trigger.STAFF:
            user = self.triggered_by
            return f"工作人员（{user.get_username()}）" if user is not None else "工作人员"
        return "定时任务"


class Finding(TimeStamped):
    """One finding per (rule, person); its status follows the lifecycle in docs/CROSSCHECK.md."""

    SCOPE_PATHS = ("township", "village")

    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        HANDLED = "handled", "已处理"
        DISMISSED = "dismissed", "不予处理"
        CLEARED = "cleared", "已消除"

    # Indexes of this table are few on purpose: the cross-check writes a county's findings at
    # once and every index costs on each row (docs/PERFORMANCE.md, Cross-check). The rule is
    # found through `one_finding_per_rule_person` (it leads), the township through
    # `finding_queue_idx`, the status through `finding_status_idx` (no LIKE on either);
    # the runs not at all.
    rule = models.CharField("规则", max_length=8)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="findings", verbose_name="人员"
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="findings",
        verbose_name="家庭",
    )
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name="乡镇",
        db_index=False,
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, related_name="+", verbose_name="村"
    )
    reason = models.CharField("原因", max_length=500)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    action_taken = models.CharField("处理措施", max_length=500, blank=True)
    dismiss_reason = models.CharField("不予处理原因", max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    decided_at = models.DateTimeField("处理时间", null=True, blank=True)
    # No index on either run: nothing reads findings by run (runs are never deleted), and
    # each index cost an insert per new finding; `last_run`'s also made every refresh of a
    # still-firing finding a non-HOT update (the run changes each time).
    first_run = models.ForeignKey(
        CrosscheckRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="首次发现",
        db_index=False,
    )
    last_run = models.ForeignKey(
        CrosscheckRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="最近一次运行",
        db_index=False,
    )
    opened_at = models.DateTimeField("发现时间")
    cleared_at = models.DateTimeField("消除时间", null=True, blank=True)
    # What tripped the rule at its latest run (docs/CROSSCHECK.md#evidence): a list of
    # {"source", "batch", "file", "sheet", "row", "column", "value"} items, "source" being
    # survey / roster / policy / record; policy items carry no batch, file or row.
    evidence = models.JSONField(
        "依据",
        default=list,
        db_default=models.Value([], output_field=models.JSONField()),
        blank=True,
    )

    class Meta:
        ordering = ["-opened_at", "id"]
        verbose_name = verbose_name_plural = "比对发现"
        constraints = [
            models.UniqueConstraint(fields=["rule", "person"], name="one_finding_per_rule_person")
        ]
        indexes = [
            models.Index(fields=["township", "status", "rule"], name="finding_queue_idx"),
            models.Index(fields=["status"], name="finding_status_idx"),
        ]

    def __str__(self):
        return f"{self.rule} · {self.person}"


class FindingEvent(models.Model):
    """History of a finding: every status change, by a person or by a run."""

    SCOPE_PATHS = ("finding__township", "finding__village")

    finding = models.ForeignKey(
        Finding, on_delete=models.CASCADE, related_name="events", verbose_name="发现"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    run = models.ForeignKey(
        CrosscheckRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="比对运行",
    )
    from_status = models.CharField("原状态", max_length=10, blank=True)
    to_status = models.CharField("新状态", max_length=10)
    note = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = verbose_name_plural = "发现处理记录"

    def __str__(self):
        return f"{self.finding}: {self.from_status} → {self.to_status}"


class WhatIfRun(TimeStamped):
    """A policy trial (政策测算): the rules run on trial parameters, writing no finding.

    The result keeps, per rule and township, how many persons and households the trial
    parameters would add and clear compared with the current open findings.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "排队中"
        RUNNING = "running", "测算中"
        DONE = "done", "已完成"
        FAILED = "failed", "失败"

    year = models.PositiveSmallIntegerField("政策年度")
    parameters = models.JSONField("试算参数", default=dict)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    result = models.JSONField("测算结果", default=dict, blank=True)
    message = models.CharField("说明", max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近心跳", null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = verbose_name_plural = "政策测算"

    def __str__(self):
        return f"政策测算#{self.pk} {self.year}"
