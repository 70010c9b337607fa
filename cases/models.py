"""The registry: geography, persons, certificates, households, staff scope, history.

Task-area records that the cross-check reads (education plans, rehabilitation
services, pairings, assistance measures) live here too, so the monitoring app
depends on cases and never the other way round.
"""

from django.conf import settings
from django.db import connections, models, router, transaction
from django.db.models import Q
from django.db.models.functions import Length
from django.utils import timezone

from . import audit_chain

# Lets constraints say `number__length__in=[20, 22]`.
models.CharField.register_lookup(Length)


class TimeStamped(models.Model):
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        abstract = True


class Township(TimeStamped):
    """A township-level unit of Huoqiu county (镇, 乡 or the development zone)."""

    class Kind(models.TextChoices):
        TOWN = "town", "镇"
        TOWNSHIP = "township", "乡"
        ZONE = "zone", "开发区"

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=32, unique=True)
    short_name = models.CharField(
        "简称", max_length=32, unique=True, help_text="去掉“镇/乡”后缀的名称，用于匹配"
    )
    kind = models.CharField("类型", max_length=10, choices=Kind.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = verbose_name_plural = "乡镇"

    def __str__(self):
        return self.name


class Village(TimeStamped):
    SCOPE_PATHS = ("township", "pk")

    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="villages", verbose_name="乡镇"
    )
    name = models.CharField("村（社区）", max_length=64)
    code = models.CharField("区划代码", max_length=15, blank=True)

    class Meta:
        ordering = ["township__code", "name"]
        verbose_name = verbose_name_plural = "村（社区）"
        constraints = [
            models.UniqueConstraint(fields=["township", "name"], name="village_unique_in_township")
        ]

    def __str__(self):
        return f"{self.township.name}{self.name}"


class DisabilityCategory(models.IntegerChoices):
    VISION = 1, "视力"
    HEARING = 2, "听力"
    SPEECH = 3, "言语"
    PHYSICAL = 4, "肢体"
    INTELLECTUAL = 5, "智力"
    MENTAL = 6, "精神"
    MULTIPLE = 7, "多重"


class DisabilityGrade(models.IntegerChoices):
    ONE = 1, "一级"
    TWO = 2, "二级"
    THREE = 3, "三级"
    FOUR = 4, "四级"


class Gender(models.TextChoices):
    MALE = "M", "男"
    FEMALE = "F", "女"


class Person(TimeStamped):
    """Anyone with an ID number: certified disabled persons and other household members."""

    SCOPE_PATHS = ("township", "village")

    id_number = models.CharField("公民身份号码", max_length=18, unique=True)
    name = models.CharField("姓名", max_length=64)
    gender = models.CharField("性别", max_length=1, choices=Gender.choices)
    birth_date = models.DateField("出生日期")
    township = models.ForeignKey(
        Township,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="persons",
        verbose_name="乡镇",
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="persons",
        verbose_name="村（社区）",
    )
    phone = models.CharField("联系电话", max_length=20, blank=True)

    class Meta:
        ordering = ["township__code", "village__name", "id_number"]
        verbose_name = verbose_name_plural = "人员"
        constraints = [
            models.CheckConstraint(
                condition=Q(id_number__regex=r"^[0-9]{17}[0-9X]$"),
                name="person_id_number_normalised",
            ),
        ]
        indexes = [models.Index(fields=["name"], name="person_name_idx")]

    def __str__(self):
        return self.name


class Certificate(TimeStamped):
    """The disability certificate (残疾人证) of a certified person."""

    SCOPE_PATHS = ("person__township", "person__village")

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="certificate", verbose_name="持证人"
    )
    number = models.CharField("残疾人证号", max_length=22, unique=True)
    category = models.PositiveSmallIntegerField("残疾类别", choices=DisabilityCategory.choices)
    grade = models.PositiveSmallIntegerField("残疾等级", choices=DisabilityGrade.choices)
    reissue = models.PositiveSmallIntegerField("换领次数（B后缀）", null=True, blank=True)

    class Meta:
        ordering = ["number"]
        verbose_name = verbose_name_plural = "残疾人证"
        constraints = [
            models.CheckConstraint(
                condition=Q(category__gte=1, category__lte=7), name="certificate_valid_category"
            ),
            models.CheckConstraint(
                condition=Q(grade__gte=1, grade__lte=4), name="certificate_valid_grade"
            ),
            models.CheckConstraint(
                condition=Q(reissue__isnull=True) | Q(reissue__gte=1, reissue__lte=9),
                name="certificate_valid_reissue",
            ),
            models.CheckConstraint(
                condition=Q(number__length__in=[20, 22]),
                name="certificate_number_length",
            ),
        ]

    def __str__(self):
        return self.number


class Household(TimeStamped):
    """A household as the federation's survey knows it, keyed by the head's ID number."""

    SCOPE_PATHS = ("township", "village")

    head_id_number = models.CharField("户主身份证号", max_length=18, unique=True)
    head_name = models.CharField("户主姓名", max_length=64, blank=True)
    head = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_households",
        verbose_name="户主",
    )
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="households", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, related_name="households", verbose_name="村（社区）"
    )
    size = models.PositiveSmallIntegerField("家庭人口数", null=True, blank=True)

    class Meta:
        ordering = ["township__code", "village__name", "head_id_number"]
        verbose_name = verbose_name_plural = "家庭"

    def __str__(self):
        return f"{self.head_name or self.head_id_number}户"


