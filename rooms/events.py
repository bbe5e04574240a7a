"""The shapes of the realtime events that room services emit, and the one way to send them.

Every event is a plain JSON-ready dict with a dotted ``type``, the ``room`` id and an ``audience``
that tells the delivery layer (``rooms.realtime``) who receives it:

- ``"room"``: everyone subscribed to the room;
- ``"moderators"``: the room's host and moderators, plus the participant the event is about
  (``user_id``), so a listener sees their own hand go up while the rest of the audience does not;
- ``"user"``: only the member ``user_id`` (an invitation to speak, a removal notice).

Events never carry private data (no e-mail addresses, no audio tokens). See docs/rooms.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audiosocial.oncommit import run_on_commit

if TYPE_CHECKING:
    from rooms.models import Participant, Room

AUDIENCE_ROOM = "room"
AUDIENCE_MODERATORS = "moderators"
AUDIENCE_USER = "user"


def publish(room_id: Any, event: dict[str, Any]) -> None:
    """Deliver ``event`` to the room's sockets once the current transaction commits."""
    # Looked up at call time so the live-state layer (and tests) can replace the transport.
    from rooms import realtime

    run_on_commit(realtime.publish_room_event, str(room_id), event)


def publish_many(room_id: Any, events: list[dict[str, Any]]) -> None:
    """``publish`` for several events at once (a batch of joins): in order, and the audience
    changes among them reach the delivery layer together."""
    run_on_commit(_publish_all, str(room_id), list(events))


def _publish_all(room_id: str, events: list[dict[str, Any]]) -> None:
    from rooms import realtime

    with realtime.batched():
        for event in events:
            realtime.publish_room_event(room_id, event)


def user_payload(user: Any) -> dict[str, Any]:
    avatar = getattr(user, "avatar", None)
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": getattr(user, "display_name", "") or user.username,
        "avatar_url": avatar.url if avatar else "",
    }


def participant_payload(participant: Participant, *, with_hand: bool = False) -> dict[str, Any]:
    """A participant as every room member may see them.

    The hand queue (``hand_raised``/``hand_raised_at``) and pending speaker invitations are
    moderator-only information: included only when ``with_hand`` is set.
    """
    data: dict[str, Any] = {
        "user": user_payload(participant.user),
        "role": participant.role,
        "muted": participant.muted,
        "self_muted": participant.self_muted,
        "moderator_muted": participant.moderator_muted,
        "joined_at": participant.joined_at.isoformat() if participant.joined_at else None,
    }
    if with_hand:
        data["hand_raised"] = participant.hand_raised_at is not None
        data["hand_raised_at"] = (
            participant.hand_raised_at.isoformat() if participant.hand_raised_at else None
        )
        data["invited_to_speak"] = participant.speaker_invite_pending
    return data


def counts_payload(room: Room) -> dict[str, int]:
    return {"speakers": room.speakers_count, "listeners": room.listeners_count}


def room_payload(room: Room) -> dict[str, Any]:
    return {
        "id": str(room.pk),
        "title": room.title,
        "topic": room.topic,
        "visibility": room.visibility,
        "state": room.state,
        "host": user_payload(room.host),
        "scheduled_for": room.scheduled_for.isoformat() if room.scheduled_for else None,
        "started_at": room.started_at.isoformat() if room.started_at else None,
        "ended_at": room.ended_at.isoformat() if room.ended_at else None,
        "end_reason": room.end_reason,
        "counts": counts_payload(room),
    }


def _event(type_: str, room_id: Any, audience: str = AUDIENCE_ROOM, **fields: Any) -> dict:
    return {"type": type_, "room": str(room_id), "audience": audience, **fields}


# --- Builders: one per event type ----------------------------------------------------------------


def participant_joined(room: Room, participant: Participant) -> dict[str, Any]:
    return _event(
        "participant.joined",
        room.pk,
        participant=participant_payload(participant),
        counts=counts_payload(room),
    )


def participant_left(
    room: Room, participant: Participant, *, reason: str = "left"
) -> dict[str, Any]:
    """``reason``: ``left``, ``removed``, ``evicted`` or ``room_ended``."""
    return _event(
        "participant.left",
        room.pk,
        user_id=participant.user_id,
        role=participant.role,
        reason=reason,
        counts=counts_payload(room),
    )


def participant_updated(
    room: Room, participant: Participant, *, change: str, by_id: int | None = None
) -> dict[str, Any]:
    """A stage change (role, mute). ``change`` names what changed, e.g. ``role``, ``muted``."""
    return _event(
        "participant.updated",
        room.pk,
        change=change,
        by=by_id,
        participant=participant_payload(participant),
        counts=counts_payload(room),
    )


def hand_updated(room: Room, participant: Participant, *, by_id: int | None = None) -> dict:
    """The hand queue changed: moderators (and the listener concerned) only."""
    return _event(
        "participant.updated",
        room.pk,
        AUDIENCE_MODERATORS,
        user_id=participant.user_id,
        change="hand",
        by=by_id,
        participant=participant_payload(participant, with_hand=True),
    )


def participant_talking(room_id: Any, user_id: int, talking: bool) -> dict[str, Any]:
    """Built by the audio layer from Janus ``talking`` events; public to the room."""
    return _event(
        "participant.updated",
        room_id,
        user_id=user_id,
        change="talking",
        talking=talking,
    )


def speaker_invited(room: Room, participant: Participant, *, by_id: int) -> dict[str, Any]:
    """To the invitee only: an invitation to come on stage (answer with accept/decline before
    ``expires_at``)."""
    return _event(
        "speaker.invited",
        room.pk,
        AUDIENCE_USER,
        user_id=participant.user_id,
        by=by_id,
        expires_at=_iso(participant.speaker_invite_expires_at),
    )


def speaker_invite_expired(room: Room, participant: Participant) -> dict[str, Any]:
    """The invitee and the moderators: an invitation to speak lapsed unanswered."""
    return _event(
        "speaker.expired",
        room.pk,
        AUDIENCE_MODERATORS,
        user_id=participant.user_id,
    )


def speaker_invitation_answered(
    room: Room, participant: Participant, *, accepted: bool
) -> dict[str, Any]:
    """Moderators learn whether their invitation was accepted or declined."""
    return _event(
        "speaker.accepted" if accepted else "speaker.declined",
        room.pk,
        AUDIENCE_MODERATORS,
        user_id=participant.user_id,
    )


def removed(room: Room, user_id: int, *, reason: str) -> dict[str, Any]:
    """To the removed member only; the delivery layer closes their socket afterwards."""
    return _event("removed", room.pk, AUDIENCE_USER, user_id=user_id, reason=reason)


def moved(room: Room, user_id: int, *, to: Any) -> dict[str, Any]:
    """To the member only: they left ``room`` because they entered the room ``to`` (one room at
    a time). Their sockets in ``room`` should stop, without reconnecting (that would join this
    room again and move them back)."""
    return _event("moved", room.pk, AUDIENCE_USER, user_id=user_id, to=str(to))


def room_updated(room: Room, *, change: str = "details") -> dict[str, Any]:
    """``change``: ``details`` (edit), ``started``, ``host`` (hand-over)."""
    return _event("room.updated", room.pk, change=change, data=room_payload(room))


def room_ended(room: Room, *, reason: str) -> dict[str, Any]:
    return _event("room.ended", room.pk, reason=reason, ended_at=_iso(room.ended_at))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None
