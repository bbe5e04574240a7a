"""Which members have a ``/ws/notifications/`` socket open, so a big fan-out pushes only to them.

With ``REDIS_URL`` a Redis hash maps user id → number of open sockets (every daphne process
updates it atomically); without Redis everything runs in one process (in-memory channel layer,
eager Celery), so a process-local counter is the same truth.

The count errs on the side of "online": a daphne process killed without closing its sockets
leaves counts behind, and the only cost of a stale entry is one publish nobody receives. A
member wrongly counted offline would miss a live push, so nothing here ever under-counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import cache

import redis
from django.conf import settings

_local: Counter[int] = Counter()

# Decrement, and drop the field at zero so the hash only lists members who are online.
_CLOSE_SCRIPT = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n
"""


def _key() -> str:
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "audiosocial")
    return f"{prefix}:notifications:sockets"


@cache
def _client(url: str) -> redis.Redis:
    # One thread-safe pool per process, shared by consumers (via a worker thread) and tasks.
    return redis.Redis.from_url(url, max_connections=settings.REDIS_MAX_CONNECTIONS)


def _redis() -> redis.Redis | None:
    return _client(settings.REDIS_URL) if settings.REDIS_URL else None


def socket_opened(user_id: int) -> None:
    client = _redis()
    if client is None:
        _local[user_id] += 1
    else:
        client.hincrby(_key(), str(user_id), 1)


def socket_closed(user_id: int) -> None:
    client = _redis()
    if client is None:
        _local[user_id] -= 1
        if _local[user_id] <= 0:
            del _local[user_id]
    else:
        client.eval(_CLOSE_SCRIPT, 1, _key(), str(user_id))


def online_user_ids() -> set[int]:
    """Every member with at least one open notifications socket."""
    client = _redis()
    if client is None:
        return {user_id for user_id, n in _local.items() if n > 0}
    return {int(k) for k, v in client.hgetall(_key()).items() if int(v) > 0}


def online_among(user_ids: Iterable[int]) -> set[int]:
    """The subset of ``user_ids`` with an open socket (one round trip with Redis)."""
    ids = list(user_ids)
    if not ids:
        return set()
    client = _redis()
    if client is None:
        return {user_id for user_id in ids if _local.get(user_id, 0) > 0}
    # Ask about whichever set is smaller: the chunk's members, or everyone online. A fan-out to
    # 100,000 with 1,000 online reads the 1,000 once per chunk instead of 5,000 absent fields.
    key = _key()
    if client.hlen(key) <= len(ids):
        wanted = set(ids)
        return {int(k) for k, v in client.hgetall(key).items() if int(v) > 0 and int(k) in wanted}
    values = client.hmget(key, [str(i) for i in ids])
    return {user_id for user_id, v in zip(ids, values, strict=True) if v is not None and int(v) > 0}


def reset() -> None:
    """Forget every socket (tests; an operator after restarting every daphne process)."""
    client = _redis()
    _local.clear()
    if client is not None:
        client.delete(_key())
