"""The main navigation: one list, filtered by the user's role.

An item with `url_name=None` is a placeholder for a page not built yet: it is not
shown until it gets a URL name. To add a page, give its item a URL name and the roles
that may use it. Pages check the role themselves too (a hidden link is no protection).
"""

from dataclasses import dataclass
from functools import lru_cache

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils.safestring import SafeString

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


def nav_html(scope: Scope, user=None, active: str = "") -> SafeString:
    """The main navigation as HTML (templates/staff/_nav.html): the items a user may use,
    `active` (the page's `nav` key) marked. No role: only 首页."""
    is_staff = bool(getattr(user, "is_staff", False))
    return _nav_html(scope.role, is_staff, get_script_prefix(), str(active))


def site_url(name: str) -> str:
    """`reverse(name)` for a URL without arguments (the navigation's, the header's links),
    reversed once per process and script prefix: `{% url %}` resolves the pattern on every
    call (~45 µs), and every page shows these."""
    return _site_url(name, get_script_prefix())


@lru_cache(maxsize=64)
def _site_url(name: str, prefix: str) -> str:
    return reverse(name)


@lru_cache(maxsize=256)
def _nav_html(role: str | None, is_staff: bool, prefix: str, active: str) -> SafeString:
    """Rendered once per process for each role and active entry: every staff page shows it,
    and reversing and rendering its dozen links cost ~0.15 ms per page (docs/PERFORMANCE.md,
    Load). It holds no user data, only the role's links; `prefix` (the script prefix
    reverse() uses) is part of the key; the keys are bounded (roles × entries)."""
    items = _nav_items(role, is_staff)
    return render_to_string("staff/_nav.html", {"items": items, "active": active})


def _nav_items(role: str | None, is_staff: bool) -> list[dict]:
    """The items for a role as {key, label, url}; reversed under the current script prefix."""
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
        items.append({"key": item.key, "label": item.label, "url": site_url(item.url_name)})
    return items


@receiver(setting_changed)
def _forget_nav_items(setting: str, **kwargs) -> None:
    """Tests that swap the URL configuration or the templates get the navigation built
    under the new ones."""
    if setting in ("ROOT_URLCONF", "TEMPLATES"):
        _site_url.cache_clear()
        _nav_html.cache_clear()
