"""`{{ pk|record_url:"staff:person_detail" }}`: the URL of one record in a long list.

`{% url %}` resolves the pattern on every call (about 25 µs idle, several times that on a
loaded server); a work queue page of 51 rows made 150 such calls. The URL is reversed
once per name and script prefix with a marker in place of the key, which each row
replaces (docs/PERFORMANCE.md, Pages). Only for URL names whose one argument is an
integer key (`<int:pk>`).
"""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()

MARKER = "987654321987654321"


@lru_cache(maxsize=64)
def _pattern(name: str, prefix: str) -> tuple[str, str]:
    url = reverse(name, args=[int(MARKER)])
    if url.count(MARKER) != 1:
        raise ValueError(f"{name}: the key must appear once in the URL ({url})")
    before, after = url.split(MARKER)
    return before, after


@register.filter
def record_url(pk: int | str, name: str) -> str:
    before, after = _pattern(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"
