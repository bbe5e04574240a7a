"""Django's database sessions, refusing session keys Django could never have issued.

A session key arrives from outside three ways: the ``sessionid`` cookie, allauth's
``X-Session-Token`` header (the token is the session key) and ``?session_token=`` on a
WebSocket. Django only checks that a key is 8 characters or more, so a key with a NUL reached
the query, and PostgreSQL refuses NUL in text: a 500 on every page, API call and socket
handshake. A key outside Django's alphabet names no session; it is treated as none.
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARS = frozenset(VALID_KEY_CHARS)
_MAX_KEY_LENGTH = 40  # the column's length (Session.session_key)


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(
            super()._validate_session_key(key)
            and len(key) <= _MAX_KEY_LENGTH
            and _KEY_CHARS.issuperset(key)
        )

    def exists(self, session_key: str | None) -> bool:
        # allauth looks a token up with exists() before loading it.
        return self._validate_session_key(session_key) and super().exists(session_key)
