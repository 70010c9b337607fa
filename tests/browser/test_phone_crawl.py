"""Every page a township worker can reach from the home page fits a 375 px phone: a crawl in
Chromium follows the links of each page (same site, pages only: no downloads, no logout, no
admin) over the demo county with its cross-check run, and checks that nothing scrolls
sideways except inside a table's own scroll box, and that no page answers an error.
"""

from urllib.parse import urldefrag, urlparse

import pytest

from monitoring.crosscheck import run_crosscheck
from staff.demo import build_demo_county

from .conftest import PASSWORD, PHONE, log_in
from .test_staff_app import no_sideways_scroll

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Enough for every kind of page (lists, their filters' first values, records of each kind)
# without visiting every person of the county.
MAX_PAGES = 120
# Links a crawl must not follow: they end the session, change state or download a file.
SKIPPED_PREFIXES = ("/logout", "/admin", "/static")
SKIPPED_ENDINGS = (".xlsx", ".csv", "/download/original/", "/download/errors/")
# One page per kind of record is enough: /persons/12/ and /persons/13/ share a template.
KINDS_SEEN_ONCE = ("/persons/", "/households/", "/monitoring/findings/")


def kind_of(path: str) -> str:
    """`/persons/12/` and `/persons/13/` are one kind; so are two pages of one list."""
    parts = [part for part in path.split("/") if part]
    return "/".join("#" if part.isdigit() else part for part in parts)


@pytest.fixture
def county():
    build_demo_county(persons=400, password=PASSWORD)
    run_crosscheck()


def test_every_page_reachable_from_home_fits_a_phone(browser, county):
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    log_in(page, username="chengguan", township="城关镇")
    queue = ["/"]
    seen_urls: set[str] = set()
    seen_kinds: set[str] = set()
    visited = []
    while queue and len(visited) < MAX_PAGES:
        url = queue.pop(0)
        if url in seen_urls:
            continue
        seen_urls.add(url)
        response = page.goto(url)
        assert response is not None and response.status < 400, f"{url}: {response.status}"
        visited.append(url)
        no_sideways_scroll(page, PHONE)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            target = urlparse(urldefrag(href)[0])
            if target.netloc != urlparse(page.url).netloc:
                continue
            path = target.path
            if path.startswith(SKIPPED_PREFIXES) or path.endswith(SKIPPED_ENDINGS):
                continue
            kind = kind_of(path)
            if path.startswith(KINDS_SEEN_ONCE) and kind in seen_kinds:
                continue
            seen_kinds.add(kind)
            full = path + (
                f"?{target.query}" if target.query and "page=" not in target.query else ""
            )
            if full not in seen_urls:
                queue.append(full)
    # The crawl reached the task areas, not only the navigation.
    reached = {kind_of(urlparse(url).path) for url in visited}
    for expected in ("tasks", "referrals", "persons/#", "households/#", "monitoring/findings/#"):
        assert expected in reached, f"the crawl never reached {expected}: {sorted(reached)}"
    assert browser.console_errors == []
