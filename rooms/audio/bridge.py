"""Make Janus match the database (synchronous; hooks, reconciliation and signalling use it).

The database is the truth about who is in a room and who may be heard; these functions read it
fresh and push the result to the room's AudioBridge through ``AudioBridgeController``. Each is
idempotent, so running one twice, late, or in two processes converges on the same state.

Janus participant ids are ``Participant.pk`` (one row per participation), not user ids: a kick
for an old participation can never hit the same member's newer one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from rooms.audio import events
from rooms.audio.controller import AudioBridgeController, get_node, new_janus_room_id
from rooms.audio.errors import JanusRequestError, JanusUnavailable
from rooms.models import Participant, Room

logger = logging.getLogger(__name__)

NEGOTIATED_TTL_SECONDS = 24 * 3600
STAGE = "stage"
AUDIENCE = "audience"


def is_audible(*, role: str, self_muted: bool, moderator_muted: bool) -> bool:
    """The one rule: only an unmuted host, moderator or speaker is ever heard."""
    return role in Participant.STAGE_ROLES and not self_muted and not moderator_muted


def stage_class(role: str) -> str:
    return STAGE if role in Participant.STAGE_ROLES else AUDIENCE


@dataclass(frozen=True)
class Member:
    """What Janus needs to know about one active participation."""

    pk: int
    user_id: int
    role: str
    self_muted: bool
    moderator_muted: bool
    token: str

    @property
    def audible(self) -> bool:
        return is_audible(
            role=self.role, self_muted=self.self_muted, moderator_muted=self.moderator_muted
        )


_MEMBER_FIELDS = ("pk", "user_id", "role", "self_muted", "moderator_muted", "audio_token")


def active_members(room_id: Any) -> list[Member]:
    rows = Participant.objects.filter(
        room_id=room_id, left_at__isnull=True, removed=False
    ).values_list(*_MEMBER_FIELDS)
    return [Member(*row) for row in rows]


def active_member(room_id: Any, user_id: int) -> Member | None:
    row = (
        Participant.objects.filter(
            room_id=room_id, user_id=user_id, left_at__isnull=True, removed=False
        )
        .values_list(*_MEMBER_FIELDS)
        .first()
    )
    return Member(*row) if row else None


def controller_for(room: Room) -> AudioBridgeController:
    return AudioBridgeController(get_node(room.janus_node))


def negotiated_key(participant_pk: int) -> str:
    return f"audio:negotiated:{participant_pk}"


def requested_key(participant_pk: int) -> str:
    return f"audio:renegotiate-requested:{participant_pk}"


def remember_negotiated(participant_pk: int, role: str) -> None:
    cache.set(negotiated_key(participant_pk), stage_class(role), NEGOTIATED_TTL_SECONDS)
    cache.delete(requested_key(participant_pk))


# --- Availability --------------------------------------------------------------------------------


def _set_available(room_id: Any, available: bool) -> bool:
    """Flip ``Room.audio_available``; True if it changed (so events go out once)."""
    return bool(
        Room.objects.filter(pk=room_id, audio_available=not available).update(
            audio_available=available
        )
    )


def mark_unavailable(room_id: Any, *, reason: str, announce: bool = False) -> None:
    if _set_available(room_id, False) or announce:
        events.publish(room_id, events.audio_unavailable(room_id, reason=reason))


# --- Rooms ---------------------------------------------------------------------------------------


def _placed(room_id: Any) -> Room | None:
    """The live room with its AudioBridge id and node assigned (first call assigns them)."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.state != Room.State.LIVE:
        return None
    if room.janus_room is None:
        Room.objects.filter(pk=room.pk, janus_room__isnull=True).update(
            janus_room=new_janus_room_id(), janus_node=get_node().name
        )
        room.refresh_from_db(fields=["janus_room", "janus_node"])
    return room


