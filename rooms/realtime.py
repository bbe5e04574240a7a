"""Delivery of room events to the room's sockets: room-wide ``seq``, encode-once fan-out,
batched audience presence and aggregated reactions (docs/protocol.md, "Delivery").

``publish_room_event(room_id, event)`` is the single entry point that ``rooms.events`` calls after
commit. Who receives an event is the service's choice (``event["audience"]``, see
``rooms.events``); this module decides how.

Why it is built this way (shared REALTIME.md, measured on this machine): relaying every event
through a per-consumer ``group_send`` costs 140-220 us of CPU per delivery and falls seconds behind
at a thousand listeners. So:

- **Sequencing.** Every event gets the next room-wide ``seq`` where it is published: a Lua script
  does ``INCR`` and ``PUBLISH`` atomically in Redis (``REDIS_URL`` set), so every process sees every
  room's events in one order; without Redis a process-local counter under a lock does the same for
  the one process there is.
- **Encode once.** The event is JSON-encoded once by the publisher, the ``seq`` spliced into the
  text, and that frame crosses Redis once per process. In each process one ``RoomHub`` per event
  loop holds one Redis subscription per room with local sockets, builds the WebSocket frame once
  and writes the same bytes to every local socket of the room (``DirectWriter``; no per-consumer
  channel-layer receive, decode, dispatch or re-framing).
- **Bounded rates.** Audience arrivals and departures are queued and published as one
  ``audience.updated`` per room per ``ROOM_AUDIENCE_WINDOW_SECONDS`` (a count and a capped list
  delta); reactions are counted and published as one ``reaction`` per room per
  ``ROOM_REACTION_WINDOW_SECONDS``. Stage changes stay individual events.
- **Targeted events** (moderators only, one member only) keep the room-wide ``seq``: the
  recipients get the event, everyone else a two-field placeholder with the same ``seq`` (for hand
  changes, ``hands.updated`` with the queue's length), so that every client can detect gaps.
- **Presence.** Each socket is recorded per room and member (a Redis sorted set scored by the last
  heartbeat, or a dict in-process); a closed socket leaves the room only if its member has no live
  socket left after ``ROOM_DISCONNECT_GRACE_SECONDS``. Heartbeats also stamp
  ``Participant.last_seen_at``, which the ``rooms.presence_sweep`` task uses to remove the
  participants of a process that died.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import json
import logging
import struct
import threading
import time
import weakref
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings

if TYPE_CHECKING:
    from rooms.consumers import RoomConsumer

logger = logging.getLogger(__name__)

# How long sequence counters and reaction totals outlive a room's last event.
STATE_TTL_SECONDS = 7 * 24 * 3600

_dumps_kwargs: dict[str, Any] = {"separators": (",", ":"), "ensure_ascii": False}


def dumps(value: Any) -> str:
    return json.dumps(value, **_dumps_kwargs)


# --- Tunables (read at call time so tests and operators can change them) ------------------------


def reaction_window() -> float:
    return float(getattr(settings, "ROOM_REACTION_WINDOW_SECONDS", 0.2))


def audience_window(listeners: int | None = None) -> float:
    """How long a room's audience changes are gathered into one ``audience.updated``: longer in
    a large audience, where every update is one frame to every member (at 5,000 listeners and
    4 updates a second that was 20,000 writes a second for counters moving by a few)."""
    window = float(getattr(settings, "ROOM_AUDIENCE_WINDOW_SECONDS", 0.25))
    large = int(getattr(settings, "ROOM_AUDIENCE_LARGE_ROOM", 1000))
    if listeners is not None and listeners >= large:
        window = max(window, float(getattr(settings, "ROOM_AUDIENCE_LARGE_WINDOW_SECONDS", 1.0)))
    return window


def reaction_rate_per_second() -> int:
    return int(getattr(settings, "ROOM_REACTION_RATE", 5))


def audience_delta_max() -> int:
    return int(getattr(settings, "ROOM_AUDIENCE_DELTA_MAX", 20))


def heartbeat_seconds() -> float:
    return float(getattr(settings, "ROOM_HEARTBEAT_SECONDS", 15))


def presence_stale_seconds() -> float:
    """A socket (or a participant's ``last_seen_at``) older than this belongs to a dead process."""
    return float(getattr(settings, "ROOM_PRESENCE_STALE_SECONDS", 3 * heartbeat_seconds()))


def _prefix() -> str:
    layer = settings.CHANNEL_LAYERS.get("default", {})
    return f"{layer.get('CONFIG', {}).get('prefix', 'audiosocial')}:rooms"


def splice_seq(seq: int, body: str) -> str:
    """``{"a":1}`` + 7 -> ``{"seq":7,"a":1}``: the frame is built without re-encoding."""
    return f'{{"seq":{seq},{body[1:]}'


# --- Lua: the room's sequence is assigned where the frame is published --------------------------

_LUA_EMIT = """
local function emit(body)
  local seq = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  redis.call('PUBLISH', KEYS[2], '{"seq":' .. seq .. ',' .. string.sub(body, 2))
  return seq
end
"""

# KEYS: seq, channel, audience list, audience lease, audience counts.
# ARGV: ttl, room id, drain ('1'|'0'), max list length, body ('' = drain only).
# The pending audience batch is published before the event so that a member who joins and is
# promoted within one window is never announced as a listener after their promotion.
_LUA_PUBLISH = (
    _LUA_EMIT
    + """
local function drain()
  local items = redis.call('LRANGE', KEYS[3], 0, -1)
  redis.call('DEL', KEYS[3], KEYS[4])
  if #items == 0 then return end
  local last, order = {}, {}
  for _, item in ipairs(items) do
    local op, uid, rest = string.match(item, '^(%a):(%d+):(.*)$')
    if op then
      if last[uid] == nil then order[#order + 1] = uid end
      last[uid] = {op, rest}
    end
  end
  local joined, left, nj, nl = {}, {}, 0, 0
  local limit = tonumber(ARGV[4])
  for _, uid in ipairs(order) do
    local e = last[uid]
    if e[1] == 'j' then
      nj = nj + 1
      if #joined < limit then joined[#joined + 1] = e[2] end
    else
      nl = nl + 1
      if #left < limit then left[#left + 1] = uid end
    end
  end
  local counts = redis.call('GET', KEYS[5]) or 'null'
  emit('{"type":"audience.updated","room":"' .. ARGV[2] .. '","audience":"room","joined":['
    .. table.concat(joined, ',') .. '],"left":[' .. table.concat(left, ',')
    .. '],"joined_count":' .. nj .. ',"left_count":' .. nl .. ',"counts":' .. counts .. '}')
end
if ARGV[3] == '1' then drain() end
if ARGV[5] ~= '' then return emit(ARGV[5]) end
return 0
"""
)

# KEYS: seq, channel, pending counts, lease, totals.  ARGV: ttl, room id, window in ms.
_LUA_REACTIONS = (
    _LUA_EMIT
    + """
local flat = redis.call('HGETALL', KEYS[3])
redis.call('DEL', KEYS[3], KEYS[4])
if #flat == 0 then return 0 end
local counts = {}
for i = 1, #flat, 2 do
  redis.call('HINCRBY', KEYS[5], flat[i], flat[i + 1])
  counts[#counts + 1] = '"' .. flat[i] .. '":' .. flat[i + 1]
end
redis.call('EXPIRE', KEYS[5], ARGV[1])
local tflat = redis.call('HGETALL', KEYS[5])
local totals = {}
for i = 1, #tflat, 2 do totals[#totals + 1] = '"' .. tflat[i] .. '":' .. tflat[i + 1] end
return emit('{"type":"reaction","room":"' .. ARGV[2] .. '","audience":"room","counts":{'
  .. table.concat(counts, ',') .. '},"totals":{' .. table.concat(totals, ',')
  .. '},"window_ms":' .. ARGV[3] .. '}')
"""
)


# --- The flusher: one thread per process runs the windows' deadlines ----------------------------


class _Scheduler:
    """Runs ``fn`` once per key after a delay; later requests for a pending key are dropped.

    A thread (not an event loop) because publishers are synchronous code anywhere: a daphne
    worker thread, a Celery task, a management command.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, str, Callable[[], None]]] = []
        self._keys: set[str] = set()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, key: str, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            if key in self._keys:
                return
            self._keys.add(key)
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._counter), key, fn))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="room-flusher", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, _, key, fn = heapq.heappop(self._heap)
                # Released before running: an event arriving during the flush opens a new window.
                self._keys.discard(key)
            try:
                fn()
            except Exception:
                logger.exception("room flush %s failed", key)


_scheduler = _Scheduler()


# --- Backends: where seq, pending batches, totals and presence live ------------------------------


class LocalBackend:
    """One process, no Redis: the development default and the in-memory test pass."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.seq: dict[str, int] = defaultdict(int)
        self.audience: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        self.audience_counts: dict[str, str] = {}
        self.reactions: dict[str, Counter[str]] = defaultdict(Counter)
        self.reaction_totals: dict[str, Counter[str]] = defaultdict(Counter)
        self.rates: dict[tuple[str, int], tuple[int, int]] = {}
        self.talking: dict[str, set[int]] = defaultdict(set)
        self.conns: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
        # When each member's latest socket in a room closed (the disconnect grace is counted
        # from the latest one, not from the first).
        self.departed: dict[tuple[str, int], float] = {}

    # sequencing and delivery
    def publish(self, room_id: str, body: str | None, *, drain: bool) -> int:
        with self.lock:
            if drain:
                self._drain(room_id)
            return self._emit(room_id, body) if body is not None else 0

    def _emit(self, room_id: str, body: str) -> int:
        self.seq[room_id] += 1
        seq = self.seq[room_id]
        # Posted under the lock: every hub receives frames in seq order.
        _post_to_local_hubs(room_id, splice_seq(seq, body))
        return seq

    def _drain(self, room_id: str) -> None:
        items = self.audience.pop(room_id, None)
        if not items:
            return
        self.audience_body_emit(room_id, items, self.audience_counts.get(room_id, "null"))

    def audience_body_emit(self, room_id: str, items: list[tuple[str, int, str]], counts: str):
        last: dict[int, tuple[str, str]] = {}
        for op, uid, entry in items:
            last.pop(uid, None)  # re-inserted: the order is the last change's
            last[uid] = (op, entry)
        limit = audience_delta_max()
        joined = [entry for op, entry in last.values() if op == "j"]
        left = [str(uid) for uid, (op, _) in last.items() if op == "l"]
        body = (
            f'{{"type":"audience.updated","room":"{room_id}","audience":"room",'
            f'"joined":[{",".join(joined[:limit])}],"left":[{",".join(left[:limit])}],'
            f'"joined_count":{len(joined)},"left_count":{len(left)},"counts":{counts}}}'
        )
        self._emit(room_id, body)

    def current_seq(self, room_id: str) -> int:
        with self.lock:
            return self.seq.get(room_id, 0)

    # audience batching
    def audience_push(
        self, room_id: str, items: list[tuple[str, int, str]], counts: str, window: float
    ) -> bool:
        with self.lock:
            self.audience[room_id].extend(items)
            self.audience_counts[room_id] = counts
        return True

    def audience_flush(self, room_id: str) -> None:
        self.publish(room_id, None, drain=True)

    # reactions
    def reaction_allow(self, room_id: str, user_id: int, limit: int) -> bool:
        now = int(time.monotonic())
        with self.lock:
            second, count = self.rates.get((room_id, user_id), (now, 0))
            if second != now:
                second, count = now, 0
            if count >= limit:
                return False
            if len(self.rates) > 10_000:
                # Buckets of past seconds are dead weight: one process, one development server.
                self.rates = {k: v for k, v in self.rates.items() if v[0] == now}
            self.rates[(room_id, user_id)] = (second, count + 1)
            return True

    def reaction_push(self, room_id: str, emoji: str) -> bool:
        with self.lock:
            self.reactions[room_id][emoji] += 1
        return True

    def reaction_flush(self, room_id: str) -> None:
        with self.lock:
            counts = self.reactions.pop(room_id, None)
            if not counts:
                return
            totals = self.reaction_totals[room_id]
            totals.update(counts)
            body = dumps(
                {
                    "type": "reaction",
                    "room": room_id,
                    "audience": "room",
                    "counts": dict(counts),
                    "totals": dict(totals),
                    "window_ms": round(reaction_window() * 1000),
                }
            )
            self._emit(room_id, body)

    def reaction_totals_for(self, room_id: str) -> dict[str, int]:
        with self.lock:
            return dict(self.reaction_totals.get(room_id, {}))

    # talking
    def set_talking(self, room_id: str, user_id: int, talking: bool) -> None:
        with self.lock:
            (self.talking[room_id].add if talking else self.talking[room_id].discard)(user_id)

    def talking_for(self, room_id: str) -> set[int]:
        with self.lock:
            return set(self.talking.get(room_id, ()))

    # presence
    def presence_add(self, room_id: str, user_id: int, conn_id: str) -> None:
        with self.lock:
            self.conns[(room_id, user_id)][conn_id] = time.time()

    def presence_remove(self, room_id: str, user_id: int, conn_id: str) -> None:
        self.presence_remove_many(room_id, [(user_id, conn_id)])

    def presence_remove_many(self, room_id: str, entries: Iterable[tuple[int, str]]) -> float:
        now = time.time()
        with self.lock:
            for user_id, conn_id in entries:
                self.conns.get((room_id, user_id), {}).pop(conn_id, None)
                self.departed[(room_id, user_id)] = now
        return now

    def presence_departed_at(self, room_id: str, user_id: int) -> float | None:
        with self.lock:
            return self.departed.get((room_id, user_id))

    def presence_refresh(self, room_id: str, entries: Iterable[tuple[int, str]]) -> None:
        now = time.time()
        with self.lock:
            for user_id, conn_id in entries:
                self.conns[(room_id, user_id)][conn_id] = now

    def presence_count(self, room_id: str, user_id: int) -> int:
        horizon = time.time() - presence_stale_seconds()
        with self.lock:
            conns = self.conns.get((room_id, user_id), {})
            for conn_id in [c for c, seen in conns.items() if seen < horizon]:
                del conns[conn_id]
            if not conns:
                self.conns.pop((room_id, user_id), None)
            return len(conns)


class RedisBackend:
    """Shared state for every process: ``REDIS_URL`` set."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(
            url, max_connections=getattr(settings, "REDIS_MAX_CONNECTIONS", 1000)
        )
        self._publish = self.client.register_script(_LUA_PUBLISH)
        self._reactions = self.client.register_script(_LUA_REACTIONS)

    def key(self, kind: str, room_id: str, *rest: Any) -> str:
        return ":".join([self.prefix, kind, room_id, *map(str, rest)])

    def channel(self, room_id: str) -> str:
        return self.key("events", room_id)

    def _publish_keys(self, room_id: str) -> list[str]:
        return [
            self.key("seq", room_id),
            self.channel(room_id),
            self.key("audience", room_id),
            self.key("audience-lease", room_id),
            self.key("audience-counts", room_id),
        ]

    def publish(self, room_id: str, body: str | None, *, drain: bool) -> int:
        args = [STATE_TTL_SECONDS, room_id, "1" if drain else "0", audience_delta_max(), body or ""]
        return int(self._publish(keys=self._publish_keys(room_id), args=args))

    def current_seq(self, room_id: str) -> int:
        return int(self.client.get(self.key("seq", room_id)) or 0)

    def audience_push(
        self, room_id: str, items: list[tuple[str, int, str]], counts: str, window: float
    ) -> bool:
        window_ms = max(1, round(window * 1000))
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(
            self.key("audience", room_id), *(f"{op}:{uid}:{entry}" for op, uid, entry in items)
        )
        pipe.expire(self.key("audience", room_id), 3600)
        pipe.set(self.key("audience-counts", room_id), counts, ex=3600)
        # The lease outlives the window: if its holder dies, the next change opens a new one.
        pipe.set(self.key("audience-lease", room_id), "1", nx=True, px=window_ms * 8)
        return bool(pipe.execute()[-1])

    def audience_flush(self, room_id: str) -> None:
        self.publish(room_id, None, drain=True)

    def reaction_flush(self, room_id: str) -> None:
        keys = [
            self.key("seq", room_id),
            self.channel(room_id),
            self.key("reactions", room_id),
            self.key("reactions-lease", room_id),
            self.key("reaction-totals", room_id),
        ]
        args = [STATE_TTL_SECONDS, room_id, round(reaction_window() * 1000)]
        self._reactions(keys=keys, args=args)

    def reaction_totals_for(self, room_id: str) -> dict[str, int]:
        raw = self.client.hgetall(self.key("reaction-totals", room_id))
        return {k.decode(): int(v) for k, v in raw.items()}

    def set_talking(self, room_id: str, user_id: int, talking: bool) -> None:
        key = self.key("talking", room_id)
        pipe = self.client.pipeline(transaction=False)
        (pipe.sadd if talking else pipe.srem)(key, user_id)
        pipe.expire(key, STATE_TTL_SECONDS)
        pipe.execute()

    def talking_for(self, room_id: str) -> set[int]:
        return {int(v) for v in self.client.smembers(self.key("talking", room_id))}

    def presence_add(self, room_id: str, user_id: int, conn_id: str) -> None:
        self.presence_refresh(room_id, [(user_id, conn_id)])

    def presence_remove(self, room_id: str, user_id: int, conn_id: str) -> None:
        self.client.zrem(self.key("conns", room_id, user_id), conn_id)

    def presence_remove_many(self, room_id: str, entries: Iterable[tuple[int, str]]) -> float:
        now = time.time()
        ttl = int(float(getattr(settings, "ROOM_DISCONNECT_GRACE_SECONDS", 10))) + 60
        pipe = self.client.pipeline(transaction=False)
        for user_id, conn_id in entries:
            pipe.zrem(self.key("conns", room_id, user_id), conn_id)
            pipe.set(self.key("departed", room_id, user_id), repr(now), ex=ttl)
        pipe.execute()
        return now

    def presence_departed_at(self, room_id: str, user_id: int) -> float | None:
        value = self.client.get(self.key("departed", room_id, user_id))
        return float(value) if value is not None else None

    def presence_refresh(self, room_id: str, entries: Iterable[tuple[int, str]]) -> None:
        now = time.time()
        ttl = int(presence_stale_seconds()) + 60
        pipe = self.client.pipeline(transaction=False)
        for user_id, conn_id in entries:
            key = self.key("conns", room_id, user_id)
            pipe.zadd(key, {conn_id: now})
            pipe.expire(key, ttl)
        pipe.execute()

    def presence_count(self, room_id: str, user_id: int) -> int:
        key = self.key("conns", room_id, user_id)
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", time.time() - presence_stale_seconds())
        pipe.zcard(key)
        return int(pipe.execute()[-1])


_local_backend = LocalBackend()
_redis_backends: dict[tuple[str, str], RedisBackend] = {}
_backend_lock = threading.Lock()


def backend() -> LocalBackend | RedisBackend:
    return _redis_backend_for(settings.REDIS_URL) if settings.REDIS_URL else _local_backend


def _redis_backend_for(url: str) -> RedisBackend:
    key = (url, _prefix())
    found = _redis_backends.get(key)
    if found is None:
        with _backend_lock:
            found = _redis_backends.get(key)
            if found is None:
                found = _redis_backends[key] = RedisBackend(url, key[1])
    return found


# --- Publishing ---------------------------------------------------------------------------------


def _audience_change(event: dict[str, Any]) -> tuple[str, int, str] | None:
    """An audience arrival or departure (batched), or None for an individual event."""
    kind = event.get("type")
    if kind == "participant.joined":
        participant = event.get("participant") or {}
        if participant.get("role") == "listener":
            return "j", int(participant["user"]["id"]), dumps(participant)
    elif kind == "participant.left" and event.get("role") == "listener":
        return "l", int(event["user_id"]), ""
    return None


def _hands_count(room_id: str) -> int:
    from rooms.models import Participant

    return Participant.objects.filter(
        room_id=room_id,
        left_at__isnull=True,
        role=Participant.Role.LISTENER,
        hand_raised_at__isnull=False,
    ).count()


def publish_room_event(room_id: Any, event: dict[str, Any]) -> None:
    """Deliver ``event`` (a dict from ``rooms.events``) to the room's sockets, everywhere.

    Called after commit, from any thread or process (daphne, Celery, management commands).
    """
    room_id = str(room_id)
    store = backend()
    change = _audience_change(event)
    pending = getattr(_batch, "audience", None)
    if change is not None:
        counts = dumps(event.get("counts")) if event.get("counts") is not None else "null"
        listeners = (event.get("counts") or {}).get("listeners")
        if pending is not None:
            items, _, _ = pending.get(room_id, ([], counts, listeners))
            items.append(change)
            pending[room_id] = (items, counts, listeners)
            return
        _push_audience(store, room_id, [change], counts, listeners)
        return
    if pending and room_id in pending:
        # In order: the batch's audience changes are queued before this event drains them.
        _push_audience(store, room_id, *pending.pop(room_id))
    event = dict(event)
    event.setdefault("audience", "room")
    change_name = event.get("change")
    if change_name == "talking":
        store.set_talking(room_id, int(event["user_id"]), bool(event.get("talking")))
    elif event.get("type") == "participant.updated" and change_name in {"hand", "role"}:
        # Everyone else sees the queue's length only; it is counted where it is exact.
        event["hands"] = _hands_count(room_id)
    # Talking indicators are about people already on stage: they need not flush the audience.
    store.publish(room_id, dumps(event), drain=change_name != "talking")


def _push_audience(
    store: LocalBackend | RedisBackend,
    room_id: str,
    items: list[tuple[str, int, str]],
    counts: str,
    listeners: int | None,
) -> None:
    window = audience_window(listeners)
    if store.audience_push(room_id, items, counts, window):
        _scheduler.schedule(f"audience:{room_id}", window, lambda: store.audience_flush(room_id))


_batch = threading.local()


@contextlib.contextmanager
def batched() -> Iterator[None]:
    """Within it, this thread's audience arrivals and departures are queued together: one
    round trip per room at the end (a batch of joins), not one per member."""
    if getattr(_batch, "audience", None) is not None:
        yield
        return
    _batch.audience = {}
    try:
        yield
    finally:
        pending, _batch.audience = _batch.audience, None
        store = backend()
        for room_id, (items, counts, listeners) in pending.items():
            _push_audience(store, room_id, items, counts, listeners)


async def reaction_add(
    *, room_id: str, user_id: int, emoji: str, hub: RoomHub | None = None
) -> None:
    """Count one reaction (rate-limited per member) into the room's current window.

    With Redis this is one script call on the hub's asyncio connection, in the event loop: at
    100 reactions a second a thread hop each queued the room's commands behind them.
    """
    from audiosocial.errors import InvalidInput, RateLimited

    if emoji not in settings.ROOM_REACTIONS:
        raise InvalidInput(
            "That reaction is not available here.",
            code="invalid_reaction",
            details={"allowed": list(settings.ROOM_REACTIONS)},
        )
    store = backend()
    limit = reaction_rate_per_second()
    if isinstance(store, LocalBackend):
        allowed = store.reaction_allow(room_id, user_id, limit)
        first = allowed and store.reaction_push(room_id, emoji)
    else:
        outcome = await (hub or get_hub()).count_reaction(store, room_id, user_id, emoji, limit)
        allowed, first = outcome > 0, outcome == 2
    if not allowed:
        raise RateLimited(
            f"At most {limit} reactions per second.",
            code="rate_limited",
            details={"retry_after_seconds": 1},
        )
    if first:
        _scheduler.schedule(
            f"reactions:{room_id}", reaction_window(), lambda: store.reaction_flush(room_id)
        )


# KEYS: rate counter, pending counts, lease.  ARGV: limit, emoji, lease ms.
# Returns 0 (over the limit), 1 (counted) or 2 (counted, and this caller opens the window).
_LUA_REACTION_ADD = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 2) end
if n > tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('EXPIRE', KEYS[2], 3600)
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return 2 end
return 1
"""


def current_seq(room_id: Any) -> int:
    return backend().current_seq(str(room_id))


def reaction_totals(room_id: Any) -> dict[str, int]:
    return backend().reaction_totals_for(str(room_id))


def talking_user_ids(room_id: Any) -> set[int]:
    return backend().talking_for(str(room_id))


# --- Presence ------------------------------------------------------------------------------------


def presence_add(room_id: Any, user_id: int, conn_id: str) -> None:
    backend().presence_add(str(room_id), user_id, conn_id)


def presence_add_many(room_id: Any, entries: list[tuple[int, str]]) -> None:
    """Record several sockets (user id, connection id) at once: one Redis round trip."""
    if entries:
        backend().presence_refresh(str(room_id), entries)


def presence_remove(room_id: Any, user_id: int, conn_id: str) -> None:
    backend().presence_remove(str(room_id), user_id, conn_id)


def presence_remove_many(room_id: Any, entries: list[tuple[int, str]]) -> float | None:
    """Forget several closed sockets (user id, connection id) at once: one Redis round trip.
    Returns the departure time recorded for their members (``presence_departed_at``)."""
    if entries:
        return backend().presence_remove_many(str(room_id), entries)
    return None


def presence_departed_at(room_id: Any, user_id: int) -> float | None:
    """When ``user_id``'s latest socket in the room closed (any process), if one did lately."""
    return backend().presence_departed_at(str(room_id), user_id)


def presence_count(room_id: Any, user_id: int) -> int:
    """How many live sockets ``user_id`` has in the room, in every process."""
    return backend().presence_count(str(room_id), user_id)


def heartbeat(room_id: Any, entries: list[tuple[int, str]]) -> None:
    """Refresh the sockets' presence and stamp their participants' ``last_seen_at``."""
    from django.utils import timezone

    from rooms.models import Participant

    backend().presence_refresh(str(room_id), entries)
    user_ids = {user_id for user_id, _ in entries}
    if user_ids:
        Participant.objects.filter(
            room_id=room_id, user_id__in=user_ids, left_at__isnull=True
        ).update(last_seen_at=timezone.now())


def presence_sweep(*, now: Any = None) -> int:
    """``rooms.presence_sweep`` (Celery beat): participants whose sockets stopped heartbeating
    (their process died, or they never opened one) leave their rooms."""
    from datetime import timedelta

    from django.utils import timezone

    from rooms.tasks import leave_stale_participants

    now = now or timezone.now()
    return leave_stale_participants(seen_before=now - timedelta(seconds=presence_stale_seconds()))


# --- Writing frames -------------------------------------------------------------------------------


def text_frame(text: str) -> bytes:
    """One complete, unmasked WebSocket text frame (RFC 6455 5.2): a server's frame is the same
    bytes for every client, so it is built once per event per process."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class DirectWriter:
    """Writes pre-built frames straight to one daphne WebSocket connection's socket.

    Through the ASGI ``send`` every delivery is framed again by autobahn and goes through
    Twisted's write buffer (``startWriting``/``stopWriting``: two ``epoll_ctl`` calls and a loop
    iteration per message); with thousands of sockets per event that dominated the fan-out. This
    sends the shared frame with one ``send()``. Order with the socket's other messages (replies
    go through the ASGI path) is kept by sending directly only when Twisted holds nothing unsent
    for the connection, and appending to its buffer otherwise.
    """

    __slots__ = ("protocol", "transport", "socket")

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.socket = protocol.transport.socket

    def write(self, frame: bytes) -> None:
        protocol = self.protocol
        if protocol.state != protocol.STATE_OPEN:
            return  # closing: the close frame was the last thing to send
        transport = self.transport
        if transport.disconnecting or not transport.connected:
            return
        if transport._tempDataLen or len(transport.dataBuffer) > transport.offset:
            transport.write(frame)
            return
        try:
            sent = self.socket.send(frame)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return  # the connection is gone; Twisted notices on its next read
        if sent < len(frame):
            transport.write(frame[sent:])


def direct_writer_for(send: Any) -> DirectWriter | None:
    """The direct writer behind an ASGI ``send`` served by daphne, or None (any other server,
    the test communicator, TLS terminated in daphne): then frames go through ``send``."""
    if not getattr(settings, "ROOM_DIRECT_WRITES", True):
        return None
    for _ in range(8):
        if isinstance(send, functools.partial):
            protocol = send.args[0] if send.args else None
            return _writer_for_protocol(protocol)
        # Channels' session middleware wraps ``send`` in a bound method of an object that keeps
        # the real one as ``real_send``.
        send = getattr(getattr(send, "__self__", None), "real_send", None)
        if send is None:
            return None
    return None


def _writer_for_protocol(protocol: Any) -> DirectWriter | None:
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # pragma: no cover - daphne is a dependency
        return None
    if not isinstance(protocol, WebSocketProtocol):
        return None
    transport = getattr(protocol, "transport", None)
    needed = ("socket", "dataBuffer", "offset", "_tempDataLen", "connected", "disconnecting")
    if transport is None or getattr(transport, "TLS", False):
        return None
    if not all(hasattr(transport, name) for name in needed):
        return None
    return DirectWriter(protocol)


# --- The per-process hub -------------------------------------------------------------------------

_local_hubs: weakref.WeakSet[RoomHub] = weakref.WeakSet()
_local_hubs_lock = threading.Lock()
_hubs_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RoomHub] = (
    weakref.WeakKeyDictionary()
)


def _post_to_local_hubs(room_id: str, frame: str) -> None:
    with _local_hubs_lock:
        hubs = list(_local_hubs)
    for hub in hubs:
        hub.post(room_id, frame)


def get_hub() -> RoomHub:
    """The hub of the running event loop (one per daphne process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs_by_loop.get(loop)
    if hub is None:
        hub = _hubs_by_loop[loop] = RoomHub()
    return hub


class _LocalRoom:
    __slots__ = (
        "sockets",
        "by_user",
        "ready",
        "recent",
        "last_seq",
        "evicted_upto",
        "snapshot",
        "reading",
    )

    def __init__(self) -> None:
        self.sockets: set[RoomConsumer] = set()
        self.by_user: dict[int, set[RoomConsumer]] = defaultdict(set)
        self.ready = asyncio.Event()
        # The room's latest frames as this process received them, for sockets that start from a
        # shared snapshot: (seq, parsed event, message for recipients, placeholder message).
        self.recent: deque[tuple[int, dict[str, Any], dict, dict | None]] = deque(
            maxlen=RECENT_FRAMES
        )
        self.last_seq: int | None = None
        # Frames up to this seq are no longer (or were never) in ``recent``.
        self.evicted_upto = 0
        # (seq, monotonic time built, JSON of a listener's snapshot without seq, type and me).
        self.snapshot: tuple[int, float, str] | None = None
        # Done when the listener's snapshot being read from the database now is stored.
        self.reading: asyncio.Future | None = None

    def remember(self, seq: int, data: dict[str, Any], message: dict, other: dict | None) -> None:
        if self.last_seq is not None and seq != self.last_seq + 1:
            # This process missed frames (a Redis reconnect): nothing before is vouched for.
            self.recent.clear()
            self.evicted_upto = seq - 1
            self.snapshot = None
        elif len(self.recent) == self.recent.maxlen:
            self.evicted_upto = self.recent[0][0]
        self.last_seq = seq
        self.recent.append((seq, data, message, other))


# Frames kept per room for replay after a shared snapshot, and how long such a snapshot is used.
RECENT_FRAMES = 1024
SHARED_SNAPSHOT_SECONDS = 1.0


def close_code_for(kind: str) -> int:
    return {"room.ended": CLOSE_ROOM_ENDED, "moved": CLOSE_MOVED}.get(kind, CLOSE_REMOVED)


class RoomHub:
    """This process's view of the rooms it serves: one subscription per room, many sockets.

    ``redis_url`` defaults to ``settings.REDIS_URL``; tests build two hubs on one Redis to play
    two processes.
    """

    def __init__(self, *, redis_url: str | None = None) -> None:
        self.redis_url = settings.REDIS_URL if redis_url is None else redis_url
        self.rooms: dict[str, _LocalRoom] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[str, str]] | None = None
        self._reader: asyncio.Task | None = None
        self._heartbeat: asyncio.Task | None = None
        self._client: Any = None
        self._pubsub: Any = None
        self._confirm: dict[str, asyncio.Event] = {}
        self._lock = asyncio.Lock()
        self._reaction_script: Any = None

    # -- membership
    async def attach(self, consumer: RoomConsumer) -> None:
        """Start receiving the room's frames for ``consumer`` (buffered until it is ready)."""
        room_id = consumer.room_id
        self._loop = asyncio.get_running_loop()
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = _LocalRoom()
            room.sockets.add(consumer)
            room.by_user[consumer.user_id].add(consumer)
            try:
                await self._subscribe(room_id)
            finally:
                room.ready.set()
        else:
            room.sockets.add(consumer)
            room.by_user[consumer.user_id].add(consumer)
            await room.ready.wait()
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = asyncio.create_task(self._beat())

    async def detach(self, consumer: RoomConsumer) -> None:
        room = self.rooms.get(consumer.room_id)
        if room is None or consumer not in room.sockets:
            return
        room.sockets.discard(consumer)
        users = room.by_user.get(consumer.user_id)
        if users is not None:
            users.discard(consumer)
            if not users:
                del room.by_user[consumer.user_id]
        if room.sockets:
            return
        del self.rooms[consumer.room_id]
        await self._unsubscribe(consumer.room_id)
        if not self.rooms:
            await self.close()

    # -- reactions
    async def count_reaction(
        self, store: RedisBackend, room_id: str, user_id: int, emoji: str, limit: int
    ) -> int:
        if self._reaction_script is None or self._client is None:
            import redis.asyncio as aioredis

            if self._client is None:
                self._client = aioredis.Redis.from_url(self.redis_url or store.url)
            self._reaction_script = self._client.register_script(_LUA_REACTION_ADD)
        window_ms = max(1, round(reaction_window() * 1000))
        keys = [
            store.key("reaction-rate", room_id, user_id, int(time.time())),
            store.key("reactions", room_id),
            store.key("reactions-lease", room_id),
        ]
        return int(await self._reaction_script(keys=keys, args=[limit, emoji, window_ms * 8]))

    # -- shared snapshots
    def cached_snapshot(self, room_id: str) -> tuple[int, str, list] | None:
        """A listener's snapshot of ``room_id`` built here recently, and every frame since."""
        room = self.rooms.get(room_id)
        entry = room.snapshot if room is not None else None
        if entry is None:
            return None
        seq, built_at, room_part = entry
        if time.monotonic() - built_at > SHARED_SNAPSHOT_SECONDS or room.evicted_upto > seq:
            return None
        return seq, room_part, [item for item in room.recent if item[0] > seq]

    def snapshot_reading(self, room_id: str) -> tuple[asyncio.Future | None, bool]:
        """The listener's snapshot of ``room_id`` being read now, and whether the caller is the
        one to read it (then it must call ``snapshot_read`` when done, stored or not). One read
        at a time per room: a batch of arrivals waits for it instead of each reading the same."""
        room = self.rooms.get(room_id)
        if room is None:
            return None, True
        if room.reading is None or room.reading.done():
            room.reading = asyncio.get_running_loop().create_future()
            return room.reading, True
        return room.reading, False

    def snapshot_read(self, room_id: str, reading: asyncio.Future | None) -> None:
        if reading is not None and not reading.done():
            reading.set_result(None)
        room = self.rooms.get(room_id)
        if room is not None and room.reading is reading:
            room.reading = None

    def store_snapshot(self, room_id: str, seq: int, room_part: str) -> None:
        room = self.rooms.get(room_id)
        if room is None or room.evicted_upto > seq:
            return
        if room.snapshot is None or room.snapshot[0] <= seq:
            room.snapshot = (seq, time.monotonic(), room_part)

    @staticmethod
    def replay_for(consumer: RoomConsumer, items: list) -> Iterable[tuple[int, dict, str, Any]]:
        """The remembered frames as ``consumer`` must receive them (its own copy or the
        placeholder), keeping its role current as they pass."""
        for seq, data, message, other in items:
            kind = data.get("type")
            audience = data.get("audience", "room")
            target = data.get("user_id")
            if kind == "participant.updated":
                participant = data.get("participant") or {}
                if (participant.get("user") or {}).get("id") == consumer.user_id:
                    consumer.observe_role(seq, participant.get("role"))
            if audience == "room" or other is None:
                mine = True
            elif audience == "moderators":
                mine = consumer.is_moderator or consumer.user_id == target
            else:
                mine = consumer.user_id == target
            yield seq, (message if mine else other), kind, target

    def local_sockets(self, room_id: str) -> int:
        room = self.rooms.get(room_id)
        return len(room.sockets) if room else 0

    # -- transport
    async def _subscribe(self, room_id: str) -> None:
        if not self.redis_url:
            if self._queue is None:
                self._queue = asyncio.Queue()
                with _local_hubs_lock:
                    _local_hubs.add(self)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_local())
            return
        async with self._lock:
            if self._pubsub is None:
                import redis.asyncio as aioredis

                if self._client is None:
                    self._client = aioredis.Redis.from_url(self.redis_url)
                self._pubsub = self._client.pubsub()
            channel = _redis_backend_for(self.redis_url).channel(room_id)
            confirmed = self._confirm[channel] = asyncio.Event()
            await self._pubsub.subscribe(channel)
            if self._reader is None or self._reader.done():
                self._reader = asyncio.create_task(self._read_redis())
        # Until Redis confirms, a frame published now would be missed: the snapshot's seq is read
        # only after this returns.
        await asyncio.wait_for(confirmed.wait(), timeout=10)

    async def _unsubscribe(self, room_id: str) -> None:
        if not self.redis_url or self._pubsub is None:
            return
        async with self._lock:
            if room_id not in self.rooms and self._pubsub is not None:
                channel = _redis_backend_for(self.redis_url).channel(room_id)
                try:
                    await self._pubsub.unsubscribe(channel)
                except Exception:
                    logger.warning("unsubscribe from %s failed", channel, exc_info=True)

    def post(self, room_id: str, frame: str) -> None:
        """From any thread (local backend): queue a frame for this hub's loop."""
        if room_id not in self.rooms or self._queue is None or self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (room_id, frame))
        except RuntimeError:  # the loop is closed: this hub is gone
            with _local_hubs_lock:
                _local_hubs.discard(self)

    async def _read_local(self) -> None:
        assert self._queue is not None
        while True:
            room_id, frame = await self._queue.get()
            try:
                await self.dispatch(room_id, frame)
            except Exception:
                logger.exception("room frame dispatch failed")

    async def _read_redis(self) -> None:
        prefix_len = len(_redis_backend_for(self.redis_url).channel(""))
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Frames published during an outage are lost; clients see the seq gap and ask
                # for a snapshot. redis-py resubscribes on reconnect.
                logger.warning("room event subscription failed; retrying", exc_info=True)
                await asyncio.sleep(0.5)
                continue
            if message is None:
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            kind = message["type"]
            if kind == "message":
                data = message["data"]
                try:
                    await self.dispatch(
                        channel[prefix_len:], data.decode() if isinstance(data, bytes) else data
                    )
                except Exception:
                    logger.exception("room frame dispatch failed")
            elif kind == "subscribe":
                confirmed = self._confirm.pop(channel, None)
                if confirmed is not None:
                    confirmed.set()

    async def dispatch(self, room_id: str, frame: str) -> None:
        """Hand one frame to every local socket of the room (parsed once, never re-encoded)."""
        room = self.rooms.get(room_id)
        if room is None:
            return
        data = json.loads(frame)
        seq = data["seq"]
        kind = data.get("type")
        audience = data.get("audience", "room")
        message = {"type": "websocket.send", "text": frame}
        self._observe(room, data)
        if audience == "room":
            room.remember(seq, data, message, None)
            wire: bytes | None = None
            for consumer in list(room.sockets):
                writer = consumer.writer
                if writer is not None and consumer.backlog is None:
                    if seq > consumer.floor:
                        if wire is None:
                            wire = text_frame(frame)
                        writer.write(wire)
                else:
                    await consumer.deliver(seq, message)
        else:
            target = data.get("user_id")
            if audience == "moderators":
                recipients = {c for c in room.sockets if c.is_moderator or c.user_id == target}
            else:
                recipients = set(room.by_user.get(target, ()))
            if kind == "participant.updated" and data.get("change") == "hand":
                other_text = dumps(
                    {
                        "seq": seq,
                        "type": "hands.updated",
                        "room": room_id,
                        "count": data.get("hands"),
                    }
                )
            else:
                other_text = dumps({"seq": seq, "type": "skip"})
            placeholder = {"type": "websocket.send", "text": other_text}
            room.remember(seq, data, message, placeholder)
            wires: dict[bool, bytes] = {}
            for consumer in list(room.sockets):
                mine = consumer in recipients
                writer = consumer.writer
                if writer is not None and consumer.backlog is None:
                    if seq > consumer.floor:
                        wire = wires.get(mine)
                        if wire is None:
                            wire = wires[mine] = text_frame(frame if mine else other_text)
                        writer.write(wire)
                else:
                    await consumer.deliver(seq, message if mine else placeholder)
        if kind in ("removed", "moved"):
            for consumer in list(room.by_user.get(data.get("user_id"), ())):
                await consumer.close_after(seq, code=close_code_for(kind))
        elif kind == "room.ended":
            for consumer in list(room.sockets):
                await consumer.close_after(seq, code=CLOSE_ROOM_ENDED)

    @staticmethod
    def _observe(room: _LocalRoom, data: dict[str, Any]) -> None:
        """Keep each socket's role current: moderator-only events follow promotions."""
        if data.get("type") != "participant.updated":
            return
        participant = data.get("participant") or {}
        user = participant.get("user") or {}
        role = participant.get("role")
        if role and user.get("id") in room.by_user:
            for consumer in room.by_user[user["id"]]:
                consumer.observe_role(data["seq"], role)

    # -- heartbeat
    async def _beat(self) -> None:
        from rooms.consumers import db

        while self.rooms:
            await asyncio.sleep(heartbeat_seconds())
            for room_id, room in list(self.rooms.items()):
                entries = [(c.user_id, c.connection_id) for c in room.sockets]
                try:
                    await db(heartbeat)(room_id, entries)
                except Exception:
                    logger.exception("heartbeat for room %s failed", room_id)

    async def close(self) -> None:
        for task in (self._reader, self._heartbeat):
            if task is not None and not task.done() and task is not asyncio.current_task():
                task.cancel()
        self._reader = self._heartbeat = None
        with _local_hubs_lock:
            _local_hubs.discard(self)
        self._queue = None
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = self._reaction_script = None
        self._confirm.clear()
        if pubsub is not None or client is not None:
            try:
                if pubsub is not None:
                    await pubsub.aclose()
                await client.aclose()
            except Exception:
                logger.debug("closing the hub's Redis connection failed", exc_info=True)


# Application close codes, documented in docs/protocol.md.
CLOSE_MOVED = 4303  # the member entered another room (one room at a time): do not reconnect
CLOSE_REMOVED = 4403
CLOSE_ROOM_ENDED = 4410
