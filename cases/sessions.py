"""Account sessions: one session per account, and the audit of logins, logouts and failures.

Connected in `CasesConfig.ready()` through Django's auth signals (fine for auth events;
data writes never use signals).

- `user_logged_in`: the account's other sessions end (their keys come from the small
  `UserSession` table written at each login, so no session in the table is decoded),
  the new session key is remembered, and a `login` event is recorded.
- `user_logged_out`: the key is forgotten, a `logout` event is recorded.
- `user_login_failed` and axes' `user_locked_out`: a `login_failed` event with the
  username that was tried (never the password).
"""

from importlib import import_module

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import Action, Result, audit, build_event, client_ip
from .models import UserSession


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def end_other_sessions(user, keep_key: str | None) -> int:
    """End every remembered session of `user` except `keep_key`; returns how many."""
    others = list(
        UserSession.objects.filter(user=user)
        .exclude(session_key=keep_key or "")
        .values_list("session_key", flat=True)
    )
    store = _session_store()
    for key in others:
        store().delete(key)
    UserSession.objects.filter(user=user, session_key__in=others).delete()
    return len(others)


@receiver(user_logged_in, dispatch_uid="huoqiu_login")
def on_login(sender, request, user, **kwargs):
    session = getattr(request, "session", None) if request is not None else None
    key = getattr(session, "session_key", None)
    if session is not None and not key:
        session.save()
        key = session.session_key
    ended = end_other_sessions(user, key)
    if key:
        # One INSERT (no read-then-write transaction: SQLite would refuse it under load).
        UserSession.objects.bulk_create(
            [UserSession(user=user, session_key=key, ip_address=client_ip(request))],
            ignore_conflicts=True,
        )
    audit(request, Action.LOGIN, target=user, details={"ended_sessions": ended})


@receiver(user_logged_out, dispatch_uid="huoqiu_logout")
def on_logout(sender, request, user, **kwargs):
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key).delete()
    if user is not None:
        audit(request, Action.LOGOUT, target=user)
        # `request.user` is anonymous from here on; the event above carries the user.


def _failed(request, username: str, details: dict) -> None:
    event = build_event(request, Action.LOGIN_FAILED, details=details, result=Result.DENIED)
    event.username = (username or "")[:150]
    event.actor = None
    event.save()
    if request is not None:
        request._huoqiu_audited = True


@receiver(user_login_failed, dispatch_uid="huoqiu_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username") or "")
    _failed(request, username, {"reason": "wrong_credentials_or_locked"})


@receiver(user_locked_out, dispatch_uid="huoqiu_locked_out")
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    _failed(request, str(username or ""), {"reason": "locked_out"})
