"""janus-client glue: an AudioBridge handle, and one place that turns its failures into ours.

janus-client 0.9.0 has no AudioBridge class, so this subclasses ``JanusPlugin``. The server uses a
handle per participant connection to relay the browser's SDP (``join``/``configure`` with a JSEP)
and to receive the room's asynchronous events (talking, leaving); tests use the same class with
its aiortc peer connection to be real WebRTC clients.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from janus_client import JanusPlugin

from rooms.audio.errors import JanusRequestError, JanusUnavailable

EventCallback = Callable[["AudioBridgePlugin", dict[str, Any]], Awaitable[None]]


@contextlib.asynccontextmanager
async def janus_errors(where: str = "") -> AsyncIterator[None]:
    """Map transport failures deep inside janus-client/aiohttp to ``JanusUnavailable``."""
    try:
        yield
    except (JanusRequestError, JanusUnavailable):
        raise
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise JanusUnavailable(details={"janus": where, "reason": type(exc).__name__}) from exc
    except Exception as exc:
        # janus-client raises bare ``Exception`` for "create session fail", "plugin not
        # attached" and the like: from the caller's side all of them mean no audio server.
        if type(exc) is Exception or type(exc).__module__.startswith("janus_client"):
            raise JanusUnavailable(details={"janus": where, "reason": str(exc)[:200]}) from exc
        raise


def _is_reply(message: dict[str, Any]) -> bool:
    return message.get("janus") in ("success", "event", "error")


class AudioBridgePlugin(JanusPlugin):
    name = "janus.plugin.audiobridge"

    def __init__(self, *, on_event: EventCallback | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_event = on_event

    async def on_receive(self, response: dict[str, Any]) -> None:
        if self.on_event is not None:
            await self.on_event(self, response)

    async def request(
        self,
        body: dict[str, Any],
        *,
        jsep: dict[str, Any] | None = None,
        reply_within: float = 5.0,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Send an AudioBridge request on this handle; return (plugin data, JSEP or None).

        ``join`` and ``configure`` are asynchronous in Janus: the HTTP reply is an ``ack`` and
        the result (with the JSEP answer) arrives as an ``event`` carrying the same transaction.
        """
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        transaction = await self.send(message)
        try:
            reply = await transaction.get(matcher=_is_reply, timeout=reply_within)
        finally:
            await transaction.done()
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusRequestError(
                int(error.get("code", 0)), str(error.get("reason", "")), request=body.get("request")
            )
        data = (reply.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            raise JanusRequestError(
                int(data["error_code"]), str(data.get("error", "")), request=body.get("request")
            )
        return data, reply.get("jsep")

    async def trickle_candidate(self, candidate: dict[str, Any] | None) -> None:
        """Forward one ICE candidate (None or ``{"completed": true}`` ends the candidates)."""
        payload: Any = candidate if candidate else {"completed": True}
        transaction = await self.send({"janus": "trickle", "candidate": payload})
        await transaction.done()
