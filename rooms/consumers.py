"""``/ws/rooms/<room id>/``: a room's live state, commands and audio signalling.

Thin, as the design asks: authenticate, check access with the REST selector, join the room,
translate client messages 1:1 into ``rooms.services`` calls, and let ``rooms.realtime`` deliver
the services' events. Every message, field and close code is in docs/protocol.md.

Opening the socket joins the room (as a listener, or back into your current role), the way
opening a room does on Clubhouse; closing it leaves after ``ROOM_DISCONNECT_GRACE_SECONDS``
unless the same member has another socket in the room by then (a reload is not a leave).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection

from audiosocial.consumers import JsonConsumer
from audiosocial.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
)
from rooms import realtime, selectors, services
from rooms.models import Participant, Room
from rooms.snapshot import me_payload, room_snapshot

logger = logging.getLogger(__name__)

# Application close codes (docs/protocol.md).
CLOSE_LEFT = 1000
CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403  # removed from the room, refused entry, or the account was suspended/banned
CLOSE_NOT_FOUND = 4404  # no such room, or you may not see it (indistinguishable on purpose)
CLOSE_NOT_JOINABLE = 4409  # the room has not started yet, or it is full
CLOSE_ROOM_ENDED = realtime.CLOSE_ROOM_ENDED  # 4410
CLOSE_FLOODING = 4429

# Per socket: a sustained rate and a burst. Past the burst a message gets a rate_limited error;
# a client that keeps going until it owes another burst is disconnected.
FLOOD_RATE_PER_SECOND = 10.0
FLOOD_BURST = 30.0

_grace_tasks: set[asyncio.Task] = set()


def db(func: Any, *, executor: ThreadPoolExecutor | None = None) -> Any:
    """``database_sync_to_async``, spread over a thread pool where the database allows it.

    Channels runs every ``database_sync_to_async`` call of a process in one thread: a join storm
    then queues thousands of connects behind each other's queries. Each socket awaits its own
    calls in order, and the services lock the rows they change, so the calls of different sockets
    may overlap; SQLite (development, tests) serialises writers anyway and keeps the one thread.
    """
    if connection.vendor == "sqlite":
        return database_sync_to_async(func)
    return database_sync_to_async(func, thread_sensitive=False, executor=executor)


def _user_group(user_id: int) -> str:
    # The moderation layer sends ``session.terminate`` here (shared with /ws/notifications/).
    return f"user.{user_id}"


try:
    # Imported with this module, not on first use: it pulls in janus-client and aiohttp, and
    # importing them inside a running server blocks its event loop for seconds.
    from rooms.audio import signalling as _signalling
except ImportError:  # audio not deployed: offers answer ``audio_unavailable``
    _signalling = None


def _audio_signalling() -> Any:
    return _signalling


class _Gone(Exception):
    pass


# --- Admission: a room's joins in this process go in batches ----------------------------------
#
# Every join locks the room's row until it commits, so one room admits one transaction at a
# time whatever the number of processes. Sockets opening while a batch is being admitted wait for
# the next one, which ``services.participant_join_many`` admits in one transaction (one lock,
# one statement of checks, one insert, one counter update, one commit): a lone join waits for
# nobody, and a storm's joins share the cost. Each member still gets exactly
# ``participant_join``'s answer.

ADMISSION_BATCH_MAX = 250
# Admissions have threads of their own: behind the handshakes and snapshots of a storm in the
# shared pool's queue, every waiting socket waited for all of them.
_admission_threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="room-admission")


class _Admission:
    __slots__ = ("room_id", "task", "waiting")

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.waiting: list[tuple[Any, str, asyncio.Future]] = []
        self.task: asyncio.Task | None = None


_admissions: dict[tuple[asyncio.AbstractEventLoop, str], _Admission] = {}


async def _admit(room_id: str, user: Any, connection_id: str) -> tuple[Room, str, dict]:
    """Join ``room_id`` (with this process's other arrivals): the room (this socket's own
    instance), the member's role and the snapshot's ``me``; or the refusal, raised."""
    loop = asyncio.get_running_loop()
    key = (loop, room_id)
    admission = _admissions.get(key)
    if admission is None:
        admission = _admissions[key] = _Admission(room_id)
    future = loop.create_future()
    admission.waiting.append((user, connection_id, future))
    if admission.task is None:
        admission.task = asyncio.create_task(_run_admissions(key, admission))
    outcome = await future
    if isinstance(outcome, Conflict):
        # Not live (or full): only someone who may see the room learns which.
        await db(_explain_conflict)(room_id, user)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def _run_admissions(key: tuple, admission: _Admission) -> None:
    try:
        while admission.waiting:
            batch = admission.waiting[:ADMISSION_BATCH_MAX]
            del admission.waiting[:ADMISSION_BATCH_MAX]
            try:
                outcomes = await db(_admit_batch, executor=_admission_threads)(
                    admission.room_id, [(user, conn) for user, conn, _ in batch]
                )
            except Exception as exc:  # a failure of the batch itself: every member gets it
                logger.exception("admitting %d members to room %s failed", len(batch), key[1])
                outcomes = [exc] * len(batch)
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
    finally:
        admission.task = None
        for _, _, future in admission.waiting:
            if not future.done():
                future.set_exception(ServiceUnavailable("Try again.", code="server_error"))
        admission.waiting.clear()
        _admissions.pop(key, None)


def _admit_batch(room_id: str, entries: list[tuple[Any, str]]) -> list[Any]:
    """``entries``' outcomes, in order: (room, role, me), or the refusal."""
    # A row handle: ``participant_join_many`` loads it under its lock (NotFound if there is none).
    room = Room(pk=room_id)
    room._state.adding = False
    users = [user for user, _ in entries]
    try:
        outcomes: dict[int, Any] = services.participant_join_many(room=room, users=users)
    except ApplicationError as exc:  # the room itself: missing, or not live
        return [exc] * len(entries)
    realtime.presence_add_many(
        room_id,
        [(user.pk, conn) for user, conn in entries if isinstance(outcomes[user.pk], Participant)],
    )
    results: list[Any] = []
    for user in users:
        outcome = outcomes[user.pk]
        if isinstance(outcome, Participant):
            me = me_payload(room=room, participant=outcome, user=user)
            # Each socket its own instance: services lock and reload it in place.
            outcome = (copy.copy(room), outcome.role, me)
        results.append(outcome)
    return results


