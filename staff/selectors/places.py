"""Townships and villages the user may filter by, read in one query."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import django_filters
from django.db.models import Q, QuerySet

from cases.models import Village
from cases.scope import AnyUser, Scope, scope_for, scoped
from cases.text import clean_text


@dataclass(frozen=True)
class Place:
    pk: int
    name: str
    township_id: int
    township_name: str


def places(user: AnyUser) -> list[Place]:
    """The villages in the user's scope with their townships, in one query.

    County roles get every village (their township filter is derived from the same rows),
    township staff their township's villages, village members their own village.
    """
    rows = (
        scoped(user, Village.objects.all())
        .order_by("township__code", "name")
        .values_list("pk", "name", "township_id", "township__name")
    )
    # Village names come from import cells: as filter labels they are cleaned like every
    # other text a page shows (cases.text.clean_text; docs/SECURITY.md "Exports").
    return [
        Place(pk, clean_text(name), township_id, clean_text(township))
        for pk, name, township_id, township in rows
    ]


def township_choices(place_list: list[Place]) -> list[tuple[str, str]]:
    seen: dict[int, str] = {}
    for place in place_list:
        seen.setdefault(place.township_id, place.township_name)
    return [(str(pk), name) for pk, name in seen.items()]


def village_choices(
    place_list: list[Place], township_id: str | None = None
) -> list[tuple[str, Any]]:
    """Village choices; for county roles grouped by township (optgroups)."""
    townships = {place.township_id for place in place_list}
    chosen = [
        place
        for place in place_list
        if not township_id or str(place.township_id) == str(township_id)
    ]
    if len(townships) <= 1:
        return [(str(place.pk), place.name) for place in chosen]
    groups: dict[str, list] = {}
    for place in chosen:
        groups.setdefault(place.township_name, []).append((str(place.pk), place.name))
    return list(groups.items())


def fit_place_filters(
    filterset: Any, place_list: list[Place], scope: Scope | None, township_id: str | None
) -> None:
    """Fit a FilterSet's `township` and `village` filters to the user's scope.

    County roles choose a township and then a village of it; township staff choose among
    their villages; a village member's list is their village, so both filters go.
    """
    if scope is not None and scope.is_county:
        filterset.filters["township"].extra["choices"] = township_choices(place_list)
    else:
        del filterset.filters["township"]
    if scope is not None and scope.village_id is not None:
        del filterset.filters["village"]
    else:
        township = township_id if scope is not None and scope.is_county else None
        filterset.filters["village"].extra["choices"] = village_choices(place_list, township)


def place_filters(
    prefix: str = "",
) -> tuple[django_filters.ChoiceFilter, django_filters.ChoiceFilter]:
    """The `township` and `village` filters of a list whose rows reach their place by `prefix`."""
    return (
        django_filters.ChoiceFilter(
            label="乡镇", field_name=f"{prefix}township_id", empty_label="全部乡镇"
        ),
        django_filters.ChoiceFilter(
            label="村（社区）", field_name=f"{prefix}village_id", empty_label="全部村"
        ),
    )


class PlaceFilterSet(django_filters.FilterSet):
    """A FilterSet with `township` and `village` filters (`place_filters`), fitted to the scope.

    `defaults` fill filters the request leaves empty (e.g. the queue shows 待处理 unless asked).
    """

    defaults: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        data: Any = None,
        *args: Any,
        places: Sequence[Place] = (),
        scope: Scope | None = None,
        **kwargs: Any,
    ) -> None:
        if self.defaults:
            data = data.copy() if data is not None else {}
            for name, value in self.defaults.items():
                if not data.get(name):
                    data[name] = value
        super().__init__(data, *args, **kwargs)
        fit_place_filters(self, list(places), scope, (self.data or {}).get("township"))

    @classmethod
    def for_user(
        cls,
        user: AnyUser,
        data: Mapping[str, Any] | None,
        queryset: QuerySet,
        place_list: list[Place],
    ) -> tuple[QuerySet, Self]:
        """(the filtered rows, the FilterSet); an invalid filter gives no rows, not all."""
        filterset = cls(
            data if data is not None else {},
            queryset=queryset,
            places=place_list,
            scope=scope_for(user),
        )
        if not filterset.is_valid():
            return filterset.queryset.none(), filterset
        return filterset.qs, filterset


def place_condition(scope: Scope | None, prefix: str) -> Q:
    """The scope's township or village as a condition on `prefix` (nothing for the county).

    Added to the correlated subqueries of the dashboard although the outer query is already
    scoped: PostgreSQL evaluates such EXISTS filters as one hashed subquery over the whole
    table, so narrowing it to the township makes a township's dashboard several times faster.
    """
    if scope is None or scope.is_county:
        return Q()
    if scope.village_id is not None:
        return Q(**{f"{prefix}village_id": scope.village_id})
    return Q(**{f"{prefix}township_id": scope.township_id})
