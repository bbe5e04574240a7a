"""``/ws/notifications/``: the signed-in member's notifications as they happen.

On connect the member gets ``hello`` then ``unread_count``; each new notification arrives as a
``notification`` message carrying the new unread count (see docs/protocol.md). Every open tab of
a member joins the same group ``user.<id>``, so all of them receive each push.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from audiosocial.consumers import JsonConsumer
from audiosocial.errors import InvalidInput
from notifications import presence, selectors
from notifications.events import unread_count_event

logger = logging.getLogger(__name__)

# Application close codes (4000-4999) are documented in docs/protocol.md.
CLOSE_NOT_AUTHENTICATED = 4401
# The member was suspended or banned (moderation sends ``session.terminate`` to ``user.<id>``).
CLOSE_SESSION_TERMINATED = 4403


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


@database_sync_to_async
def _opened(user_id: int) -> tuple[bool, int]:
    # Presence first, then the count: a fan-out that reads presence before this socket registered
    # committed its rows earlier, so the count below already includes them.
    try:
        presence.socket_opened(user_id)
        registered = True
    except Exception:  # noqa: BLE001 - without presence the socket still gets unread counts
        logger.exception("could not record the notifications socket of user %s", user_id)
        registered = False
    return registered, selectors.unread_count(user_id=user_id)


class NotificationConsumer(JsonConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.user_id = user.pk
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.username})
        self.registered, unread = await _opened(user.pk)
        await self.send_json(unread_count_event(unread))

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "registered", False):
            self.registered = False
            try:
                await sync_to_async(presence.socket_closed, thread_sensitive=False)(self.user_id)
            except Exception:  # noqa: BLE001 - a stale count only costs an unread publish
                logger.exception("could not forget a notifications socket of %s", self.user_id)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # ``user.<id>`` is shared with the room sockets; a message meant for them is not ours, and
        # an unknown type must not crash the member's notifications socket.
        kind = message.get("type", "")
        if (
            not kind.startswith("websocket.")
            and getattr(self, kind.replace(".", "_"), None) is None
        ):
            return
        await super().dispatch(message)

    async def receive_message(self, content: dict[str, Any]) -> None:
        if content["type"] == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
            return
        raise InvalidInput("This socket only accepts 'ping'.", code="unknown_type")

    async def notification_event(self, message: dict) -> None:
        await self.send_json(message["event"])

    async def session_terminate(self, message: dict) -> None:
        """Sent by moderation when the member is suspended or banned: close now."""
        await self.close(code=CLOSE_SESSION_TERMINATED)
