"""The realtime events the audio layer emits (same shape as ``rooms.events``), and how it sends
them: directly through ``rooms.realtime.publish_room_event``, because audio work runs after commit
already (hooks' worker thread, signalling, reconciliation)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

TALKING_TTL_SECONDS = 6 * 3600


def audio_unavailable(room_id: Any, *, reason: str = "janus_unreachable") -> dict[str, Any]:
    return {
        "type": "audio.unavailable",
        "room": str(room_id),
        "audience": "room",
        "reason": reason,
        "message": "Audio is unavailable right now; it comes back by itself.",
    }


def audio_renegotiate(room_id: Any, *, reason: str, user_id: int | None = None) -> dict[str, Any]:
    """Ask clients to send a fresh ``audio.offer`` (a new peer connection).

    ``user_id`` set: only that member (their role changed); otherwise everyone with audio in the
    room (Janus restarted, or audio came back).
    """
    event: dict[str, Any] = {"type": "audio.renegotiate", "room": str(room_id), "reason": reason}
    if user_id is None:
        event["audience"] = "room"
    else:
        event["audience"] = "user"
        event["user_id"] = user_id
    return event


def publish(room_id: Any, event: dict[str, Any]) -> None:
    """Send now (callers are already after commit); never raise into audio work."""
    from rooms import realtime

    try:
        realtime.publish_room_event(str(room_id), event)
    except Exception:  # noqa: BLE001 - a lost indicator must not break enforcement
        logger.exception("could not publish %s for room %s", event.get("type"), room_id)


def _talking_key(room_id: Any, user_id: int) -> str:
    return f"audio:talking:{room_id}:{user_id}"


def set_talking(room_id: Any, user_id: int, talking: bool) -> bool:
    """Publish a talking change once (every handle in a room hears the same Janus event, in
    every process); returns True if this call published it."""
    from rooms.events import participant_talking

    key = _talking_key(room_id, user_id)
    was = bool(cache.get(key))
    if was == talking:
        return False
    if talking:
        cache.set(key, 1, TALKING_TTL_SECONDS)
    else:
        cache.delete(key)
    publish(room_id, participant_talking(str(room_id), user_id, talking))
    return True


def stop_talking(room_id: Any, user_id: int) -> None:
    """Mute and leave end "talking": Janus sends no stopped-talking once packets stop."""
    set_talking(room_id, user_id, False)
