"""WebSocket authentication: the session cookie (browsers) or an allauth session token.

Non-browser clients send the token they got from allauth's headless API in an
``X-Session-Token`` header (or, where headers cannot be set, ``?session_token=`` in the URL).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import AllowedHostsOriginValidator


def _token_from_scope(scope: dict) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-session-token":
            return value.decode("latin-1")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    values = query.get("session_token")
    return values[0] if values else None


@database_sync_to_async
def _user_for_token(token: str):
    from allauth.headless.internal.sessionkit import authenticate_by_x_session_token

    result = authenticate_by_x_session_token(token)
    return result[0] if result else None


class SessionTokenAuthMiddleware(BaseMiddleware):
    """Runs after the cookie middleware; a valid token replaces an anonymous user."""

    async def __call__(self, scope, receive, send):
        token = _token_from_scope(scope)
        if token:
            user = await _user_for_token(token)
            if user is not None:
                scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def websocket_stack(inner):
    """Origin validation, then cookie session auth, then token auth."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(SessionTokenAuthMiddleware(inner)))
