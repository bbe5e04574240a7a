"""The delivery machinery under the socket: frames built once and written straight to daphne's
sockets, and shared snapshots replayed from the hub's recent frames."""

from __future__ import annotations

import functools
import socket

import pytest
from channels.db import database_sync_to_async
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from rooms import realtime, services
from tests.realtime.conftest import make_room, make_user, open_socket


def _parse(wire: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(wire)
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 200_000])
def test_text_frame_is_a_valid_unmasked_websocket_frame(size):
    text = '{"seq":1,"x":"' + "é" * (size // 2) + '"}'
    frame = _parse(realtime.text_frame(text))
    assert frame.opcode == Opcode.TEXT and frame.fin
    assert frame.data.decode() == text


class _Transport:
    TLS = False

    def __init__(self, sock):
        self.socket = sock
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataLen = 0
        self.connected = 1
        self.disconnecting = 0
        self.written: list[bytes] = []

    def write(self, data):
        self.written.append(data)
        self._tempDataLen += len(data)


def _fake_daphne_protocol(sock):
    from daphne.ws_protocol import WebSocketProtocol

    protocol = WebSocketProtocol.__new__(WebSocketProtocol)
    protocol.transport = _Transport(sock)
    protocol.state = WebSocketProtocol.STATE_OPEN
    return protocol


def test_direct_writer_sends_at_once_and_queues_behind_pending_data():
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    protocol = _fake_daphne_protocol(ours)
    writer = realtime.DirectWriter(protocol)
    writer.write(b"first")
    assert theirs.recv(100) == b"first"
    # Twisted still holds a reply for this connection: the frame must go after it.
    protocol.transport._tempDataLen = 3
    writer.write(b"second")
    assert protocol.transport.written == [b"second"]
    # A closing connection gets nothing more.
    protocol.state = protocol.STATE_CLOSING
    writer.write(b"third")
    assert protocol.transport.written == [b"second"]
    ours.close()
    theirs.close()


def test_direct_writer_is_found_behind_channels_session_wrapper_only_for_daphne():
    ours, theirs = socket.socketpair()
    protocol = _fake_daphne_protocol(ours)

    async def handle_reply(protocol, message):  # daphne's Server.handle_reply
        return None

    send = functools.partial(handle_reply, protocol)

    class SessionWrapper:  # channels.sessions.InstanceSessionWrapper's shape
        def __init__(self, real_send):
            self.real_send = real_send

        async def send(self, message):
            return None

    wrapped = SessionWrapper(send).send
    assert isinstance(realtime.direct_writer_for(wrapped), realtime.DirectWriter)
    assert realtime.direct_writer_for(send).socket is ours

    async def other_server_send(message):
        return None

    assert realtime.direct_writer_for(other_server_send) is None
    assert realtime.direct_writer_for(functools.partial(handle_reply, object())) is None
    protocol.transport.TLS = True
    assert realtime.direct_writer_for(send) is None
    ours.close()
    theirs.close()


def test_direct_writes_can_be_switched_off(settings):
    ours, theirs = socket.socketpair()
    send = functools.partial(lambda p, m: None, _fake_daphne_protocol(ours))
    settings.ROOM_DIRECT_WRITES = False
    assert realtime.direct_writer_for(send) is None
    ours.close()
    theirs.close()


def test_a_gap_in_received_frames_voids_the_shared_snapshot():
    room = realtime._LocalRoom()
    room.remember(5, {"type": "x"}, {}, None)
    room.snapshot = (5, 0.0, "{}")
    room.remember(6, {"type": "x"}, {}, None)
    assert room.snapshot is not None and room.evicted_upto == 0
    room.remember(9, {"type": "x"}, {}, None)
    assert room.snapshot is None
    assert room.evicted_upto == 8
    assert [item[0] for item in room.recent] == [9]


@pytest.mark.django_db(transaction=True)
async def test_listeners_arriving_together_share_one_snapshot_plus_replay(monkeypatch):
    from rooms import consumers

    host = await make_user()
    room = await make_room(host)
    first = await open_socket(await make_user(), room.pk)
    built = []
    original = consumers.room_snapshot

    def counting(**kwargs):
        built.append(kwargs["user"].pk)
        return original(**kwargs)

    monkeypatch.setattr(consumers, "room_snapshot", counting)
    # A change after the first snapshot was built: later arrivals get it replayed.
    await database_sync_to_async(services.mic_unmute)(room=room, user=host)
    await first.until("participant.updated")
    second_user = await make_user()
    second = await open_socket(second_user, room.pk)
    snapshot = second.received[0]
    assert built == [], "the second listener's snapshot came from the shared one"
    assert snapshot["me"]["user_id"] == second_user.pk
    assert snapshot["me"]["role"] == "listener"
    replayed = await second.until("participant.updated")
    assert replayed["participant"]["self_muted"] is False
    events = [m for m in second.received[1:] if "seq" in m]
    assert [e["seq"] for e in events] == list(
        range(snapshot["seq"] + 1, snapshot["seq"] + 1 + len(events))
    )
    # Moderators always get a fresh one (it has the hand queue).
    host_socket = await open_socket(host, room.pk)
    assert built == [host.pk]
    assert "queue" in host_socket.received[0]["hands"]
    for s in (first, second, host_socket):
        await s.close()
