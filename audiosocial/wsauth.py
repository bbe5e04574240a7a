"""WebSocket authentication: the session cookie (browsers) or an allauth session token.

Non-browser clients send the token they got from allauth's headless API in an
``X-Session-Token`` header (or, where headers cannot be set, ``?session_token=`` in the URL).

Channels' ``AuthMiddlewareStack`` loads the session and the member through
``database_sync_to_async`` on the process's one sync thread, for every socket: in a join storm
every handshake queued there behind the others' queries. Reading who the member is changes
nothing, so here it runs on the worker threads (on SQLite, which serialises access anyway, on
the one thread as before), once per handshake, and reads only:

- the session engine is ``settings.SESSION_ENGINE`` (a cached engine there serves sockets too;
  with Redis the cache client is one per process, audiosocial/cache.py);
- the member is verified as ``django.contrib.auth.get_user`` does (the backend is one of
  ``AUTHENTICATION_BACKENDS``, the session's hash matches the member's, or one made with a
  fallback secret), but a session that fails is not flushed and a fallback-secret session is not
  rotated here: a handshake has no response cookie to carry a new key, and the member's next page
  or API call does both. A failed session is simply no member (close 4401).
- a valid token wins over the cookie, as before.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator
from django.conf import settings
from django.db import connection
from django.http.cookie import parse_cookie


def _token_from_scope(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-session-token":
            return value.decode("latin-1")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("session_token")
    return values[0] if values else None


def _cookie_from_scope(scope: dict, name: str) -> str | None:
    for header, value in scope.get("headers", []):
        if header == b"cookie":
            found = parse_cookie(value.decode("latin-1")).get(name)
            if found:
                return found
    return None


def _user_for_token(token: str) -> Any:
    from allauth.headless.internal.sessionkit import authenticate_by_x_session_token

    result = authenticate_by_x_session_token(token)
    return result[0] if result else None


def _user_for_session(session_key: str) -> Any:
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
        load_backend,
    )
    from django.utils.crypto import constant_time_compare

    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValueError, TypeError):
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)
    if user is None or not hasattr(user, "get_session_auth_hash"):
        return user
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash:
        return None
    if constant_time_compare(session_hash, user.get_session_auth_hash()):
        return user
    if any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        return user
    return None


def authenticate_scope(scope: dict) -> Any:
    """The member a handshake's token or session cookie names, or ``AnonymousUser``."""
    from django.contrib.auth.models import AnonymousUser

    token = _token_from_scope(scope)
    if token:
        user = _user_for_token(token)
        if user is not None:
            return user
    session_key = _cookie_from_scope(scope, settings.SESSION_COOKIE_NAME)
    user = _user_for_session(session_key) if session_key else None
    return user or AnonymousUser()


class SessionAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from the token or the session cookie (see the module docstring)."""

    async def __call__(self, scope, receive, send):
        # SQLite serialises writers and its test databases live in one thread: keep the one
        # thread there, like ``rooms.consumers.db``.
        if _one_thread():
            hop = database_sync_to_async(authenticate_scope)
        else:
            hop = database_sync_to_async(
                authenticate_scope, thread_sensitive=False, executor=_auth_threads
            )
        user = await hop(scope)
        return await super().__call__(dict(scope, user=user), receive, send)


# Handshakes have threads of their own, a few: in a join storm they neither queue the rooms'
# admissions and snapshots behind them nor take the event loop's turn from it.
_auth_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ws-auth")


def _one_thread() -> bool:
    return connection.vendor == "sqlite"


def websocket_stack(inner):
    """Origin validation, then the member (token or session cookie)."""
    return AllowedHostsOriginValidator(SessionAuthMiddleware(inner))