class HouseholdMember(TimeStamped):
    SCOPE_PATHS = ("household__township", "household__village")

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="members", verbose_name="家庭"
    )
    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="membership", verbose_name="成员"
    )
    relation = models.CharField("与户主关系", max_length=16, blank=True)

    class Meta:
        ordering = ["household_id", "id"]
        verbose_name = verbose_name_plural = "家庭成员"

    def __str__(self):
        return f"{self.person} ({self.relation})"


class ChangeRecord(models.Model):
    """History row written explicitly by services: who, when, what changed, why."""

    class Action(models.TextChoices):
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        DELETE = "delete", "删除"

    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    source = models.CharField("来源", max_length=64, blank=True, help_text="如 导入批次 3")
    model = models.CharField("对象类型", max_length=64)
    object_id = models.CharField("对象编号", max_length=64)
    action = models.CharField("操作", max_length=10, choices=Action.choices)
    changes = models.JSONField("变更（字段: [原值, 新值]）", default=dict)
    reason = models.CharField("原因", max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "变更历史"
        indexes = [models.Index(fields=["model", "object_id"], name="change_object_idx")]

    def __str__(self):
        return f"{self.get_action_display()} {self.model}#{self.object_id}"


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", "县残联管理员"
    COUNTY_VIEWER = "county_viewer", "县级只读（乡村振兴局）"
    TOWNSHIP_STAFF = "township_staff", "乡镇工作人员"
    VILLAGE_MEMBER = "village_member", "村残协专职委员"


class StaffProfile(TimeStamped):
    """A user's role and data scope. A user without a profile sees nothing."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="staff_profile",
        verbose_name="用户",
    )
    role = models.CharField("角色", max_length=20, choices=Role.choices)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, null=True, blank=True, verbose_name="所属乡镇"
    )
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, blank=True, verbose_name="所属村（社区）"
    )

    class Meta:
        ordering = ["user__username"]
        verbose_name = verbose_name_plural = "用户角色与范围"
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="township_staff") | Q(township__isnull=False),
                name="township_staff_has_township",
            ),
            models.CheckConstraint(
                condition=~Q(role="village_member") | Q(village__isnull=False),
                name="village_member_has_village",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"


# --- Task-area records the cross-check reads (extended for the case work) ---


class EducationPlan(TimeStamped):
    """一人一案: one plan per school-age disabled child."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Placement(models.TextChoices):
        MAINSTREAM = "mainstream", "随班就读"
        SPECIAL_SCHOOL = "special_school", "特殊教育学校"
        HOME_TEACHING = "home_teaching", "送教上门"
        NOT_ENROLLED = "not_enrolled", "未入学"

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="education_plan", verbose_name="儿童"
    )
    placement = models.CharField("安置方式", max_length=20, choices=Placement.choices)
    school = models.CharField("学校", max_length=100, blank=True)
    not_enrolled_reason = models.CharField("未入学原因", max_length=200, blank=True)
    verified_on = models.DateField("核查日期")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )

    class Meta:
        ordering = ["-verified_on", "id"]
        verbose_name = verbose_name_plural = "适龄儿童一人一案"
        constraints = [
            models.CheckConstraint(
                condition=~Q(placement="not_enrolled") | ~Q(not_enrolled_reason=""),
                name="education_plan_not_enrolled_has_reason",
            )
        ]

    def __str__(self):
        return f"{self.person} · {self.get_placement_display()}"


class RehabService(TimeStamped):
    """A rehabilitation service delivered to a person (精准康复服务)."""

    SCOPE_PATHS = ("person__township", "person__village")

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="rehab_services", verbose_name="服务对象"
    )
    service_type = models.CharField("服务内容", max_length=50)
    provider = models.CharField("服务机构", max_length=100)
    served_on = models.DateField("服务日期")
    # Added for the case work (additive):
    need = models.ForeignKey(
        "RehabNeed",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="services",
        verbose_name="对应康复需求",
    )
    note = models.CharField("备注", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )

    class Meta:
        ordering = ["-served_on", "id"]
        verbose_name = verbose_name_plural = "康复服务"

    def __str__(self):
        return f"{self.person} · {self.service_type} · {self.served_on}"


class Pairing(TimeStamped):
    """一对一结对帮扶: a party member or cadre paired with a household."""

    SCOPE_PATHS = ("household__township", "household__village")

    class HelperKind(models.TextChoices):
        PARTY_MEMBER = "party_member", "党员"
        CADRE = "cadre", "干部"
        OTHER = "other", "其他"

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="pairings", verbose_name="结对家庭"
    )
    helper_name = models.CharField("帮扶人", max_length=64)
    helper_unit = models.CharField("帮扶人单位", max_length=100, blank=True)
    helper_phone = models.CharField("帮扶人电话", max_length=20, blank=True)
    started_on = models.DateField("结对日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    # Added for the case work (additive):
    helper_kind = models.CharField(
        "帮扶人身份",
        max_length=12,
        choices=HelperKind.choices,
        blank=True,
    )
    case = models.ForeignKey(
        "MonitoringCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="pairings",
        verbose_name="监测对象",
    )
    end_reason = models.CharField("结束原因", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )

    class Meta:
        ordering = ["-started_on", "id"]
        verbose_name = verbose_name_plural = "结对帮扶"
        constraints = [
            # An open pairing has no end date yet; `casework.pairing_start` checks first.
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(ended_on__isnull=True),
                name="one_open_pairing_per_household",
                violation_error_message="该家庭已有结对帮扶人，请先结束原结对",
            )
        ]

    def __str__(self):
        return f"{self.helper_name} ↔ {self.household}"


