"""The main navigation: one list, filtered by the user's role.

An item with `url_name=None` is a placeholder for a page not built yet: it is not
shown until it gets a URL name. To add a page, give its item a URL name and the roles
that may use it. Pages check the role themselves too (a hidden link is no protection).
"""

from dataclasses import dataclass
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import get_script_prefix, reverse

from cases.models import Role
from cases.scope import Scope

ALL_ROLES = frozenset(Role.values)
COUNTY = frozenset({Role.COUNTY_ADMIN, Role.COUNTY_VIEWER})


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    url_name: str | None
    roles: frozenset


NAV_ITEMS: tuple[NavItem, ...] = (
    NavItem("home", "首页", "home", ALL_ROLES),
    # key counts, charts and rates for the user's scope
    NavItem("workbench", "工作台", "staff:dashboard", ALL_ROLES),
    # the work queue of cross-check findings (read-only for county viewers)
    NavItem("findings", "比对发现", "staff:finding_list", COUNTY | {Role.TOWNSHIP_STAFF}),
    NavItem("persons", "人员", "staff:person_list", ALL_ROLES),
    # households and their monitoring cases
    NavItem("households", "家庭", "staff:household_list", ALL_ROLES),
    # visits (village committee members record home visits)
    NavItem("visits", "走访", "staff:visit_list", ALL_ROLES),
    # the task-area lists (一人一案核查, 就业, 康复, 无障碍, 托养, 公益岗, 结对, 应保尽保, 困境儿童,
    # 宣传) and the finance rosters
    NavItem("tasks", "业务清单", "staff:task_index", COUNTY | {Role.TOWNSHIP_STAFF}),
    # referrals waiting on units, and the unit list county admins keep
    NavItem("referrals", "转办", "staff:referral_list", COUNTY | {Role.TOWNSHIP_STAFF}),
    # indicators per township and county (docs/RULES.md#indicators)
    NavItem("stats", "统计", "staff:stats", COUNTY | {Role.TOWNSHIP_STAFF}),
    # upload page for the three sources (county admins only)
    NavItem("imports", "导入", "staff:import_list", frozenset({Role.COUNTY_ADMIN})),
    # cross-check runs and "run now" (county admins only)
    NavItem("runs", "比对运行", "staff:run_list", frozenset({Role.COUNTY_ADMIN})),
    # policy parameters per year (county admins only)
    NavItem("policy", "政策参数", "staff:policy_list", frozenset({Role.COUNTY_ADMIN})),
    # login lockouts and 解除锁定 (county admins only)
    NavItem("locks", "账号锁定", "staff:lock_list", frozenset({Role.COUNTY_ADMIN})),
    NavItem("admin", "管理后台", "admin:index", frozenset({Role.COUNTY_ADMIN})),
)


NAV_BY_KEY = {item.key: item for item in NAV_ITEMS}


def nav_for(scope: Scope, user=None) -> list[dict]:
    """The items a user may use, as {key, label, url}. No role: only 首页."""
    is_staff = bool(getattr(user, "is_staff", False))
    return [dict(item) for item in _nav_items(scope.role, is_staff, get_script_prefix())]


@lru_cache(maxsize=64)
def _nav_items(role: str | None, is_staff: bool, prefix: str) -> tuple[dict, ...]:
    """The items for a role, computed once per process: the same on every page, and
    reversing a dozen URLs on each request is measurable (docs/PERFORMANCE.md, Pages).
    `prefix` (the script prefix reverse() uses) is part of the key."""
    items = []
    for item in NAV_ITEMS:
        if item.url_name is None:
            continue
        if role is None:
            if item.key != "home":
                continue
        elif role not in item.roles:
            continue
        if item.key == "admin" and not is_staff:
            continue
        items.append({"key": item.key, "label": item.label, "url": reverse(item.url_name)})
    return tuple(items)


@receiver(setting_changed)
def _forget_nav_items(setting: str, **kwargs) -> None:
    """Tests that swap the URL configuration get items reversed under the new one."""
    if setting == "ROOT_URLCONF":
        _nav_items.cache_clear()