def ensure_room_audio(room_id: Any, *, announce_unavailable: bool = False) -> bool:
    """Make the live room's AudioBridge exist with every active participant's token.

    Returns whether audio is available. When audio comes back (Janus returned, or restarted and
    lost the room) the room's clients get ``audio.renegotiate`` so they reconnect by themselves.
    """
    room = _placed(room_id)
    if room is None:
        return False
    members = active_members(room.pk)
    try:
        created = controller_for(room).ensure_room(
            room.janus_room, secret=room.janus_secret, allowed=[m.token for m in members]
        )
    except JanusUnavailable:
        mark_unavailable(room.pk, reason="janus_unreachable", announce=announce_unavailable)
        return False
    except JanusRequestError:
        logger.exception("Janus refused to create the AudioBridge room of %s", room.pk)
        mark_unavailable(room.pk, reason="janus_refused", announce=announce_unavailable)
        return False
    came_back = _set_available(room.pk, True)
    if came_back or (created and room.audio_available):
        if created and room.audio_available:
            logger.warning("AudioBridge room of %s was missing (Janus restarted?)", room.pk)
        reason = "audio_ready" if came_back else "janus_restarted"
        events.publish(room.pk, events.audio_renegotiate(room.pk, reason=reason))
    return True


def room_went_live(room_id: Any) -> bool:
    return ensure_room_audio(room_id, announce_unavailable=True)


def room_ended(room_id: Any) -> None:
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.janus_room is None:
        return
    Room.objects.filter(pk=room.pk).update(audio_available=False)
    try:
        controller_for(room).destroy_room(room.janus_room, secret=room.janus_secret)
    except JanusUnavailable:
        # Janus is down: the room is gone with it, or reconciliation destroys it later.
        logger.info("Janus unreachable while ending %s; reconciliation will clean up", room.pk)


# --- Participants --------------------------------------------------------------------------------


def participant_left(room_id: Any, user_id: int, audio_token: str) -> None:
    """Revoke the participation's token first (so it cannot rejoin), then kick it now."""
    events.stop_talking(room_id, user_id)
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.janus_room is None:
        return
    pks = list(
        Participant.objects.filter(
            room_id=room_id, user_id=user_id, audio_token=audio_token, left_at__isnull=False
        ).values_list("pk", flat=True)
    )
    controller = controller_for(room)
    try:
        if audio_token:
            controller.allowed_remove(
                room.janus_room, secret=room.janus_secret, tokens=[audio_token]
            )
        for pk in pks:
            controller.kick(room.janus_room, secret=room.janus_secret, participant=pk)
            cache.delete_many([negotiated_key(pk), requested_key(pk)])
    except JanusUnavailable:
        # Janus lost every token and participant with it; a recreated room admits only the
        # tokens of current participants.
        logger.info("Janus unreachable while removing %s from %s", user_id, room_id)


def sync_participant(room_id: Any, user_id: int) -> None:
    """Role or mute changed: make Janus's mute flag match, and ask for a new offer when the
    member moved between audience (receive-only connection) and stage (microphone)."""
    member = active_member(room_id, user_id)
    if member is None:
        return
    if not member.audible:
        events.stop_talking(room_id, user_id)
    negotiated = cache.get(negotiated_key(member.pk))
    wanted = stage_class(member.role)
    # Ask once per move (an invitation accepted and an unmute are two changes, one move).
    if (
        negotiated is not None
        and negotiated != wanted
        and cache.get(requested_key(member.pk)) != wanted
    ):
        cache.set(requested_key(member.pk), wanted, NEGOTIATED_TTL_SECONDS)
        events.publish(
            room_id, events.audio_renegotiate(room_id, reason="role_changed", user_id=user_id)
        )
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.janus_room is None or room.state != Room.State.LIVE:
        return
    try:
        controller_for(room).set_muted(
            room.janus_room,
            secret=room.janus_secret,
            participant=member.pk,
            muted=not member.audible,
        )
    except JanusUnavailable:
        logger.info("Janus unreachable while syncing %s in %s", user_id, room_id)
    except JanusRequestError as exc:
        if exc.no_such_room:
            ensure_room_audio(room_id)
        else:
            raise


