"""Policy parameters per year and benefit records (self-recorded or from civil affairs)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.models import Person, TimeStamped, Township


class PolicyYear(TimeStamped):
    """The county's parameters for one year. Rules read them for the as-of year.

    A fresh installation carries defaults for 2021–2030 marked `is_default` so the
    county knows to confirm them; changes go through `subsidies.policy.policy_set`,
    which records history.
    """

    year = models.PositiveSmallIntegerField("年度", unique=True)
    monitoring_line = models.DecimalField(
        "防返贫监测收入线（元/人/年）", max_digits=10, decimal_places=2
    )
    rigid_expenditure_threshold = models.DecimalField(
        "大额刚性支出阈值（元）", max_digits=10, decimal_places=2, default=20000
    )
    care_subsidy_includes_grade3_mental = models.BooleanField(
        "护理补贴含三级智力/精神残疾", default=False
    )
    dibao_standard_monthly = models.DecimalField(
        "农村低保标准（元/人/月）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    living_subsidy_monthly = models.DecimalField(
        "困难残疾人生活补贴（元/人/月）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    care_subsidy_monthly = models.DecimalField(
        "重度残疾人护理补贴（元/人/月）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    pension_contribution_tier = models.DecimalField(
        "城乡居保代缴档次（元/人/年）", max_digits=10, decimal_places=2, default=200
    )
    visit_due_days = models.PositiveSmallIntegerField(
        "纳入监测后首次走访期限（天）",
        default=30,
        help_text="监测户纳入后超过该天数仍未走访，或超过下次访视日期，即为逾期未访",
    )
    is_default = models.BooleanField("系统默认值（待县残联确认）", default=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = verbose_name_plural = "年度政策参数"
        constraints = [
            models.CheckConstraint(
                condition=Q(monitoring_line__gt=0), name="policy_monitoring_line_positive"
            ),
            models.CheckConstraint(
                condition=Q(rigid_expenditure_threshold__gt=0),
                name="policy_rigid_threshold_positive",
            ),
        ]

    def __str__(self):
        return f"{self.year}年度政策参数"


class BenefitType(models.TextChoices):
    DIBAO = "dibao", "城乡低保"
    TEKUN = "tekun", "特困供养"
    LIVING_SUBSIDY = "living_subsidy", "困难残疾人生活补贴"
    CARE_SUBSIDY = "care_subsidy", "重度残疾人护理补贴"
    TEMPORARY_RELIEF = "temporary_relief", "临时救助"
    MEDICAL_INSURANCE = "medical_insurance", "基本医疗保险"
    PENSION_INSURANCE = "pension_insurance", "城乡居民养老保险"


class BenefitRecord(TimeStamped):
    """A benefit a person receives. Rows from the civil-affairs roster are authoritative."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Status(models.TextChoices):
        ACTIVE = "active", "在保"
        STOPPED = "stopped", "停保"

    class Origin(models.TextChoices):
        CIVIL = "civil", "民政名册导入"
        MANUAL = "manual", "工作人员录入"

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="benefits", verbose_name="人员"
    )
    benefit_type = models.CharField("项目", max_length=20, choices=BenefitType.choices)
    monthly_amount = models.DecimalField(
        "月标准（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    start_month = models.DateField("起始年月", null=True, blank=True)
    end_month = models.DateField("终止年月", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices)
    origin = models.CharField("来源", max_length=10, choices=Origin.choices)
    batch = models.ForeignKey(
        "monitoring.ImportBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导入批次",
    )
    is_current = models.BooleanField("当前有效", default=True, db_index=True)
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="名册所列乡镇",
        help_text="民政名册中该行所列的乡镇；名册按乡镇整体更新（快照）时用它判断哪些记录已不在名册中",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )

    class Meta:
        ordering = ["person_id", "benefit_type"]
        verbose_name = verbose_name_plural = "救助与补贴记录"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "benefit_type", "origin"],
                name="one_benefit_per_person_type_origin",
            )
        ]

    def __str__(self):
        return f"{self.person} · {self.get_benefit_type_display()}"


