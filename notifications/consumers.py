"""``/ws/notifications/``: the signed-in member's notifications as they happen."""

from __future__ import annotations

from typing import Any

from audiosocial.consumers import JsonConsumer
from audiosocial.errors import InvalidInput

# Application close codes (4000-4999) are documented in docs/protocol.md.
CLOSE_NOT_AUTHENTICATED = 4401


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


class NotificationConsumer(JsonConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.username})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_message(self, content: dict[str, Any]) -> None:
        if content["type"] == "ping":
            await self.send_json({"type": "pong", "id": content.get("id")})
            return
        raise InvalidInput("This socket only accepts 'ping'.", code="unknown_type")

    async def notification_event(self, message: dict) -> None:
        await self.send_json(message["event"])
