"""Read-side selectors for the cases app: every personal-data read a view makes.

Each selector takes the user first and starts from `cases.scope.scoped()`, so a
view can never forget the scope. Filters are django-filter FilterSets; paging is
`page_of()`, which never counts the whole table (see its docstring).
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import django_filters
from django.db.models import Q, QuerySet

from .identity import convert_15_to_18
from .models import Person
from .scope import AnyUser, get_in_scope_or_404, scoped

SEARCH_MAX_LENGTH = 40

_ID_FRAGMENT = re.compile(r"^\d{1,17}[\dX]?$")
_ID15 = re.compile(r"^\d{15}$")
_CERTIFICATE = re.compile(r"^\d{17}[\dX]\d\d(B[1-9])?$")


def normalise_query(raw: str | None) -> str:
    """Full-width to ASCII, no spaces (also not the ideographic space), `x` → `X`."""
    text = unicodedata.normalize("NFKC", raw or "")
    text = "".join(text.split()).lstrip("'‘’`")
    return text.upper() if _ID_FRAGMENT.match(text.upper()) else text


def search_condition(query: str) -> Q:
    """The Q for a free-text search box: ID number (full or partial), certificate, or name.

    - 18 characters: that exact ID number (uses the unique index);
    - 15 digits: the old ID converted to 18, or any ID containing the digits;
    - 20/22 characters: a certificate number, exactly;
    - other digits (with an optional final X): ID numbers containing them;
    - anything else: names containing the text.
    """
    text = normalise_query(query)
    if not text:
        return Q()
    if _CERTIFICATE.match(text):
        return Q(certificate__number=text)
    if _ID_FRAGMENT.match(text):
        if len(text) == 18:
            return Q(id_number=text)
        if _ID15.match(text):
            return Q(id_number=convert_15_to_18(text)) | Q(id_number__contains=text)
        return Q(id_number__contains=text)
    return Q(name__contains=text)


class PersonFilter(django_filters.FilterSet):
    """Search box of the person list: `q` is a name or an ID number (full or partial)."""

    q = django_filters.CharFilter(
        label="姓名或身份证号",
        method="filter_q",
        max_length=SEARCH_MAX_LENGTH,
    )

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(search_condition(value))


def certified_persons(user: AnyUser) -> QuerySet:
    """Persons holding a disability certificate, within the user's scope."""
    return scoped(user, Person.objects.filter(certificate__isnull=False)).select_related(
        "certificate", "township", "village"
    )


def person_list(user: AnyUser, query: Mapping | str | None = None) -> QuerySet:
    """Certified persons in the user's scope, filtered by the person FilterSet.

    `query` is the request's GET (or any mapping with `q`), or the search text itself.
    An invalid query (e.g. too long) returns no rows rather than the unfiltered list.
    """
    data = {"q": query} if isinstance(query, str) or query is None else query
    filterset = PersonFilter(data=data, queryset=certified_persons(user))
    if not filterset.is_valid():
        return filterset.queryset.none()
    return filterset.qs


def person_detail(user: AnyUser, pk: int) -> Person:
    """One person (certified or not) in the user's scope, or 404."""
    queryset = Person.objects.select_related(
        "certificate", "township", "village", "membership__household"
    )
    return get_in_scope_or_404(user, queryset, pk=pk)


# --- Paging without counting -------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a list, found by fetching one row more than the page holds.

    There is no total count and no last-page link: at county scale (tens of
    thousands of certified persons) a COUNT(*) over the scoped, filtered join on
    every page view costs more than the page itself, and staff page forward
    from a search rather than jumping to page 900.
    """

    rows: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.rows)


MAX_PAGE_NUMBER = 10_000


def parse_page_number(raw: Any) -> int:  # whatever the query string held, or None
    """A page number from the query string; anything odd means page 1."""
    try:
        number = int(raw)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE_NUMBER)


def page_of(queryset: QuerySet, number: int, per_page: int = 50) -> Page:
    """Rows of page `number` (1-based) in one query: a slice of per_page + 1 rows."""
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(
        rows=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page
    )
