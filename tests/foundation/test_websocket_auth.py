"""The authenticated WebSocket route proves the ASGI stack: origin check, then auth."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from audiosocial.asgi import application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@database_sync_to_async
def session_cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def test_signed_in_member_is_accepted():
    user = await database_sync_to_async(UserFactory)()
    cookie = await session_cookie_for(user)
    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", cookie)]
    )
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello == {"type": "hello", "user": user.username}
    # The notifications socket follows its greeting with the member's unread count.
    assert await communicator.receive_json_from() == {"type": "unread_count", "unread_count": 0}
    await communicator.send_to(text_data="not json")
    error = await communicator.receive_json_from()
    assert error["type"] == "error" and error["code"] == "malformed"
    await communicator.send_json_to({"type": "ping", "id": 7})
    assert await communicator.receive_json_from() == {"type": "pong", "id": 7}
    await communicator.disconnect()


async def test_anonymous_is_refused():
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[ORIGIN])
    connected, code = await communicator.connect()
    assert not connected
    assert code == 4401


async def test_foreign_origin_is_refused():
    user = await database_sync_to_async(UserFactory)()
    cookie = await session_cookie_for(user)
    communicator = WebsocketCommunicator(
        application,
        "/ws/notifications/",
        headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)],
    )
    connected, _ = await communicator.connect()
    assert not connected
