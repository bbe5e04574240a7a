"""Bad input gets an ``error`` with a code and the socket stays open; flooding is cut off."""

from __future__ import annotations

import pytest

from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


async def _listener_socket():
    room = await make_room()
    return await open_socket(await make_user(), room.pk)


async def _still_open(socket) -> None:
    await socket.send(type="ping", id="alive")
    assert (await socket.until("pong"))["id"] == "alive"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "malformed"),
        ("[1, 2]", "malformed"),
        ('{"no": "type"}', "malformed"),
        ('{"type": 5}', "malformed"),
        ('{"type": "hello", "id": {"x": 1}}', "malformed"),
        ('{"type": "reaction", "emoji": 5}', "invalid"),
        ('{"type": "reaction", "emoji": "🐍"}', "invalid_reaction"),
        ('{"type": "audio.offer"}', "invalid"),
        ('{"type": "audio.ice", "candidate": "x"}', "invalid"),
    ],
)
async def test_malformed_message_gets_an_error_and_the_socket_stays_open(frame, code):
    socket = await _listener_socket()
    await socket.communicator.send_to(text_data=frame)
    error = await socket.until("error")
    assert error["code"] == code
    assert error["message"]
    await _still_open(socket)
    await socket.close()


async def test_unknown_type_is_named_and_the_id_echoed():
    socket = await _listener_socket()
    await socket.send(type="teleport", id="t1")
    error = await socket.until("error")
    assert (error["id"], error["code"]) == ("t1", "unknown_type")
    assert "teleport" in error["message"]
    assert "hand.raise" in error["details"]["allowed"]
    await _still_open(socket)
    await socket.close()


async def test_oversize_frame_gets_too_large():
    socket = await _listener_socket()
    await socket.communicator.send_to(text_data='{"type":"hello","pad":"' + "x" * 70_000 + '"}')
    error = await socket.until("error")
    assert error["code"] == "too_large"
    await _still_open(socket)
    await socket.close()


async def test_binary_frame_is_refused_politely():
    socket = await _listener_socket()
    await socket.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await socket.until("error"))["code"] == "malformed"
    await _still_open(socket)
    await socket.close()


async def test_flooding_gets_rate_limited_then_closed_with_4429():
    socket = await _listener_socket()
    for n in range(200):
        await socket.communicator.send_to(text_data=f'{{"type":"ping","id":{n}}}')
    code = await socket.closed(wait=5)
    assert code == 4429
    codes = [m.get("code") for m in socket.received if m["type"] == "error"]
    assert "rate_limited" in codes
    assert codes[-1] == "flooding"
    # Pings within the burst were answered before the limit started.
    assert any(m["type"] == "pong" for m in socket.received)
    limited = next(m for m in socket.received if m.get("code") == "rate_limited")
    assert isinstance(limited["id"], int)


async def test_a_steady_client_is_never_rate_limited():
    import asyncio

    socket = await _listener_socket()
    for n in range(40):
        await socket.send(type="ping", id=n)
        await socket.until("pong", id=n)
        # 20 a second for 2 s: over the sustained rate, but the burst absorbs it.
        await asyncio.sleep(0.05)
    assert not [m for m in socket.received if m["type"] == "error"]
    await socket.close()
