"""A WebSocket path that no route matches closes with 4404, like a missing room.

Found by probing the sockets after the fuzzers: ``/ws/rooms/not-a-uuid/`` and ``/ws/whatever/``
raised ValueError("No route found") inside the server (an opaque failed handshake, logged as an
application error).
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator

from audiosocial.asgi import application

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.mark.parametrize(
    "path", ["/ws/rooms/not-a-uuid/", "/ws/rooms/", "/ws/whatever/", "/ws/notifications/x/", "/"]
)
async def test_an_unknown_socket_path_closes_with_4404(path):
    communicator = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await communicator.connect()
    assert connected
    closed = await communicator.receive_output(2)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4404)


async def test_a_foreign_origin_is_still_refused_at_the_handshake():
    communicator = WebsocketCommunicator(
        application, "/ws/whatever/", headers=[(b"origin", b"https://evil.example")]
    )
    connected, _ = await communicator.connect()
    assert not connected
