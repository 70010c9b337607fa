"""Keep pages with personal data out of browser and proxy caches.

Township offices share computers: a page a colleague viewed must not come back from the
browser's cache or its back button once the session has ended. Every response to a
signed-in user (pages, exports, downloads, JSON, the admin) is `no-store`. Static files
never get here (WhiteNoise answers them earlier in MIDDLEWARE) and stay cacheable; the
anonymous login pages are `no-store` already through Django's `never_cache` on LoginView
and the admin's login (they carry a CSRF token), and other anonymous responses are
redirects to the login or error pages without personal data.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

PRIVATE_NO_STORE = "private, no-store"


def no_store(response: HttpResponseBase) -> HttpResponseBase:
    """Keep a response with personal data or live progress out of every cache (a stored
    photo's `private, no-store`, staff/views/photos.py, says the same and is kept)."""
    if response.get("Cache-Control") != PRIVATE_NO_STORE:
        response["Cache-Control"] = "no-store"
    # HTTP/1.0 caches and old proxies read only Pragma.
    response["Pragma"] = "no-cache"
    return response


class NoStoreMiddleware:
    """`no_store` on every response to an authenticated user; after AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # Read after the view: a login POST has signed the user in by now (its redirect is
        # covered), a logout has signed them out (its redirect carries no data).
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            no_store(response)
        return response


SESSION_REFRESHED_KEY = "_refreshed_at"


class IdleSessionMiddleware:
    """The idle timeout without rewriting the session on every page view.

    Saving the session on each request (Django's SESSION_SAVE_EVERY_REQUEST) costs a write
    and a commit per page besides the audit event. Here a signed-in user's session is saved,
    and so its expiry moved to now + SESSION_COOKIE_AGE, only when it was last refreshed
    SESSION_REFRESH_SECONDS ago or more. A session therefore ends at most
    SESSION_COOKIE_AGE after the last page view, and at least SESSION_COOKIE_AGE −
    SESSION_REFRESH_SECONDS after it: never later than the idle timeout. After
    AuthenticationMiddleware (it needs the user) and SessionMiddleware (which saves).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            last = request.session.get(SESSION_REFRESHED_KEY)
            if not isinstance(last, int) or now - last >= settings.SESSION_REFRESH_SECONDS:
                request.session[SESSION_REFRESHED_KEY] = now
        return self.get_response(request)
