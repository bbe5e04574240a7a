"""Server-side control of Janus AudioBridge rooms (synchronous, through the Admin API).

Every synchronous AudioBridge request (``create``, ``destroy``, ``exists``, ``allowed``, ``kick``,
``mute``, ``listparticipants``) goes through the Admin API's ``message_plugin``, which needs no
Janus session or handle: any process (daphne, a Celery worker, a management command) can control
any room with one HTTP request, and nothing has to be kept alive between requests. Participants'
WebRTC handles, which do need a session, live in ``rooms.audio.signalling``.

Failures come out as exactly two types (``rooms.audio.errors``): ``JanusUnavailable`` when Janus
cannot be reached, ``JanusRequestError`` when it answered and refused.
"""

from __future__ import annotations

import json
import logging
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from django.conf import settings

from rooms.audio.errors import (
    ERR_NO_SUCH_ROOM,
    ERR_NO_SUCH_USER,
    ERR_ROOM_EXISTS,
    JanusRequestError,
    JanusUnavailable,
)

logger = logging.getLogger(__name__)

AUDIOBRIDGE = "janus.plugin.audiobridge"
# Every room mixes at one rate: changing rooms between rates crashes Janus 1.1.2 (JANUS.md).
SAMPLING_RATE = 48000
# Talking detection: 50 packets (1 s) whose average level is above -40 dBov.
AUDIO_ACTIVE_PACKETS = 50
AUDIO_LEVEL_AVERAGE = 40
DEFAULT_NODE = "default"
_UNSET: Any = object()


@dataclass(frozen=True)
class JanusNode:
    """One Janus server: where its APIs are and the credentials Django uses with it."""

    name: str
    url: str
    admin_url: str
    api_secret: str
    admin_secret: str
    admin_key: str
    timeout: float = 5.0


def get_node(name: str = "") -> JanusNode:
    """The node a room is placed on (``Room.janus_node``); read at call time from settings.

    One node today. Several nodes would map names to URLs here (e.g. a ``JANUS_NODES`` setting);
    rooms keep their node's name, so moving to several nodes needs no data migration.
    """
    if name not in ("", DEFAULT_NODE):
        logger.warning("unknown Janus node %r; using the default node", name)
    return JanusNode(
        name=DEFAULT_NODE,
        url=settings.JANUS_URL.rstrip("/"),
        admin_url=settings.JANUS_ADMIN_URL.rstrip("/"),
        api_secret=settings.JANUS_API_SECRET,
        admin_secret=settings.JANUS_ADMIN_SECRET,
        admin_key=settings.JANUS_ADMIN_KEY,
        timeout=float(settings.JANUS_TIMEOUT),
    )


def choose_node() -> JanusNode:
    """Placement of a new room. With one node there is nothing to choose."""
    return get_node(DEFAULT_NODE)


def new_janus_room_id() -> int:
    # Random and below 2**53 so the id survives every JSON parser unchanged.
    return secrets.randbelow(2**52) + 1


def new_token() -> str:
    return secrets.token_urlsafe(24)