class AssistanceMeasure(TimeStamped):
    """帮扶措施 recorded for a household."""

    SCOPE_PATHS = ("household__township", "household__village")

    class Kind(models.TextChoices):
        SAFETY_NET = "safety_net", "兜底保障"
        INDUSTRY = "industry", "产业"
        EMPLOYMENT = "employment", "就业"
        HEALTH = "health", "健康/康复"
        EDUCATION = "education", "教育"
        HOUSING = "housing", "住房"
        WATER = "water", "饮水"
        ACCESSIBILITY = "accessibility", "无障碍改造"
        CARE = "care", "托养"
        PAIRING = "pairing", "结对帮扶"
        TEMPORARY_RELIEF = "temporary_relief", "临时救助"
        OTHER = "other", "其他"

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="assistance", verbose_name="家庭"
    )
    kind = models.CharField("措施类型", max_length=20, choices=Kind.choices)
    description = models.CharField("内容", max_length=300, blank=True)
    responsible_unit = models.CharField("责任单位", max_length=100)
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    result = models.CharField("成效", max_length=300, blank=True)
    # Added for the case work (additive):
    case = models.ForeignKey(
        "MonitoringCase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="measures",
        verbose_name="监测对象",
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
        ordering = ["-started_on", "id"]
        verbose_name = verbose_name_plural = "帮扶措施"

    def __str__(self):
        return f"{self.household} · {self.get_kind_display()}"


# --- Case work for the six task areas (docs/RULES.md). Written by cases/casework.py. ---

RISK_TYPES = (
    "因病",
    "因残",
    "因学",
    "因灾",
    "因意外事故",
    "因产业项目失败",
    "因务工就业不稳",
    "缺劳动力",
    "住房安全",
    "饮水安全",
    "其他",
)


class MonitoringCase(TimeStamped):
    """监测对象: the federation's monitoring case for one household (its workflow).

    待核实 → 已纳入监测 → 帮扶中 → 风险已消除, or 待核实 → 不予纳入. A household has at
    most one case that is not closed; a closed household may get a new case later.
    Every step is a `MonitoringCaseStep` (who, when, why).
    """

    SCOPE_PATHS = ("household__township", "household__village")

    class Status(models.TextChoices):
        PENDING = "pending", "待核实"
        INCLUDED = "included", "已纳入监测"
        ASSISTING = "assisting", "帮扶中"
        CLEARED = "cleared", "风险已消除"
        REJECTED = "rejected", "不予纳入"

    class Category(models.TextChoices):
        UNSTABLE = "unstable", "脱贫不稳定户"
        MARGINAL = "marginal", "边缘易致贫户"
        SUDDEN_HARDSHIP = "sudden", "突发严重困难户"

    class ClearMethod(models.TextChoices):
        ASSISTANCE = "assistance", "帮扶消除"
        NATURAL = "natural", "自然消除"

    ACTIVE_STATUSES = ("pending", "included", "assisting")
    MONITORED_STATUSES = ("included", "assisting")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="monitoring_cases", verbose_name="家庭"
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发现对象（残疾人）",
    )
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    category = models.CharField("监测对象类别", max_length=10, choices=Category.choices, blank=True)
    risk_types = models.JSONField("风险类型", default=list, blank=True)
    opened_on = models.DateField("建立日期")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="建立人",
    )
    opening_reason = models.CharField("建立原因", max_length=500)
    source_rule = models.CharField("来源规则", max_length=8, blank=True)
    source_finding_id = models.PositiveIntegerField("来源比对发现编号", null=True, blank=True)
    included_on = models.DateField("纳入监测日期", null=True, blank=True)
    assisting_since = models.DateField("开始帮扶日期", null=True, blank=True)
    cleared_on = models.DateField("风险消除日期", null=True, blank=True)
    clear_method = models.CharField(
        "风险消除方式", max_length=12, choices=ClearMethod.choices, blank=True
    )
    rejected_on = models.DateField("不予纳入日期", null=True, blank=True)
    rejected_reason = models.CharField("不予纳入原因", max_length=500, blank=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = verbose_name_plural = "监测对象"
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status__in=["pending", "included", "assisting"]),
                name="one_active_monitoring_case_per_household",
                violation_error_message="该家庭已有未结束的监测对象",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["included", "assisting", "cleared"]) | ~Q(category=""),
                name="monitoring_case_included_has_category",
                violation_error_message="已纳入监测的家庭必须填写监测对象类别",
            ),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejected_reason=""),
                name="monitoring_case_rejected_has_reason",
                violation_error_message="不予纳入必须填写原因",
            ),
            models.CheckConstraint(
                condition=~Q(status="cleared") | ~Q(clear_method=""),
                name="monitoring_case_cleared_has_method",
                violation_error_message="风险已消除必须填写消除方式",
            ),
        ]

    def __str__(self):
        return f"{self.household} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class MonitoringCaseStep(TimeStamped):
    """One step of a monitoring case: who moved it, when, from which status to which, why."""

    SCOPE_PATHS = ("case__household__township", "case__household__village")

    case = models.ForeignKey(
        MonitoringCase, on_delete=models.CASCADE, related_name="steps", verbose_name="监测对象"
    )
    from_status = models.CharField(
        "原状态", max_length=10, choices=MonitoringCase.Status.choices, blank=True
    )
    to_status = models.CharField("新状态", max_length=10, choices=MonitoringCase.Status.choices)
    acted_on = models.DateField("办理日期")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="办理人",
    )
    reason = models.CharField("办理说明", max_length=500)

    class Meta:
        ordering = ["case_id", "created_at", "id"]
        verbose_name = verbose_name_plural = "监测对象办理记录"

    def __str__(self):
        return f"{self.case_id}: {self.from_status or '—'} → {self.to_status}"


