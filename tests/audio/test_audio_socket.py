"""Audio through the room's WebSocket, as browsers do it: offer in, answer out, events back."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from rooms.audio import hooks
from rooms.models import Participant
from tests.audio.peers import Peer, goes_silent, hears
from tests.audio.test_audio_path import A, active_pks, janus_ids, make_room, unmute
from tests.factories import UserFactory
from tests.realtime.conftest import open_socket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.janus]


async def negotiate(socket, peer: Peer, request_id: int) -> None:
    await socket.send(type="audio.offer", id=request_id, sdp=await peer.offer())
    answer = await socket.until("audio.answer", 8, id=request_id)
    await peer.accept(answer["sdp"])


async def test_offer_answer_and_talking_indicators_over_the_room_socket(audio, settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 30  # the socket's own close is what is tested
    room, host = await make_room()
    await unmute(room, host)
    listener = await database_sync_to_async(UserFactory)(username="socket-listener")
    host_socket = await open_socket(host, room.pk)
    listener_socket = await open_socket(listener, room.pk)
    host_peer, listener_peer = Peer(tone=A), Peer()
    try:
        await negotiate(host_socket, host_peer, 1)
        await negotiate(listener_socket, listener_peer, 2)
        await hears(listener_peer, A)
        talking = await listener_socket.until(
            "participant.updated", 5, change="talking", user_id=host.pk
        )
        assert talking["talking"] is True
        assert await janus_ids(audio, room) == await active_pks(room)

        # The speaker's socket closes: their media leaves Janus at once (no grace for audio).
        await host_socket.close()
        assert await goes_silent(listener_peer, A, within=2.0) <= 2.0
        stopped = await listener_socket.until(
            "participant.updated", 3, change="talking", user_id=host.pk
        )
        assert stopped["talking"] is False
        await database_sync_to_async(hooks.wait_idle)()
        listener_pk = await database_sync_to_async(
            lambda: Participant.objects.get(room=room, user=listener, left_at__isnull=True).pk
        )()
        assert await janus_ids(audio, room) == {listener_pk}
    finally:
        await listener_socket.close()
        await host_peer.close()
        await listener_peer.close()


async def test_audio_offer_over_the_socket_when_janus_is_down_is_a_clear_error(audio):
    room, host = await make_room()
    socket = await open_socket(host, room.pk)
    peer = Peer()
    audio.kill()
    try:
        await socket.send(type="audio.offer", id=7, sdp=await peer.offer())
        error = await socket.until("error", 8, id=7)
        assert error["code"] == "audio_unavailable"
        assert "audio" in error["message"].lower()
        # The room itself keeps working.
        await socket.send(type="reaction", id=8, emoji="👏")
        assert (await socket.until("ack", 3, id=8))["id"] == 8
    finally:
        audio.start()
        await socket.close()
        await peer.close()