class AudioBridgeController:
    """Synchronous AudioBridge control for one Janus node."""

    def __init__(self, node: JanusNode | None = None, *, timeout: float | None = None) -> None:
        self.node = node or get_node()
        self.timeout = timeout if timeout is not None else self.node.timeout

    # --- transport ---------------------------------------------------------------------------
    def _http(self, url: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL comes from settings (http only)
            url,
            data=data,
            method="GET" if body is None else "POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise JanusUnavailable(details={"janus": url, "reason": f"HTTP {exc.code}"}) from exc
        except (TimeoutError, urllib.error.URLError, OSError, HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise JanusUnavailable(details={"janus": url, "reason": str(reason)}) from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise JanusUnavailable(details={"janus": url, "reason": "not JSON"}) from exc
        if not isinstance(answer, dict):
            raise JanusUnavailable(details={"janus": url, "reason": "unexpected answer"})
        return answer

    def _admin(self, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(6), "admin_secret": self.node.admin_secret}
        answer = self._http(self.node.admin_url, body)
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            raise JanusRequestError(
                int(error.get("code", 0)), str(error.get("reason", "")), request=body["janus"]
            )
        return answer

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one synchronous AudioBridge request through ``message_plugin``."""
        answer = self._admin({"janus": "message_plugin", "plugin": AUDIOBRIDGE, "request": payload})
        response = answer.get("response")
        if not isinstance(response, dict):
            raise JanusUnavailable(details={"janus": self.node.admin_url, "reason": "no response"})
        if "error_code" in response:
            raise JanusRequestError(
                int(response["error_code"]),
                str(response.get("error", "")),
                request=str(payload.get("request")),
            )
        return response

    # --- server ------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Janus's ``info`` (version, plugins, transports) from the Janus API."""
        answer = self._http(f"{self.node.url}/info", None)
        if answer.get("janus") != "server_info":
            raise JanusUnavailable(details={"janus": self.node.url, "reason": "not Janus"})
        return answer

    # --- rooms -------------------------------------------------------------------------------
    def create_room(
        self,
        room: int,
        *,
        secret: str,
        allowed: list[str] | tuple[str, ...] = (),
        description: str = "",
        admin_key: str | None = _UNSET,
    ) -> dict[str, Any]:
        """Create a private, 48 kHz room that admits only tokens on its ``allowed`` list."""
        payload: dict[str, Any] = {
            "request": "create",
            "room": room,
            "permanent": False,
            "description": description[:100] or f"room {room}",
            "secret": secret,
            "is_private": True,
            "allowed": list(allowed),
            "sampling_rate": SAMPLING_RATE,
            "audiolevel_ext": True,
            "audiolevel_event": True,
            "audio_active_packets": AUDIO_ACTIVE_PACKETS,
            "audio_level_average": AUDIO_LEVEL_AVERAGE,
            "record": False,
        }
        key = self.node.admin_key if admin_key is _UNSET else admin_key
        if key is not None:
            payload["admin_key"] = key
        return self.request(payload)

    def ensure_room(
        self, room: int, *, secret: str, allowed: list[str] | tuple[str, ...] = ()
    ) -> bool:
        """Create the room unless it exists; add ``allowed`` tokens either way.

        Returns True when the room had to be created (Janus restarted or never had it).
        """
        try:
            self.create_room(room, secret=secret, allowed=allowed)
            return True
        except JanusRequestError as exc:
            if exc.code != ERR_ROOM_EXISTS:
                raise
        if allowed:
            self.allowed_add(room, secret=secret, tokens=allowed)
        return False

    def destroy_room(self, room: int, *, secret: str) -> bool:
        """Destroy the room (everyone in it is dropped). False if it did not exist."""
        try:
            self.request({"request": "destroy", "room": room, "secret": secret})
        except JanusRequestError as exc:
            if exc.code == ERR_NO_SUCH_ROOM:
                return False
            raise
        return True

    def room_exists(self, room: int) -> bool:
        return bool(self.request({"request": "exists", "room": room}).get("exists"))

    def list_rooms(self) -> list[dict[str, Any]]:
        # Private rooms are listed too when the admin key is given.
        response = self.request({"request": "list", "admin_key": self.node.admin_key})
        return list(response.get("list") or [])

    def list_participants(self, room: int) -> list[dict[str, Any]]:
        response = self.request({"request": "listparticipants", "room": room})
        return list(response.get("participants") or [])

    def allowed_tokens(self, room: int, *, secret: str) -> list[str]:
        response = self.request(
            {"request": "allowed", "room": room, "secret": secret, "action": "add", "allowed": []}
        )
        return list(response.get("allowed") or [])

    # --- participants ------------------------------------------------------------------------
    def allowed_add(self, room: int, *, secret: str, tokens: list[str] | tuple[str, ...]) -> None:
        self.request(
            {
                "request": "allowed",
                "room": room,
                "secret": secret,
                "action": "add",
                "allowed": list(tokens),
            }
        )

    def allowed_remove(
        self, room: int, *, secret: str, tokens: list[str] | tuple[str, ...]
    ) -> None:
        try:
            self.request(
                {
                    "request": "allowed",
                    "room": room,
                    "secret": secret,
                    "action": "remove",
                    "allowed": list(tokens),
                }
            )
        except JanusRequestError as exc:
            if exc.code != ERR_NO_SUCH_ROOM:
                raise

    def kick(self, room: int, *, secret: str, participant: int) -> bool:
        """Drop a participant from the room now (media stops). False if they were not in it."""
        try:
            self.request({"request": "kick", "room": room, "secret": secret, "id": participant})
        except JanusRequestError as exc:
            if exc.code in (ERR_NO_SUCH_USER, ERR_NO_SUCH_ROOM):
                return False
            raise
        return True

    def set_muted(self, room: int, *, secret: str, participant: int, muted: bool) -> bool:
        """Server-side mute. False if the participant is not in the room (nothing to enforce)."""
        try:
            self.request(
                {
                    "request": "mute" if muted else "unmute",
                    "room": room,
                    "secret": secret,
                    "id": participant,
                }
            )
        except JanusRequestError as exc:
            if exc.code in (ERR_NO_SUCH_USER, ERR_NO_SUCH_ROOM):
                return False
            raise
        return True