# Closed sockets leave the room's presence together: when a room ends, thousands close at once,
# and one thread hop and Redis round trip each queued the next storm's handshakes behind them.
CLOSING_WINDOW_SECONDS = 0.02
_closings: dict[tuple[asyncio.AbstractEventLoop, str], tuple[list, asyncio.Future]] = {}


async def _forget_presence(room_id: str, user_id: int, connection_id: str) -> float | None:
    """Remove a closed socket from the room's presence (with the others closing now); returns
    when it is removed, with the departure time recorded for it."""
    loop = asyncio.get_running_loop()
    key = (loop, room_id)
    pending = _closings.get(key)
    if pending is None:
        pending = _closings[key] = ([], loop.create_future())
        task = loop.create_task(_flush_closings(key))
        _grace_tasks.add(task)
        task.add_done_callback(_grace_tasks.discard)
    pending[0].append((user_id, connection_id))
    return await asyncio.shield(pending[1])


async def _flush_closings(key: tuple[asyncio.AbstractEventLoop, str]) -> None:
    try:
        await asyncio.sleep(CLOSING_WINDOW_SECONDS)
    finally:
        entries, done = _closings.pop(key)
        departed = None
        try:
            departed = await db(realtime.presence_remove_many)(key[1], entries)
        except Exception:
            logger.exception("forgetting %d closed sockets of room %s failed", len(entries), key[1])
        finally:
            done.set_result(departed)


def _explain_conflict(room_id: str, user: Any) -> None:
    room = selectors.room_for_user(user=user, room_id=room_id)
    if room.state in (Room.State.ENDED, Room.State.CANCELLED):
        raise _Gone


