"""Each action from each role. In dogehouse a non-moderator could mute any speaker by sending a role
change; here every action is tried from every role, and a refusal must change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audiosocial.errors import ApplicationError, Forbidden
from rooms import services
from rooms.models import Participant, Room, RoomInvite
from tests.factories import UserFactory
from tests.rooms.conftest import Cast, participant, seat

pytestmark = pytest.mark.django_db

ROLES = ("host", "moderator", "speaker", "listener", "non_participant", "outsider")


def _target(cast: Cast, kind: str) -> Any:
    """A fresh member in ``cast.room`` as ``kind`` (so the actor's own seat is never the target)."""
    user = UserFactory()
    seat(cast.room, user, "speaker" if kind in ("speaker", "muted_speaker") else kind)
    if kind == "listener_with_hand":
        services.hand_raise(room=cast.room, user=user)
    if kind == "muted_speaker":
        services.participant_mute(room=cast.room, by=cast.host, user=user)
    cast.room.refresh_from_db()
    return user


# action name → (call(cast, actor, target), target kind or None, roles allowed, refusal codes)
NON_MEMBER = {"non_participant": "not_a_participant", "outsider": "not_a_participant"}
MODS = {"host", "moderator"}
Action = tuple[Callable[[Cast, Any, Any], Any], str | None, set[str], dict[str, str]]
ACTIONS: dict[str, Action] = {
    "room_update": (
        lambda c, a, t: services.room_update(room=c.room, by=a, title="Changed"),
        None,
        {"host"},
        dict.fromkeys(ROLES[1:], "not_host"),
    ),
    "room_end": (
        lambda c, a, t: services.room_end(room=c.room, by=a),
        None,
        {"host"},
        dict.fromkeys(ROLES[1:], "not_host"),
    ),
    "hand_raise": (
        lambda c, a, t: services.hand_raise(room=c.room, user=a),
        None,
        {"listener"},
        {
            "host": "already_on_stage",
            "moderator": "already_on_stage",
            "speaker": "already_on_stage",
            **NON_MEMBER,
        },
    ),
    "hand_lower_other": (
        lambda c, a, t: services.hand_lower(room=c.room, user=t, by=a),
        "listener_with_hand",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "speaker_invite": (
        lambda c, a, t: services.speaker_invite(room=c.room, by=a, user=t),
        "listener",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "speaker_move_to_audience": (
        lambda c, a, t: services.speaker_move_to_audience(room=c.room, by=a, user=t),
        "speaker",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "participant_mute": (
        lambda c, a, t: services.participant_mute(room=c.room, by=a, user=t),
        "speaker",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "participant_unmute": (
        lambda c, a, t: services.participant_unmute(room=c.room, by=a, user=t),
        "muted_speaker",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "participant_remove": (
        lambda c, a, t: services.participant_remove(room=c.room, by=a, user=t),
        "listener",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "moderator_add": (
        lambda c, a, t: services.moderator_add(room=c.room, by=a, user=t),
        "speaker",
        {"host"},
        {
            "moderator": "not_host",
            "speaker": "not_host",
            "listener": "not_host",
            "non_participant": "not_a_participant",
            "outsider": "not_a_participant",
        },
    ),
    "moderator_revoke": (
        lambda c, a, t: services.moderator_revoke(room=c.room, by=a, user=t),
        "moderator",
        {"host"},
        {
            "moderator": "not_host",
            "speaker": "not_host",
            "listener": "not_host",
            "non_participant": "not_a_participant",
            "outsider": "not_a_participant",
        },
    ),
    "host_transfer": (
        lambda c, a, t: services.host_transfer(room=c.room, by=a, user=t),
        "speaker",
        {"host"},
        {
            "moderator": "not_host",
            "speaker": "not_host",
            "listener": "not_host",
            "non_participant": "not_a_participant",
            "outsider": "not_a_participant",
        },
    ),
    "room_invite": (
        lambda c, a, t: services.room_invite(room=c.room, by=a, user=t),
        "member",
        MODS,
        {"speaker": "not_a_moderator", "listener": "not_a_moderator", **NON_MEMBER},
    ),
    "room_ping": (
        lambda c, a, t: services.room_ping(room=c.room, by=a, user=t),
        "member",
        {"host", "moderator", "speaker", "listener"},
        NON_MEMBER,
    ),
    "mic_unmute": (
        lambda c, a, t: services.mic_unmute(room=c.room, user=a),
        None,
        {"host", "moderator", "speaker"},
        {"listener": "not_on_stage", **NON_MEMBER},
    ),
    "mic_mute": (
        lambda c, a, t: services.mic_mute(room=c.room, user=a),
        None,
        {"host", "moderator", "speaker"},
        {"listener": "not_on_stage", **NON_MEMBER},
    ),
    "speaker_accept_uninvited": (
        lambda c, a, t: services.speaker_accept(room=c.room, user=a),
        None,
        set(),
        {
            "host": "already_on_stage",
            "moderator": "already_on_stage",
            "speaker": "already_on_stage",
            "listener": "not_invited",
            **NON_MEMBER,
        },
    ),
}


def _snapshot(room: Room) -> tuple:
    room.refresh_from_db()
    rows = Participant.objects.filter(room=room).order_by("pk")
    return (
        room.state,
        room.title,
        room.host_id,
        room.speakers_count,
        room.listeners_count,
        tuple(
            rows.values_list(
                "user_id",
                "role",
                "hand_raised_at",
                "speaker_invited_at",
                "self_muted",
                "moderator_muted",
                "left_at",
                "removed",
            )
        ),
        RoomInvite.objects.filter(room=room).count(),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_permission_matrix(cast, action, role):
    call, target_kind, allowed, refusals = ACTIONS[action]
    actor = cast.of(role)
    target = None
    if target_kind == "member":
        target = UserFactory()
    elif target_kind == "moderator":
        target = UserFactory()
        seat(cast.room, target, "moderator")
    elif target_kind is not None:
        target = _target(cast, target_kind)
    if role in allowed:
        call(cast, actor, target)
        return
    before = _snapshot(cast.room)
    with pytest.raises(ApplicationError) as exc:
        call(cast, actor, target)
    assert exc.value.code == refusals[role], (action, role, exc.value.code)
    assert _snapshot(cast.room) == before


def test_the_matrix_covers_every_role_for_every_action():
    for action, (_, _, allowed, refusals) in ACTIONS.items():
        assert allowed | set(refusals) == set(ROLES), action


# --- Rank: moderators act on speakers and listeners, only the host on moderators ---------------


@pytest.mark.parametrize(
    "action",
    [services.participant_mute, services.participant_remove, services.speaker_move_to_audience],
)
def test_a_moderator_cannot_act_on_the_host_or_another_moderator(cast, action):
    other_mod = UserFactory()
    seat(cast.room, other_mod, "moderator")
    for victim in (cast.host, other_mod):
        before = _snapshot(cast.room)
        with pytest.raises(Forbidden) as exc:
            action(room=cast.room, by=cast.moderator, user=victim)
        assert exc.value.code == "outranked"
        assert _snapshot(cast.room) == before


def test_the_host_can_mute_and_remove_a_moderator(cast):
    services.participant_mute(room=cast.room, by=cast.host, user=cast.moderator)
    assert participant(cast.room, cast.moderator).moderator_muted
    services.participant_remove(room=cast.room, by=cast.host, user=cast.moderator)
    assert not Participant.objects.filter(
        room=cast.room, user=cast.moderator, left_at__isnull=True
    ).exists()


def test_nobody_removes_the_host_nor_themselves(cast):
    with pytest.raises(Forbidden):
        services.participant_remove(room=cast.room, by=cast.moderator, user=cast.host)
    with pytest.raises(ApplicationError) as exc:
        services.participant_remove(room=cast.room, by=cast.host, user=cast.host)
    assert exc.value.code == "cannot_target_self"


def test_a_speaker_may_step_down_but_the_host_stays_on_stage(cast):
    services.speaker_move_to_audience(room=cast.room, by=cast.speaker, user=cast.speaker)
    assert participant(cast.room, cast.speaker).role == "listener"
    with pytest.raises(ApplicationError) as exc:
        services.speaker_move_to_audience(room=cast.room, by=cast.host, user=cast.host)
    assert exc.value.code == "host_stays_on_stage"


def test_a_moderator_stepping_down_stops_being_a_moderator(cast):
    services.speaker_move_to_audience(room=cast.room, by=cast.moderator, user=cast.moderator)
    me = participant(cast.room, cast.moderator)
    assert me.role == "listener"
    with pytest.raises(Forbidden) as exc:
        services.participant_mute(room=cast.room, by=cast.moderator, user=cast.speaker)
    assert exc.value.code == "not_a_moderator"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: services.hand_raise(room=c.room, user=c.listener),
        lambda c: services.speaker_invite(room=c.room, by=c.host, user=c.listener),
        lambda c: services.participant_mute(room=c.room, by=c.host, user=c.speaker),
        lambda c: services.mic_unmute(room=c.room, user=c.speaker),
        lambda c: services.participant_remove(room=c.room, by=c.host, user=c.listener),
        lambda c: services.room_ping(room=c.room, by=c.host, user=c.non_participant),
    ],
)
def test_actions_on_an_ended_room_are_refused(cast, call):
    services.room_end(room=cast.room, by=cast.host)
    with pytest.raises(ApplicationError) as exc:
        call(cast)
    assert exc.value.code == "room_not_live"
