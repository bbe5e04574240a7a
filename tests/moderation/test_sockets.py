"""A suspension closes the member's live sockets (``session.terminate`` → close code 4403)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.test import Client
from django.utils import timezone

from audiosocial.asgi import application
from moderation import services
from moderation.permissions import ensure_moderators_group
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@database_sync_to_async
def signed_in_member_and_moderator():
    member = UserFactory(username="member")
    moderator = UserFactory(username="moderator", is_staff=True)
    moderator.groups.add(ensure_moderators_group(apps))
    client = Client()
    client.force_login(member)
    return member, moderator, f"sessionid={client.cookies['sessionid'].value}".encode()


async def connect(cookie: bytes) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def closed_with(communicator: WebsocketCommunicator) -> int | None:
    """Read until the server closes the socket (within 3 s); returns the close code."""
    async with asyncio.timeout(3):
        while True:
            message = await communicator.receive_output(3)
            if message["type"] == "websocket.close":
                return message.get("code")


async def test_suspension_closes_every_notification_socket_of_the_member():
    member, moderator, cookie = await signed_in_member_and_moderator()
    first, second = await connect(cookie), await connect(cookie)
    bystander_member = await database_sync_to_async(UserFactory)()
    bystander_cookie = await database_sync_to_async(_cookie)(bystander_member)
    bystander = await connect(bystander_cookie)

    await database_sync_to_async(services.sanction_apply)(
        user=member,
        kind="suspension",
        reason="Harassment",
        by=moderator,
        until=timezone.now() + timedelta(days=1),
    )

    assert await closed_with(first) == 4403
    assert await closed_with(second) == 4403
    # Someone else's socket stays open and answers.
    await bystander.send_json_to({"type": "ping", "id": 1})
    while (reply := await bystander.receive_json_from(timeout=2))["type"] != "pong":
        pass
    assert reply == {"type": "pong", "id": 1}
    await bystander.disconnect()
    # The cookie no longer opens a socket: the session is gone.
    again = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie)]
    )
    connected, code = await again.connect()
    assert not connected and code == 4401


def _cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_a_warning_leaves_sockets_open():
    member, moderator, cookie = await signed_in_member_and_moderator()
    socket = await connect(cookie)
    await database_sync_to_async(services.sanction_apply)(
        user=member, kind="warning", reason="Language", by=moderator
    )
    await socket.send_json_to({"type": "ping", "id": 2})
    while (reply := await socket.receive_json_from(timeout=2))["type"] != "pong":
        pass
    assert reply["id"] == 2
    await socket.disconnect()


async def test_suspension_closes_the_members_room_socket_and_takes_them_out_of_the_room(settings):
    from rooms import services as room_services
    from rooms.consumers import CLOSE_FORBIDDEN
    from rooms.models import Participant

    settings.AUDIO_HOOKS_ENABLED = False
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.2
    member, moderator, cookie = await signed_in_member_and_moderator()
    host = await database_sync_to_async(UserFactory)()
    room = await database_sync_to_async(room_services.room_create)(host=host, title="Live")
    socket = WebsocketCommunicator(
        application, f"/ws/rooms/{room.pk}/", headers=[ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await socket.connect()
    assert connected
    # The room socket accepts first and joins after (on a thread pool outside SQLite): the
    # snapshot says the join is done.
    while (await socket.receive_json_from(timeout=5))["type"] != "room.snapshot":
        pass
    in_room = Participant.objects.filter(room=room, user=member, left_at__isnull=True)
    assert await database_sync_to_async(in_room.exists)()

    await database_sync_to_async(services.sanction_apply)(
        user=member, kind="ban", reason="Raid organiser", by=moderator
    )

    assert await closed_with(socket) == CLOSE_FORBIDDEN == 4403
    assert not await database_sync_to_async(in_room.exists)()
    left = await database_sync_to_async(Participant.objects.get)(room=room, user=member)
    assert left.removed
