"""Helpers for the room socket tests: signed-in communicators and message waiting."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from audiosocial.asgi import application
from rooms import services
from tests.factories import UserFactory

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


@pytest.fixture(scope="session", autouse=True)
def _worker_threads_closed(django_db_setup):
    """The room admissions and the handshakes run on thread pools of their own, whose threads
    keep their database connections (as in a server); they end before the test database is
    dropped, which PostgreSQL refuses while anyone is connected."""
    yield
    from audiosocial import wsauth
    from rooms import consumers

    for pool in (consumers._admission_threads, wsauth._auth_threads):
        # One task per thread (the barrier holds each until all run): every thread closes its own.
        barrier = threading.Barrier(pool._max_workers)

        def close_mine(barrier=barrier) -> None:
            barrier.wait(timeout=10)
            connections.close_all()

        for future in [pool.submit(close_mine) for _ in range(pool._max_workers)]:
            future.result()


@pytest.fixture(autouse=True)
def _fast_windows(settings):
    settings.ROOM_DISCONNECT_GRACE_SECONDS = 0.3
    settings.ROOM_AUDIENCE_WINDOW_SECONDS = 0.1
    settings.ROOM_REACTION_WINDOW_SECONDS = 0.1


@pytest.fixture(autouse=True)
def _no_janus(monkeypatch):
    """These tests are about the socket, not the AudioBridge: the services' audio hooks (which
    talk to Janus from a worker thread) do nothing here; tests/audio covers them for real."""
    from rooms.audio import hooks

    for name in ("room_went_live", "room_ended", "participant_left", "participant_changed"):
        monkeypatch.setattr(hooks, name, lambda **kwargs: None)


@database_sync_to_async
def make_user(**kwargs: Any):
    return UserFactory(**kwargs)


@database_sync_to_async
def make_room(host=None, **kwargs: Any):
    host = host or UserFactory()
    return services.room_create(host=host, title=kwargs.pop("title", "Live room"), **kwargs)


@database_sync_to_async
def cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Socket:
    """A signed-in communicator with a log of everything it received."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.received: list[dict[str, Any]] = []
        self.close_code: int | None = None

    async def send(self, **message: Any) -> None:
        await self.communicator.send_json_to(message)

    async def next(self, wait: float = 3) -> dict[str, Any]:
        output = await self.communicator.receive_output(wait)
        if output["type"] == "websocket.close":
            self.close_code = output.get("code")
            raise AssertionError(f"socket closed with {self.close_code}")
        import json

        message = json.loads(output["text"])
        self.received.append(message)
        return message

    async def until(self, kind: str, wait: float = 3, **match: Any) -> dict[str, Any]:
        """Read messages until one of type ``kind`` (with the given fields) arrives."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            message = await self.next(max(0.05, deadline - loop.time()))
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message

    async def seen(self, kind: str, wait: float = 3, **match: Any) -> dict[str, Any]:
        """Like ``until``, but an already received message counts too."""
        for message in self.received:
            if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                return message
        return await self.until(kind, wait, **match)

    async def until_any(self, kinds: tuple[str, ...], wait: float = 3) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            message = await self.next(max(0.05, deadline - loop.time()))
            if message["type"] in kinds:
                return message

    async def quiet(self, wait: float = 0.3) -> list[dict[str, Any]]:
        """Everything that arrives within ``wait`` (no error if nothing does)."""
        got = []
        # receive_nothing, not a timed receive: a receive that times out cancels the app.
        while not await self.communicator.receive_nothing(wait):
            got.append(await self.next())
        return got

    async def closed(self, wait: float = 3) -> int | None:
        """Read until the server closes the socket; return the close code."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            output = await self.communicator.receive_output(max(0.05, deadline - loop.time()))
            if output["type"] == "websocket.close":
                self.close_code = output.get("code")
                return self.close_code
            import json

            self.received.append(json.loads(output["text"]))

    async def close(self) -> None:
        await self.communicator.disconnect()


async def open_socket(
    user, room_id, *, app=application, headers=None, path=None, snapshot: bool = True
) -> Socket:
    headers = list(headers) if headers is not None else [ORIGIN]
    if user is not None:
        headers.append((b"cookie", await cookie_for(user)))
    communicator = WebsocketCommunicator(app, path or f"/ws/rooms/{room_id}/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    socket = Socket(communicator)
    if snapshot:
        first = await socket.next()
        assert first["type"] == "room.snapshot", first
    return socket
