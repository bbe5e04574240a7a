"""The real thing: two daphne processes on one PostgreSQL and one Redis serve one room to
``websockets`` clients, through the direct frame writer; every client sees the same events in the
same order."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from tests.realtime.conftest import make_room, make_user

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def two_daphnes(require_postgres, require_redis, settings, tmp_path):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = dict(os.environ, DATABASE_URL=url, REDIS_URL=settings.REDIS_URL, LOG_LEVEL="WARNING")
    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "audiosocial.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / f"daphne-{port}.log").open("w"),
        )
        for port in ports
    ]
    deadline = time.monotonic() + 30
    for port in ports:
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "daphne did not start"
            time.sleep(0.2)
    yield ports
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(10)


@database_sync_to_async
def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


class Client_:
    def __init__(self, ws):
        self.ws = ws
        self.received: list[dict] = []

    async def until(self, kind: str, wait: float = 10, **match) -> dict:
        async with asyncio.timeout(wait):
            while True:
                message = json.loads(await self.ws.recv())
                self.received.append(message)
                if message["type"] == kind and all(message.get(k) == v for k, v in match.items()):
                    return message

    async def drain(self, quiet: float = 0.5) -> None:
        while True:
            try:
                async with asyncio.timeout(quiet):
                    self.received.append(json.loads(await self.ws.recv()))
            except TimeoutError:
                return


async def _connect(port: int, room_id, user) -> Client_:
    from websockets.asyncio.client import connect

    ws = await connect(
        f"ws://127.0.0.1:{port}/ws/rooms/{room_id}/",
        additional_headers=[("Cookie", await _cookie(user))],
        origin="http://127.0.0.1:8000",
        compression=None,
    )
    client = Client_(ws)
    await client.until("room.snapshot")
    return client


async def test_two_daphne_processes_serve_one_room_in_one_order(two_daphnes):
    port_a, port_b = two_daphnes
    host_user = await make_user()
    room = await make_room(host_user)
    alice_user, bob_user = await make_user(), await make_user()
    host = await _connect(port_a, room.pk, host_user)
    alice = await _connect(port_a, room.pk, alice_user)
    bob = await _connect(port_b, room.pk, bob_user)
    clients = [host, alice, bob]

    await bob.ws.send(json.dumps({"type": "hand.raise", "id": 1}))
    await bob.until("ack", id=1)
    await host.ws.send(json.dumps({"type": "speaker.invite", "id": 2, "user": bob_user.pk}))
    await host.until("ack", id=2)
    await bob.ws.send(json.dumps({"type": "speaker.accept", "id": 3}))
    await bob.until("ack", id=3)
    for emoji in ("👏", "🔥", "👏"):
        await alice.ws.send(json.dumps({"type": "reaction", "emoji": emoji}))
    await host.ws.send(json.dumps({"type": "participant.mute", "id": 4, "user": bob_user.pk}))
    await host.until("ack", id=4)
    for client in clients:
        await client.drain()

    public = []
    for client in clients:
        events = [m for m in client.received if "seq" in m and m["type"] != "room.snapshot"]
        start = client.received[0]["seq"]
        assert [e["seq"] for e in events] == list(range(start + 1, start + 1 + len(events)))
        public.append(
            [(e["seq"], e["type"], e.get("change")) for e in events if e.get("audience") == "room"]
        )
    common = min(p[0][0] for p in public)
    trimmed = [[e for e in p if e[0] >= common] for p in public]
    assert trimmed[0] == trimmed[1] == trimmed[2]
    kinds = {kind for _, kind, _ in trimmed[0]}
    assert {"participant.updated", "reaction"} <= kinds
    reactions = [m for m in bob.received if m["type"] == "reaction"]
    assert sum(sum(r["counts"].values()) for r in reactions) == 3
    for client in clients:
        await client.ws.close()
