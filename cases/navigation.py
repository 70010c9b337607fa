"""The main navigation: one list, filtered by the user's role.

An item with `url_name=None` is a placeholder for a page a later issue builds
(工作台, 家庭, 比对发现, 导入, 统计): it is not shown until it gets a URL name.
To add a page, give its item a URL name and the roles that may use it.
"""

from dataclasses import dataclass

from django.urls import reverse

from .models import Role
from .scope import Scope

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
    # issue 6: the township/village work queue
    NavItem(
        "workbench",
        "工作台",
        None,
        frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP_STAFF, Role.VILLAGE_MEMBER}),
    ),
    NavItem("persons", "人员", "cases:person_list", ALL_ROLES),
    # issue 6: households and their monitoring cases
    NavItem("households", "家庭", None, ALL_ROLES),
    # issue 6: cross-check findings (read-only for county viewers)
    NavItem("findings", "比对发现", None, COUNTY | {Role.TOWNSHIP_STAFF}),
    # issue 6: upload page for the three sources (county admins only)
    NavItem("imports", "导入", None, frozenset({Role.COUNTY_ADMIN})),
    # issue 6: indicators per township and county
    NavItem("stats", "统计", None, COUNTY | {Role.TOWNSHIP_STAFF}),
    NavItem("admin", "管理后台", "admin:index", frozenset({Role.COUNTY_ADMIN})),
)


def nav_for(scope: Scope, user=None) -> list[dict]:
    """The items a user may use, as {key, label, url}. No role: only 首页."""
    items = []
    for item in NAV_ITEMS:
        if item.url_name is None:
            continue
        if scope.role is None:
            if item.key != "home":
                continue
        elif scope.role not in item.roles:
            continue
        if item.key == "admin" and not getattr(user, "is_staff", False):
            continue
        items.append({"key": item.key, "label": item.label, "url": reverse(item.url_name)})
    return items
