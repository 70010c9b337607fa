"""Template filters for personal data shown in pages: masked numbers and ages."""

from django import template
from django.utils import timezone

from cases.identity import age_on, mask_id_number, mask_phone
from cases.navigation import nav_for
from cases.scope import scope_for

register = template.Library()


@register.filter
def masked_id(number: str) -> str:
    """公民身份号码 as every page shows it: first 6 + ******** + last 4."""
    return mask_id_number(number or "")


@register.filter
def masked_phone(number: str) -> str:
    return mask_phone(number or "")


@register.filter
def age(birth_date) -> int | str:
    """Whole years today (Asia/Shanghai), or an empty string without a birth date."""
    if not birth_date:
        return ""
    return age_on(birth_date, timezone.localdate())


@register.inclusion_tag("cases/_nav.html", takes_context=True)
def main_nav(context):
    """The role-filtered main navigation (cases.navigation.NAV_ITEMS)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"items": nav_for(scope_for(user), user), "active": context.get("nav", "")}
