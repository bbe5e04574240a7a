"""Who may open a room's socket, what refusals look like, and what connecting does."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from audiosocial.asgi import application
from rooms import services
from rooms.models import Participant, Room
from tests.factories import RoomFactory
from tests.realtime.conftest import ORIGIN, cookie_for, make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _refused(user, room_id, *, headers=None, path=None) -> tuple[int | None, list]:
    """Connect and read until the server closes: the close code and everything sent before."""
    socket = await open_socket(user, room_id, headers=headers, path=path, snapshot=False)
    code = await socket.closed()
    return code, socket.received


async def test_anonymous_socket_is_closed_with_4401_and_told_nothing():
    room = await make_room()
    code, received = await _refused(None, room.pk)
    assert code == 4401
    assert received == []


async def test_foreign_origin_is_refused_at_the_handshake():
    user = await make_user()
    room = await make_room()
    communicator = WebsocketCommunicator(
        application,
        f"/ws/rooms/{room.pk}/",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", await cookie_for(user))],
    )
    connected, _ = await communicator.connect()
    assert not connected


async def test_outsider_of_a_closed_room_gets_4404_and_no_roster():
    host = await make_user()
    room = await make_room(host, visibility=Room.Visibility.CLOSED)
    outsider = await make_user()
    code, received = await _refused(outsider, room.pk)
    assert code == 4404
    assert received == []
    assert not await database_sync_to_async(
        Participant.objects.filter(room=room, user=outsider).exists
    )()


async def test_missing_room_and_invisible_room_are_indistinguishable():
    outsider = await make_user()
    closed = await make_room(visibility=Room.Visibility.CLOSED)
    import uuid

    assert await _refused(outsider, closed.pk) == await _refused(outsider, uuid.uuid4())


async def test_invited_member_may_open_a_closed_room():
    host = await make_user()
    room = await make_room(host, visibility=Room.Visibility.CLOSED)
    guest = await make_user()
    await database_sync_to_async(services.room_invite)(room=room, by=host, user=guest)
    socket = await open_socket(guest, room.pk)
    assert socket.received[0]["me"]["role"] == "listener"
    await socket.close()


async def test_opening_the_socket_joins_the_room_as_a_listener():
    room = await make_room()
    member = await make_user()
    socket = await open_socket(member, room.pk)
    participant = await database_sync_to_async(Participant.objects.get)(
        room=room, user=member, left_at__isnull=True
    )
    assert participant.role == "listener"
    assert socket.received[0]["me"]["participating"] is True
    await socket.close()


async def test_host_reconnecting_stays_host():
    host = await make_user()
    room = await make_room(host)
    socket = await open_socket(host, room.pk)
    assert socket.received[0]["me"]["role"] == "host"
    await socket.close()


async def test_scheduled_room_refuses_with_4409_and_says_why():
    from datetime import timedelta

    from django.utils import timezone

    host = await make_user()
    room = await make_room(host, scheduled_for=timezone.now() + timedelta(hours=1))
    code, received = await _refused(host, room.pk)
    assert code == 4409
    assert received[0]["code"] == "room_not_live"


async def test_ended_room_closes_with_4410():
    host = await make_user()
    room = await make_room(host)
    await database_sync_to_async(services.room_end)(room=room, by=host)
    code, received = await _refused(host, room.pk)
    assert (code, received) == (4410, [])


async def test_removed_member_cannot_reopen_the_room():
    host = await make_user()
    room = await make_room(host)
    member = await make_user()
    await database_sync_to_async(services.participant_join)(room=room, user=member)
    await database_sync_to_async(services.participant_remove)(room=room, by=host, user=member)
    code, received = await _refused(member, room.pk)
    # They know the room: they are told why, and nothing else.
    assert code == 4403
    assert [(m["type"], m["code"]) for m in received] == [("error", "removed_from_room")]


async def test_full_room_refuses_with_4409(settings):
    settings.ROOM_MAX_LISTENERS = 1
    room = await make_room()
    first = await make_user()
    await database_sync_to_async(services.participant_join)(room=room, user=first)
    second = await make_user()
    code, received = await _refused(second, room.pk)
    assert code == 4409
    assert received[0]["type"] == "error" and received[0]["code"] == "room_full"


@database_sync_to_async
def _session_token_for(user) -> str:
    client = Client()
    client.force_login(user)
    # allauth's session-token strategy: the headless token is the session key.
    return client.cookies["sessionid"].value


async def test_session_token_header_authenticates_a_non_browser_client():
    room = await make_room()
    member = await make_user()
    token = await _session_token_for(member)
    socket = await open_socket(
        None, room.pk, headers=[ORIGIN, (b"x-session-token", token.encode())]
    )
    assert socket.received[0]["me"]["user_id"] == member.pk
    await socket.close()


async def test_session_token_query_parameter_authenticates():
    room = await make_room()
    member = await make_user()
    token = await _session_token_for(member)
    socket = await open_socket(None, room.pk, path=f"/ws/rooms/{room.pk}/?session_token={token}")
    assert socket.received[0]["me"]["user_id"] == member.pk
    await socket.close()


async def test_bad_token_is_anonymous():
    room = await make_room()
    code, _ = await _refused(
        None, room.pk, headers=[ORIGIN, (b"x-session-token", b"not-a-session")]
    )
    assert code == 4401


async def test_factory_room_without_services_is_still_reachable():
    # A live room row made directly (no host participation yet): the host's socket seats them.
    host = await make_user()
    room = await database_sync_to_async(RoomFactory)(host=host)
    socket = await open_socket(host, room.pk)
    assert socket.received[0]["me"]["role"] == "host"
    await socket.close()
