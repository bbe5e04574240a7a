"""janus-client glue: an AudioBridge handle, and one place that turns its failures into ours.

janus-client 0.9.0 has no AudioBridge class, so this subclasses ``JanusPlugin``. The server uses a
handle per participant connection to relay the browser's SDP (``join``/``configure`` with a JSEP)
and to receive the room's asynchronous events (talking, leaving); tests use the same class with
its aiortc peer connection to be real WebRTC clients.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
from janus_client import JanusPlugin
from janus_client.transport_http import JanusTransportHTTP

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


class PooledHTTPTransport(JanusTransportHTTP):
    """janus-client's HTTP transport, keeping one HTTP connection pool per session.

    The stock transport opens a new ``aiohttp.ClientSession`` (a new TCP connection) for every
    request; on the join path that is several connections per member. Long polling is unchanged.
    """

    # Events fetched per long poll. Janus tells every handle in a room about each join, so a
    # process holding N handles gets N events per join: one poll each would queue a new member's
    # own answer behind N round trips.
    max_events = 100

    def __init__(self, base_url: str, api_secret: str | None = None, **kwargs: Any) -> None:
        super().__init__(base_url=base_url, api_secret=api_secret, **kwargs)
        self._http: aiohttp.ClientSession | None = None
        self._api_secret = api_secret

    async def session_receive_response(
        self, session_id: int, destroyed_event: asyncio.Event
    ) -> None:
        params = {"maxev": str(self.max_events)}
        if self._api_secret:
            params["apisecret"] = self._api_secret
        url = f"{self.base_url}/{session_id}"
        async with aiohttp.ClientSession() as http:
            while not destroyed_event.is_set():
                async with http.get(url, params=params) as response:
                    if destroyed_event.is_set():
                        return
                    response.raise_for_status()
                    answer = await response.json()
                for message in answer if isinstance(answer, list) else [answer]:
                    if message.get("janus") == "keepalive":
                        continue
                    if message.get("janus") == "error" and "transaction" not in message:
                        # No such session: Janus restarted or timed us out. The watchdog in
                        # rooms.audio.signalling notices and recovers.
                        return
                    await self.receive(response=message)

    async def _send(self, message: dict[str, Any]) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        url = self.base_url
        if message.get("session_id"):
            url = f"{url}/{message['session_id']}"
            if message.get("handle_id"):
                url = f"{url}/{message['handle_id']}"
        async with self._http.post(url, json=message) as response:
            response.raise_for_status()
            answer = await response.json()
        await self.receive(response=answer)

    async def _disconnect(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


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
