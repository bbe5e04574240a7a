"""Presence: a closed socket leaves after a grace period (a reload is not a leave), heartbeats
stamp ``last_seen_at``, a sweep removes the participants of a dead process, and moderation can
cut a member's sockets."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.utils import timezone

from rooms import realtime
from rooms.models import Participant
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _participations(room, user) -> list[Participant]:
    return list(Participant.objects.filter(room=room, user=user).order_by("pk"))


async def test_reconnect_within_the_grace_period_is_not_a_leave(settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.4
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    member = await make_user()
    first = await open_socket(member, room.pk)
    await first.close()
    await asyncio.sleep(0.1)
    second = await open_socket(member, room.pk)
    await asyncio.sleep(0.6)
    rows = await _participations(room, member)
    assert len(rows) == 1 and rows[0].left_at is None
    await host.quiet(0.2)
    left = [u for m in host.received if m["type"] == "audience.updated" for u in m["left"]]
    assert member.pk not in left
    await second.close()
    await host.close()


async def test_two_reloads_in_a_row_are_not_a_leave(settings):
    """The grace is counted from the latest disconnect: the first socket's timer must not fire
    into the gap of a second reload (it did: the member left with a new page loading)."""
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 1.0
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    member = await make_user()
    first = await open_socket(member, room.pk)
    await first.close()  # reload 1: the first timer fires 1 s from here
    await asyncio.sleep(0.2)
    second = await open_socket(member, room.pk)
    await asyncio.sleep(0.5)
    await second.close()  # reload 2, its page still loading when the first timer fires
    await asyncio.sleep(0.6)
    rows = await _participations(room, member)
    assert len(rows) == 1 and rows[0].left_at is None, "left in the gap of the second reload"
    third = await open_socket(member, room.pk)  # within the second grace: the same visit
    await asyncio.sleep(0.8)
    rows = await _participations(room, member)
    assert len(rows) == 1 and rows[0].left_at is None
    await third.close()
    # Without a new page, the latest disconnect's own timer ends the visit.
    update = await host.until("audience.updated", wait=4)
    while member.pk not in update["left"]:
        update = await host.until("audience.updated", wait=4)
    assert (await _participations(room, member))[0].left_at is not None
    await host.close()


async def test_disconnect_leaves_after_the_grace_period(settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.3
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk)
    member = await make_user()
    socket = await open_socket(member, room.pk)
    await socket.close()
    await asyncio.sleep(0.1)
    assert (await _participations(room, member))[0].left_at is None, "not before the grace"
    update = await host.until("audience.updated", wait=3)
    while member.pk not in update["left"]:
        update = await host.until("audience.updated", wait=3)
    assert (await _participations(room, member))[0].left_at is not None
    await host.close()


async def test_closing_one_of_two_tabs_does_not_leave(settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.2
    room = await make_room()
    member = await make_user()
    tab1 = await open_socket(member, room.pk)
    tab2 = await open_socket(member, room.pk)
    await tab1.close()
    await asyncio.sleep(0.5)
    assert (await _participations(room, member))[0].left_at is None
    await tab2.close()
    await asyncio.sleep(0.5)
    assert (await _participations(room, member))[0].left_at is not None


async def test_heartbeat_stamps_last_seen_at(settings):
    settings.ROOM_HEARTBEAT_SECONDS = 0.1
    room = await make_room()
    member = await make_user()
    socket = await open_socket(member, room.pk)
    joined = (await _participations(room, member))[0].last_seen_at
    await asyncio.sleep(0.4)
    assert (await _participations(room, member))[0].last_seen_at > joined
    await socket.close()


@database_sync_to_async
def _age(room, user, seconds: int) -> None:
    Participant.objects.filter(room=room, user=user).update(
        last_seen_at=timezone.now() - timedelta(seconds=seconds)
    )


async def test_presence_sweep_removes_participants_of_a_dead_process(settings):
    from rooms.tasks import presence_sweep

    settings.ROOM_HEARTBEAT_SECONDS = 0.1
    host_user = await make_user()
    room = await make_room(host_user)
    ghost = await make_user()
    await database_sync_to_async(realtime.presence_add)(room.pk, ghost.pk, "dead-conn")
    from rooms import services

    await database_sync_to_async(services.participant_join)(room=room, user=ghost)
    live = await make_user()
    socket = await open_socket(live, room.pk)
    host = await open_socket(host_user, room.pk)
    stale = int(realtime.presence_stale_seconds()) + 5
    await _age(room, ghost, stale)
    await _age(room, live, stale)
    await asyncio.sleep(0.3)  # the live socket's heartbeat refreshes its participant
    swept = await database_sync_to_async(presence_sweep.apply)()
    assert swept.get() == 1
    assert (await _participations(room, ghost))[0].left_at is not None
    assert (await _participations(room, live))[0].left_at is None
    await socket.close()
    await host.close()


async def test_session_terminate_closes_the_room_socket_with_4403():
    room = await make_room()
    member = await make_user()
    socket = await open_socket(member, room.pk)
    layer = get_channel_layer()
    # Other traffic on the member's group (notifications) is ignored by the room socket.
    await layer.group_send(f"user.{member.pk}", {"type": "notification.event", "event": {}})
    await layer.group_send(
        f"user.{member.pk}", {"type": "session.terminate", "reason": "banned", "code": 4403}
    )
    assert await socket.closed() == 4403
    assert socket.received[-1] == {"type": "session.terminated", "reason": "banned"}


async def test_entering_another_room_closes_the_old_rooms_socket_with_4303():
    first_room = await make_room()
    second_room = await make_room()
    member = await make_user()
    old = await open_socket(member, first_room.pk)
    new = await open_socket(member, second_room.pk)
    assert await old.closed() == 4303
    moved = old.received[-1]
    assert (moved["type"], moved["to"]) == ("moved", str(second_room.pk))
    rows = await _participations(first_room, member)
    assert rows[0].left_at is not None
    assert new.received[0]["me"]["participating"] is True
    await new.close()