class TrackingVisit(TimeStamped):
    """跟踪访视 / 入户走访: a visit to a household with the 两不愁三保障 + water checklist."""

    SCOPE_PATHS = ("household__township", "household__village")

    class Kind(models.TextChoices):
        TRACKING = "tracking", "跟踪访视"
        HOME = "home", "入户走访"

    class Check(models.TextChoices):
        OK = "ok", "有保障"
        PROBLEM = "problem", "存在问题"
        NOT_APPLICABLE = "na", "不涉及"

    CHECK_FIELDS = {
        "food": "吃",
        "clothing": "穿",
        "education": "义务教育",
        "medical": "基本医疗",
        "housing": "住房安全",
        "water": "饮水安全",
    }

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="visits", verbose_name="家庭"
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name="走访对象（残疾人）",
    )
    case = models.ForeignKey(
        MonitoringCase,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visits",
        verbose_name="监测对象",
    )
    kind = models.CharField("走访类型", max_length=10, choices=Kind.choices, default=Kind.TRACKING)
    visited_on = models.DateField("走访日期")
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="走访人账号",
    )
    visitor_name = models.CharField("走访人", max_length=64)
    food = models.CharField("不愁吃", max_length=8, choices=Check.choices, blank=True)
    clothing = models.CharField("不愁穿", max_length=8, choices=Check.choices, blank=True)
    education = models.CharField("义务教育有保障", max_length=8, choices=Check.choices, blank=True)
    medical = models.CharField("基本医疗有保障", max_length=8, choices=Check.choices, blank=True)
    housing = models.CharField("住房安全有保障", max_length=8, choices=Check.choices, blank=True)
    water = models.CharField("饮水安全有保障", max_length=8, choices=Check.choices, blank=True)
    annual_income = models.DecimalField(
        "家庭年纯收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    income_per_capita = models.DecimalField(
        "家庭年人均纯收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    annual_expenditure = models.DecimalField(
        "家庭年支出（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    rigid_expenditure = models.DecimalField(
        "大额刚性支出（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    members_situation = models.TextField("家庭成员情况", blank=True)
    separated_children_situation = models.TextField("分户子女家庭情况", blank=True)
    notes = models.TextField("走访情况及发现问题", blank=True)
    next_due = models.DateField("下次访视日期", null=True, blank=True, db_index=True)
    # Income from its parts (docs/RULES.md, the national monitoring standard): the visit form
    # computes annual_income and income_per_capita from these when they are given.
    wage_income = models.DecimalField(
        "工资性收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    business_income = models.DecimalField(
        "生产经营性收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    business_costs = models.DecimalField(
        "生产经营性支出（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    property_income = models.DecimalField(
        "财产性收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    transfer_income = models.DecimalField(
        "转移性收入（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    deductible_expenses = models.DecimalField(
        "可扣除的其他支出（元）", max_digits=12, decimal_places=2, null=True, blank=True
    )
    household_size = models.PositiveSmallIntegerField("家庭人口数", null=True, blank=True)
    # A visit recorded offline carries the key its phone made; the server keeps it so a
    # second sync of the same visit finds the first instead of writing it twice.
    offline_key = models.UUIDField("离线记录标识", null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = verbose_name_plural = "跟踪访视"
        constraints = [
            models.CheckConstraint(
                condition=Q(next_due__isnull=True) | Q(next_due__gt=models.F("visited_on")),
                name="visit_next_due_after_visit",
                violation_error_message="下次访视日期应晚于本次走访日期",
            )
        ]

    def __str__(self):
        return f"{self.household} · {self.get_kind_display()} · {self.visited_on}"

    @property
    def problems(self) -> list[str]:
        """The checklist items marked 存在问题, in checklist order."""
        return [
            label
            for field, label in self.CHECK_FIELDS.items()
            if getattr(self, field) == self.Check.PROBLEM
        ]


class EvidencePhoto(TimeStamped):
    """A photo kept as evidence of a visit, an assistance measure or an accessibility step.

    Exactly one of the three owners is set. The stored image is re-encoded with its EXIF
    (GPS included) removed; the file is only ever served through a scoped, audited view.
    """

    class Stage(models.TextChoices):
        NONE = "", "—"
        CONSTRUCTION = "construction", "施工"
        ACCEPTED = "accepted", "验收"

    visit = models.ForeignKey(
        TrackingVisit,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name="走访",
    )
    measure = models.ForeignKey(
        AssistanceMeasure,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name="帮扶措施",
    )
    accessibility = models.ForeignKey(
        "AccessibilityModification",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name="无障碍改造",
    )
    stage = models.CharField("阶段", max_length=12, choices=Stage.choices, blank=True)
    image = models.FileField("照片", upload_to="evidence/%Y/%m/", max_length=300)
    thumbnail = models.FileField("缩略图", upload_to="evidence/%Y/%m/thumbs/", max_length=300)
    original_name = models.CharField("原文件名", max_length=255, blank=True)
    content_type = models.CharField("格式", max_length=32)
    width = models.PositiveIntegerField("宽")
    height = models.PositiveIntegerField("高")
    size_bytes = models.PositiveIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = verbose_name_plural = "照片证据"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(visit__isnull=False, measure__isnull=True, accessibility__isnull=True)
                    | Q(visit__isnull=True, measure__isnull=False, accessibility__isnull=True)
                    | Q(visit__isnull=True, measure__isnull=True, accessibility__isnull=False)
                ),
                name="evidence_photo_one_owner",
                violation_error_message="照片必须且只能属于一条记录",
            )
        ]

    def __str__(self):
        return f"照片 {self.original_name or self.pk}"


