"""Django's Redis cache with one client (and connection pool) per process and server.

Django keeps ``caches[alias]`` per asyncio task under ASGI, and each ``RedisCache`` object builds
its own client and connection pool: every HTTP request and WebSocket handshake that touched the
cache (sessions, throttles, allauth's rate limits) opened a new TCP connection to Redis, and the
pool was dropped with the request. This backend shares the client between those objects, so a
process keeps a pool of warm connections (redis-py's pools are thread-safe and reset themselves
in a forked child).

Django's client also builds a new ``redis.Redis`` object for every cache operation (its
constructor fills a table of ~170 response callbacks): a session read paid for one on every
request. The client here keeps one per connection pool; redis-py's clients are safe to share
between threads (they take a connection from the pool per command).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from django.utils.functional import cached_property

_clients: dict[tuple[str, ...], Any] = {}
_lock = threading.Lock()


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis_clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            with _lock:
                client = self._redis_clients.setdefault(index, self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient

    @cached_property
    def _cache(self) -> Any:
        key = (*self._servers, repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
            return client
