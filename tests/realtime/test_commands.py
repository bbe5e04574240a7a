"""Every client command, from a role that may use it and from one that may not.

Commands are the room services (``rooms.services``) under another name, so the rules are the same
as over REST; these tests prove the mapping, the ``ack``/``error`` replies with the request's
``id``, and that a refusal changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from channels.db import database_sync_to_async

from rooms import services
from rooms.models import Participant, Room
from tests.factories import UserFactory
from tests.realtime.conftest import open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class World:
    room: Room
    host: Any
    moderator: Any
    speaker: Any
    invited: Any
    listener: Any
    raised: Any

    def p(self, user) -> Participant:
        return Participant.objects.filter(room=self.room, user=user).latest("joined_at")


@database_sync_to_async
def build_world() -> World:
    host = UserFactory(username="host")
    room = services.room_create(host=host, title="Commands")
    users = {name: UserFactory(username=name) for name in ("mod", "spk", "inv", "lis", "rai")}
    for user in users.values():
        services.participant_join(room=room, user=user)
    services.moderator_add(room=room, by=host, user=users["mod"])
    services.speaker_invite(room=room, by=host, user=users["spk"])
    services.speaker_accept(room=room, user=users["spk"])
    services.speaker_invite(room=room, by=host, user=users["inv"])
    services.hand_raise(room=room, user=users["rai"])
    return World(room, host, users["mod"], users["spk"], users["inv"], users["lis"], users["rai"])


def _ref(who: str):
    return lambda w: getattr(w, who).pk


# name: (actor, payload-extra, check(world) -> bool)
ALLOWED: dict[str, tuple[str, dict[str, Any], Any]] = {
    "hand.raise": ("listener", {}, lambda w: w.p(w.listener).hand_raised_at is not None),
    "hand.lower": ("raised", {}, lambda w: w.p(w.raised).hand_raised_at is None),
    "mic.unmute": ("speaker", {}, lambda w: w.p(w.speaker).self_muted is False),
    "speaker.invite": (
        "host",
        {"user": _ref("listener")},
        lambda w: w.p(w.listener).speaker_invited_at is not None,
    ),
    "speaker.accept": ("invited", {}, lambda w: w.p(w.invited).role == "speaker"),
    "speaker.decline": ("invited", {}, lambda w: w.p(w.invited).speaker_invited_at is None),
    "speaker.remove": (
        "moderator",
        {"user": _ref("speaker")},
        lambda w: w.p(w.speaker).role == "listener",
    ),
    "participant.mute": (
        "moderator",
        {"user": _ref("speaker")},
        lambda w: w.p(w.speaker).moderator_muted,
    ),
    "moderator.add": (
        "host",
        {"user": lambda w: w.speaker.username},
        lambda w: w.p(w.speaker).role == "moderator",
    ),
    "moderator.revoke": (
        "host",
        {"user": _ref("moderator")},
        lambda w: w.p(w.moderator).role == "speaker",
    ),
    "participant.remove": (
        "moderator",
        {"user": _ref("listener")},
        lambda w: w.p(w.listener).removed,
    ),
}

# name: (actor, payload-extra, expected error code)
FORBIDDEN: dict[str, tuple[str, dict[str, Any], str]] = {
    "hand.raise": ("speaker", {}, "already_on_stage"),
    "hand.lower": ("listener", {"user": _ref("raised")}, "not_a_moderator"),
    "mic.unmute": ("listener", {}, "not_on_stage"),
    "mic.mute": ("listener", {}, "not_on_stage"),
    "speaker.invite": ("listener", {"user": _ref("raised")}, "not_a_moderator"),
    "speaker.accept": ("listener", {}, "not_invited"),
    "speaker.decline": ("listener", {}, "not_invited"),
    "speaker.remove": ("speaker", {"user": _ref("moderator")}, "not_a_moderator"),
    "participant.mute": ("speaker", {"user": _ref("moderator")}, "not_a_moderator"),
    "participant.unmute": ("listener", {"user": _ref("speaker")}, "not_a_moderator"),
    "participant.remove": ("listener", {"user": _ref("raised")}, "not_a_moderator"),
    "moderator.add": ("moderator", {"user": _ref("speaker")}, "not_host"),
    "moderator.revoke": ("moderator", {"user": _ref("moderator")}, "not_host"),
    "room.end": ("moderator", {}, "not_host"),
}


@database_sync_to_async
def _participants() -> list[dict[str, Any]]:
    rows = Participant.objects.order_by("pk").values()
    return [{k: v for k, v in row.items() if k != "last_seen_at"} for row in rows]


def _payload(world: World, extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v(world) if callable(v) else v for k, v in extra.items()}


@pytest.mark.parametrize("command", sorted(ALLOWED))
async def test_command_from_an_allowed_role_is_acked_and_applied(command):
    world = await build_world()
    actor, extra, check = ALLOWED[command]
    socket = await open_socket(getattr(world, actor), world.room.pk)
    await socket.send(type=command, id=f"req-{command}", **_payload(world, extra))
    ack = await socket.until("ack")
    assert ack["id"] == f"req-{command}"
    assert await database_sync_to_async(check)(world)
    await socket.close()


@pytest.mark.parametrize("command", sorted(FORBIDDEN))
async def test_command_from_a_forbidden_role_is_refused_and_changes_nothing(command):
    world = await build_world()
    actor, extra, code = FORBIDDEN[command]
    socket = await open_socket(getattr(world, actor), world.room.pk)
    before = await _participants()
    await socket.send(type=command, id=7, **_payload(world, extra))
    error = await socket.until("error")
    assert (error["id"], error["code"]) == (7, code)
    assert error["message"]
    assert await _participants() == before
    # The socket stays usable after a refusal.
    await socket.send(type="ping", id="still-here")
    assert (await socket.until("pong"))["id"] == "still-here"
    await socket.close()


async def test_mic_mute_after_unmute():
    world = await build_world()
    socket = await open_socket(world.speaker, world.room.pk)
    await socket.send(type="mic.unmute", id=1)
    await socket.until("ack", id=1)
    await socket.send(type="mic.mute", id=2)
    await socket.until("ack", id=2)
    assert (await database_sync_to_async(world.p)(world.speaker)).self_muted is True
    await socket.close()


async def test_participant_unmute_by_a_moderator():
    world = await build_world()
    await database_sync_to_async(services.participant_mute)(
        room=world.room, by=world.host, user=world.speaker
    )
    socket = await open_socket(world.moderator, world.room.pk)
    await socket.send(type="participant.unmute", id=1, user=world.speaker.pk)
    await socket.until("ack", id=1)
    assert (await database_sync_to_async(world.p)(world.speaker)).moderator_muted is False
    await socket.close()


async def test_speaker_invite_reaches_only_the_invitee():
    world = await build_world()
    host = await open_socket(world.host, world.room.pk)
    invitee = await open_socket(world.listener, world.room.pk)
    bystander = await open_socket(world.raised, world.room.pk)
    await host.send(type="speaker.invite", id=1, user=world.listener.pk)
    invitation = await invitee.until("speaker.invited")
    assert invitation["user_id"] == world.listener.pk and invitation["by"] == world.host.pk
    other = await bystander.until("skip", seq=invitation["seq"])
    assert set(other) == {"seq", "type"}
    await host.close()
    await invitee.close()
    await bystander.close()


async def test_listener_can_leave_the_stage_themselves():
    world = await build_world()
    socket = await open_socket(world.speaker, world.room.pk)
    await socket.send(type="speaker.remove", id=1)
    await socket.until("ack", id=1)
    assert (await database_sync_to_async(world.p)(world.speaker)).role == "listener"
    await socket.close()


async def test_removed_member_is_told_then_disconnected_with_4403():
    world = await build_world()
    moderator = await open_socket(world.moderator, world.room.pk)
    target = await open_socket(world.listener, world.room.pk)
    await moderator.send(type="participant.remove", id=1, user=world.listener.pk)
    await moderator.until("ack", id=1)
    code = await target.closed()
    assert code == 4403
    assert target.received[-1]["type"] == "removed"
    assert target.received[-1]["reason"] == "removed"
    await moderator.close()


async def test_room_end_by_the_host_closes_every_socket_with_4410():
    world = await build_world()
    host = await open_socket(world.host, world.room.pk)
    listener = await open_socket(world.listener, world.room.pk)
    await host.send(type="room.end", id="bye")
    assert await listener.closed() == 4410
    assert listener.received[-1]["type"] == "room.ended"
    assert await host.closed() == 4410
    assert any(m["type"] == "ack" and m["id"] == "bye" for m in host.received)


async def test_leave_acks_closes_normally_and_leaves_at_once(settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 60
    world = await build_world()
    socket = await open_socket(world.listener, world.room.pk)
    await socket.send(type="leave", id="out")
    assert await socket.closed() == 1000
    assert socket.received[-1] == {"type": "ack", "id": "out"}
    participant = await database_sync_to_async(world.p)(world.listener)
    assert participant.left_at is not None


async def test_target_may_be_given_by_username_and_unknown_users_are_not_found():
    world = await build_world()
    socket = await open_socket(world.host, world.room.pk)
    await socket.send(type="speaker.invite", id=1, user="nobody-here")
    error = await socket.until("error")
    assert (error["id"], error["code"]) == (1, "user_not_found")
    await socket.send(type="speaker.invite", id=2, user=world.listener.username)
    await socket.until("ack", id=2)
    await socket.close()


async def test_target_is_required_where_the_command_needs_one():
    world = await build_world()
    socket = await open_socket(world.host, world.room.pk)
    for bad in (None, True, "", ["x"]):
        await socket.send(type="participant.mute", id="m", user=bad)
        error = await socket.until("error")
        assert (error["id"], error["code"]) == ("m", "invalid")
    await socket.close()


async def test_audio_offer_without_audio_answers_audio_unavailable(monkeypatch):
    from rooms import consumers

    monkeypatch.setattr(consumers, "_audio_signalling", lambda: None)
    world = await build_world()
    socket = await open_socket(world.listener, world.room.pk)
    await socket.send(type="audio.offer", id="a1", sdp="v=0")
    error = await socket.until("error")
    assert (error["id"], error["code"]) == ("a1", "audio_unavailable")
    await socket.close()


async def test_audio_offer_and_ice_are_relayed_to_the_signalling_layer(monkeypatch):
    from rooms import consumers

    calls: list[tuple[str, dict]] = []

    class FakeSignalling:
        @staticmethod
        async def handle_offer(**kwargs):
            calls.append(("offer", kwargs))
            return "v=0 answer"

        @staticmethod
        async def handle_ice(**kwargs):
            calls.append(("ice", kwargs))

        @staticmethod
        async def connection_closed(**kwargs):
            calls.append(("closed", kwargs))

    monkeypatch.setattr(consumers, "_audio_signalling", lambda: FakeSignalling)
    world = await build_world()
    socket = await open_socket(world.listener, world.room.pk)
    await socket.send(type="audio.offer", id="a1", sdp="v=0 offer")
    answer = await socket.until("audio.answer")
    assert answer == {"type": "audio.answer", "id": "a1", "sdp": "v=0 answer"}
    await socket.send(type="audio.ice", id="a2", candidate={"candidate": "x", "sdpMid": "0"})
    await socket.until("ack", id="a2")
    await socket.close()
    kinds = [kind for kind, _ in calls]
    assert kinds == ["offer", "ice", "closed"]
    offer = calls[0][1]
    assert offer["user_id"] == world.listener.pk and offer["room_id"] == str(world.room.pk)
    assert offer["sdp"] == "v=0 offer"
    assert len({c[1]["connection_id"] for c in calls}) == 1