# Employment (就业)


class LabourProfile(TimeStamped):
    """Labour ability and willingness of one person (就业年龄段摸底)."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Ability(models.TextChoices):
        FULL = "full", "有劳动能力"
        PARTIAL = "partial", "弱劳动能力（半劳动力）"
        NONE = "none", "无劳动能力"

    person = models.OneToOneField(
        Person, on_delete=models.CASCADE, related_name="labour_profile", verbose_name="人员"
    )
    ability = models.CharField("劳动能力", max_length=10, choices=Ability.choices)
    willing = models.BooleanField("就业意愿", null=True, blank=True)
    wanted_work = models.CharField("意向岗位/技能", max_length=200, blank=True)
    assessed_on = models.DateField("摸底日期")
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        ordering = ["person_id"]
        verbose_name = verbose_name_plural = "劳动能力与就业意愿"

    def __str__(self):
        return f"{self.person} · {self.get_ability_display()}"


class WelfarePostPlacement(TimeStamped):
    """公益性岗位安置."""

    SCOPE_PATHS = ("person__township", "person__village")

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="welfare_posts", verbose_name="安置人员"
    )
    post = models.CharField("岗位名称", max_length=100)
    employer = models.CharField("设岗单位", max_length=100)
    monthly_pay = models.DecimalField(
        "月补贴/工资（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    started_on = models.DateField("上岗日期")
    ended_on = models.DateField("离岗日期", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = verbose_name_plural = "公益性岗位安置"
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="welfare_post_end_after_start",
                violation_error_message="离岗日期不能早于上岗日期",
            ),
            # On the post until the leaving date is recorded; `casework.welfare_post_place`
            # checks first.
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(ended_on__isnull=True),
                name="one_current_welfare_post_per_person",
                violation_error_message="该人员已在公益性岗位上岗，请先办理离岗",
            ),
        ]

    def __str__(self):
        return f"{self.person} · {self.post}"


class Training(TimeStamped):
    """培训记录: practical-skills or vocational training of one person."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Kind(models.TextChoices):
        PRACTICAL = "practical", "实用技术培训"
        VOCATIONAL = "vocational", "职业技能培训"

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="trainings", verbose_name="参训人员"
    )
    kind = models.CharField("培训类型", max_length=12, choices=Kind.choices)
    course = models.CharField("培训内容", max_length=100)
    organiser = models.CharField("培训机构", max_length=100)
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    certificate_obtained = models.BooleanField("取得证书", null=True, blank=True)
    result = models.CharField("培训效果", max_length=300, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = verbose_name_plural = "培训记录"
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="training_end_after_start",
                violation_error_message="结束日期不能早于开始日期",
            )
        ]

    def __str__(self):
        return f"{self.person} · {self.course}"


