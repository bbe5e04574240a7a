"""Live delivery on /ws/notifications/: every open tab of the recipient, nobody else."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from audiosocial.asgi import application
from notifications import presence, services
from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.conftest import follow, make_room

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@database_sync_to_async
def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def open_socket(user, *, unread=0):
    communicator = WebsocketCommunicator(
        application, "/ws/notifications/", headers=[ORIGIN, (b"cookie", await cookie_for(user))]
    )
    connected, _ = await communicator.connect()
    assert connected
    assert (await communicator.receive_json_from())["type"] == "hello"
    assert await communicator.receive_json_from() == {
        "type": "unread_count",
        "unread_count": unread,
    }
    return communicator


@database_sync_to_async
def setup_live_room():
    host = UserFactory(username="host")
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    follow(alice, host)
    follow(carol, host)  # follows too, but has no socket open
    room = make_room(host, title="Jazz night")
    return host, alice, bob, carol, room


async def test_went_live_reaches_every_open_socket_of_the_recipient_and_nobody_else():
    host, alice, bob, carol, room = await setup_live_room()
    alice_tab1 = await open_socket(alice)
    alice_tab2 = await open_socket(alice)
    bob_tab = await open_socket(bob)

    created = await database_sync_to_async(services.room_live_fan_out)(room_id=str(room.pk))
    assert created == 2  # alice and carol

    row = await database_sync_to_async(Notification.objects.get)(recipient=alice)
    for tab in (alice_tab1, alice_tab2):
        event = await tab.receive_json_from(timeout=5)
        assert event["type"] == "notification"
        assert event["unread_count"] == 1
        n = event["notification"]
        assert n["id"] == row.pk
        assert n["kind"] == "went_live"
        assert n["url"] == f"/rooms/{room.pk}/"
        assert n["room"] == {"id": str(room.pk), "title": "Jazz night"}
        assert n["actor"]["username"] == "host"
        assert n["text"] == "Host started a room: Jazz night"
        assert n["read_at"] is None
    assert await bob_tab.receive_nothing(timeout=0.5)
    for tab in (alice_tab1, alice_tab2):
        assert await tab.receive_nothing(timeout=0.2)  # exactly one push per tab

    # A retried task pushes nothing again.
    assert await database_sync_to_async(services.room_live_fan_out)(room_id=str(room.pk)) == 0
    assert await alice_tab1.receive_nothing(timeout=0.3)

    for tab in (alice_tab1, alice_tab2, bob_tab):
        await tab.disconnect()


async def test_socket_connect_sends_the_unread_count_and_mark_read_updates_every_tab():
    host, alice, bob, carol, room = await setup_live_room()
    await database_sync_to_async(services.room_live_fan_out)(room_id=str(room.pk))
    await database_sync_to_async(services.followed_notify)(
        follower_id=alice.pk, followee_id=host.pk
    )
    host_tab1 = await open_socket(host, unread=1)
    alice_tab = await open_socket(alice, unread=1)

    await database_sync_to_async(follow)(bob, host)
    await database_sync_to_async(services.followed_notify)(follower_id=bob.pk, followee_id=host.pk)
    event = await host_tab1.receive_json_from(timeout=5)
    assert (event["notification"]["kind"], event["unread_count"]) == ("followed", 2)
    assert event["notification"]["url"] == "/@bob"
    assert await alice_tab.receive_nothing(timeout=0.3)

    host_tab2 = await open_socket(host, unread=2)
    await database_sync_to_async(services.notifications_mark_read)(user=host, everything=True)
    for tab in (host_tab1, host_tab2):
        assert await tab.receive_json_from(timeout=5) == {"type": "unread_count", "unread_count": 0}
    assert await alice_tab.receive_nothing(timeout=0.3)

    for tab in (host_tab1, host_tab2, alice_tab):
        await tab.disconnect()


async def test_presence_counts_open_sockets_per_member():
    alice = await database_sync_to_async(UserFactory)()
    tab1 = await open_socket(alice)
    tab2 = await open_socket(alice)
    assert await database_sync_to_async(presence.online_user_ids)() == {alice.pk}
    await tab1.disconnect()
    assert await database_sync_to_async(presence.online_user_ids)() == {alice.pk}
    await tab2.disconnect()
    assert await database_sync_to_async(presence.online_user_ids)() == set()


async def test_a_group_message_meant_for_other_sockets_does_not_close_the_socket():
    from channels.layers import get_channel_layer

    alice = await database_sync_to_async(UserFactory)()
    tab = await open_socket(alice)
    await get_channel_layer().group_send(f"user.{alice.pk}", {"type": "room.something"})
    await tab.send_json_to({"type": "ping", "id": 1})
    assert await tab.receive_json_from(timeout=5) == {"type": "pong", "id": 1}
    await tab.disconnect()
