"""With Redis, the cache keeps one client per process: requests under ASGI no longer open a
Redis connection each (Django's ``caches[alias]`` is per asyncio task there)."""

from __future__ import annotations

import pytest
import redis
from django.test import AsyncClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _connections_received(url: str) -> int:
    return int(redis.Redis.from_url(url).info("stats")["total_connections_received"])


async def test_signed_in_requests_reuse_the_processes_redis_connections(require_redis, settings):
    from asgiref.sync import sync_to_async

    member = await sync_to_async(UserFactory)()
    client = AsyncClient()
    await client.aforce_login(member)
    assert (await client.get("/api/me/")).status_code == 200  # warm: the pool exists now
    before = _connections_received(settings.REDIS_URL)
    for _ in range(20):
        # Each request reads its session from the cache (and the throttles count in it).
        assert (await client.get("/api/me/")).status_code == 200
    opened = _connections_received(settings.REDIS_URL) - before - 1  # our own INFO connection
    assert opened <= 2, f"{opened} new Redis connections for 20 requests"


def test_cache_objects_of_different_tasks_share_one_client(require_redis, settings):
    from django.core.cache import caches

    first = caches.create_connection("default")
    second = caches.create_connection("default")
    assert first is not second
    assert first._cache is second._cache


def test_cache_operations_reuse_one_redis_client(require_redis, monkeypatch):
    """Django's client builds a ``redis.Redis`` (and its table of response callbacks) for every
    operation; each request's session read paid for one."""
    from django.core.cache import caches

    cache = caches.create_connection("default")
    cache.set("cache-test-key", 1)  # the client exists now
    built = []
    original = redis.Redis.__init__

    def counting_init(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    for n in range(10):
        cache.set("cache-test-key", n)
        assert cache.get("cache-test-key") == n
    cache.delete("cache-test-key")
    assert built == []
