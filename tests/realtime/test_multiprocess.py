"""Two daphne processes serving one room through one Redis: every client sees the same events
in the same order. Two ASGI applications in one test process play the two processes: each has
its own ``RoomHub`` (its own Redis subscription) and its own channel-layer instance."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from django.urls import path

from audiosocial.wsauth import websocket_stack
from rooms import realtime, services
from rooms.consumers import RoomConsumer
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_processes(require_redis, settings):
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": layer, "process-b": dict(layer)}

    def app(alias: str):
        hub = realtime.RoomHub(redis_url=settings.REDIS_URL)
        route = path(
            "ws/rooms/<uuid:room_id>/", RoomConsumer.as_asgi(hub=hub, channel_layer_alias=alias)
        )
        return websocket_stack(URLRouter([route])), hub

    return app("default"), app("process-b")


def _seqd(socket) -> list[dict]:
    return [m for m in socket.received if "seq" in m and m["type"] != "room.snapshot"]


async def test_two_processes_deliver_the_same_sequence(two_processes):
    (app_a, hub_a), (app_b, hub_b) = two_processes
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk, app=app_a)
    users = [await make_user() for _ in range(3)]
    on_b = await open_socket(users[0], room.pk, app=app_b)
    on_a = await open_socket(users[1], room.pk, app=app_a)
    also_b = await open_socket(users[2], room.pk, app=app_b)
    sockets = [host, on_b, on_a, also_b]
    assert hub_a.local_sockets(str(room.pk)) == 2 and hub_b.local_sockets(str(room.pk)) == 2

    # Commands through both processes, reactions from both, and a write from neither (REST).
    await on_b.send(type="hand.raise", id=1)
    await on_b.until("ack", id=1)
    await host.send(type="speaker.invite", id=2, user=users[0].pk)
    await host.until("ack", id=2)
    await on_b.send(type="speaker.accept", id=3)
    await on_b.until("ack", id=3)
    await asyncio.gather(
        *(s.send(type="reaction", emoji="👏") for s in (on_a, also_b, on_b)),
    )
    await database_sync_to_async(services.mic_unmute)(room=room, user=host_user)
    late = await make_user()
    await database_sync_to_async(services.participant_join)(room=room, user=late)
    await host.send(type="participant.mute", id=4, user=users[0].pk)
    await host.until("ack", id=4)

    for socket in sockets:
        await socket.seen("participant.updated", change="muted", by=host_user.pk)
    await asyncio.sleep(0.3)
    for socket in sockets:
        await socket.quiet(0.3)

    start = max(s.received[0]["seq"] for s in sockets)
    public = []
    for socket in sockets:
        events = [e for e in _seqd(socket) if e["seq"] > start]
        seqs = [e["seq"] for e in _seqd(socket)]
        first = socket.received[0]["seq"]
        assert seqs == list(range(first + 1, first + 1 + len(seqs))), "contiguous everywhere"
        public.append([(e["seq"], e["type"]) for e in events if e.get("audience") == "room"])
    assert public[0] == public[1] == public[2] == public[3]
    kinds = {kind for _, kind in public[0]}
    assert {"participant.updated", "reaction", "audience.updated"} <= kinds
    # A command handled by process B reached the host on process A, and vice versa.
    accepted = [e for e in _seqd(host) if e.get("change") == "role"]
    assert accepted and accepted[0]["participant"]["user"]["id"] == users[0].pk
    muted = [e for e in _seqd(also_b) if e.get("change") == "muted" and e.get("by")]
    assert muted and muted[0]["participant"]["user"]["id"] == users[0].pk
    reactions = [e for e in _seqd(host) if e["type"] == "reaction"]
    assert sum(sum(e["counts"].values()) for e in reactions) == 3
    for socket in sockets:
        await socket.close()
    assert hub_a.rooms == {} and hub_b.rooms == {}


async def test_session_terminate_reaches_a_socket_on_another_process(two_processes):
    (_, _), (app_b, _) = two_processes
    room = await make_room()
    member = await make_user()
    socket = await open_socket(member, room.pk, app=app_b)
    # Sent the way moderation sends it: from synchronous code, on the default layer instance.
    await database_sync_to_async(
        lambda: async_to_sync(get_channel_layer().group_send)(
            f"user.{member.pk}", {"type": "session.terminate", "reason": "suspended"}
        )
    )()
    assert await socket.closed() == 4403


async def test_grace_period_spans_processes(two_processes, settings):
    """A reload that lands on the other process is not a leave either."""
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.4
    (app_a, _), (app_b, _) = two_processes
    room = await make_room()
    member = await make_user()
    first = await open_socket(member, room.pk, app=app_a)
    await first.close()
    second = await open_socket(member, room.pk, app=app_b)
    await asyncio.sleep(0.7)
    from rooms.models import Participant

    rows = await database_sync_to_async(
        lambda: list(Participant.objects.filter(room=room, user=member))
    )()
    assert len(rows) == 1 and rows[0].left_at is None
    await second.close()


async def test_arrivals_at_once_on_two_processes_are_each_seated_once(two_processes):
    """A join storm split over two processes: each admits its arrivals in batches under the
    room's lock; every member is seated once, counters stay exact, and the audience updates
    both processes publish add up to everyone."""
    (app_a, _), (app_b, _) = two_processes
    host_user = await make_user()
    room = await make_room(host_user)
    host = await open_socket(host_user, room.pk, app=app_a)
    users = [await make_user() for _ in range(12)]
    sockets = await asyncio.gather(
        *(open_socket(u, room.pk, app=app_a if i % 2 else app_b) for i, u in enumerate(users))
    )
    for socket, user in zip(sockets, users, strict=True):
        me = socket.received[0]["me"]
        assert (me["user_id"], me["role"], me["participating"]) == (user.pk, "listener", True)
    from rooms.models import Participant, Room

    fresh = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    rows = await database_sync_to_async(
        lambda: sorted(
            Participant.objects.filter(room=room, role="listener").values_list("user_id", flat=True)
        )
    )()
    assert rows == sorted(u.pk for u in users)
    assert (fresh.speakers_count, fresh.listeners_count) == (1, 12)
    joined = 0
    while joined < 12:
        update = await host.until("audience.updated")
        joined += update["joined_count"]
    assert joined == 12 and update["counts"] == {"speakers": 1, "listeners": 12}
    for socket in [host, *sockets]:
        await socket.close()
