"""The one shape of a notification, shared by the REST API and the ``/ws/notifications/`` socket,
and the socket events built from it (documented in docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notifications.models import Notification

K = Notification.Kind

ROOM_KINDS = frozenset({K.WENT_LIVE, K.ROOM_REMINDER, K.ROOM_STARTING, K.SPEAKER_INVITED, K.PINGED})


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _person(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "username": user.username,
        "display_name": user.display_name or user.username,
        "avatar_url": user.avatar.url if user.avatar else None,
    }


def _text(n: Notification) -> str:
    actor = (n.actor.display_name or n.actor.username) if n.actor_id and n.actor else "Someone"
    title = n.room.title if n.room_id and n.room else "a room"
    match n.kind:
        case K.WENT_LIVE:
            if (n.data or {}).get("cohost"):
                return f"{actor} is co-hosting a room: {title}"
            return f"{actor} started a room: {title}"
        case K.ROOM_REMINDER:
            return f"{title} starts soon"
        case K.ROOM_STARTING:
            return f"{title} is starting now"
        case K.SPEAKER_INVITED:
            return f"{actor} invited you to speak in {title}"
        case K.PINGED:
            return f"{actor} pinged you into {title}"
        case K.FOLLOWED:
            return f"{actor} followed you"
        case K.INVITATION_ACCEPTED:
            return f"{actor} joined with your invitation"
        case K.REPORT_RESOLVED:
            return "Your report was reviewed by our moderators. Thank you."
    return ""


def notification_url(n: Notification) -> str | None:
    """Where clicking the notification leads: the room, or the person's profile."""
    if n.kind in ROOM_KINDS and n.room_id:
        return f"/rooms/{n.room_id}/"
    person = n.target_user if n.target_user_id else n.actor
    if n.kind in (K.FOLLOWED, K.INVITATION_ACCEPTED) and person is not None:
        return f"/@{person.username}"
    return None


def notification_payload(n: Notification) -> dict[str, Any]:
    """Expects ``actor``, ``room`` and ``target_user`` loaded (``select_related``)."""
    return {
        "id": n.pk,
        "kind": n.kind,
        "text": _text(n),
        "url": notification_url(n),
        "actor": _person(n.actor if n.actor_id else None),
        "room": {"id": str(n.room_id), "title": n.room.title} if n.room_id and n.room else None,
        "target_user": _person(n.target_user if n.target_user_id else None),
        "report_id": n.report_id,
        "data": n.data or {},
        "created_at": _iso(n.created_at),
        "read_at": _iso(n.read_at),
    }


def notification_event(payload: dict[str, Any], unread_count: int) -> dict[str, Any]:
    return {"type": "notification", "notification": payload, "unread_count": unread_count}


def unread_count_event(unread_count: int) -> dict[str, Any]:
    return {"type": "unread_count", "unread_count": unread_count}
