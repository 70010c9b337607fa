"""Policy what-if pages: the years that can be tried, and the affected households of a run's
result with their names, read through the user's scope."""

from collections.abc import Iterable
from typing import Any

from cases.models import Household, Person, Township
from cases.scope import AnyUser, scoped
from subsidies.models import PolicyYear

CHUNK = 2000  # ids per query (SQLite limits the parameters of one statement)


def whatif_years() -> list[int]:
    """Years with policy parameters, the latest first."""
    return list(PolicyYear.objects.order_by("-year").values_list("year", flat=True))


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def affected_households(
    user: AnyUser, result: dict[str, Any], limit: int | None = None
) -> list[dict[str, Any]]:
    """The run's affected households (the first `limit`), each with its township, village, head
    and the names of its affected persons; a household or person outside the user's scope is
    left out (a county admin sees the county)."""
    items = result.get("households", [])
    if limit is not None:
        items = items[:limit]
    household_ids = sorted({item["household"] for item in items if item["household"] is not None})
    person_ids = sorted({pid for item in items for pid in item["persons"]})
    households: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(household_ids):
        rows = scoped(user, Household.objects.filter(pk__in=chunk)).values_list(
            "pk", "head_name", "township__name", "village__name"
        )
        households.update(
            {pk: (head, town or "", village or "") for pk, head, town, village in rows}
        )
    persons: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(person_ids):
        people = scoped(user, Person.objects.filter(pk__in=chunk)).values_list(
            "pk", "name", "township__name", "village__name"
        )
        persons.update(
            {pk: (name, town or "", village or "") for pk, name, town, village in people}
        )
    townships = dict(Township.objects.values_list("id", "name"))
    listed = []
    for item in items:
        in_scope = [pid for pid in item["persons"] if pid in persons]
        names = [persons[pid][0] for pid in in_scope]
        if item["household"] is not None:
            if item["household"] not in households:
                continue
            head, town, village = households[item["household"]]
        else:
            if not names:
                continue
            head, town, village = persons[in_scope[0]]
        if item["township"] != "none":
            town = townships.get(int(item["township"]), town)
        listed.append(
            {
                **item,
                "head_name": head,
                "township_name": town,
                "village_name": village,
                "persons": names,
            }
        )
    return listed
