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
