"""The registry: geography, persons, certificates, households, staff scope, history.

Task-area records that the cross-check reads (education plans, rehabilitation
services, pairings, assistance measures) live here too, so the monitoring app
depends on cases and never the other way round.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

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


# --- Task-area records the cross-check reads (extended by the case-work issue) ---


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

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="pairings", verbose_name="结对家庭"
    )
    helper_name = models.CharField("帮扶人", max_length=64)
    helper_unit = models.CharField("帮扶人单位", max_length=100, blank=True)
    helper_phone = models.CharField("帮扶人电话", max_length=20, blank=True)
    started_on = models.DateField("结对日期")
    ended_on = models.DateField("结束日期", null=True, blank=True)

    class Meta:
        ordering = ["-started_on", "id"]
        verbose_name = verbose_name_plural = "结对帮扶"

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

    class Meta:
        ordering = ["-started_on", "id"]
        verbose_name = verbose_name_plural = "帮扶措施"

    def __str__(self):
        return f"{self.household} · {self.get_kind_display()}"
