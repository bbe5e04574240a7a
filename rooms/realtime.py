"""Delivery of room events to the room's sockets (owned by the live-state work).

``publish_room_event`` is the single entry point that ``rooms.events`` calls after commit. This
first version sends each event through the channel layer's room group; the live-state issue
replaces the transport (room-wide ``seq``, encode-once fan-out, batched presence) behind the same
signature.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def room_group(room_id: Any) -> str:
    return f"room.{room_id}"


def publish_room_event(room_id: Any, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    async_to_sync(layer.group_send)(room_group(room_id), {"type": "room.event", "event": event})
