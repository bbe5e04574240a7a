"""Shared base for the project's JSON WebSocket consumers.

Malformed frames never drop the socket: they get an ``error`` message with the same codes as the
REST API (see docs/protocol.md).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from audiosocial.errors import ApplicationError

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024


class JsonConsumer(AsyncWebsocketConsumer):
    max_frame_bytes = MAX_FRAME_BYTES

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if bytes_data is not None and text_data is None:
            await self.send_error("malformed", "Send JSON text frames, not binary.")
            return
        if text_data is None or len(text_data.encode("utf-8")) > self.max_frame_bytes:
            await self.send_error(
                "too_large", f"Messages are limited to {self.max_frame_bytes} bytes."
            )
            return
        try:
            content = json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: thousands of nested brackets fit in a frame.
            await self.send_error("malformed", "The message is not valid JSON.")
            return
        if not isinstance(content, dict) or not isinstance(content.get("type"), str):
            await self.send_error("malformed", "A message is a JSON object with a 'type' string.")
            return
        request_id = content.get("id")
        if request_id is not None and not isinstance(request_id, (str, int)):
            await self.send_error("malformed", "'id' must be a string or a number.")
            return
        if "\\u0000" in text_data:
            # No field takes one, and PostgreSQL refuses NUL in any text it compares.
            await self.send_error(
                "malformed",
                "The message contains a NUL character (\\u0000), which no field accepts.",
                request_id=request_id,
            )
            return
        if _has_lone_surrogate(text_data, content):
            await self.send_error(
                "malformed",
                "The message has a \\u escape that is not valid Unicode text.",
                request_id=None
                if _has_lone_surrogate(text_data, {"id": request_id})
                else request_id,
            )
            return
        try:
            await self.receive_message(content)
        except ApplicationError as exc:
            await self.send_error(exc.code, exc.message, request_id=request_id, details=exc.details)
        except Exception:
            # A bug on our side must not drop the member's socket (the room, their audio): log it
            # like a 500 and answer this one message.
            logger.exception("%s failed on a %r message", type(self).__name__, content["type"])
            await self.send_error(
                "server_error",
                "Something went wrong on our side with that message; please try again.",
                request_id=request_id,
            )

    async def receive_message(self, content: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":"), ensure_ascii=False))

    async def send_error(
        self,
        code: str,
        message: str,
        *,
        request_id: str | int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        await self.send_json(
            {
                "type": "error",
                "id": request_id,
                "code": code,
                "message": message,
                "details": details or {},
            }
        )

    async def send_ack(self, request_id: str | int | None, **extra: Any) -> None:
        await self.send_json({"type": "ack", "id": request_id, **extra})


class NoSuchSocket(AsyncWebsocketConsumer):
    """Any WebSocket path no route matches: accepted, then closed with 4404 (as for a room that
    does not exist), so that the client learns why (docs/protocol.md)."""

    async def connect(self) -> None:
        await self.accept()
        await self.close(code=4404)


def _has_lone_surrogate(text: str, content: dict[str, Any]) -> bool:
    """JSON may spell half of a UTF-16 pair (``"\\ud800"``): not text, and nothing downstream (the
    database, the UTF-8 frame an error echoes it in) can encode it. Only escapes can make one,
    so frames without ``\\u`` skip the check."""
    if "\\u" not in text:
        return False
    try:
        json.dumps(content, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