class BenefitApplication(TimeStamped):
    """申请: a benefit applied for on a person's behalf (e.g. from an S-finding).

    申请中 → 已审核 → 已批准 (a manual `BenefitRecord` is created or reactivated) / 未批准,
    then 已批准 → 已落实 (the first payment or service reached the person); 申请中 / 已审核 →
    已撤回. Each step keeps who and when. Written by `subsidies.services`.
    """

    SCOPE_PATHS = ("person__township", "person__village")

    class Status(models.TextChoices):
        APPLYING = "applying", "申请中"
        REVIEWED = "reviewed", "已审核"
        APPROVED = "approved", "已批准"
        REJECTED = "rejected", "未批准"
        DELIVERED = "delivered", "已落实"
        WITHDRAWN = "withdrawn", "已撤回"

    PENDING = (Status.APPLYING, Status.REVIEWED)
    """Not yet decided: at most one per person and benefit."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="benefit_applications", verbose_name="人员"
    )
    benefit_type = models.CharField("项目", max_length=20, choices=BenefitType.choices)
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.APPLYING, db_index=True
    )
    applied_on = models.DateField("申请日期")
    note = models.CharField("申请说明", max_length=500, blank=True)
    source_rule = models.CharField("来源规则", max_length=8, blank=True)
    source_finding_id = models.PositiveIntegerField("来源比对发现编号", null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    reviewed_on = models.DateField("审核日期", null=True, blank=True)
    review_note = models.CharField("审核意见", max_length=500, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审核人",
    )
    decided_on = models.DateField("办结日期", null=True, blank=True)
    decision_note = models.CharField("办结说明", max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办结人",
    )
    benefit_record = models.ForeignKey(
        BenefitRecord,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name="形成的救助与补贴记录",
    )
    delivered_on = models.DateField("落实日期", null=True, blank=True)
    delivery_note = models.CharField("落实情况", max_length=500, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="落实登记人",
    )

    class Meta:
        ordering = ["-applied_on", "-id"]
        verbose_name = verbose_name_plural = "救助与补贴申请"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "benefit_type"],
                condition=Q(status__in=("applying", "reviewed")),
                name="one_pending_application_per_person_benefit",
                violation_error_message="该人员此项目已有申请中的申请",
            ),
            models.CheckConstraint(
                condition=Q(status__in=("applying", "reviewed")) | Q(decided_on__isnull=False),
                name="benefit_application_decided_has_date",
                violation_error_message="办结的申请必须有办结日期",
            ),
        ]

    def __str__(self):
        return f"{self.person} · {self.get_benefit_type_display()} · {self.get_status_display()}"


# --- Referrals (转办): what is waiting on which unit ---


class ReferralUnit(TimeStamped):
    """A unit a measure or application can be referred to (民政办, 人社所, 卫生院, …).

    The list is the county admins' to keep (`subsidies.referrals.referral_unit_save`); a unit
    no longer used is made inactive, never deleted, so old referrals keep their name.
    """

    name = models.CharField("单位名称", max_length=50, unique=True)
    is_active = models.BooleanField("启用", default=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = verbose_name_plural = "转办单位"

    def __str__(self):
        return self.name


class Referral(TimeStamped):
    """转办: an assistance measure or a benefit application handed to a unit to act on.

    It lives here, not in `cases`, because it can point at a benefit application, and
    subsidies sits above cases. 已转办 → 已受理 → 已办结, or → 已退回 (with the unit's reason).
    """

    SCOPE_PATHS = ("household__township", "household__village")

    class Status(models.TextChoices):
        REFERRED = "referred", "已转办"
        ACCEPTED = "accepted", "已受理"
        DONE = "done", "已办结"
        RETURNED = "returned", "已退回"

    OPEN = (Status.REFERRED, Status.ACCEPTED)

    household = models.ForeignKey(
        "cases.Household", on_delete=models.PROTECT, related_name="referrals", verbose_name="家庭"
    )
    unit = models.ForeignKey(
        ReferralUnit, on_delete=models.PROTECT, related_name="referrals", verbose_name="转办单位"
    )
    measure = models.ForeignKey(
        "cases.AssistanceMeasure",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name="帮扶措施",
    )
    application = models.ForeignKey(
        BenefitApplication,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        verbose_name="救助与补贴申请",
    )
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.REFERRED, db_index=True
    )
    referred_on = models.DateField("转办日期")
    request = models.CharField("转办事项", max_length=300)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="转办人",
    )
    accepted_on = models.DateField("受理日期", null=True, blank=True)
    closed_on = models.DateField("办结/退回日期", null=True, blank=True)
    response = models.CharField("办理结果", max_length=300, blank=True)

    class Meta:
        ordering = ["-referred_on", "-id"]
        verbose_name = verbose_name_plural = "转办"
        constraints = [
            models.CheckConstraint(
                condition=(Q(measure__isnull=False) & Q(application__isnull=True))
                | (Q(measure__isnull=True) & Q(application__isnull=False)),
                name="referral_is_of_one_measure_or_application",
                violation_error_message="转办须针对一项帮扶措施或一项申请",
            ),
            models.UniqueConstraint(
                fields=["unit", "measure"],
                condition=Q(status__in=("referred", "accepted")),
                name="one_open_referral_per_unit_measure",
                violation_error_message="该措施已转办该单位且尚未办结",
            ),
            models.UniqueConstraint(
                fields=["unit", "application"],
                condition=Q(status__in=("referred", "accepted")),
                name="one_open_referral_per_unit_application",
                violation_error_message="该申请已转办该单位且尚未办结",
            ),
        ]

    def __str__(self):
        return f"{self.household} → {self.unit} · {self.get_status_display()}"
