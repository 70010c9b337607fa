"""Template tags of photo evidence: the thumbnails of the timeline's visits and measures.

`{% timeline_photos events as photo_map %}` reads the photos of every visit and measure on the
timeline in one scoped query (none when there is neither), so the household and person pages
keep their query budgets (docs/PERFORMANCE.md); `{% event_photos photo_map event as found %}`
picks one event's.
"""

from django import template

from cases.models import EvidencePhoto
from cases.photos import photos_by_owner

register = template.Library()

# Timeline kinds (staff.selectors.timeline) that can carry photos, and their owner keys.
OWNER_OF_KIND = {"visit": "visit", "assistance": "measure"}


@register.simple_tag(takes_context=True)
def timeline_photos(context, events) -> dict[tuple[str, int], list[EvidencePhoto]]:
    request = context.get("request")
    user = getattr(request, "user", None)
    visit_ids = [event.pk for event in events if event.kind == "visit"]
    measure_ids = [event.pk for event in events if event.kind == "assistance"]
    return photos_by_owner(user, visit_ids=visit_ids, measure_ids=measure_ids)


@register.simple_tag
def event_photos(photo_map, event) -> list[EvidencePhoto]:
    owner = OWNER_OF_KIND.get(event.kind)
    if owner is None or not photo_map:
        return []
    return photo_map.get((owner, event.pk), [])