class EmploymentBase(TimeStamped):
    """就业扶贫基地 / 农民专业合作社 / 能人大户 that employ disabled persons."""

    SCOPE_PATHS = ("township", "village")

    class Kind(models.TextChoices):
        BASE = "base", "残疾人就业扶贫基地"
        COOPERATIVE = "cooperative", "农民专业合作社"
        CAPABLE_HOUSEHOLD = "capable", "能人大户"

    name = models.CharField("名称", max_length=100)
    kind = models.CharField("类型", max_length=12, choices=Kind.choices)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="村（社区）",
    )
    leader_name = models.CharField("负责人", max_length=64)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    business = models.CharField("主营业务", max_length=200, blank=True)
    recognised_on = models.DateField("认定日期", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        ordering = ["township__code", "name"]
        verbose_name = verbose_name_plural = "就业基地/合作社/能人大户"
        constraints = [
            models.UniqueConstraint(
                fields=["township", "name"],
                name="employment_base_unique_in_township",
                violation_error_message="本乡镇已有同名的就业基地/合作社/能人大户",
            )
        ]

    def __str__(self):
        return self.name


class BaseEmployment(TimeStamped):
    """A disabled person (or family member) employed or helped by an employment base."""

    SCOPE_PATHS = ("person__township", "person__village")

    base = models.ForeignKey(
        EmploymentBase, on_delete=models.PROTECT, related_name="employees", verbose_name="带动主体"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="base_jobs", verbose_name="人员"
    )
    job = models.CharField("岗位/带动方式", max_length=100)
    monthly_income = models.DecimalField(
        "月收入（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = verbose_name_plural = "基地带动就业人员"
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="base_employment_end_after_start",
                violation_error_message="结束日期不能早于开始日期",
            )
        ]

    def __str__(self):
        return f"{self.base} · {self.person}"


# Rehabilitation and care (康复、无障碍、托养)


class RehabNeed(TimeStamped):
    """A rehabilitation need found on a visit or assessment (the survey's needs live in SurveyRecord)."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Kind(models.TextChoices):
        TRAINING = "training", "康复训练"
        DEVICE = "device", "辅助器具"
        MEDICAL = "medical", "康复医疗（手术、药物）"
        SUPPORT = "support", "支持性服务"
        OTHER = "other", "其他"

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="rehab_needs", verbose_name="人员"
    )
    kind = models.CharField("需求类型", max_length=10, choices=Kind.choices)
    detail = models.CharField("需求说明", max_length=200, blank=True)
    identified_on = models.DateField("发现日期")
    closed_on = models.DateField("需求关闭日期", null=True, blank=True)
    close_reason = models.CharField("关闭原因", max_length=200, blank=True)

    class Meta:
        ordering = ["-identified_on", "-id"]
        verbose_name = verbose_name_plural = "康复需求"

    def __str__(self):
        return f"{self.person} · {self.get_kind_display()}"


class FamilyDoctorContract(TimeStamped):
    """家庭医生签约."""

    SCOPE_PATHS = ("person__township", "person__village")

    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="family_doctor_contracts",
        verbose_name="人员",
    )
    institution = models.CharField("签约机构", max_length=100)
    doctor = models.CharField("签约医生/团队", max_length=100)
    package = models.CharField("服务包", max_length=200, blank=True)
    signed_on = models.DateField("签约日期")
    expires_on = models.DateField("到期日期", null=True, blank=True)

    class Meta:
        ordering = ["-signed_on", "-id"]
        verbose_name = verbose_name_plural = "家庭医生签约"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_on__isnull=True) | Q(expires_on__gt=models.F("signed_on")),
                name="family_doctor_expires_after_signed",
                violation_error_message="到期日期应晚于签约日期",
            )
        ]

    def __str__(self):
        return f"{self.person} · {self.institution}"


class AccessibilityModification(TimeStamped):
    """家庭无障碍改造: 申请 → 评估 → 施工 → 验收 (or 已终止 before construction)."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Status(models.TextChoices):
        APPLIED = "applied", "申请"
        ASSESSED = "assessed", "评估"
        CONSTRUCTION = "construction", "施工"
        ACCEPTED = "accepted", "验收"
        CANCELLED = "cancelled", "已终止"

    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        related_name="accessibility_modifications",
        verbose_name="申请人（残疾人）",
    )
    status = models.CharField(
        "进度", max_length=12, choices=Status.choices, default=Status.APPLIED, db_index=True
    )
    applied_on = models.DateField("申请日期")
    assessed_on = models.DateField("评估日期", null=True, blank=True)
    assessment = models.CharField("评估意见", max_length=300, blank=True)
    items = models.CharField("改造内容", max_length=300, blank=True)
    contractor = models.CharField("施工单位", max_length=100, blank=True)
    construction_started_on = models.DateField("开工日期", null=True, blank=True)
    accepted_on = models.DateField("验收日期", null=True, blank=True)
    cost = models.DecimalField(
        "改造费用（元）", max_digits=10, decimal_places=2, null=True, blank=True
    )
    cancelled_on = models.DateField("终止日期", null=True, blank=True)
    cancel_reason = models.CharField("终止原因", max_length=300, blank=True)

    class Meta:
        ordering = ["-applied_on", "-id"]
        verbose_name = verbose_name_plural = "无障碍改造"
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(cost__isnull=False, accepted_on__isnull=False),
                name="accessibility_accepted_has_cost",
                violation_error_message="验收时必须填写验收日期和改造费用",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancel_reason=""),
                name="accessibility_cancelled_has_reason",
                violation_error_message="终止改造必须填写原因",
            ),
        ]

    def __str__(self):
        return f"{self.person} · 无障碍改造 · {self.get_status_display()}"


