"""WebRTC signalling for room audio: the room's WebSocket consumer relays SDP through this module.

Browsers never talk to Janus. The consumer calls (all keyword-only, all async):

``await handle_offer(room_id=..., user_id=..., sdp=..., connection_id=...) -> str``
    The member's SDP offer (from ``audio.offer``). Joins them to the room's AudioBridge with their
    participation's token, muted unless they are an unmuted host/moderator/speaker, and returns
    Janus's SDP answer (send it back as ``audio.answer``). Audience members' offers are rewritten
    to receive-only, so even a crafted send-capable offer carries no audio into Janus.
    One audio connection per member: an offer from another ``connection_id`` (another tab)
    replaces the previous one. An offer from the same connection with the same DTLS fingerprint is
    a renegotiation of that peer connection (``configure``); a new peer connection (new
    fingerprint) gets a fresh join.
    Raises ``InvalidInput`` (``invalid_sdp``), ``Forbidden`` (``not_a_participant``),
    ``Conflict`` (``room_not_live``), or ``ServiceUnavailable`` with code ``audio_unavailable``
    (Janus unreachable: tell the client ``audio.unavailable``; it gets ``audio.renegotiate`` when
    audio is back) or ``audio_failed`` (Janus refused the connection).

``await handle_ice(room_id=..., user_id=..., connection_id=..., candidate=...)``
    A trickled ICE candidate (``audio.ice``): ``{"candidate", "sdpMid", "sdpMLineIndex"}``, or
    ``None`` / ``{"completed": true}`` at the end. Ignored for a connection that was replaced.

``await connection_closed(room_id=..., user_id=..., connection_id=...)``
    The socket closed (or the member hung up): their media stops now. The participation itself
    (and its token) ends when ``rooms.services`` says the member left.

``await shutdown()``
    Hang up every connection of this process (tests, graceful stop).

Each process (event loop) holds one Janus session for all its members' handles and keeps it
alive. A watchdog notices within ``MONITOR_INTERVAL`` seconds when Janus died or restarted, then
recreates the affected rooms as soon as Janus answers and sends ``audio.renegotiate`` so clients
reconnect by themselves. Talking events arriving on the handles become ``participant.updated``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections
from janus_client import JanusSession

from audiosocial.errors import Conflict, Forbidden, InvalidInput, ServiceUnavailable
from rooms.audio import bridge, events
from rooms.audio.controller import AudioBridgeController, JanusNode, get_node
from rooms.audio.errors import (
    ERR_ID_EXISTS,
    ERR_NO_SUCH_ROOM,
    ERR_UNAUTHORIZED,
    JanusRequestError,
    JanusUnavailable,
)
from rooms.audio.hooks import shared_memory_database
from rooms.audio.plugin import AudioBridgePlugin, PooledHTTPTransport, janus_errors
from rooms.models import Participant, Room

logger = logging.getLogger(__name__)

MONITOR_INTERVAL = 2.0
# A process with no audio connection for this long lets its Janus session go.
IDLE_SESSION_SECONDS = 30.0
RECOVERY_GIVE_UP_SECONDS = 600.0
MAX_SDP_LENGTH = 32_000
# Janus core: 465 invalid SDP; AudioBridge: 493 invalid SDP.
_SDP_ERRORS = {465, 493}
_FINGERPRINT = re.compile(r"^a=fingerprint:\S+ (\S+)", re.MULTILINE)
_TALKING_DEDUPE_SECONDS = 0.5


# --- Public API ----------------------------------------------------------------------------------


async def handle_offer(*, room_id: Any, user_id: int, sdp: str, connection_id: str) -> str:
    _validate_sdp(sdp)
    hub = _hub()
    key = (str(room_id), int(user_id))
    async with hub.lock(key):
        try:
            return await hub.offer(key, sdp=sdp, connection_id=str(connection_id))
        except JanusRequestError as exc:
            # Callers only ever see the ApplicationError family (an ``error`` message, not a
            # crashed socket).
            raise _failed(exc) from exc


async def handle_ice(
    *, room_id: Any, user_id: int, connection_id: str, candidate: dict[str, Any] | None
) -> None:
    if candidate is not None and not isinstance(candidate, dict):
        raise InvalidInput("An ICE candidate is an object or null.", code="invalid_candidate")
    if candidate and not candidate.get("completed"):
        text = candidate.get("candidate")
        if not isinstance(text, str) or len(text) > 1000:
            raise InvalidInput(
                "An ICE candidate needs a 'candidate' string.", code="invalid_candidate"
            )
        index = candidate.get("sdpMLineIndex")
        mid = candidate.get("sdpMid")
        if index is None:
            index = 0
        # An audio-only connection has one m-line; anything but a small integer is not a
        # candidate a browser would send (bool is an int subclass in Python, hence the check).
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 16:
            raise InvalidInput(
                "'sdpMLineIndex' must be a small non-negative integer.", code="invalid_candidate"
            )
        if mid is not None and (not isinstance(mid, str) or len(mid) > 32):
            raise InvalidInput("'sdpMid' must be a short string.", code="invalid_candidate")
        candidate = {"candidate": text, "sdpMid": mid or "0", "sdpMLineIndex": index}
    hub = _hub()
    connection = hub.connections.get((str(room_id), int(user_id)))
    if connection is None or connection.connection_id != str(connection_id) or not connection.alive:
        return
    with contextlib.suppress(JanusUnavailable, JanusRequestError):
        async with janus_errors("trickle"):
            await asyncio.wait_for(connection.handle.trickle_candidate(candidate), 5)


async def connection_closed(*, room_id: Any, user_id: int, connection_id: str) -> None:
    hub = _hub()
    key = (str(room_id), int(user_id))
    async with hub.lock(key):
        connection = hub.connections.get(key)
        if connection is None or connection.connection_id != str(connection_id):
            return
        await hub.hang_up(connection)
    await asyncio.to_thread(events.stop_talking, key[0], key[1])


async def shutdown() -> None:
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()


def connection_count() -> int:
    """Audio connections held by this event loop (monitoring, tests)."""
    hub = _hubs.get(asyncio.get_running_loop())
    return len(hub.connections) if hub else 0


# --- Validation ----------------------------------------------------------------------------------


def _validate_sdp(sdp: Any) -> None:
    if (
        not isinstance(sdp, str)
        or len(sdp) > MAX_SDP_LENGTH
        or not sdp.startswith("v=0")
        or "m=audio" not in sdp
    ):
        raise InvalidInput(
            "The audio offer is not a valid SDP offer with audio.", code="invalid_sdp"
        )


def fingerprint(sdp: str) -> str:
    match = _FINGERPRINT.search(sdp)
    return match.group(1) if match else ""


def receive_only(sdp: str) -> str:
    """Rewrite an offer so that it cannot carry audio into Janus (audience members).

    Janus answers a receive-only offer ``sendonly`` and its core drops any packet the peer sends
    anyway; the participant is also joined muted. Two independent locks on one door.
    """
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = []
    for line in sdp.split(newline):
        if line == "a=sendrecv":
            line = "a=recvonly"
        elif line == "a=sendonly":
            line = "a=inactive"
        lines.append(line)
    return newline.join(lines)


# --- Per-process state ---------------------------------------------------------------------------


class ServerSession(JanusSession):
    """A janus-client session whose teardown never waits on a Janus that is gone."""

    @property
    def session_id(self) -> int | None:
        return self._JanusSession__id  # janus-client keeps it private

    async def abandon(self) -> None:
        task = getattr(self, "keepalive_task", None)
        if task is not None:
            task.cancel()
        session_id = self.session_id
        if session_id is not None:
            with contextlib.suppress(Exception):
                await self.transport.destroy_session(session_id)
        with contextlib.suppress(Exception):
            await self.transport.disconnect()  # closes the pooled HTTP connections
        self.created = False

    async def close(self, within: float) -> None:
        with contextlib.suppress(Exception):
            transaction = await asyncio.wait_for(self.send({"janus": "destroy"}), within)
            await transaction.done()
        await self.abandon()

    async def keepalive_once(self, within: float) -> None:
        async with janus_errors("keepalive"):
            transaction = await asyncio.wait_for(self.send({"janus": "keepalive"}), within)
            try:
                reply = await transaction.get(timeout=within)
            finally:
                await transaction.done()
        if reply.get("janus") == "error":
            error = reply.get("error") or {}
            raise JanusRequestError(int(error.get("code", 0)), str(error.get("reason", "")))


@dataclass
class Connection:
    room_id: str
    user_id: int
    participant_pk: int
    connection_id: str
    janus_room: int
    handle: AudioBridgePlugin
    session: ServerSession
    fingerprint: str
    stage: bool
    alive: bool = True
    created: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class _Target:
    room_id: str
    janus_room: int | None
    janus_secret: str
    janus_node: str
    audio_available: bool
    member: bridge.Member


def _load_target(room_id: str, user_id: int) -> _Target:
    room = (
        Room.objects.filter(pk=room_id)
        .only("pk", "state", "janus_room", "janus_secret", "janus_node", "audio_available")
        .first()
    )
    if room is None or room.state != Room.State.LIVE:
        raise Conflict("This room is not live; there is no audio to join.", code="room_not_live")
    member = bridge.active_member(room.pk, user_id)
    if member is None:
        raise Forbidden("Join the room before connecting its audio.", code="not_a_participant")
    return _Target(
        room_id=str(room.pk),
        janus_room=room.janus_room,
        janus_secret=room.janus_secret,
        janus_node=room.janus_node,
        audio_available=room.audio_available,
        member=member,
    )


def _after_join(room_id: str, member: bridge.Member) -> None:
    bridge.remember_negotiated(member.pk, member.role)
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.janus_room is None:
        return
    try:
        bridge.enforce_member(room, member)
    except (JanusUnavailable, JanusRequestError) as exc:
        # The watchdog or reconciliation repairs it; the member already has an answer.
        logger.warning("could not re-check %s after joining: %s", member.pk, exc)


async def _in_thread(func: Any, *args: Any) -> Any:
    """Database + Janus work off the event loop, in a thread that closes its connections."""
    if shared_memory_database():
        return await database_sync_to_async(func)(*args)

    def run() -> Any:
        try:
            return func(*args)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


def _failed(exc: JanusRequestError) -> ServiceUnavailable | InvalidInput:
    if exc.code in _SDP_ERRORS:
        return InvalidInput(
            "The audio server could not use this offer: it is not a valid WebRTC audio offer.",
            code="invalid_sdp",
        )
    return ServiceUnavailable(
        "The audio server refused this connection; try again.",
        code="audio_failed",
        details={"janus_error": exc.code},
    )


class _Hub:
    """Janus session, handles and watchdog of one event loop (one per daphne process)."""

    def __init__(self) -> None:
        self.session: ServerSession | None = None
        self.session_key: tuple[str, str] | None = None
        self.session_lock = asyncio.Lock()
        self.connections: dict[tuple[str, int], Connection] = {}
        self._locks: dict[tuple[str, int], asyncio.Lock] = defaultdict(asyncio.Lock)
        self.monitor_task: asyncio.Task | None = None
        self.recovery_tasks: set[asyncio.Task] = set()
        self.event_tasks: set[asyncio.Task] = set()
        self.user_ids: dict[int, int] = {}
        self.talking_seen: dict[tuple[str, int], tuple[bool, float]] = {}
        self.last_used = time.monotonic()

    def lock(self, key: tuple[str, int]) -> asyncio.Lock:
        return self._locks[key]

    # --- session ---------------------------------------------------------------------------------
    async def get_session(self, node: JanusNode) -> ServerSession:
        async with self.session_lock:
            key = (node.url, node.api_secret)
            if self.session is not None and self.session.created and self.session_key == key:
                return self.session
            if self.session is not None:
                await self._lose_session(recover=False)
            session = ServerSession(
                transport=PooledHTTPTransport(base_url=node.url, api_secret=node.api_secret)
            )
            try:
                async with janus_errors(node.url):
                    await asyncio.wait_for(session.create(), node.timeout)
            except JanusUnavailable:
                await session.abandon()
                raise
            self.session, self.session_key = session, key
            if self.monitor_task is None or self.monitor_task.done():
                self.monitor_task = asyncio.create_task(self._monitor(), name="janus-monitor")
            return session

    async def _lose_session(self, *, recover: bool) -> None:
        """The session is gone (Janus died or restarted): so are all its handles."""
        session, self.session = self.session, None
        lost = [c for c in self.connections.values() if c.session is session]
        for connection in lost:
            connection.alive = False
            self.connections.pop((connection.room_id, connection.user_id), None)
        if session is not None:
            await session.abandon()
        if recover:
            rooms = sorted({c.room_id for c in lost})
            for c in lost:
                await asyncio.to_thread(events.stop_talking, c.room_id, c.user_id)
            if rooms:
                task = asyncio.create_task(self._recover(rooms), name="janus-recover")
                self.recovery_tasks.add(task)
                task.add_done_callback(self.recovery_tasks.discard)

    async def session_failed(self, session: ServerSession) -> None:
        async with self.session_lock:
            if self.session is session:
                await self._lose_session(recover=True)

    async def _monitor(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_INTERVAL)
            self._prune()
            session = self.session
            if session is None:
                return
            if not self.connections and time.monotonic() - self.last_used > IDLE_SESSION_SECONDS:
                async with self.session_lock:
                    if self.session is session and not self.connections:
                        self.session = None
                        await session.close(within=2)
                        return
                continue
            try:
                await session.keepalive_once(within=get_node().timeout)
            except (JanusUnavailable, JanusRequestError) as exc:
                logger.warning("Janus session lost (%s); recovering audio", exc)
                await self.session_failed(session)
            except Exception:  # noqa: BLE001 - the watchdog must keep watching
                logger.exception("Janus watchdog error")

    async def _recover(self, rooms: list[str]) -> None:
        """Recreate the rooms as soon as Janus answers; ``bridge.ensure_room_audio`` announces
        ``audio.unavailable`` while it is down and ``audio.renegotiate`` once it is back."""
        pending = set(rooms)
        delay = 0.25
        deadline = time.monotonic() + RECOVERY_GIVE_UP_SECONDS
        while pending and time.monotonic() < deadline:
            for room_id in sorted(pending):
                try:
                    available = await _in_thread(bridge.ensure_room_audio, room_id)
                except Exception:  # noqa: BLE001 - keep trying the other rooms
                    logger.exception("recovering audio of room %s failed", room_id)
                    available = False
                if available:
                    pending.discard(room_id)
                else:
                    live = await _in_thread(
                        lambda r=room_id: Room.objects.filter(pk=r, state=Room.State.LIVE).exists()
                    )
                    if not live:
                        pending.discard(room_id)
            if pending:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _prune(self) -> None:
        for key in [k for k, lock in self._locks.items() if not lock.locked()]:
            if key not in self.connections:
                del self._locks[key]
        now = time.monotonic()
        for key in [k for k, (_, at) in self.talking_seen.items() if now - at > 10]:
            del self.talking_seen[key]
        if len(self.user_ids) > 10_000:
            self.user_ids.clear()

    # --- connections -----------------------------------------------------------------------------
    async def offer(self, key: tuple[str, int], *, sdp: str, connection_id: str) -> str:
        room_id, user_id = key
        self.last_used = time.monotonic()
        target = await database_sync_to_async(_load_target)(room_id, user_id)
        if target.janus_room is None or not target.audio_available:
            if not await _in_thread(bridge.ensure_room_audio, room_id):
                raise JanusUnavailable()
            target = await database_sync_to_async(_load_target)(room_id, user_id)
        member = target.member
        stage = member.role in Participant.STAGE_ROLES
        offer_sdp = sdp if stage else receive_only(sdp)
        print_ = fingerprint(sdp)
        node = get_node(target.janus_node)
        existing = self.connections.get(key)
        if (
            existing is not None
            and existing.alive
            and existing.connection_id == connection_id
            and existing.participant_pk == member.pk
            and existing.fingerprint == print_
            and print_
        ):
            answer = await self._reconfigure(existing, member, offer_sdp, node)
            if answer is not None:
                existing.stage = stage
                await database_sync_to_async(_after_join)(room_id, member)
                return answer
        if existing is not None:
            await self.hang_up(existing)
        answer = await self._join(target, member, offer_sdp, connection_id, print_, stage, node)
        await database_sync_to_async(_after_join)(room_id, member)
        return answer

    async def _reconfigure(
        self, connection: Connection, member: bridge.Member, sdp: str, node: JanusNode
    ) -> str | None:
        """Renegotiate the same peer connection; None when a fresh join is needed instead."""
        body = {"request": "configure", "muted": not member.audible}
        try:
            async with janus_errors(node.url):
                _, jsep = await connection.handle.request(
                    body, jsep={"type": "offer", "sdp": sdp}, reply_within=node.timeout
                )
        except (JanusRequestError, JanusUnavailable) as exc:
            logger.info("renegotiation failed (%s); joining afresh", exc)
            return None
        return (jsep or {}).get("sdp")

    async def _join(
        self,
        target: _Target,
        member: bridge.Member,
        sdp: str,
        connection_id: str,
        print_: str,
        stage: bool,
        node: JanusNode,
    ) -> str:
        room_id = target.room_id
        janus_room = target.janus_room
        controller = AudioBridgeController(node)
        # The token must be allowed before the join; getting the session meanwhile is free.
        _, session = await asyncio.gather(
            self._allow(controller, target, member), self.get_session(node)
        )
        handle = AudioBridgePlugin(on_event=self._on_event)
        body = {
            "request": "join",
            "room": janus_room,
            "id": member.pk,
            "display": f"user-{member.user_id}",
            "token": member.token,
            "muted": not member.audible,
        }
        attached = False
        try:
            try:
                async with janus_errors(node.url):
                    await asyncio.wait_for(handle.attach(session), node.timeout)
            except JanusUnavailable:
                # Janus may have restarted since the watchdog's last look: this session is gone
                # (and with it every handle of this process). Recover now, then try once more.
                await self.session_failed(session)
                session = await self.get_session(node)
                handle = AudioBridgePlugin(on_event=self._on_event)
                async with janus_errors(node.url):
                    await asyncio.wait_for(handle.attach(session), node.timeout)
            attached = True
            async with janus_errors(node.url):
                for attempt in range(3):
                    try:
                        data, jsep = await handle.request(
                            body, jsep={"type": "offer", "sdp": sdp}, reply_within=node.timeout
                        )
                        break
                    except JanusRequestError as exc:
                        if attempt == 2:
                            raise
                        # Another tab or process still holds this participation: replace it.
                        if exc.code == ERR_ID_EXISTS:
                            await asyncio.to_thread(
                                controller.kick,
                                janus_room,
                                secret=target.janus_secret,
                                participant=member.pk,
                            )
                        # Janus restarted and lost the room (or its tokens) a moment ago.
                        elif exc.code in (ERR_NO_SUCH_ROOM, ERR_UNAUTHORIZED):
                            if not await _in_thread(bridge.ensure_room_audio, room_id):
                                raise JanusUnavailable() from exc
                            await asyncio.to_thread(
                                controller.allowed_add,
                                janus_room,
                                secret=target.janus_secret,
                                tokens=[member.token],
                            )
                        else:
                            raise
        except JanusRequestError as exc:
            await self._discard(handle, session, attached)
            raise _failed(exc) from exc
        except BaseException:
            await self._discard(handle, session, attached)
            raise
        answer = (jsep or {}).get("sdp")
        if not answer:
            await self._discard(handle, session, attached)
            raise ServiceUnavailable("The audio server sent no answer.", code="audio_failed")
        self.user_ids[member.pk] = member.user_id
        self.connections[(room_id, member.user_id)] = Connection(
            room_id=room_id,
            user_id=member.user_id,
            participant_pk=member.pk,
            connection_id=connection_id,
            janus_room=janus_room,
            handle=handle,
            session=session,
            fingerprint=print_,
            stage=stage,
        )
        logger.debug("joined %s to %s (%s)", member.pk, janus_room, data.get("audiobridge"))
        return answer

    async def _allow(
        self, controller: AudioBridgeController, target: _Target, member: bridge.Member
    ) -> None:
        try:
            await asyncio.to_thread(
                controller.allowed_add,
                target.janus_room,
                secret=target.janus_secret,
                tokens=[member.token],
            )
        except JanusRequestError as exc:
            if not exc.no_such_room:
                raise
            # Janus restarted a moment ago: recreating the room allows every active token.
            if not await _in_thread(bridge.ensure_room_audio, target.room_id):
                raise JanusUnavailable() from exc

    async def _discard(self, handle: AudioBridgePlugin, session: ServerSession, attached: bool):
        if attached:
            await self._detach(handle, session)
        with contextlib.suppress(Exception):
            await handle.pc.close()

    async def _detach(self, handle: AudioBridgePlugin, session: ServerSession) -> None:
        handle_id = handle.id
        if session.created and session is self.session:
            with contextlib.suppress(Exception):
                transaction = await asyncio.wait_for(handle.send({"janus": "detach"}), 3)
                with contextlib.suppress(Exception):
                    await transaction.get(timeout=3)
                await transaction.done()
        if handle_id is not None:
            session.plugin_handles.pop(handle_id, None)

    async def hang_up(self, connection: Connection) -> None:
        """Detach the handle: Janus removes the participant from the room and closes the PC."""
        key = (connection.room_id, connection.user_id)
        if self.connections.get(key) is connection:
            del self.connections[key]
        connection.alive = False
        self.last_used = time.monotonic()
        await self._detach(connection.handle, connection.session)
        with contextlib.suppress(Exception):
            await connection.handle.pc.close()

    def _connection_of(self, handle: AudioBridgePlugin) -> Connection | None:
        for connection in self.connections.values():
            if connection.handle is handle:
                return connection
        return None

    async def _on_event(self, handle: AudioBridgePlugin, message: dict[str, Any]) -> None:
        # janus-client awaits this inside its long-poll loop: handling the event there would
        # stall every other reply (including the join an offer is waiting for, under the same
        # lock), so it runs as its own task.
        task = asyncio.create_task(self._handle_event_safely(handle, message))
        self.event_tasks.add(task)
        task.add_done_callback(self.event_tasks.discard)

    async def _handle_event_safely(self, handle: AudioBridgePlugin, message: dict) -> None:
        try:
            await self._handle_event(handle, message)
        except Exception:  # noqa: BLE001 - one bad event must not stop the others
            logger.exception("error handling Janus event %r", message.get("janus"))

    async def _handle_event(self, handle: AudioBridgePlugin, message: dict[str, Any]) -> None:
        connection = self._connection_of(handle)
        if connection is None:
            return
        kind = message.get("janus")
        if kind == "hangup":
            # The peer connection is gone (peer left, kicked, ICE failed): the participant
            # already left the AudioBridge; a new offer will join afresh.
            async with self.lock((connection.room_id, connection.user_id)):
                if self.connections.get((connection.room_id, connection.user_id)) is connection:
                    await self.hang_up(connection)
            return
        if kind != "event":
            return
        data = (message.get("plugindata") or {}).get("data") or {}
        event = data.get("audiobridge")
        if event in ("talking", "stopped-talking"):
            await self._talking(connection.room_id, data.get("id"), event == "talking")
        elif event == "destroyed" or (
            event == "event" and data.get("kicked") == connection.participant_pk
        ):
            async with self.lock((connection.room_id, connection.user_id)):
                if self.connections.get((connection.room_id, connection.user_id)) is connection:
                    await self.hang_up(connection)

    async def _talking(self, room_id: str, participant_pk: Any, talking: bool) -> None:
        if not isinstance(participant_pk, int):
            return
        now = time.monotonic()
        seen = self.talking_seen.get((room_id, participant_pk))
        # Every handle in the room gets the same event: act on the first copy only.
        if seen is not None and seen[0] == talking and now - seen[1] < _TALKING_DEDUPE_SECONDS:
            return
        self.talking_seen[(room_id, participant_pk)] = (talking, now)
        user_id = self.user_ids.get(participant_pk)
        if user_id is None:
            user_id = await database_sync_to_async(_user_of)(participant_pk)
            if user_id is None:
                return
            self.user_ids[participant_pk] = user_id
        await asyncio.to_thread(events.set_talking, room_id, user_id, talking)

    async def close(self) -> None:
        for task in [self.monitor_task, *self.recovery_tasks, *self.event_tasks]:
            if task is not None:
                task.cancel()
        for connection in list(self.connections.values()):
            await self.hang_up(connection)
        if self.session is not None:
            session, self.session = self.session, None
            await session.close(within=2)


def _user_of(participant_pk: int) -> int | None:
    return Participant.objects.filter(pk=participant_pk).values_list("user_id", flat=True).first()


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Hub] = weakref.WeakKeyDictionary()


def _hub() -> _Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = _Hub()
    return hub
