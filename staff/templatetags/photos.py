"""Template tags of photo evidence: the thumbnails of the timeline's visits and measures.

The household and person pages read the photos of every visit and measure on their timeline
in one compiled, scoped query (`staff.selectors.timeline.household_photos`);
`{% event_photos photo_map event as found %}` picks one event's.
"""

from django import template

from cases.models import EvidencePhoto

register = template.Library()

# Timeline kinds (staff.selectors.timeline) that can carry photos, and their owner keys.
OWNER_OF_KIND = {"visit": "visit", "assistance": "measure"}


@register.simple_tag
def event_photos(photo_map, event) -> list[EvidencePhoto]:
    owner = OWNER_OF_KIND.get(event.kind)
    if owner is None or not photo_map:
        return []
    return photo_map.get((owner, event.pk), [])