class CustodialCare(TimeStamped):
    """托养照护 (阳光家园): home, day or residential care."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Mode(models.TextChoices):
        HOME = "home", "居家托养"
        DAY = "day", "日间照料"
        RESIDENTIAL = "residential", "寄宿制托养"

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="custodial_care", verbose_name="托养对象"
    )
    mode = models.CharField("托养方式", max_length=12, choices=Mode.choices)
    institution = models.CharField("托养机构/服务人员", max_length=100, blank=True)
    started_on = models.DateField("开始日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        verbose_name = verbose_name_plural = "托养照护"
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("started_on")),
                name="custodial_care_end_after_start",
                violation_error_message="结束日期不能早于开始日期",
            ),
            # In care until the end date is recorded; `casework.custodial_care_start`
            # checks first.
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(ended_on__isnull=True),
                name="one_current_custodial_care_per_person",
                violation_error_message="该人员正在接受托养照护，请先结束原托养",
            ),
        ]

    def __str__(self):
        return f"{self.person} · {self.get_mode_display()}"


# Children in hardship (困境残疾儿童关爱)


class ChildCareRecord(TimeStamped):
    """One act of care for a certified child in hardship (困境残疾儿童关爱): a visit, rehabilitation
    help, schooling help or living help. Who counts as a child in hardship is computed
    (`monitoring.populations.hardship_children`), not stored; this keeps what was done."""

    SCOPE_PATHS = ("person__township", "person__village")

    class Kind(models.TextChoices):
        VISIT = "visit", "探访关爱"
        REHAB = "rehab", "康复救助"
        EDUCATION = "education", "教育帮扶"
        LIVING = "living", "生活救助"
        GUARDIANSHIP = "guardianship", "监护落实"
        OTHER = "other", "其他"

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="child_care", verbose_name="儿童"
    )
    kind = models.CharField("关爱类型", max_length=12, choices=Kind.choices)
    cared_on = models.DateField("日期")
    provider = models.CharField("关爱人/单位", max_length=100)
    content = models.CharField("关爱内容", max_length=300)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="记录人",
    )

    class Meta:
        ordering = ["-cared_on", "-id"]
        verbose_name = verbose_name_plural = "困境残疾儿童关爱记录"

    def __str__(self):
        return f"{self.person} · {self.get_kind_display()} · {self.cared_on}"


# Publicity (宣传)


class ExemplaryStory(TimeStamped):
    """自强模范 or 助残先进: an exemplary person and their story, and where it was published."""

    SCOPE_PATHS = ("township", "village")

    class Kind(models.TextChoices):
        SELF_RELIANT = "self_reliant", "残疾人自强模范"
        HELPER = "helper", "扶残助残先进"

    kind = models.CharField("类型", max_length=14, choices=Kind.choices)
    person = models.ForeignKey(
        Person,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stories",
        verbose_name="人员（登记在册的）",
    )
    name = models.CharField("人物姓名", max_length=64)
    title = models.CharField("事迹标题", max_length=200)
    story = models.TextField("事迹")
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="村（社区）",
    )
    published_in = models.CharField("宣传渠道/刊发媒体", max_length=200, blank=True)
    published_on = models.DateField("宣传日期", null=True, blank=True)

    class Meta:
        ordering = ["-published_on", "-id"]
        verbose_name = verbose_name_plural = "典型宣传"

    def __str__(self):
        return f"{self.name} · {self.title}"


# Grassroots organisation (基层组织)


class VillageAssociation(TimeStamped):
    """村残协: the disabled persons' association of one village."""

    SCOPE_PATHS = ("village__township", "village")

    village = models.OneToOneField(
        Village, on_delete=models.PROTECT, related_name="association", verbose_name="村（社区）"
    )
    established_on = models.DateField("成立日期", null=True, blank=True)
    chair_name = models.CharField("主席", max_length=64, blank=True)
    phone = models.CharField("联系电话", max_length=20, blank=True)
    member_count = models.PositiveIntegerField("会员人数", null=True, blank=True)
    note = models.CharField("备注", max_length=300, blank=True)

    class Meta:
        ordering = ["village__township__code", "village__name"]
        verbose_name = verbose_name_plural = "村残协"

    def __str__(self):
        return f"{self.village}残协"


class CommitteeMember(TimeStamped):
    """专职委员 of a township federation or a village association."""

    SCOPE_PATHS = ("township", "village")

    class Level(models.TextChoices):
        TOWNSHIP = "township", "乡镇残联专职委员"
        VILLAGE = "village", "村（社区）残协专职委员"

    name = models.CharField("姓名", max_length=64)
    level = models.CharField("类别", max_length=10, choices=Level.choices)
    township = models.ForeignKey(
        Township, on_delete=models.PROTECT, related_name="+", verbose_name="乡镇"
    )
    village = models.ForeignKey(
        Village,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="committee_members",
        verbose_name="村（社区）",
    )
    phone = models.CharField("联系电话", max_length=20, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="committee_member",
        verbose_name="系统账号",
    )
    started_on = models.DateField("任职日期", null=True, blank=True)
    ended_on = models.DateField("离任日期", null=True, blank=True)

    class Meta:
        ordering = ["township__code", "village__name", "name"]
        verbose_name = verbose_name_plural = "专职委员"
        constraints = [
            models.CheckConstraint(
                condition=~Q(level="village") | Q(village__isnull=False),
                name="village_committee_member_has_village",
                violation_error_message="村（社区）残协专职委员必须填写所在村（社区）",
            )
        ]

    def __str__(self):
        return f"{self.name}（{self.get_level_display()}）"


