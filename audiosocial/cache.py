"""Django's Redis cache with one client (and connection pool) per process and server.

Django keeps ``caches[alias]`` per asyncio task under ASGI, and each ``RedisCache`` object builds
its own client and connection pool: every HTTP request and WebSocket handshake that touched the
cache (sessions, throttles, allauth's rate limits) opened a new TCP connection to Redis, and the
pool was dropped with the request. This backend shares the client between those objects, so a
process keeps a pool of warm connections (redis-py's pools are thread-safe and reset themselves
in a forked child).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_clients: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self) -> Any:
        key = (*self._servers, repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client
