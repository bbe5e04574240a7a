"""Leaving the room, in every way, takes the member out of Janus at once, for good."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async
from janus_client import JanusSession

from audiosocial.errors import Conflict, Forbidden, InvalidInput
from rooms import services
from rooms.audio import hooks, signalling
from rooms.audio.errors import ERR_UNAUTHORIZED, JanusRequestError
from rooms.audio.plugin import AudioBridgePlugin
from rooms.models import Participant, Room
from tests.audio.peers import Peer, hears, stops_receiving
from tests.audio.test_audio_path import (
    A,
    active_pks,
    call,
    close_all,
    connect,
    janus_ids,
    join,
    make_room,
    unmute,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.janus]


@database_sync_to_async
def participation(room: Room, user) -> Participant:
    return (
        Participant.objects.select_related("user")
        .filter(room=room, user=user)
        .order_by("-pk")
        .first()
    )


@database_sync_to_async
def fresh(room: Room) -> Room:
    return Room.objects.get(pk=room.pk)


async def direct_join(janus, janus_room: int, token: str, participant_id: int) -> dict:
    """What a client holding a leaked token could try against Janus itself."""
    session = JanusSession(base_url=janus.url, api_secret=janus.config.api_secret)
    plugin = AudioBridgePlugin()
    try:
        await plugin.attach(session)
        data, _ = await plugin.request(
            {"request": "join", "room": janus_room, "id": participant_id, "token": token}
        )
        return data
    finally:
        await plugin.destroy()
        await session.destroy()
        await plugin.pc.close()


async def live_room_with_listener(name: str):
    room, host = await make_room(f"host-{name}")
    await unmute(room, host)
    user = await join(room, name)
    host_peer, peer = Peer(tone=A), Peer()
    connection = uuid.uuid4().hex
    await connect(host_peer, room, host)
    await connect(peer, room, user, connection_id=connection)
    await hears(peer, A)
    return room, host, user, host_peer, peer, connection


async def assert_token_revoked(janus, room: Room, participant: Participant) -> None:
    room = await fresh(room)
    with pytest.raises(JanusRequestError) as refused:
        await direct_join(janus, room.janus_room, participant.audio_token, participant.pk + 10**9)
    assert refused.value.code == ERR_UNAUTHORIZED
    again = Peer()
    try:
        with pytest.raises((Forbidden, Conflict)):
            await connect(again, room, participant.user)
    finally:
        await again.close()


@pytest.mark.parametrize("how", ["leave", "remove", "evict"])
async def test_leaving_or_removal_stops_media_within_two_seconds_and_revokes_the_token(audio, how):
    room, host, user, host_peer, peer, _ = await live_room_with_listener(how)
    participant = await participation(room, user)
    try:
        if how == "leave":
            await call(services.participant_leave, room, user=user)
        elif how == "remove":
            await call(services.participant_remove, room, by=host, user=user)
        else:
            await call(services.participant_evict, room, user=user, reason="banned")
        assert await stops_receiving(peer, within=2.0) <= 2.0
        assert await janus_ids(audio, room) == await active_pks(room)
        await assert_token_revoked(audio, room, participant)
    finally:
        await close_all(host_peer, peer)


async def test_closed_socket_stops_media_within_two_seconds(audio):
    room, host, user, host_peer, peer, connection = await live_room_with_listener("closer")
    try:
        await signalling.connection_closed(
            room_id=room.pk, user_id=user.pk, connection_id=connection
        )
        assert await stops_receiving(peer, within=2.0) <= 2.0
        host_participant = await participation(room, host)
        assert await janus_ids(audio, room) == {host_participant.pk}
    finally:
        await close_all(host_peer, peer)


async def test_room_end_stops_everyone_and_destroys_the_janus_room(audio):
    room, host, user, host_peer, peer, _ = await live_room_with_listener("ender")
    participant = await participation(room, user)
    again = Peer()
    try:
        await call(services.room_end, room, by=host)
        assert await stops_receiving(peer, within=2.0) <= 2.0
        await stops_receiving(host_peer, within=2.0)
        await database_sync_to_async(hooks.wait_idle)()
        room = await fresh(room)
        assert not room.audio_available
        assert not audio.controller().room_exists(room.janus_room)
        with pytest.raises(Conflict):
            await connect(again, room, participant.user)
    finally:
        await close_all(host_peer, peer, again)


async def test_a_token_cannot_join_another_room(audio):
    room, host, user, host_peer, peer, _ = await live_room_with_listener("roamer")
    other, other_host = await make_room("other-host")
    await database_sync_to_async(hooks.wait_idle)()
    other = await fresh(other)
    participant = await participation(room, user)
    elsewhere = Peer()
    try:
        with pytest.raises(JanusRequestError) as refused:
            await direct_join(audio, other.janus_room, participant.audio_token, participant.pk)
        assert refused.value.code == ERR_UNAUTHORIZED
        # Nor can the member ask the server for audio in a room they have not joined.
        with pytest.raises(Forbidden):
            await connect(elsewhere, other, user)
    finally:
        await close_all(host_peer, peer, elsewhere)


async def test_a_second_tab_replaces_the_first_connection(audio):
    room, host, user, host_peer, first_tab, _ = await live_room_with_listener("twotabs")
    second_tab = Peer()
    try:
        await connect(second_tab, room, user, connection_id=uuid.uuid4().hex)
        await hears(second_tab, A)
        assert await stops_receiving(first_tab, within=2.0) <= 2.0
        assert await janus_ids(audio, room) == await active_pks(room)
        assert signalling.connection_count() == 2  # the host and the second tab
    finally:
        await close_all(host_peer, first_tab, second_tab)


async def test_offers_are_validated_before_reaching_janus(audio):
    room, host = await make_room("validator")
    for bad in ("", "hello", "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n", "v=0" + "x" * 40000):
        with pytest.raises(InvalidInput) as refused:
            await signalling.handle_offer(
                room_id=room.pk, user_id=host.pk, sdp=bad, connection_id="c"
            )
        assert refused.value.code == "invalid_sdp"
    stranger = await database_sync_to_async(UserFactory)(username="stranger")
    outsider = Peer()
    try:
        with pytest.raises(Forbidden) as refused:
            await connect(outsider, room, stranger)
        assert refused.value.code == "not_a_participant"
    finally:
        await outsider.close()


async def test_trickled_candidates_reach_the_members_own_connection_only(audio):
    room, host = await make_room("trickler")
    peer = Peer()
    connection = uuid.uuid4().hex
    try:
        await connect(peer, room, host, connection_id=connection)
        sdp_lines = peer.pc.localDescription.sdp.splitlines()
        line = next(text[2:] for text in sdp_lines if text.startswith("a=candidate"))
        for candidate in ({"candidate": line, "sdpMid": "0", "sdpMLineIndex": 0}, None):
            await signalling.handle_ice(
                room_id=room.pk, user_id=host.pk, connection_id=connection, candidate=candidate
            )
        # A stale tab's candidates are ignored, not forwarded into the live connection.
        await signalling.handle_ice(
            room_id=room.pk, user_id=host.pk, connection_id="old-tab", candidate={"candidate": line}
        )
        for bad in ("candidate:1", {"candidate": 42}, {"candidate": "x" * 2000}):
            with pytest.raises(InvalidInput):
                await signalling.handle_ice(
                    room_id=room.pk, user_id=host.pk, connection_id=connection, candidate=bad
                )
        assert signalling.connection_count() == 1
        assert await janus_ids(audio, room) == await active_pks(room)
    finally:
        await peer.close()