# --- Security (docs/SECURITY.md): the append-only audit trail and the one-session-per-account table ---


class AuditImmutable(Exception):
    """Audit rows are append-only: the application never updates or deletes them."""


class AuditEventQuerySet(models.QuerySet):
    """Refuses update() and delete(); only `cases.audit.prune_audit` removes old rows (raw SQL).

    `bulk_create` chains the events (`cases.audit_chain.assign`) in the transaction that
    inserts them, like `AuditEvent.save`.
    """

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            audit_chain.assign(objs, connections[self.db])
            return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        raise AuditImmutable("审计记录只能追加，不能修改 / audit events cannot be updated")

    def delete(self):
        raise AuditImmutable("审计记录只能追加，不能删除 / audit events cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditImmutable("审计记录只能追加，不能修改 / audit events cannot be updated")


class AuditEvent(models.Model):
    """Who did what, when, from where, to which record, with what result (append-only).

    Written by `cases.audit` (views, services, auth signals, the audit middleware);
    ID and phone numbers in `target_label` and `details` are masked before saving.
    Three layers keep it append-only: `save()` refuses an existing row, the queryset
    refuses update()/delete(), and the database's triggers (migration
    `0008_auditevent_chain`, both databases) refuse UPDATE, DELETE (but the table owner's
    prune of rows older than 183 days) and TRUNCATE, and set or check the time.
    Every insert is chained (`chain_seq`, `chain_hash`: `cases.audit_chain`); rows written
    before the chain existed have no number.
    """

    class Action(models.TextChoices):
        LOGIN = "login", "登录"
        LOGOUT = "logout", "退出"
        LOGIN_FAILED = "login_failed", "登录失败"
        VIEW = "view", "查看"
        LIST = "list", "列表"
        SEARCH = "search", "查询"
        EXPORT = "export", "导出"
        CREATE = "create", "新增"
        UPDATE = "update", "修改"
        DELETE = "delete", "删除"
        REVEAL = "reveal", "查看完整号码"
        IMPORT = "import", "导入"
        CROSSCHECK = "crosscheck", "比对"
        DOWNLOAD = "download", "下载"

    class Result(models.TextChoices):
        OK = "ok", "成功"
        DENIED = "denied", "拒绝"
        ERROR = "error", "错误"

    created_at = models.DateTimeField("时间", default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    username = models.CharField("用户名", max_length=150, blank=True)
    ip_address = models.GenericIPAddressField("IP地址", null=True, blank=True)
    action = models.CharField("操作", max_length=16, choices=Action.choices)
    target_model = models.CharField("对象类型", max_length=64, blank=True)
    target_id = models.CharField("对象编号", max_length=64, blank=True)
    target_label = models.CharField("对象（已脱敏）", max_length=200, blank=True)
    details = models.JSONField("详情（已脱敏）", default=dict, blank=True)
    result = models.CharField("结果", max_length=8, choices=Result.choices, default=Result.OK)
    method = models.CharField("请求方法", max_length=8, blank=True)
    path = models.CharField("请求路径", max_length=500, blank=True)
    # The hash chain (cases.audit_chain); empty on rows older than the chain.
    chain_seq = models.PositiveBigIntegerField("链序号", null=True, blank=True, unique=True)
    chain_hash = models.CharField("链哈希", max_length=64, blank=True, default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = verbose_name_plural = "审计日志"
        indexes = [
            models.Index(fields=["action", "created_at"], name="audit_action_time_idx"),
            models.Index(fields=["username", "created_at"], name="audit_user_time_idx"),
            models.Index(fields=["target_model", "target_id"], name="audit_target_idx"),
        ]

    def __str__(self):
        return f"{self.username or '-'} {self.get_action_display()} {self.target_label}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditImmutable("审计记录只能追加，不能修改 / audit events cannot be updated")
        kwargs.pop("force_update", None)
        kwargs["force_insert"] = True
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using, savepoint=False):
            audit_chain.assign([self], connections[using])
            super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditImmutable("审计记录只能追加，不能删除 / audit events cannot be deleted")


class AuditChainHead(models.Model):
    """The audit chain's one row: the last event's number and hash (advanced by the insert
    trigger) and the anchor left by the last prune — the number and hash of the last
    pruned event — from which `audit_verify` starts (cases.audit_chain)."""

    seq = models.PositiveBigIntegerField("最后序号", default=0)
    last_hash = models.CharField("最后哈希", max_length=64, blank=True, default="")
    anchor_seq = models.PositiveBigIntegerField("已清理至序号", default=0)
    anchor_hash = models.CharField("已清理至哈希", max_length=64, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "审计链头"

    def __str__(self):
        return f"audit chain head {self.seq}"


class UserSession(models.Model):
    """The session keys of an account, written at login, so a new login can end the others
    without decoding every session in the table (`cases.sessions`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="用户",
    )
    session_key = models.CharField("会话", max_length=40, unique=True)
    created_at = models.DateTimeField("登录时间", default=timezone.now)
    ip_address = models.GenericIPAddressField("IP地址", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = verbose_name_plural = "登录会话"

    def __str__(self):
        return f"{self.user_id}:{self.created_at:%Y-%m-%d %H:%M}"
