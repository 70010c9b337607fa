"""Template filters for personal data shown in pages (masked numbers, ages) and the main
navigation with its entries' labels and URLs."""

from django import template
from django.db.models import Model
from django.utils import timezone
from django.utils.safestring import SafeString

from cases.identity import age_on, mask_id_number, mask_phone
from cases.masking import shown_text
from cases.scope import scope_for
from cases.text import clean_text
from staff.navigation import NAV_BY_KEY, nav_html, site_url

register = template.Library()


@register.filter
def masked_id(number: str) -> str:
    """公民身份号码 as every page shows it: first 6 + ******** + last 4."""
    return mask_id_number(number or "")


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u3400" <= char <= "\u9fff" for char in text)


@register.filter
def staff_name(user) -> str:
    """A user's display name: Chinese names family-name first without a space (张三)."""
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    if not first and not last:
        return getattr(user, "username", "")
    if _is_cjk(first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


@register.filter(is_safe=True)
def bidi_safe(value):
    """Free text as pages show it (names, notes, reasons, file names, messages): a bidi
    override (U+202E…) in the data would reorder what follows it on the page, and a
    control character (NUL, ESC…) is not allowed in an HTML document, so each is shown as
    U+FFFD, the same marker the exports print (`cases.text.clean_text`). Other values pass
    unchanged (dates keep their formatting); autoescaping still applies."""
    if isinstance(value, Model):  # {{ household }}: its str() falls back to the head's ID
        return shown_text(str(value))
    return clean_text(value) if isinstance(value, str) else value


# is_safe: the markers and the asterisks cannot make markup, so text that was already
# escaped (a `join`) stays escaped once, and plain text is still autoescaped.
@register.filter(is_safe=True)
def masked_text(value):
    """A stored message about the data (an import's row errors, warnings, the batch's
    message) as pages show it: `bidi_safe`, and every ID, certificate and mobile number
    inside it masked (`cases.masking.shown_text`). Messages are masked when they are
    made; masking again when they are shown also covers rows stored before that."""
    if isinstance(value, Model):  # a household without a head's name is its head's ID
        value = str(value)
    return shown_text(value) if isinstance(value, str) else value


@register.filter
def minutes(duration) -> int | str:
    """A timedelta as whole minutes (the lockout cool-off), or an empty string."""
    if duration is None:
        return ""
    return int(duration.total_seconds() // 60)


@register.filter
def masked_phone(number: str) -> str:
    return mask_phone(number or "")


@register.filter
def age(birth_date) -> int | str:
    """Whole years today (Asia/Shanghai), or an empty string without a birth date."""
    if not birth_date:
        return ""
    return age_on(birth_date, timezone.localdate())


@register.simple_tag(takes_context=True)
def main_nav(context) -> SafeString:
    """The role-filtered main navigation (staff.navigation.NAV_ITEMS), kept rendered."""
    request = context.get("request")
    user = getattr(request, "user", None)
    return nav_html(scope_for(user), user, context.get("nav", ""))


@register.simple_tag
def nav_label(key: str) -> str:
    """The label of a main-navigation entry: a top-level page's name where no other is shown."""
    item = NAV_BY_KEY.get(key)
    return item.label if item is not None else ""


@register.simple_tag
def nav_url(key: str) -> str:
    """The URL of a main-navigation entry (a list page's own address)."""
    return site_url(NAV_BY_KEY[key].url_name or "home")


@register.simple_tag(name="site_url")
def site_url_tag(name: str) -> str:
    """`{% url name %}` for the links every page shows (base.html), reversed once."""
    return site_url(name)
