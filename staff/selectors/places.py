"""Townships and villages the user may filter by, read in one query."""

from dataclasses import dataclass

from django.db.models import (
    Q,
)

from cases.models import Village
from cases.scope import Scope, scoped


@dataclass(frozen=True)
class Place:
    pk: int
    name: str
    township_id: int
    township_name: str


def places(user) -> list[Place]:
    """The villages in the user's scope with their townships, in one query.

    County roles get every village (their township filter is derived from the same rows),
    township staff their township's villages, village members their own village.
    """
    rows = (
        scoped(user, Village.objects.all())
        .order_by("township__code", "name")
        .values_list("pk", "name", "township_id", "township__name")
    )
    return [Place(*row) for row in rows]


def township_choices(place_list: list[Place]) -> list[tuple[str, str]]:
    seen = {}
    for place in place_list:
        seen.setdefault(place.township_id, place.township_name)
    return [(str(pk), name) for pk, name in seen.items()]


def village_choices(place_list: list[Place], township_id: str | None = None):
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
