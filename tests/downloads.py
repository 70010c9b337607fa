"""What a download response carries, streamed or not (the .xlsx exports are streamed)."""

from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpResponseBase


def response_bytes(response: HttpResponseBase) -> bytes:
    """The body, read whole from a streamed response or taken from a plain one.

    The test Client closes a streamed response itself once its body has been read.
    """
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined]


def close_as_server(response: HttpResponseBase) -> None:
    """`response.close()` as a WSGI server calls it, without closing the test's connection.

    Closing fires `request_finished`, whose `close_old_connections` would drop the
    connection a test transaction runs in (on PostgreSQL); the test Client disconnects it
    around `close()` in the same way.
    """
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
