"""The ``room.snapshot`` a socket receives on connect and on ``hello`` (docs/protocol.md).

Built on ``rooms.selectors.room_detail`` (the same view of the room as ``GET /api/rooms/<id>/``),
plus what only the live layer knows: who is talking, the reaction totals and the current ``seq``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from rooms import realtime
from rooms.models import Participant, Room
from rooms.selectors import DETAIL_LISTENERS, permissions_for, room_detail


def me_payload(*, room: Room, participant: Participant, user: Any) -> dict[str, Any]:
    """The snapshot's ``me`` from a participation already loaded (no query); the same fields as
    ``room_detail``'s ``me``."""
    return {
        "user_id": user.pk,
        "role": participant.role,
        "participating": participant.left_at is None,
        "muted": participant.muted,
        "moderator_muted": participant.moderator_muted,
        "hand_raised": participant.hand_raised_at is not None,
        "invited_to_speak": participant.speaker_invited_at is not None,
        "permissions": permissions_for(room=room, participant=participant, user=user),
    }


def room_snapshot(*, room: Room, user: Any) -> dict[str, Any]:
    """The room as ``user`` sees it now. Constant query count (5, 6 for moderators).

    The ``seq`` is read before the database: every event up to it committed before the reads
    below, so the snapshot reflects at least those; later events may already be reflected too,
    which is harmless because every event carries the new state, not a difference to apply twice.
    """
    seq = realtime.current_seq(room.pk)
    # Fresh state (a ``hello`` may come long after connect), host loaded in the same query.
    room = Room.objects.select_related("host").get(pk=room.pk)
    detail = room_detail(room=room, user=user)
    talking = realtime.talking_user_ids(room.pk)
    participants = detail.pop("participants")
    stage = [*participants["host"], *participants["moderators"], *participants["speakers"]]
    for entry in stage:
        entry["talking"] = entry["user"]["id"] in talking
    me = detail.pop("me")
    is_moderator = me["role"] in Participant.MODERATOR_ROLES
    hands: dict[str, Any] = {
        "count": Participant.objects.filter(
            room_id=room.pk,
            left_at__isnull=True,
            role=Participant.Role.LISTENER,
            hand_raised_at__isnull=False,
        ).count()
    }
    queue = detail.pop("hands", None)
    if is_moderator:
        hands["queue"] = queue or []
    counts = detail["counts"]
    return {
        # ``seq`` first, like every event frame: clients may read it from the head of the text.
        "seq": seq,
        "type": "room.snapshot",
        "room": detail,
        "me": {"user_id": user.pk, **me},
        "stage": stage,
        "hands": hands,
        "listeners": {
            "count": counts["listeners"],
            "first": participants["listeners"],
            "page_size": DETAIL_LISTENERS,
        },
        "reactions": {
            "allowed": list(settings.ROOM_REACTIONS),
            "totals": realtime.reaction_totals(room.pk),
        },
        "audio": {"available": room.audio_available},
    }