class RoomConsumer(JsonConsumer):
    # Which hub delivers this socket's events; tests pass one per simulated process.
    hub: realtime.RoomHub | None = None

    def __init__(
        self,
        *args: Any,
        hub: realtime.RoomHub | None = None,
        channel_layer_alias: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if hub is not None:
            self.hub = hub
        if channel_layer_alias is not None:
            self.channel_layer_alias = channel_layer_alias

    # -- lifecycle ------------------------------------------------------------------------------

    async def connect(self) -> None:
        self.room_id = str(self.scope["url_route"]["kwargs"]["room_id"])
        self.connection_id = uuid.uuid4().hex
        self.role: str | None = None
        self._role_seq = -1
        # Read by the hub for every frame: the highest seq this socket already has, the frames
        # held back while a snapshot is read (None once it is sent), and the direct writer.
        self.floor = 0
        self.backlog: list[tuple[int, Any]] | None = []
        self.writer: realtime.DirectWriter | None = None
        self._attached = False
        self._joined = False
        self._left = False
        self._group: str | None = None
        self._busy = False
        self._pending_close: int | None = None
        loop = asyncio.get_running_loop()
        self._tokens = FLOOD_BURST
        self._tokens_at = loop.time()
        user = self.scope.get("user")
        self.user_id = getattr(user, "pk", None)
        # Accepted first so that refusals reach real clients as close codes (a refused
        # handshake is an opaque HTTP 403 to a browser).
        await self.accept()
        self.writer = realtime.direct_writer_for(self.base_send)
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        try:
            self.room, self.role, self._me = await _admit(self.room_id, user, self.connection_id)
        except _Gone:
            await self.close(code=CLOSE_ROOM_ENDED)
            return
        except NotFound:
            # Nothing about the room: a closed room and a missing one look the same.
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except Forbidden as exc:
            await self.send_error(exc.code, exc.message)
            await self.close(code=CLOSE_FORBIDDEN)
            return
        except Conflict as exc:
            await self.send_error(exc.code, exc.message, details=exc.details)
            await self.close(code=CLOSE_NOT_JOINABLE)
            return
        self._joined = True
        self._group = _user_group(self.user_id)
        await self.channel_layer.group_add(self._group, self.channel_name)
        self._hub = self.hub or realtime.get_hub()
        await self._hub.attach(self)
        self._attached = True
        await self._send_snapshot(shared=True)

    async def disconnect(self, code: int) -> None:
        if getattr(self, "_attached", False):
            self._attached = False
            await self._hub.detach(self)
        if getattr(self, "_group", None):
            await self.channel_layer.group_discard(self._group, self.channel_name)
        if not getattr(self, "_joined", False):
            return
        self._joined = False
        departed = await _forget_presence(self.room_id, self.user_id, self.connection_id)
        signalling = _audio_signalling()
        if signalling is not None and hasattr(signalling, "connection_closed"):
            try:
                await signalling.connection_closed(
                    room_id=self.room_id, user_id=self.user_id, connection_id=self.connection_id
                )
            except Exception:
                logger.warning("audio cleanup for a closed socket failed", exc_info=True)
        if not self._left:
            task = asyncio.create_task(_leave_after_grace(self.room_id, self.user_id, departed))
            _grace_tasks.add(task)
            task.add_done_callback(_grace_tasks.discard)

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type", "")
        handler = getattr(self, kind.replace(".", "_"), None) if not kind.startswith("_") else None
        if handler is None:
            # The user group also carries other sockets' messages (notifications): not ours.
            return
        # Channels' dispatch would first hop to the one sync thread to close stale database
        # connections, for every frame; every database call here goes through ``db()``, which
        # does that in the thread that uses the connection.
        await handler(message)

    # -- delivery (called by the hub) -----------------------------------------------------------

    @property
    def is_moderator(self) -> bool:
        return self.role in Participant.MODERATOR_ROLES

    def observe_role(self, seq: int, role: str) -> None:
        if seq > self._role_seq:
            self.role, self._role_seq = role, seq

    async def deliver(self, seq: int, message: dict[str, Any]) -> None:
        if self.backlog is not None:
            self.backlog.append((seq, message))
        elif seq > self.floor:
            await self.base_send(message)

    async def close_after(self, seq: int, *, code: int) -> None:
        # Removed, moved or ended: the participation is already over; no grace leave to run.
        self._left = True
        if self.backlog is not None:
            self.backlog.append((seq, code))
        elif self._busy:
            # A command of this socket caused it (``room.end``): its ack goes out first.
            self._pending_close = code
        else:
            await self.close(code=code)

    async def _send_snapshot(self, request_id: Any = None, *, shared: bool = False) -> None:
        """Send a ``room.snapshot``, then the frames that arrived meanwhile that it does not cover.

        ``shared``: a listener connecting may get the room part of a recent snapshot this process
        already built (with its own ``me``) plus the frames since, replayed from the hub: in a
        join storm one database read serves hundreds of arrivals.
        """
        if self.backlog is None:
            self.backlog = []
        cached = None
        reading: asyncio.Future | None = None
        if shared and not self.is_moderator:
            cached = self._hub.cached_snapshot(self.room_id)
            if cached is None:
                reading, mine = self._hub.snapshot_reading(self.room_id)
                if not mine:
                    # Another arrival is reading it: share theirs (or read after all).
                    await asyncio.shield(reading)
                    reading = None
                    cached = self._hub.cached_snapshot(self.room_id)
        if cached is not None:
            seq, room_part, replay = cached
            me = realtime.dumps(self._me)
            await self.send(
                text_data=f'{{"seq":{seq},"type":"room.snapshot","me":{me},{room_part[1:]}'
            )
            self.floor = max(self.floor, seq)
            for frame_seq, message, kind, user_id in self._hub.replay_for(self, replay):
                if frame_seq > self.floor:
                    await self.base_send(message)
                    self.floor = frame_seq
                    if kind == "room.ended" or (
                        kind in ("removed", "moved") and user_id == self.user_id
                    ):
                        self.backlog.append((frame_seq, realtime.close_code_for(kind)))
        else:
            user = self.scope["user"]
            try:
                snapshot = await db(room_snapshot)(room=self.room, user=user)
                seq = snapshot["seq"]
                if (
                    not self.is_moderator
                    and snapshot["me"]["role"] not in Participant.MODERATOR_ROLES
                ):
                    room_part = {
                        k: v for k, v in snapshot.items() if k not in ("seq", "type", "me", "id")
                    }
                    self._hub.store_snapshot(self.room_id, seq, realtime.dumps(room_part))
            finally:
                self._hub.snapshot_read(self.room_id, reading)
            if request_id is not None:
                snapshot["id"] = request_id
            if seq >= self._role_seq:
                self.role, self._role_seq = snapshot["me"]["role"], seq
            await self.send_json(snapshot)
            self.floor = max(self.floor, seq)
        # Frames that arrived while the snapshot was read: send what it does not already cover,
        # in order (new ones may be appended while we send).
        while self.backlog:
            frame_seq, item = self.backlog.pop(0)
            if isinstance(item, int):
                await self.close(code=item)
            elif frame_seq > self.floor:
                await self.base_send(item)
                self.floor = frame_seq
        self.backlog = None

    # -- client messages ------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        now = asyncio.get_running_loop().time()
        self._tokens = min(
            FLOOD_BURST, self._tokens + (now - self._tokens_at) * FLOOD_RATE_PER_SECOND
        )
        self._tokens_at = now
        self._tokens -= 1
        if self._tokens < 0:
            request_id = _peek_id(text_data)
            if self._tokens < -FLOOD_BURST:
                await self.send_error(
                    "flooding",
                    "Too many messages; this connection is closed.",
                    request_id=request_id,
                )
                await self.close(code=CLOSE_FLOODING)
                return
            await self.send_error(
                "rate_limited",
                "Too many messages; slow down.",
                request_id=request_id,
                details={"retry_after_seconds": 1},
            )
            return
        self._busy = True
        try:
            await super().receive(text_data=text_data, bytes_data=bytes_data)
        finally:
            self._busy = False
        if self._pending_close is not None:
            await self.close(code=self._pending_close)

    async def receive_message(self, content: dict[str, Any]) -> None:
        if not getattr(self, "_joined", False):
            raise Conflict("This connection is not in the room.", code="not_connected")
        kind = content["type"]
        request_id = content.get("id")
        handler = self.COMMANDS.get(kind)
        if handler is None:
            raise InvalidInput(
                f"Unknown message type '{kind}'.",
                code="unknown_type",
                details={"allowed": sorted(self.COMMANDS)},
            )
        await handler(self, content, request_id)

    async def _hello(self, content: dict[str, Any], request_id: Any) -> None:
        await self._send_snapshot(request_id)

    async def _ping(self, content: dict[str, Any], request_id: Any) -> None:
        await self.send_json({"type": "pong", "id": request_id})

    async def _reaction(self, content: dict[str, Any], request_id: Any) -> None:
        emoji = content.get("emoji")
        if not isinstance(emoji, str):
            raise InvalidInput("'emoji' is required.", code="invalid")
        if self.role is None:
            raise Forbidden("You are not in this room.", code="not_a_participant")
        await realtime.reaction_add(
            room_id=self.room_id, user_id=self.user_id, emoji=emoji, hub=self._hub
        )
        await self.send_ack(request_id)

    async def _leave(self, content: dict[str, Any], request_id: Any) -> None:
        await self._call(lambda room, me, _: services.participant_leave(room=room, user=me))
        self._left = True
        await self.send_ack(request_id)
        await self.close(code=CLOSE_LEFT)

    async def _audio_offer(self, content: dict[str, Any], request_id: Any) -> None:
        sdp = content.get("sdp")
        if not isinstance(sdp, str) or not sdp:
            raise InvalidInput("'sdp' (the offer's SDP text) is required.", code="invalid")
        signalling = self._signalling()
        answer = await signalling.handle_offer(
            room_id=self.room_id, user_id=self.user_id, sdp=sdp, connection_id=self.connection_id
        )
        await self.send_json({"type": "audio.answer", "id": request_id, "sdp": answer})

    async def _audio_ice(self, content: dict[str, Any], request_id: Any) -> None:
        candidate = content.get("candidate")
        if candidate is not None and not isinstance(candidate, dict):
            raise InvalidInput("'candidate' must be an object (or null when done).", code="invalid")
        signalling = self._signalling()
        await signalling.handle_ice(
            room_id=self.room_id,
            user_id=self.user_id,
            candidate=candidate,
            connection_id=self.connection_id,
        )
        await self.send_ack(request_id)

    def _signalling(self) -> Any:
        signalling = _audio_signalling()
        if signalling is None or not hasattr(signalling, "handle_offer"):
            raise ServiceUnavailable(
                "Audio is not available in this room right now.", code="audio_unavailable"
            )
        return signalling

    async def _call(self, call: Any, target_ref: Any = None) -> None:
        await db(self._run_service)(call, target_ref)

    def _run_service(self, call: Any, target_ref: Any) -> None:
        target = _target_user(target_ref) if target_ref is not None else None
        call(self.room, self.scope["user"], target)

    def _command(call: Any, *, target: str = "none"):  # noqa: N805 - a class-body factory
        """A command that is one service call. ``target``: none, required or optional (you)."""

        async def handler(self: RoomConsumer, content: dict[str, Any], request_id: Any) -> None:
            ref = None
            if target == "required" or (target == "optional" and content.get("user") is not None):
                ref = _require_user_ref(content)
            await self._call(call, ref)
            await self.send_ack(request_id)

        return handler

    COMMANDS: dict[str, Any] = {
        "hello": _hello,
        "ping": _ping,
        "reaction": _reaction,
        "leave": _leave,
        "audio.offer": _audio_offer,
        "audio.ice": _audio_ice,
        "hand.raise": _command(lambda room, me, _: services.hand_raise(room=room, user=me)),
        "hand.lower": _command(
            lambda room, me, who: services.hand_lower(room=room, user=who or me, by=me),
            target="optional",
        ),
        "mic.mute": _command(lambda room, me, _: services.mic_mute(room=room, user=me)),
        "mic.unmute": _command(lambda room, me, _: services.mic_unmute(room=room, user=me)),
        "speaker.invite": _command(
            lambda room, me, who: services.speaker_invite(room=room, by=me, user=who),
            target="required",
        ),
        "speaker.accept": _command(lambda room, me, _: services.speaker_accept(room=room, user=me)),
        "speaker.decline": _command(
            lambda room, me, _: services.speaker_decline(room=room, user=me)
        ),
        "speaker.remove": _command(
            lambda room, me, who: services.speaker_move_to_audience(
                room=room, by=me, user=who or me
            ),
            target="optional",
        ),
        "participant.mute": _command(
            lambda room, me, who: services.participant_mute(room=room, by=me, user=who),
            target="required",
        ),
        "participant.unmute": _command(
            lambda room, me, who: services.participant_unmute(room=room, by=me, user=who),
            target="required",
        ),
        "participant.remove": _command(
            lambda room, me, who: services.participant_remove(room=room, by=me, user=who),
            target="required",
        ),
        "moderator.add": _command(
            lambda room, me, who: services.moderator_add(room=room, by=me, user=who),
            target="required",
        ),
        "moderator.revoke": _command(
            lambda room, me, who: services.moderator_revoke(room=room, by=me, user=who),
            target="required",
        ),
        "room.end": _command(lambda room, me, _: services.room_end(room=room, by=me)),
    }

    # -- channel-layer messages -----------------------------------------------------------------

    async def session_terminate(self, message: dict[str, Any]) -> None:
        """The account was suspended or banned (moderation): this socket closes now."""
        await self.send_json({"type": "session.terminated", "reason": message.get("reason", "")})
        await self.close(code=CLOSE_FORBIDDEN)


def _require_user_ref(content: dict[str, Any]) -> Any:
    ref = content.get("user")
    if isinstance(ref, bool) or not isinstance(ref, (int, str)) or ref == "":
        raise InvalidInput(
            "'user' (a member's id or username) is required.", code="invalid", details={}
        )
    return ref


def _target_user(ref: Any) -> Any:
    users = get_user_model().objects
    user = (
        users.filter(pk=ref).first() if isinstance(ref, int) else users.filter(username=ref).first()
    )
    if user is None:
        raise NotFound("No such member.", code="user_not_found")
    return user


def _peek_id(text: str | None) -> Any:
    if not text or len(text) > 4096:
        return None
    try:
        content = json.loads(text)
    except (ValueError, RecursionError):
        # Deeply nested brackets exhaust the parser's recursion before any ValueError: the frame
        # is refused for flooding either way, without its id (found by the socket fuzzer).
        return None
    request_id = content.get("id") if isinstance(content, dict) else None
    return request_id if isinstance(request_id, (str, int)) else None


async def _leave_after_grace(room_id: str, user_id: int, departed: float | None = None) -> None:
    await asyncio.sleep(settings.ROOM_DISCONNECT_GRACE_SECONDS)
    try:
        await db(leave_if_disconnected)(room_id, user_id, departed)
    except Exception:
        logger.exception("leaving room %s after a disconnect failed", room_id)


def leave_if_disconnected(room_id: str, user_id: int, departed: float | None = None) -> bool:
    """The grace period is over: leave unless the member has a live socket in the room, or a
    socket of theirs closed after this one (``departed``, its recorded departure): the grace is
    counted from their latest disconnect, whose own timer decides (two reloads in a row must
    not look like leaving)."""
    if realtime.presence_count(room_id, user_id) > 0:
        return False
    latest = realtime.presence_departed_at(room_id, user_id) if departed is not None else None
    if latest is not None and latest > departed:
        return False
    # Without the room lock first: after a room ends, thousands of sockets close at once and
    # nearly all of them have nothing left to leave.
    if not Participant.objects.filter(
        room_id=room_id, user_id=user_id, left_at__isnull=True
    ).exists():
        return False
    room = Room.objects.filter(pk=room_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if room is None or user is None:
        return False
    try:
        services.participant_leave(room=room, user=user)
    except ApplicationError as exc:
        logger.info("grace leave of %s skipped: %s", user_id, exc.code)
        return False
    return True
