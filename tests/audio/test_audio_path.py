"""Who hears whom, through real Janus and real WebRTC peers, driven by the room services."""

from __future__ import annotations

import time
import uuid

import pytest
from channels.db import database_sync_to_async

from audiosocial.errors import Conflict, Forbidden
from rooms import services
from rooms.audio import hooks, signalling
from rooms.models import Participant, Room
from tests.audio.peers import (
    SILENT,
    Peer,
    ToneTrack,
    goes_silent,
    hears,
    never_hears,
    wait_until,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.janus]

A, B, L = 440.0, 880.0, 660.0  # speaker A, speaker B, listener L


@database_sync_to_async
def make_room(host_name: str = "host"):
    host = UserFactory(username=host_name)
    room = services.room_create(host=host, title="Audio test")
    return room, host


@database_sync_to_async
def join(room: Room, username: str):
    user = UserFactory(username=username)
    services.participant_join(room=room, user=user)
    return user


@database_sync_to_async
def call(service, room: Room, **kwargs):
    room.refresh_from_db()
    return service(room=room, **kwargs)


@database_sync_to_async
def bring_on_stage(room: Room, host, user, *, unmute: bool = True):
    room.refresh_from_db()
    services.speaker_invite(room=room, by=host, user=user)
    services.speaker_accept(room=room, user=user)
    if unmute:
        services.mic_unmute(room=room, user=user)


@database_sync_to_async
def unmute(room: Room, user):
    room.refresh_from_db()
    services.mic_unmute(room=room, user=user)


async def connect(peer: Peer, room: Room, user, *, connection_id: str | None = None) -> str:
    answer = await signalling.handle_offer(
        room_id=room.pk,
        user_id=user.pk,
        sdp=await peer.offer(),
        connection_id=connection_id or uuid.uuid4().hex,
    )
    await peer.accept(answer)
    return answer


@database_sync_to_async
def active_pks(room: Room) -> set[int]:
    return set(
        Participant.objects.filter(room=room, left_at__isnull=True).values_list("pk", flat=True)
    )


async def janus_ids(janus, room: Room) -> set[int]:
    await database_sync_to_async(hooks.wait_idle)()
    room = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    return {p["id"] for p in janus.controller().list_participants(room.janus_room)}


async def close_all(*peers: Peer) -> None:
    for peer in peers:
        await peer.close()


async def test_speakers_hear_each_other_and_a_listener_with_a_microphone_is_never_heard(audio):
    room, host = await make_room()
    await unmute(room, host)
    speaker = await join(room, "speaker")
    await bring_on_stage(room, host, speaker)
    listener = await join(room, "listener")
    # The listener's client crafts a send-capable offer with a microphone tone.
    host_peer, speaker_peer, listener_peer = Peer(tone=A), Peer(tone=B), Peer(tone=L)
    try:
        await connect(host_peer, room, host)
        await connect(speaker_peer, room, speaker)
        await connect(listener_peer, room, listener)
        await hears(listener_peer, A)
        await hears(listener_peer, B)
        await hears(host_peer, B)
        await hears(speaker_peer, A)
        start = time.monotonic()
        await never_hears(host_peer, L, during=1.2)
        assert speaker_peer.level(L, since=start) < SILENT
        assert await janus_ids(audio, room) == await active_pks(room)
    finally:
        await close_all(host_peer, speaker_peer, listener_peer)


async def test_moderator_mute_silences_within_a_second_and_the_speaker_cannot_undo_it(audio):
    room, host = await make_room()
    speaker = await join(room, "speaker")
    await bring_on_stage(room, host, speaker)
    listener = await join(room, "listener")
    speaker_peer, listener_peer = Peer(tone=B), Peer()
    connection = uuid.uuid4().hex
    try:
        await connect(speaker_peer, room, speaker, connection_id=connection)
        await connect(listener_peer, room, listener)
        await hears(listener_peer, B)

        await call(services.participant_mute, room, by=host, user=speaker)
        assert await goes_silent(listener_peer, B, within=1.0) <= 1.0

        # Every way the protocol offers to get the microphone back is refused...
        with pytest.raises(Forbidden):
            await call(services.mic_unmute, room, user=speaker)
        with pytest.raises(Conflict):
            await call(services.speaker_accept, room, user=speaker)
        # ...and so is a fresh offer (same tab renegotiating, then another tab).
        for connection_id in (connection, uuid.uuid4().hex):
            await speaker_peer.close()
            speaker_peer = Peer(tone=B)
            await connect(speaker_peer, room, speaker, connection_id=connection_id)
            await never_hears(listener_peer, B, during=0.8)
        assert await janus_ids(audio, room) == await active_pks(room) - {await host_pk(room)}

        # A moderator's unmute (plus the speaker's own) makes them audible again.
        await call(services.participant_unmute, room, by=host, user=speaker)
        await unmute(room, speaker)
        await hears(listener_peer, B, within=2)
    finally:
        await close_all(speaker_peer, listener_peer)


