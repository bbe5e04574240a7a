"""``room.snapshot``: what a moderator and a listener each see on connect and on ``hello``."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from rooms import realtime, services
from rooms.events import participant_talking
from rooms.snapshot import room_snapshot
from tests.factories import UserFactory
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def _populate(room, host, *, listeners: int, hands: int):
    members = [UserFactory() for _ in range(listeners)]
    for member in members:
        services.participant_join(room=room, user=member)
    for member in members[:hands]:
        services.hand_raise(room=room, user=member)
    speaker = UserFactory()
    services.participant_join(room=room, user=speaker)
    services.speaker_invite(room=room, by=host, user=speaker)
    services.speaker_accept(room=room, user=speaker)
    return members, speaker


async def test_moderator_snapshot_has_the_hand_queue_in_order():
    host = await make_user()
    room = await make_room(host)
    members, speaker = await _populate(room, host, listeners=4, hands=3)
    socket = await open_socket(host, room.pk)
    snapshot = socket.received[0]
    assert snapshot["me"]["role"] == "host"
    assert snapshot["hands"]["count"] == 3
    assert [h["user"]["id"] for h in snapshot["hands"]["queue"]] == [m.pk for m in members[:3]]
    assert [p["role"] for p in snapshot["stage"]] == ["host", "speaker"]
    assert snapshot["stage"][1]["user"]["id"] == speaker.pk
    assert snapshot["listeners"]["count"] == 4
    assert len(snapshot["listeners"]["first"]) == 4
    # Moderators see each listener's hand.
    assert snapshot["listeners"]["first"][0]["hand_raised"] is True
    assert snapshot["seq"] == await database_sync_to_async(realtime.current_seq)(room.pk)
    await socket.close()


async def test_listener_snapshot_has_only_the_hand_count():
    host = await make_user()
    room = await make_room(host)
    await _populate(room, host, listeners=4, hands=2)
    listener = await make_user()
    socket = await open_socket(listener, room.pk)
    snapshot = socket.received[0]
    assert snapshot["me"]["role"] == "listener"
    assert snapshot["hands"] == {"count": 2}
    assert all("hand_raised" not in p for p in snapshot["listeners"]["first"])
    assert all("hand_raised" not in p for p in snapshot["stage"])
    # Seated on connect: the listener counts themselves.
    assert snapshot["listeners"]["count"] == 5
    await socket.close()


async def test_snapshot_carries_talking_and_reaction_totals():
    host = await make_user()
    room = await make_room(host)
    await database_sync_to_async(realtime.publish_room_event)(
        room.pk, participant_talking(room.pk, host.pk, True)
    )
    listener = await make_user()
    socket = await open_socket(listener, room.pk)
    snapshot = socket.received[0]
    assert snapshot["stage"][0]["talking"] is True
    assert snapshot["reactions"]["totals"] == {}
    assert "👏" in snapshot["reactions"]["allowed"]
    await socket.send(type="reaction", emoji="👏")
    await socket.until("reaction")
    await socket.send(type="hello", id="again")
    fresh = await socket.until("room.snapshot")
    assert fresh["id"] == "again"
    assert fresh["reactions"]["totals"] == {"👏": 1}
    await socket.close()


async def test_listener_page_is_capped_but_the_count_is_exact(settings):
    from rooms import selectors

    host = await make_user()
    room = await make_room(host)
    await _populate(room, host, listeners=selectors.DETAIL_LISTENERS + 2, hands=0)
    member = await make_user()
    socket = await open_socket(member, room.pk)
    listeners = socket.received[0]["listeners"]
    assert listeners["count"] == selectors.DETAIL_LISTENERS + 3
    assert len(listeners["first"]) == selectors.DETAIL_LISTENERS
    await socket.close()


@pytest.mark.parametrize("listeners", [2, 12])
def test_snapshot_query_count_is_constant(django_assert_num_queries, listeners):
    from rooms.models import Room

    host = UserFactory()
    room = services.room_create(host=host, title="Counted")
    for _ in range(listeners):
        services.participant_join(room=room, user=UserFactory())
    listener = UserFactory()
    services.participant_join(room=room, user=listener)
    room = Room.objects.get(pk=room.pk)
    with django_assert_num_queries(6):
        room_snapshot(room=room, user=host)
    with django_assert_num_queries(5):
        room_snapshot(room=room, user=listener)
