"""Bad input on both WebSockets: every frame gets an ``error`` a person can read, the socket stays.

A sweep, not one test per frame: each frame is sent on an open socket, the reply must be an
``error`` with a ``code`` and a ``message`` (echoing the ``id`` where the frame had a usable one),
and a following ``hello`` (room) or ``ping`` (notifications) must still be answered. A frame that
crashes or closes the socket is recorded, the socket reopened, and the sweep goes on, so one run
lists every problem. Every text frame the server writes must also be encodable as UTF-8 (daphne
encodes it; a lone surrogate echoed back would drop the connection there, not here).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from audiosocial.asgi import application
from rooms import services
from tests.factories import UserFactory
from tests.realtime.conftest import ORIGIN, cookie_for

pytestmark = pytest.mark.django_db(transaction=True)

WAIT = 3.0
NO_ID = object()  # the frame carries no id the server could echo
ANSWER = "ack-or-error"  # a frame that may be applied (``ack``) or refused (``error``)
FRAME_LIMIT = 64 * 1024

# Values for a ``user`` field that name nobody, or are not a member reference at all.
UNKNOWN_USERS = ["nobody-at-all", 987_654_321, -1, 0, 2**63 - 1, 2**63, 2**70, "x" * 300]
WRONG_TYPED_USERS = [True, False, 1.5, [], [1], {}, {"id": 1}, ""]

USER_COMMANDS_REQUIRED = [
    "speaker.invite",
    "participant.mute",
    "participant.unmute",
    "participant.remove",
    "moderator.add",
    "moderator.revoke",
]
USER_COMMANDS_OPTIONAL = ["hand.lower", "speaker.remove"]

# Frames every JSON socket must refuse politely: (raw text or bytes, expected code or None).
# Problems found here in files this sweep's author may not change, reported to their owners.
# Strict: once fixed, the sweep fails until the entry is removed.
KNOWN: dict[str, str] = {}

GENERIC_FRAMES: list[tuple[Any, str | None]] = [
    ("not json", "malformed"),
    ("", "malformed"),
    ("   ", "malformed"),
    ('{"type":"ping"', "malformed"),
    ("[1, 2]", "malformed"),
    ("[]", "malformed"),
    ("42", "malformed"),
    ("-0.5e10", "malformed"),
    ('"ping"', "malformed"),
    ("null", "malformed"),
    ("true", "malformed"),
    ("{}", "malformed"),
    ('{"type": null}', "malformed"),
    ('{"type": 5}', "malformed"),
    ('{"type": ["ping"]}', "malformed"),
    ('{"type": {"ping": 1}}', "malformed"),
    ('{"TYPE": "ping"}', "malformed"),
    ('{"type": "ping", "id": {"x": 1}}', "malformed"),
    ('{"type": "ping", "id": [1]}', "malformed"),
    ('{"type": "ping", "id": 1.5}', "malformed"),
    ('{"type": "ping", "id": NaN}', "malformed"),
    ('{"type": "ping", "id": 1e999}', "malformed"),
    ("[" * 20_000 + "]" * 20_000, "malformed"),
    ('{"a":' * 10_000 + "1" + "}" * 10_000, "malformed"),
    ('{"type":"ping","pad":"' + "x" * 70_000 + '"}', "too_large"),
    ("é" * 40_000, "too_large"),
    (b"\x00\x01\x02", "malformed"),
    (b'{"type":"ping"}', "malformed"),
    ('{"type": "teleport", "id": "t"}', "unknown_type"),
    ('{"type": "", "id": "t"}', "unknown_type"),
    ('{"type": "\\ud800", "id": "t"}', "malformed"),
    ('{"type": "ping", "id": "\\udfff"}', "malformed"),
    ('{"type": "' + "z" * 5000 + '", "id": "t"}', "unknown_type"),
    ('{"type": "websocket.disconnect", "id": "t"}', "unknown_type"),
    ('{"type": "session.terminate", "id": "t"}', "unknown_type"),
]


def room_frames() -> list[tuple[dict[str, Any], str | None]]:
    """Every room command with missing or wrong-typed fields, and users that do not exist."""
    frames: list[tuple[dict[str, Any], str | None]] = []
    for kind in USER_COMMANDS_REQUIRED:
        frames.append(({"type": kind}, "invalid"))
        frames.append(({"type": kind, "user": None}, "invalid"))
        frames += [({"type": kind, "user": bad}, "invalid") for bad in WRONG_TYPED_USERS]
        frames += [({"type": kind, "user": who}, "user_not_found") for who in UNKNOWN_USERS]
        frames.append(({"type": kind, "user": "nul\u0000byte"}, "malformed"))
        frames.append(({"type": kind, "user": "\ud800"}, "malformed"))
    for kind in USER_COMMANDS_OPTIONAL:
        frames += [({"type": kind, "user": bad}, "invalid") for bad in WRONG_TYPED_USERS if bad]
        frames += [({"type": kind, "user": who}, "user_not_found") for who in UNKNOWN_USERS]
    for emoji in [None, 5, [], {}, True]:
        frames.append(({"type": "reaction", "emoji": emoji}, "invalid"))
    frames.append(({"type": "reaction"}, "invalid"))
    for emoji in ["🐍", "", "x" * 10_000, "👏👏"]:
        frames.append(({"type": "reaction", "emoji": emoji}, "invalid_reaction"))
    frames.append(({"type": "reaction", "emoji": "\u0000"}, "malformed"))
    for sdp in [None, 5, "", [], {"sdp": "v=0"}]:
        frames.append(({"type": "audio.offer", "sdp": sdp}, None))
    frames.append(({"type": "audio.offer"}, None))
    frames.append(({"type": "audio.offer", "sdp": "hello"}, None))
    frames.append(({"type": "audio.offer", "sdp": "v=0\r\nm=audio\r\n" * 1_000}, None))
    for candidate in [
        "x",
        5,
        [],
        True,
        {"candidate": 5},
        {"candidate": None, "sdpMid": "0"},
        {"candidate": "c" * 5000},
    ]:
        frames.append(({"type": "audio.ice", "candidate": candidate}, None))
    # Well-formed enough to be accepted (an ``ack``: no audio connection to trickle to) or refused;
    # either way answered, never a crash.
    line = "candidate:1 1 udp 1 1.2.3.4 9 typ host"
    for index in ["abc", {}, [], 2**70, -1, 1.5]:
        frames.append(
            (
                {"type": "audio.ice", "candidate": {"candidate": line, "sdpMLineIndex": index}},
                ANSWER,
            )
        )
    frames.append(({"type": "audio.ice", "candidate": {"candidate": line, "sdpMid": {}}}, ANSWER))
    return frames


class Probe:
    """One socket and the problems found on it."""

    def __init__(self, communicator: WebsocketCommunicator, label: str) -> None:
        self.communicator = communicator
        self.label = label
        self.open = True

    async def receive(self, wait: float = WAIT) -> dict[str, Any]:
        output = await self.communicator.receive_output(wait)
        if output["type"] == "websocket.close":
            self.open = False
            raise ConnectionError(f"closed with {output.get('code')}")
        text = output.get("text")
        if text is None:
            raise AssertionError(f"a binary frame from the server: {output!r}")
        text.encode("utf-8")  # daphne must be able to write it
        return json.loads(text)

    async def until(self, predicate, wait: float = WAIT) -> dict[str, Any]:
        while True:
            message = await self.receive(wait)
            if predicate(message):
                return message


async def _connect(path: str, user, label: str) -> tuple[Probe, dict[str, Any]]:
    headers = [ORIGIN, (b"cookie", await cookie_for(user))]
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect()
    assert connected, f"{label}: handshake refused"
    probe = Probe(communicator, label)
    first = await probe.receive()
    return probe, first


async def _sweep(
    path: str,
    user,
    frames: list[tuple[Any, str | None]],
    *,
    label: str,
    alive: dict[str, Any],
    alive_answer: str,
) -> list[str]:
    problems: list[str] = []
    probe, _ = await _connect(path, user, label)
    for n, (frame, expected) in enumerate(frames):
        request_id: Any = NO_ID
        if isinstance(frame, dict):
            request_id = f"f{n}"
            frame = json.dumps({**frame, "id": request_id})
        if len(frame) > FRAME_LIMIT:
            request_id = NO_ID  # not parsed: nothing to echo
        shown = (frame if isinstance(frame, bytes) else frame.encode())[:120]
        problem = f"{label} {shown!r}"
        key = "bytes" if isinstance(frame, bytes) else "text"
        try:
            await probe.communicator.send_input({"type": "websocket.receive", key: frame})
            if expected == ANSWER:
                reply = await probe.until(
                    lambda m, r=request_id: m.get("type") in ("ack", "error") and m.get("id") == r
                )
            else:
                reply = await probe.until(lambda m: m.get("type") == "error")
            problems += _judge(problem, reply, expected, request_id)
            check = f"alive{n}"
            await probe.communicator.send_json_to({**alive, "id": check})
            await probe.until(lambda m, c=check: m.get("type") == alive_answer and m.get("id") == c)
        except Exception as exc:  # noqa: BLE001 - a crashed app re-raises here; keep sweeping
            problems.append(f"{problem}: {type(exc).__name__}: {exc}"[:400])
            await _close(probe)
            probe, _ = await _connect(path, user, label)
    await _close(probe)
    return problems


def _judge(problem: str, reply: dict[str, Any], expected: str | None, request_id: Any) -> list[str]:
    if reply["type"] == "ack":
        return []
    found = []
    if reply.get("code") == "server_error":
        found.append(f"{problem}: the server failed on it: {reply}")
    if not (isinstance(reply.get("code"), str) and reply["code"]):
        found.append(f"{problem}: error without a code: {reply}")
    if not (isinstance(reply.get("message"), str) and len(reply["message"]) > 10):
        found.append(f"{problem}: error without a message a person can read: {reply}")
    if not isinstance(reply.get("details"), dict):
        found.append(f"{problem}: error details not an object: {reply}")
    if expected not in (None, ANSWER) and reply.get("code") != expected:
        found.append(f"{problem}: code {reply.get('code')!r}, not {expected!r}")
    if request_id is not NO_ID and reply.get("id") != request_id:
        found.append(f"{problem}: id {reply.get('id')!r} not echoed")
    return found


async def _close(probe: Probe) -> None:
    try:
        await probe.communicator.disconnect()
    except BaseException:  # noqa: BLE001, S110 - the app may already have crashed
        pass


@pytest.fixture(autouse=True)
def _quiet_room(settings, monkeypatch):
    """The sweep sends hundreds of frames: lift the flood limit (tests/realtime covers it), keep
    the audio hooks off Janus, and point audio at a closed port (audio.offer must still answer)."""
    from rooms import consumers
    from rooms.audio import hooks

    monkeypatch.setattr(consumers, "FLOOD_RATE_PER_SECOND", 10_000.0)
    monkeypatch.setattr(consumers, "FLOOD_BURST", 100_000.0)
    for name in ("room_went_live", "room_ended", "participant_left", "participant_changed"):
        monkeypatch.setattr(hooks, name, lambda **kwargs: None)
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.2
    settings.JANUS_URL = "http://127.0.0.1:9/janus"
    settings.JANUS_TIMEOUT = 0.5


@database_sync_to_async
def _cast():
    host = UserFactory(username="fuzzhost")
    listener = UserFactory(username="fuzzlistener")
    room = services.room_create(host=host, title="Fuzzed")
    return host, listener, room


async def test_room_socket_answers_every_bad_frame_with_an_error_and_stays_open():
    host, listener, room = await _cast()
    path = f"/ws/rooms/{room.pk}/"
    frames = GENERIC_FRAMES + room_frames()
    alive = {"type": "hello"}
    problems = await _sweep(
        path, listener, frames, label="listener", alive=alive, alive_answer="room.snapshot"
    )
    problems += await _sweep(
        path, host, room_frames(), label="host", alive=alive, alive_answer="room.snapshot"
    )
    unknown = [p for p in problems if not any(k in p for k in KNOWN)]
    assert not unknown, "\n".join(unknown)
    fixed = [k for k in KNOWN if not any(k in p for p in problems)]
    assert not fixed, f"fixed now, remove from KNOWN: {fixed}"


async def test_room_rules_refusals_reach_a_listener_as_errors():
    host, listener, room = await _cast()
    path = f"/ws/rooms/{room.pk}/"
    frames: list[tuple[Any, str | None]] = [
        ({"type": "room.end"}, None),
        ({"type": "speaker.invite", "user": "fuzzhost"}, None),
        ({"type": "participant.remove", "user": host.pk}, None),
        ({"type": "participant.mute", "user": "fuzzlistener"}, None),
        ({"type": "moderator.add", "user": "fuzzlistener"}, None),
        ({"type": "mic.unmute"}, None),
        ({"type": "speaker.accept"}, None),
        ({"type": "speaker.decline"}, None),
        ({"type": "hand.lower", "user": "fuzzhost"}, None),
        ({"type": "speaker.remove", "user": "fuzzhost"}, None),
    ]
    problems = await _sweep(
        path,
        listener,
        frames,
        label="listener",
        alive={"type": "hello"},
        alive_answer="room.snapshot",
    )
    assert not problems, "\n".join(problems)


async def test_notifications_socket_answers_every_bad_frame_with_an_error_and_stays_open():
    member = await database_sync_to_async(UserFactory)(username="fuzznotified")
    frames = GENERIC_FRAMES + [
        ({"type": "hello"}, "unknown_type"),
        ({"type": "room.end"}, "unknown_type"),
        ({"type": "notification.event", "event": {}}, "unknown_type"),
    ]
    problems = await _sweep(
        "/ws/notifications/",
        member,
        frames,
        label="notifications",
        alive={"type": "ping"},
        alive_answer="pong",
    )
    assert not problems, "\n".join(problems)


async def _handshake(path: str, headers: list) -> tuple[bool, int | None]:
    """Whether the handshake was accepted, and the close code that followed (or refused it)."""
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=3)
    if not connected:
        return False, code
    while True:
        output = await communicator.receive_output(3)
        if output["type"] == "websocket.close":
            return True, output.get("code")


async def test_junk_handshakes_get_a_close_code_not_a_crash():
    member = await database_sync_to_async(UserFactory)(username="fuzzshaker")
    cookie = (b"cookie", await cookie_for(member))
    missing = "00000000-0000-4000-8000-000000000001"
    cases = [
        ("/ws/rooms/not-a-uuid/", [ORIGIN, cookie], 4404),
        (f"/ws/rooms/{missing}/", [ORIGIN, cookie], 4404),
        ("/ws/rooms/" + "9" * 500 + "/", [ORIGIN, cookie], 4404),
        ("/ws/nothing-here/", [ORIGIN, cookie], 4404),
        (f"/ws/rooms/{missing}/?session_token=" + "x" * 5000, [ORIGIN], 4401),
        ("/ws/notifications/?session_token=%00abcdefghij", [ORIGIN], 4401),
        ("/ws/notifications/?%zz=%ff&session_token", [ORIGIN], 4401),
        ("/ws/notifications/", [ORIGIN, (b"x-session-token", b"\xff\xfe" * 50)], 4401),
        ("/ws/notifications/", [ORIGIN, (b"cookie", b"sessionid=" + b"\x00" * 40)], 4401),
        ("/ws/notifications/", [ORIGIN, (b"cookie", b"sessionid=" + b"A" * 5000)], 4401),
    ]
    problems = []
    for path, headers, expected in cases:
        try:
            _, code = await _handshake(path, headers)
        except Exception as exc:  # noqa: BLE001 - the app raised: the server would drop it
            code = f"{type(exc).__name__}: {exc}"[:200]
        if code != expected:
            problems.append(f"{path[:80]} {[h[0] for h in headers]}: {code!r}, not {expected}")
    assert not problems, "\n".join(problems)


async def test_a_deeply_nested_frame_past_the_flood_burst_is_answered(monkeypatch):
    from rooms import consumers

    monkeypatch.setattr(consumers, "FLOOD_RATE_PER_SECOND", 10.0)
    monkeypatch.setattr(consumers, "FLOOD_BURST", 30.0)
    _, listener, room = await _cast()
    probe, _ = await _connect(f"/ws/rooms/{room.pk}/", listener, "listener")
    try:
        for _ in range(31):
            await probe.communicator.send_to(text_data='{"type":"ping"}')
        await probe.communicator.send_to(text_data="[" * 3000)
        # Past the burst every frame is refused as rate_limited; the nested one too, not a crash.
        refusals = 0
        while refusals < 2:
            message = await probe.receive()
            refusals += message.get("code") == "rate_limited"
    finally:
        await _close(probe)
