"""Audience presence at scale: arrivals and departures are batched per window into one
``audience.updated`` (count + capped list delta); stage changes stay individual events."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from rooms import realtime, services
from tests.factories import UserFactory
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _join_many(room, n: int):
    users = [UserFactory() for _ in range(n)]
    for user in users:
        services.participant_join(room=room, user=user)
    return users


async def test_a_burst_of_joins_is_one_audience_update(settings):
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 0.5
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    users = await _join_many(room, 8)
    update = await host.until("audience.updated")
    await host.quiet(0.3)
    updates = [m for m in host.received if m["type"] == "audience.updated"]
    joined = [p["user"]["id"] for u in updates for p in u["joined"]]
    assert sorted(joined) == sorted(u.pk for u in users)
    assert len(updates) <= 2
    assert not [m for m in host.received if m["type"] == "participant.joined"]
    assert updates[-1]["counts"] == {"speakers": 1, "listeners": 8}
    assert update["joined"][0]["role"] == "listener"
    await host.close()


async def test_list_delta_is_capped_but_counted(settings):
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 1.0
    settings.ROOM_AUDIENCE_DELTA_MAX = 3
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    await _join_many(room, 6)
    update = await host.until("audience.updated")
    assert len(update["joined"]) == 3
    assert update["joined_count"] == 6
    assert update["counts"]["listeners"] == 6
    await host.close()


async def test_join_then_leave_within_a_window_is_reported_as_left(settings):
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 0.5
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    (user,) = await _join_many(room, 1)
    await database_sync_to_async(services.participant_leave)(room=room, user=user)
    update = await host.until("audience.updated")
    assert update["joined"] == []
    assert update["left"] == [user.pk]
    assert update["counts"]["listeners"] == 0
    await host.close()


async def test_stage_change_flushes_pending_arrivals_first(settings):
    """A listener who joins and is promoted within one window is announced in that order."""
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 5
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    (user,) = await _join_many(room, 1)
    await database_sync_to_async(services.moderator_add)(room=room, by=host_user, user=user)
    promoted = await host.until("participant.updated", change="role")
    kinds = [m["type"] for m in host.received[1:]]
    assert kinds.index("audience.updated") < kinds.index("participant.updated")
    assert promoted["participant"]["role"] == "moderator"
    await host.close()


async def test_stage_joins_are_individual_events():
    host_user = await make_user()
    room = await make_room(host_user)
    listener = await open_socket(await make_user(), room.pk)
    await database_sync_to_async(services.participant_leave)(room=room, user=host_user)
    # The host left without a co-moderator: the room ends (an individual event, then 4410).
    assert await listener.closed() == 4410
    kinds = [m["type"] for m in listener.received]
    assert "participant.left" in kinds and "room.ended" in kinds


def test_a_large_audience_is_updated_once_a_second(settings, monkeypatch):
    """Every audience update is one frame to every member: in a large room the window is longer
    (at 5,000 listeners, 4 updates a second were 20,000 writes a second for a moving counter)."""
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 0.25
    settings.ROOM_AUDIENCE_LARGE_ROOM = 1000
    settings.ROOM_AUDIENCE_LARGE_WINDOW_SECONDS = 1.0
    scheduled = []
    monkeypatch.setattr(
        realtime._scheduler, "schedule", lambda key, delay, fn: scheduled.append((key, delay))
    )
    small, large = str(uuid.uuid4()), str(uuid.uuid4())
    for room_id, listeners in ((small, 999), (large, 1000)):
        realtime.publish_room_event(
            room_id,
            {
                "type": "participant.joined",
                "room": room_id,
                "participant": {"user": {"id": 7}, "role": "listener"},
                "counts": {"speakers": 1, "listeners": listeners},
            },
        )
    assert scheduled == [(f"audience:{small}", 0.25), (f"audience:{large}", 1.0)]
