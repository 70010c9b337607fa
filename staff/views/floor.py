"""The floor page of the load bench (docs/PERFORMANCE.md, Load): an authenticated, empty page.

`bench/load_bench.py` compares the throughput of the real pages with this one, measured
by the same clients in the same run: the floor pays for everything every request pays —
gunicorn, the session read, the user and scope, CSRF, CSP, the idle-timeout check and the
audit event the middleware writes for every authenticated view — and nothing else. It
shows no personal data and reads nothing beyond what the middleware reads.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from cases.scope import scope_safe

FLOOR_BODY = "ok"


@scope_safe(how="no personal data: an empty page for the load bench")
@login_required
@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    """A tiny 200, plain text; the audit middleware records the view like any other page."""
    return HttpResponse(FLOOR_BODY, content_type="text/plain; charset=utf-8")
