"""Audio benchmark: join latency through the project's WebSocket, and Janus's cost per listener.

One command (needs the ``janus`` binary; no PostgreSQL/Redis: a throwaway SQLite file)::

    .venv/bin/python benchmarks/audio.py
    .venv/bin/python benchmarks/audio.py --joins 40 --sizes 10,50,100,200 --seconds 5

It starts a private Janus from deploy/janus/ (free ports, random secrets, the test fixture's
``JanusServer``) and daphne serving ``audiosocial.asgi``, creates a live room whose host speaks a
440 Hz tone, then measures:

1. **join through the WebSocket** (``--joins`` listeners, one after another): ``audio.offer`` sent
   on the room socket → ``audio.answer`` received, and offer → first decoded audio frame at an
   aiortc listener; p50/p95/max;
2. **the direct anchor** in the same run: the same joins made by talking to Janus's API directly
   from the client (janus-client session, ``join`` with the offer), as the issue's anchor was;
3. **cost curve**: Janus's CPU (``/proc/<pid>/stat``, user+system) over ``--seconds`` with the host
   alone, then with 10/50/100/200 receive-only listeners joined through the WebSocket; the aiortc
   receivers only count RTP packets (no decoding), so the client side stays cheap. Reported: Janus
   cores used, per listener above the baseline, listeners per core, packets/s per listener.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(pct(ms, 0.95), 1),
        "max_ms": round(max(ms), 1),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


async def janus_cores(pid: int, seconds: float) -> float:
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


# --- Django side (users, sessions, the room) ---------------------------------------------


def bench_env(janus, db_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "audiosocial.settings",
            "SQLITE_PATH": str(db_path),
            "JANUS_URL": janus.url,
            "JANUS_ADMIN_URL": janus.admin_url,
            "JANUS_API_SECRET": janus.config.api_secret,
            "JANUS_ADMIN_SECRET": janus.config.admin_secret,
            "JANUS_ADMIN_KEY": janus.config.admin_key,
            "JANUS_RTP_PORT_RANGE": janus.config.rtp_port_range,
            "ROOM_MAX_LISTENERS": "20000",
            "ROOM_DISCONNECT_GRACE_SECONDS": "1",
            "LOG_LEVEL": "ERROR",
        }
    )
    return env


def make_members(n: int) -> tuple[Any, list[Any], list[str], str]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    User = get_user_model()  # noqa: N806
    password = make_password("bench-password")
    User.objects.bulk_create(
        [
            User(username=f"audio-{i}", email=f"audio-{i}@example.test", password=password)
            for i in range(n + 1)
        ],
        ignore_conflicts=True,
    )
    users = list(User.objects.filter(username__startswith="audio-").order_by("pk")[: n + 1])
    store = SessionStore()
    expiry = timezone.now() + timezone.timedelta(days=1)
    sessions, cookies = [], []
    for user in users:
        key = secrets.token_hex(16)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[0],
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expiry)
        )
        cookies.append(f"sessionid={key}")
    Session.objects.bulk_create(sessions, batch_size=1000)
    return users[0], users[1:], cookies[1:], cookies[0]


# --- Clients -------------------------------------------------------------------------------------


class RoomSocket:
    """The room's WebSocket as a browser uses it (session cookie, Origin)."""

    def __init__(self, port: int, room_id: str, cookie: str) -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/rooms/{room_id}/"
        self.headers = [("Origin", f"http://127.0.0.1:{port}"), ("Cookie", cookie)]
        self.waiters: dict[Any, asyncio.Future] = {}
        self.ws = None
        self.task: asyncio.Task | None = None
        self.next_id = 0

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, additional_headers=self.headers, compression=None)
        snapshot = json.loads(await self.ws.recv())
        assert snapshot["type"] == "room.snapshot", snapshot
        self.task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        async for frame in self.ws:
            message = json.loads(frame)
            waiter = self.waiters.pop(message.get("id"), None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    async def request(self, **message: Any) -> dict[str, Any]:
        self.next_id += 1
        message["id"] = self.next_id
        waiter = asyncio.get_running_loop().create_future()
        self.waiters[self.next_id] = waiter
        await self.ws.send(json.dumps(message))
        reply = await asyncio.wait_for(waiter, 15)
        if reply["type"] == "error":
            raise RuntimeError(reply)
        return reply

    async def close(self) -> None:
        await self.ws.close()
        if self.task:
            self.task.cancel()


def counting(peer) -> None:
    """Replace the peer's RTP handling by a counter: no jitter buffer, no Opus decode."""
    peer.packets = 0

    async def count(packet, arrival_time_ms) -> None:
        peer.packets += 1

    for transceiver in peer.pc.getTransceivers():
        transceiver.receiver._handle_rtp_packet = count


async def timed_join_ws(port, room_id, cookie, *, count_only: bool = False):
    from tests.audio.peers import Peer

    socket_ = RoomSocket(port, room_id, cookie)
    await socket_.open()
    peer = Peer()
    offer = await peer.offer()
    sent = time.monotonic()
    reply = await socket_.request(type="audio.offer", sdp=offer)
    answered = time.monotonic()
    await peer.accept(reply["sdp"])
    if count_only:
        counting(peer)
        return socket_, peer, answered - sent, None
    first = await first_frame(peer, sent)
    return socket_, peer, answered - sent, first


async def first_frame(peer, sent: float) -> float:
    deadline = time.monotonic() + 10
    while peer.recorder.first_frame_at is None:
        if time.monotonic() > deadline:
            raise RuntimeError("no audio frame within 10 s")
        await asyncio.sleep(0.002)
    return peer.recorder.first_frame_at - sent


async def timed_join_direct(janus, janus_room: int, session, plugin_cls, token: str, pid: int):
    from tests.audio.peers import Peer

    peer = Peer()
    offer = await peer.offer()
    handle = plugin_cls()
    sent = time.monotonic()
    await handle.attach(session)
    data, jsep = await handle.request(
        {"request": "join", "room": janus_room, "id": pid, "token": token, "muted": True},
        jsep={"type": "offer", "sdp": offer},
    )
    answered = time.monotonic()
    await peer.accept(jsep["sdp"])
    first = await first_frame(peer, sent)
    return handle, peer, answered - sent, first


# --- Phases --------------------------------------------------------------------------------------


async def run(args) -> dict[str, Any]:
    from channels.db import database_sync_to_async

    from rooms import services
    from rooms.audio import hooks
    from rooms.audio.plugin import AudioBridgePlugin
    from rooms.models import Room
    from tests.audio.peers import Peer

    janus, port = args.janus, args.port
    result: dict[str, Any] = {}
    sizes = [int(s) for s in args.sizes.split(",") if s]
    host, members, cookies, host_cookie = await database_sync_to_async(make_members)(
        args.joins + max(sizes or [0])
    )
    room = await database_sync_to_async(services.room_create)(host=host, title="audio bench")
    await database_sync_to_async(hooks.wait_idle)()
    room = await database_sync_to_async(Room.objects.get)(pk=room.pk)
    room_id = str(room.pk)

    host_socket = RoomSocket(port, room_id, host_cookie)
    await host_socket.open()
    await host_socket.request(type="mic.unmute")
    speaker = Peer(tone=440.0)
    reply = await host_socket.request(type="audio.offer", sdp=await speaker.offer())
    await speaker.accept(reply["sdp"])

    # 1. Through the WebSocket.
    answers, frames = [], []
    for cookie in cookies[: args.joins]:
        sock, peer, answer, first = await timed_join_ws(port, room_id, cookie)
        answers.append(answer)
        frames.append(first)
        await peer.close()
        await sock.close()
    result["websocket"] = {
        "offer_to_answer": summary(answers),
        "offer_to_first_frame": summary(frames),
    }

    # 2. The direct anchor (client ⇄ Janus API, the server not involved).
    from janus_client import JanusSession

    controller = janus.controller()
    session = JanusSession(base_url=janus.url, api_secret=janus.config.api_secret)
    await session.create()
    answers, frames = [], []
    for i in range(args.joins):
        token = secrets.token_urlsafe(16)
        controller.allowed_add(room.janus_room, secret=room.janus_secret, tokens=[token])
        handle, peer, answer, first = await timed_join_direct(
            janus, room.janus_room, session, AudioBridgePlugin, token, 10**12 + i
        )
        answers.append(answer)
        frames.append(first)
        await peer.close()
        await handle.destroy()
        await handle.pc.close()
    await session.destroy()
    result["direct"] = {
        "offer_to_answer": summary(answers),
        "offer_to_first_frame": summary(frames),
    }

    # 3. Cost curve.
    await asyncio.sleep(1.5)  # the latency phase's listeners leave after their grace
    baseline = await janus_cores(janus.process.pid, args.seconds)
    curve = [{"listeners": 0, "janus_cores": round(baseline, 3)}]
    connected: list[tuple[Any, Any]] = []
    pool = cookies[args.joins :]
    for size in sizes:
        try:
            while len(connected) < size:
                batch = pool[len(connected) : min(size, len(connected) + 10)]
                joined = await asyncio.gather(
                    *(timed_join_ws(port, room_id, c, count_only=True) for c in batch)
                )
                connected.extend((s, p) for s, p, _, _ in joined)
        except Exception as exc:  # noqa: BLE001 - report how far the machine got
            curve.append({"listeners": size, "error": f"{type(exc).__name__}: {exc}"[:300]})
            print(json.dumps(curve[-1]), flush=True)
            break
        await asyncio.sleep(2)
        before = [p.packets for _, p in connected]
        cores = await janus_cores(janus.process.pid, args.seconds)
        rates = [
            (p.packets - b) / args.seconds for (_, p), b in zip(connected, before, strict=True)
        ]
        per_listener = (cores - baseline) / size
        curve.append(
            {
                "listeners": size,
                "janus_cores": round(cores, 3),
                "per_listener_pct_core": round(100 * per_listener, 3),
                "listeners_per_core": round(1 / per_listener) if per_listener > 0 else None,
                "packets_per_s_per_listener_p50": round(statistics.median(rates), 1),
                "listeners_below_40_pps": sum(1 for r in rates if r < 40),
            }
        )
        print(json.dumps(curve[-1]), flush=True)
    result["cost_curve"] = curve
    for sock, peer in connected:
        await peer.close()
        with contextlib.suppress(Exception):
            await sock.close()
    await speaker.close()
    await host_socket.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joins", type=int, default=40)
    parser.add_argument("--sizes", default="10,50,100,200")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    os.environ.setdefault("JANUS_TEST_DEBUG_LEVEL", "3")
    os.environ["DJANGO_SETTINGS_MODULE"] = "audiosocial.settings"
    with tempfile.TemporaryDirectory(prefix="audio-bench-") as tmp:
        tmp_path = Path(tmp)
        import django

        from tests.audio.conftest import JanusServer

        janus = JanusServer(tmp_path / "janus")
        env = bench_env(janus, tmp_path / "db.sqlite3")
        os.environ.update(env)
        django.setup()
        janus.start()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        args.port = free_port()
        log_dir = ROOT / "var" / "bench-audio"
        log_dir.mkdir(parents=True, exist_ok=True)
        daphne = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "daphne"),
                "-b",
                "127.0.0.1",
                "-p",
                str(args.port),
                "audiosocial.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(log_dir / "daphne.log", "w"),  # noqa: SIM115
        )
        args.janus = janus
        try:
            wait_port(args.port)
            result = asyncio.run(run(args))
        finally:
            daphne.terminate()
            daphne.wait(10)
            janus.stop()
        result["machine"] = {"cpus": os.cpu_count()}
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
