"""Reactions: a fixed set, a per-member rate limit, one aggregated event per room per window."""

from __future__ import annotations

import asyncio

import pytest

from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def test_reactions_are_aggregated_into_few_events_with_counts(settings):
    settings.ROOM_REACTION_WINDOW_SECONDS = 0.3
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    reactors = [await open_socket(await make_user(), room.pk) for _ in range(3)]
    await host.quiet(0.2)
    for socket in reactors:
        for emoji in ("👏", "👏", "🔥"):
            await socket.send(type="reaction", emoji=emoji)
    for socket in reactors:
        for _ in range(3):
            await socket.until("ack")
    await asyncio.sleep(0.5)
    await host.quiet(0.2)
    reactions = [m for m in host.received if m["type"] == "reaction"]
    total: dict[str, int] = {}
    for event in reactions:
        for emoji, count in event["counts"].items():
            total[emoji] = total.get(emoji, 0) + count
    assert total == {"👏": 6, "🔥": 3}
    # Nine clicks, at most two windows' worth of events (sends may straddle a window).
    assert 1 <= len(reactions) <= 2
    assert reactions[-1]["totals"] == {"👏": 6, "🔥": 3}
    assert reactions[-1]["window_ms"] == 300
    assert set(reactions[0]) >= {"seq", "type", "room", "counts", "totals", "window_ms"}
    for socket in [host, *reactors]:
        await socket.close()


async def test_reaction_rate_limit_is_per_member():
    room = await make_room()
    eager = await open_socket(await make_user(), room.pk)
    calm = await open_socket(await make_user(), room.pk)
    for n in range(12):
        await eager.send(type="reaction", id=n, emoji="😂")
    replies = [await eager.until_any(("ack", "error")) for _ in range(12)]
    acks = [r for r in replies if r["type"] == "ack"]
    errors = [r for r in replies if r["type"] == "error"]
    # 5 per second: 12 quick clicks fit at most two one-second buckets.
    assert 5 <= len(acks) <= 10
    assert errors and all(e["code"] == "rate_limited" for e in errors)
    assert errors[0]["details"]["retry_after_seconds"] == 1
    # Another member is not limited by the first one's clicks.
    await calm.send(type="reaction", id="c", emoji="😂")
    assert (await calm.until_any(("ack", "error")))["type"] == "ack"
    await eager.close()
    await calm.close()


async def test_reactions_are_ephemeral_but_counted_in_the_snapshot():
    room = await make_room()
    member = await make_user()
    socket = await open_socket(member, room.pk)
    await socket.send(type="reaction", emoji="💯")
    await socket.until("reaction")
    await socket.close()
    again = await open_socket(member, room.pk)
    assert again.received[0]["reactions"]["totals"] == {"💯": 1}
    await again.close()


async def test_only_configured_emoji_are_accepted(settings):
    settings.ROOM_REACTIONS = ["🦄"]
    room = await make_room()
    socket = await open_socket(await make_user(), room.pk)
    await socket.send(type="reaction", id=1, emoji="👏")
    error = await socket.until("error")
    assert error["code"] == "invalid_reaction"
    assert error["details"]["allowed"] == ["🦄"]
    await socket.send(type="reaction", id=2, emoji="🦄")
    await socket.until("ack", id=2)
    await socket.close()