async def test_promotion_makes_a_listener_audible_and_moving_back_silences_them(audio, published):
    room, host = await make_room()
    user = await join(room, "promoted")
    listener = await join(room, "listener")
    connection = uuid.uuid4().hex
    promoted_peer, listener_peer = Peer(tone=L), Peer()
    try:
        await connect(promoted_peer, room, user, connection_id=connection)
        await connect(listener_peer, room, listener)
        await never_hears(listener_peer, L, during=0.8)

        await bring_on_stage(room, host, user)
        await database_sync_to_async(hooks.wait_idle)()
        assert renegotiations(published, user) == 1
        # The client answers audio.renegotiate with a new peer connection and its microphone.
        await promoted_peer.close()
        promoted_peer = Peer(tone=L)
        await connect(promoted_peer, room, user, connection_id=connection)
        await hears(listener_peer, L)

        await call(services.speaker_move_to_audience, room, by=host, user=user)
        assert await goes_silent(listener_peer, L, within=1.0) <= 1.0
        await database_sync_to_async(hooks.wait_idle)()
        assert renegotiations(published, user) == 2
        # Even if the client ignores the request and keeps sending, nobody hears it.
        await never_hears(listener_peer, L, during=0.8)
        assert await janus_ids(audio, room) == await active_pks(room) - {await host_pk(room)}
    finally:
        await close_all(promoted_peer, listener_peer)


def renegotiations(published, user) -> int:
    return sum(
        1
        for _, event in published
        if event["type"] == "audio.renegotiate" and event.get("user_id") == user.pk
    )


@database_sync_to_async
def host_pk(room: Room) -> int:
    return Participant.objects.get(room=room, role="host", left_at__isnull=True).pk


async def test_talking_events_follow_the_speaker_and_mute_ends_them(audio, published):
    room, host = await make_room()
    await unmute(room, host)
    listener = await join(room, "listener")
    host_peer, listener_peer = Peer(tone=A), Peer()
    try:
        await connect(host_peer, room, host)
        await connect(listener_peer, room, listener)
        await wait_until(lambda: talking(published, host.pk) == [True], within=4)
        await call(services.mic_mute, room, user=host)
        await database_sync_to_async(hooks.wait_idle)()
        assert talking(published, host.pk) == [True, False]
        assert talking(published, listener.pk) == []
    finally:
        await close_all(host_peer, listener_peer)


def talking(published, user_id: int) -> list[bool]:
    return [
        event["talking"]
        for _, event in published
        if event.get("change") == "talking" and event.get("user_id") == user_id
    ]


async def test_promotion_can_renegotiate_the_same_peer_connection(audio, monkeypatch):
    calls = []
    original = signalling._Hub._reconfigure

    async def counting(self, *args, **kwargs):
        answer = await original(self, *args, **kwargs)
        calls.append(answer is not None)
        return answer

    monkeypatch.setattr(signalling._Hub, "_reconfigure", counting)
    room, host = await make_room()
    user = await join(room, "promoted")
    listener = await join(room, "listener")
    connection = uuid.uuid4().hex
    promoted_peer, listener_peer = Peer(), Peer()
    try:
        await connect(promoted_peer, room, user, connection_id=connection)
        await connect(listener_peer, room, listener)
        await bring_on_stage(room, host, user)
        # The browser keeps its RTCPeerConnection and adds the microphone to it.
        transceiver = promoted_peer.pc.getTransceivers()[0]
        transceiver.sender.replaceTrack(ToneTrack(L))
        transceiver.direction = "sendrecv"
        await promoted_peer.pc.setLocalDescription(await promoted_peer.pc.createOffer())
        answer = await signalling.handle_offer(
            room_id=room.pk,
            user_id=user.pk,
            sdp=promoted_peer.pc.localDescription.sdp,
            connection_id=connection,
        )
        await promoted_peer.accept(answer)
        await hears(listener_peer, L)
        assert calls == [True]  # a configure on the same handle, not a second join
        assert await janus_ids(audio, room) == await active_pks(room) - {await host_pk(room)}
    finally:
        await close_all(promoted_peer, listener_peer)
