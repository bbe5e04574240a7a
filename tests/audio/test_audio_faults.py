"""Janus crashing, restarting or missing never breaks a room, and audio comes back by itself."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from audiosocial.errors import ServiceUnavailable
from rooms.audio import hooks, signalling
from rooms.audio.tasks import audio_reconcile
from rooms.models import Participant, Room
from tests.audio.peers import Peer, hears, stops_receiving, wait_until
from tests.audio.test_audio_path import (
    A,
    active_pks,
    close_all,
    connect,
    janus_ids,
    join,
    make_room,
    unmute,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.janus]


@database_sync_to_async
def fresh(room: Room) -> Room:
    return Room.objects.get(pk=room.pk)


def room_wide(published, room: Room, kind: str, *, after: int = 0) -> list[dict]:
    return [
        event
        for room_id, event in published[after:]
        if room_id == str(room.pk) and event["type"] == kind and event.get("audience") == "room"
    ]


async def test_janus_restart_mid_room_recreates_it_and_peers_reconnect_by_themselves(
    audio, published
):
    room, host = await make_room()
    await unmute(room, host)
    listener = await join(room, "listener")
    tabs = {host.pk: uuid.uuid4().hex, listener.pk: uuid.uuid4().hex}
    host_peer, listener_peer = Peer(tone=A), Peer()
    try:
        await connect(host_peer, room, host, connection_id=tabs[host.pk])
        await connect(listener_peer, room, listener, connection_id=tabs[listener.pk])
        await hears(listener_peer, A)
        before = len(published)
        killed_at = time.monotonic()
        audio.restart()
        # The process's watchdog notices, recreates the room and asks clients to renegotiate.
        await wait_until(
            lambda: room_wide(published, room, "audio.renegotiate", after=before), within=8
        )
        assert (await fresh(room)).audio_available
        # The clients (same tabs, no page load) answer with fresh peer connections.
        await close_all(host_peer, listener_peer)
        host_peer, listener_peer = Peer(tone=A), Peer()
        await connect(host_peer, room, host, connection_id=tabs[host.pk])
        await connect(listener_peer, room, listener, connection_id=tabs[listener.pk])
        await hears(listener_peer, A)
        assert time.monotonic() - killed_at < 10
        assert await janus_ids(audio, room) == await active_pks(room)
    finally:
        await close_all(host_peer, listener_peer)


async def test_janus_down_at_room_start_keeps_the_room_and_audio_comes_back(audio, published):
    audio.kill()
    try:
        room, host = await make_room()
        await database_sync_to_async(hooks.wait_idle)()
        room = await fresh(room)
        assert room.state == Room.State.LIVE
        assert not room.audio_available
        assert room_wide(published, room, "audio.unavailable")
        peer = Peer(tone=A)
        with pytest.raises(ServiceUnavailable) as refused:
            await connect(peer, room, host)
        assert refused.value.code == "audio_unavailable"
        assert refused.value.status_code == 503
        await peer.close()
    finally:
        audio.start()
    before = len(published)
    await database_sync_to_async(audio_reconcile)()
    assert (await fresh(room)).audio_available
    assert room_wide(published, room, "audio.renegotiate", after=before)
    await unmute(room, host)
    listener = await join(room, "listener")
    host_peer, listener_peer = Peer(tone=A), Peer()
    try:
        await connect(host_peer, room, host)
        await connect(listener_peer, room, listener)
        await hears(listener_peer, A)
    finally:
        await close_all(host_peer, listener_peer)


async def test_offer_when_janus_dies_is_a_clear_error_not_a_crash(audio):
    room, host = await make_room()
    await database_sync_to_async(hooks.wait_idle)()
    audio.kill()
    peer = Peer()
    try:
        with pytest.raises(ServiceUnavailable) as refused:
            await connect(peer, room, host)
        assert refused.value.code == "audio_unavailable"
    finally:
        await peer.close()
        audio.start()


async def test_reconciliation_kicks_ghosts_restores_mutes_and_tokens(audio, published):
    room, host = await make_room()
    await unmute(room, host)
    ghost = await join(room, "ghost")
    listener = await join(room, "listener")
    host_peer, ghost_peer, listener_peer = Peer(tone=A), Peer(), Peer()
    try:
        for peer, user in ((host_peer, host), (ghost_peer, ghost), (listener_peer, listener)):
            await connect(peer, room, user)
        await hears(ghost_peer, A)
        room = await fresh(room)
        controller = audio.controller()
        # Drift the hooks could not prevent: a participation ended without its hook (a crashed
        # worker), a mute flag flipped in Janus, a stray token.
        await database_sync_to_async(Participant.objects.filter(room=room, user=ghost).update)(
            left_at=timezone.now()
        )
        listener_pk = await database_sync_to_async(
            lambda: Participant.objects.get(room=room, user=listener).pk
        )()
        controller.set_muted(
            room.janus_room, secret=room.janus_secret, participant=listener_pk, muted=False
        )
        controller.allowed_add(room.janus_room, secret=room.janus_secret, tokens=["stray"])

        stats = await database_sync_to_async(audio_reconcile)()

        assert stats["kicked"] == 1 and stats["muted"] == 1 and stats["tokens_removed"] >= 2
        assert await stops_receiving(ghost_peer, within=2.0) <= 2.0
        assert await janus_ids(audio, room) == await active_pks(room)
        entries = {p["id"]: p for p in controller.list_participants(room.janus_room)}
        assert entries[listener_pk]["muted"] is True
        tokens = set(controller.allowed_tokens(room.janus_room, secret=room.janus_secret))
        assert "stray" not in tokens
        assert (
            tokens
            == await database_sync_to_async(
                lambda: set(
                    Participant.objects.filter(room=room, left_at__isnull=True).values_list(
                        "audio_token", flat=True
                    )
                )
            )()
        )
    finally:
        await close_all(host_peer, ghost_peer, listener_peer)


async def test_reconciliation_recreates_missing_rooms_and_destroys_rooms_that_are_over(
    audio, published
):
    live, _ = await make_room("live-host")
    over, _ = await make_room("over-host")
    await database_sync_to_async(hooks.wait_idle)()
    live, over = await fresh(live), await fresh(over)
    controller = audio.controller()
    controller.destroy_room(live.janus_room, secret=live.janus_secret)  # as after a restart
    await database_sync_to_async(Room.objects.filter(pk=over.pk).update)(state=Room.State.ENDED)
    before = len(published)

    stats = await database_sync_to_async(audio_reconcile)()

    assert controller.room_exists(live.janus_room)
    assert room_wide(published, live, "audio.renegotiate", after=before)
    assert not controller.room_exists(over.janus_room)
    assert stats["destroyed"] >= 1


async def test_connection_closed_and_shutdown_are_safe_when_janus_is_gone(audio):
    room, host = await make_room()
    peer = Peer()
    connection = uuid.uuid4().hex
    try:
        await connect(peer, room, host, connection_id=connection)
        audio.kill()
        await asyncio.wait_for(
            signalling.connection_closed(
                room_id=room.pk, user_id=host.pk, connection_id=connection
            ),
            5,
        )
        await asyncio.wait_for(signalling.shutdown(), 5)
    finally:
        await peer.close()
        audio.start()


async def test_an_offer_right_after_a_janus_restart_recovers_at_once(audio, published):
    room, host = await make_room()
    await unmute(room, host)
    listener = await join(room, "listener")
    host_peer, listener_peer = Peer(tone=A), Peer()
    try:
        await connect(host_peer, room, host)
        await connect(listener_peer, room, listener)
        await hears(listener_peer, A)
        audio.restart()
        # Before the watchdog's next look: the offer itself finds the session and room gone.
        await close_all(host_peer, listener_peer)
        host_peer, listener_peer = Peer(tone=A), Peer()
        await connect(host_peer, room, host)
        await connect(listener_peer, room, listener)
        await hears(listener_peer, A)
        assert room_wide(published, room, "audio.renegotiate")
        assert await janus_ids(audio, room) == await active_pks(room)
    finally:
        await close_all(host_peer, listener_peer)
