"""Django's cached database sessions, refusing session keys Django could never have issued.

**Cached.** Every signed-in request reads its session; served from the cache
(``SESSION_CACHE_ALIAS``, the default cache: Redis with ``REDIS_URL``) it costs no query, and
the database row stays the record (written first on every save, read on a cache miss). Anything
that ends sessions other than through a ``SessionStore`` (a ``Session`` queryset) must drop the
cached copies too, or the sessions go on working from the cache until they expire:
``sessions_delete`` does both. Without ``REDIS_URL`` the cache is local memory, one per process:
right for ``make run`` (one daphne process, Celery tasks run eagerly inside it, so a sanction's
``end_user_sessions`` clears the very cache the requests read), but a session deleted from
another process (``manage.py shell``, a second server) would live on in the server's memory.
Anything with more than one process needs ``REDIS_URL``, as the channel layer already does
(docs/configuration.md).

**Validated keys.** A session key arrives from outside three ways: the ``sessionid`` cookie,
allauth's ``X-Session-Token`` header (the token is the session key) and ``?session_token=`` on
a WebSocket. Django only checks that a key is 8 characters or more, so a key with a NUL reached
the query, and PostgreSQL refuses NUL in text: a 500 on every page, API call and socket
handshake. A key outside Django's alphabet names no session; it is treated as none, without a
cache or database lookup.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.cached_db import SessionStore as CachedDatabaseSessionStore
from django.core.cache import caches
from django.db import router, transaction

_KEY_CHARS = frozenset(VALID_KEY_CHARS)
_MAX_KEY_LENGTH = 40  # the column's length (Session.session_key)


class SessionStore(CachedDatabaseSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(
            super()._validate_session_key(key)
            and len(key) <= _MAX_KEY_LENGTH
            and _KEY_CHARS.issuperset(key)
        )

    def exists(self, session_key: str | None) -> bool:
        # allauth looks a token up with exists() before loading it.
        return self._validate_session_key(session_key) and bool(super().exists(session_key))

    async def aexists(self, session_key: str | None) -> bool:
        return self._validate_session_key(session_key) and bool(await super().aexists(session_key))

    def load(self) -> dict[str, Any]:
        # With no (valid) key the cached store would mint a new key to look up, a uniqueness
        # check and a database read for a session that cannot exist.
        if self.session_key is None:
            return {}
        return super().load()

    async def aload(self) -> dict[str, Any]:
        if self.session_key is None:
            return {}
        return await super().aload()


def sessions_delete(*, session_keys: Iterable[str]) -> int:
    """End these sessions: delete their rows, then their cached copies; returns how many rows.

    The cached copies go after the rows are gone for good (after commit, at once outside a
    transaction): dropped earlier, a request in between could read the still-committed row
    and cache it again.
    """
    from django.contrib.sessions.models import Session

    keys = list(session_keys)
    if not keys:
        return 0
    deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    cache = caches[settings.SESSION_CACHE_ALIAS]
    cached = [SessionStore.cache_key_prefix + key for key in keys]
    transaction.on_commit(lambda: cache.delete_many(cached), using=router.db_for_write(Session))
    return deleted