def enforce_member(room: Room, member: Member) -> None:
    """After a join: apply the mute state the database has *now* (it may have changed while
    Janus was answering)."""
    current = active_member(room.pk, member.user_id)
    controller = controller_for(room)
    if current is None or current.pk != member.pk:
        controller.kick(room.janus_room, secret=room.janus_secret, participant=member.pk)
        return
    if current.audible != member.audible:
        controller.set_muted(
            room.janus_room,
            secret=room.janus_secret,
            participant=member.pk,
            muted=not current.audible,
        )


# --- Reconciliation ------------------------------------------------------------------------------


def reconcile_room(room: Room) -> dict[str, int]:
    """Janus's participants, tokens and mute flags := the database's, for one live room."""
    stats = {"kicked": 0, "muted": 0, "unmuted": 0, "tokens_removed": 0, "recreated": 0}
    if not ensure_room_audio(room.pk):
        return stats
    room.refresh_from_db(fields=["janus_room", "janus_node", "audio_available"])
    controller = controller_for(room)
    members = {m.pk: m for m in active_members(room.pk)}
    for entry in controller.list_participants(room.janus_room):
        member = members.get(entry.get("id"))
        if member is None:
            if controller.kick(room.janus_room, secret=room.janus_secret, participant=entry["id"]):
                stats["kicked"] += 1
            continue
        janus_muted = bool(entry.get("muted"))
        if janus_muted == member.audible:
            controller.set_muted(
                room.janus_room,
                secret=room.janus_secret,
                participant=member.pk,
                muted=not member.audible,
            )
            stats["unmuted" if member.audible else "muted"] += 1
    wanted = {m.token for m in members.values() if m.token}
    present = set(controller.allowed_tokens(room.janus_room, secret=room.janus_secret))
    stale = sorted(present - wanted)
    if stale:
        controller.allowed_remove(room.janus_room, secret=room.janus_secret, tokens=stale)
        stats["tokens_removed"] = len(stale)
    missing = sorted(wanted - present)
    if missing:
        controller.allowed_add(room.janus_room, secret=room.janus_secret, tokens=missing)
    return stats


def reconcile_all() -> dict[str, int]:
    """The periodic backstop (``rooms.audio_reconcile``): every live room matches the database,
    and AudioBridge rooms of rooms that are over are destroyed."""
    totals = {"rooms": 0, "kicked": 0, "muted": 0, "unmuted": 0, "tokens_removed": 0}
    totals["unavailable"] = 0
    totals["destroyed"] = 0
    live = Room.objects.filter(state=Room.State.LIVE).order_by("started_at")
    for room in live.iterator():
        totals["rooms"] += 1
        try:
            stats = reconcile_room(room)
        except JanusUnavailable:
            mark_unavailable(room.pk, reason="janus_unreachable")
            totals["unavailable"] += 1
            continue
        except JanusRequestError:
            logger.exception("reconciliation of room %s failed", room.pk)
            continue
        for key, value in stats.items():
            if key in totals:
                totals[key] += value
    try:
        totals["destroyed"] = _destroy_leftover_rooms()
    except (JanusUnavailable, JanusRequestError):
        logger.info("could not list Janus rooms for cleanup")
    return totals


def _destroy_leftover_rooms() -> int:
    controller = AudioBridgeController(get_node())
    in_janus = {entry["room"] for entry in controller.list_rooms()}
    if not in_janus:
        return 0
    destroyed = 0
    # Rooms Janus has that belong to rooms which are over. Rooms unknown to the database are left
    # alone: they may belong to another deployment sharing this Janus.
    leftovers = Room.objects.filter(janus_room__in=in_janus).exclude(state=Room.State.LIVE)
    for room in leftovers.only("pk", "janus_room", "janus_secret", "janus_node"):
        if controller.destroy_room(room.janus_room, secret=room.janus_secret):
            destroyed += 1
    return destroyed
