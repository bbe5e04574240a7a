"""Room fan-out benchmark: N websocket clients in one real room against daphne + Redis.

One command (PostgreSQL and Redis must be running; see docs/benchmarks.md)::

    .venv/bin/python benchmarks/fanout.py          # N = 1000, 2000, 5000; 1 and 2 daphne
    .venv/bin/python benchmarks/fanout.py --sizes 1000 --daphnes 1 --seconds 8
    .venv/bin/python benchmarks/fanout.py --sizes 5000 --daphnes 2 --phases storm

For each N it measures, in the same run:

1. **reference**: a plain ``websockets`` server that relays each host message with
   ``websockets.broadcast`` (a few lines below), N clients, 10 events/s;
2. for 1 and 2 daphne processes (``audiosocial.asgi``, ``RedisPubSubChannelLayer``, the project's
   room hub), a live room and:
   - **seating**: N listeners open the room's socket as fast as the server admits them (at most
     8 handshakes in flight per client process); time until all hold their ``room.snapshot``;
   - **events**: the host toggles their microphone 10 times a second (each toggle is one
     ``participant.updated`` to everyone); latency from the host's send to every receipt,
     p50/p95/max, and losses (missing toggles and ``seq`` gaps);
   - **events + reactions**: the same while 50 members send 100 reactions/s in total; latency
     again, and the messages per second each member receives (all, and ``reaction`` alone);
   - **reactions alone**: the same 100 reactions/s with the host quiet: the messages per second
     each member receives (the bound the issue sets: at most 10);
   - **join storm**: in a fresh room, N listeners arrive at ``--join-rate`` (200) per second;
     time until every one holds its snapshot, refusals, and the messages per second members
     receive meanwhile. Before it, the seated room ends and the servers settle (idle), so that
     the storm is not measured on top of the old room's departures.

For seating and the storm it also reports CPU per seated member (``/proc``: the daphne
processes, PostgreSQL, Redis and the client processes) and how busy the whole machine was: what
a shared machine's wall clock cannot show. ``--phases storm`` runs the storm alone (no reference).

Clients are ``websockets`` asyncio clients (compression off) spread over ``--client-procs``
separate processes; the host runs in the orchestrating process. All processes share one clock
(one machine), so latency is ``receipt time - send time`` directly.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ORIGIN = "http://127.0.0.1:8000"
TOGGLE_MARK = '"change":"muted"'


# --- Clients (run in separate processes) ---------------------------------------------------------


def _parse_head(frame: str) -> tuple[int | None, str]:
    """``seq`` and ``type`` from the frame's head without decoding the whole frame (every frame
    starts ``{"seq":N,"type":"..."``); the harness must not be the bottleneck it measures."""
    if not frame.startswith('{"seq":'):
        return None, ""
    comma = frame.find(",", 7)
    seq = int(frame[7:comma])
    start = frame.find('"type":"', comma) + 8
    return seq, frame[start : frame.find('"', start)]


class Conn:
    __slots__ = (
        "seated_at",
        "toggles",
        "last_seq",
        "gaps",
        "buckets",
        "reaction_buckets",
        "closed",
        "ws",
    )

    def __init__(self) -> None:
        self.seated_at: float | None = None
        self.toggles: list[tuple[int, float]] = []
        self.last_seq: int | None = None
        self.gaps = 0
        self.buckets: dict[int, int] = {}
        self.reaction_buckets: dict[int, int] = {}
        self.closed: int | None = None
        self.ws: Any = None


async def _run_conn(url: str, headers: list[tuple[str, str]], conn: Conn, gate=None) -> None:
    from websockets.asyncio.client import connect

    def release() -> None:
        nonlocal gate
        if gate is not None:
            gate.release()
            gate = None

    try:
        async with connect(
            url,
            additional_headers=headers,
            origin=ORIGIN,
            compression=None,
            open_timeout=60,
            ping_interval=None,
            max_size=8 * 2**20,
            max_queue=None,
        ) as ws:
            conn.ws = ws
            async for frame in ws:
                now = time.time()
                seq, kind = _parse_head(frame)
                if kind == "room.snapshot":
                    if conn.seated_at is None:
                        conn.seated_at = now
                        release()
                    conn.last_seq = seq
                    continue
                if seq is None:
                    continue
                second = int(now)
                conn.buckets[second] = conn.buckets.get(second, 0) + 1
                if kind == "reaction":
                    conn.reaction_buckets[second] = conn.reaction_buckets.get(second, 0) + 1
                if conn.last_seq is not None and seq != conn.last_seq + 1:
                    conn.gaps += 1
                conn.last_seq = seq
                if kind == "participant.updated" and TOGGLE_MARK in frame:
                    conn.toggles.append((seq, now))
    except Exception as exc:  # noqa: BLE001 - recorded, reported as a loss
        conn.closed = getattr(exc, "code", None) or -1
    finally:
        release()


def client_process(
    urls: list[str], cookies: list[str], join_rate: float, pending: int, ctl, out
) -> None:
    """Open one socket per cookie at ``join_rate``/s (at most ``pending`` handshakes in flight,
    0: no limit), react when told, report when told."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        conns = [Conn() for _ in cookies]
        tasks = []
        started = time.time()
        gate = asyncio.Semaphore(pending) if pending else None
        for i, cookie in enumerate(cookies):
            url = urls[i % len(urls)]
            headers = [("Cookie", cookie)] if cookie else []
            if gate is not None:
                await gate.acquire()
            tasks.append(asyncio.create_task(_run_conn(url, headers, conns[i], gate)))
            delay = started + (i + 1) / join_rate - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
        while True:
            command = await loop.run_in_executor(None, ctl.recv)
            if command[0] == "react":
                _, rate_per_conn, seconds, emoji, count = command
                reactors = [c for c in conns if c.ws is not None][:count]
                await _react(reactors, rate_per_conn, seconds, emoji)
                out.send(("reacted", len(reactors)))
            elif command[0] == "report":
                reset = command[1]
                out.send(
                    (
                        "report",
                        [
                            (
                                c.seated_at,
                                c.toggles,
                                c.gaps,
                                c.buckets,
                                c.reaction_buckets,
                                c.closed,
                            )
                            for c in conns
                        ],
                    )
                )
                if reset:
                    for c in conns:
                        c.toggles, c.buckets, c.reaction_buckets, c.gaps = [], {}, {}, 0
            elif command[0] == "stop":
                for c in conns:
                    if c.ws is not None:
                        await c.ws.close()
                for t in tasks:
                    t.cancel()
                out.send(("stopped",))
                return

    asyncio.run(main())


async def _react(conns: list[Conn], rate: float, seconds: float, emoji: str) -> None:
    async def one(conn: Conn, offset: float) -> None:
        await asyncio.sleep(offset)
        end = time.time() + seconds
        while time.time() < end:
            try:
                await conn.ws.send(json.dumps({"type": "reaction", "emoji": emoji}))
            except Exception:  # noqa: BLE001
                return
            await asyncio.sleep(1 / rate)

    await asyncio.gather(*(one(c, i / max(1, len(conns)) / rate) for i, c in enumerate(conns)))


# --- The reference: a plain websockets broadcast server -------------------------------------------


def reference_server(port: int) -> None:
    from websockets.asyncio.server import broadcast, serve

    async def main() -> None:
        clients: set = set()

        async def handler(ws) -> None:
            if ws.request.path == "/host":
                async for message in ws:
                    broadcast(clients, message)
                return
            clients.add(ws)
            try:
                await ws.send('{"seq":0,"type":"room.snapshot"}')
                await ws.wait_closed()
            finally:
                clients.discard(ws)

        async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None):
            await asyncio.Future()

    asyncio.run(main())


# --- Orchestration -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def _raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bench_env(args) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "DJANGO_SETTINGS_MODULE": "audiosocial.settings",
            "DEBUG": "0",
            "SECRET_KEY": env.get("BENCH_SECRET_KEY", secrets.token_urlsafe(48)),
            "JANUS_API_SECRET": "bench",
            "JANUS_ADMIN_SECRET": "bench",
            "JANUS_ADMIN_KEY": "bench",
            "JANUS_TIMEOUT": "0.5",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "0",
            "ROOM_MAX_LISTENERS": "20000",
            "LOG_LEVEL": "ERROR",
            "CHANNELS_PREFIX": f"bench{os.getpid()}",
        }
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def prepare_database(args, env: dict[str, str]) -> None:
    import psycopg

    base = args.database_url.rsplit("/", 1)[0] + "/postgres"
    name = args.database_url.rsplit("/", 1)[1]
    with psycopg.connect(base, autocommit=True) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            db.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )


def make_members(n: int) -> tuple[Any, list[Any], list[str], str]:
    """A host and ``n`` members with session cookies (bulk: thousands in seconds)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    User = get_user_model()
    password = make_password("bench-password")
    existing = User.objects.filter(username__startswith="bench-").count()
    if existing < n + 1:
        User.objects.bulk_create(
            [
                User(username=f"bench-{i}", email=f"bench-{i}@example.test", password=password)
                for i in range(existing, n + 1)
            ],
            ignore_conflicts=True,
        )
    users = list(User.objects.filter(username__startswith="bench-").order_by("pk")[: n + 1])
    host, members = users[0], users[1:]
    from django.conf import settings

    backend = settings.AUTHENTICATION_BACKENDS[0]
    store = SessionStore()
    expiry = timezone.now() + timezone.timedelta(days=1)
    sessions, cookies = [], []
    for user in users:
        key = secrets.token_hex(16)
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": backend,
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        sessions.append(
            Session(session_key=key, session_data=store.encode(data), expire_date=expiry)
        )
        cookies.append(f"sessionid={key}")
    Session.objects.bulk_create(sessions, batch_size=1000)
    return host, members, cookies[1:], cookies[0]


def end_rooms(host) -> None:
    from rooms import services
    from rooms.models import Room

    for room in Room.objects.filter(host=host, state=Room.State.LIVE):
        services.room_end(room=room, by=None, reason="admin")


def fresh_room(host) -> Any:
    from rooms import services

    end_rooms(host)
    return services.room_create(host=host, title=f"fan-out {time.time():.0f}")


def settle(procs, *, idle_cores: float = 0.05, timeout: float = 60) -> float:
    """Wait until the servers are idle (under ``idle_cores`` over a second); returns how long."""
    started = time.time()
    pids = [p.pid for p in procs]
    while time.time() - started < timeout:
        before = _cpu_seconds(pids)
        time.sleep(1)
        if _cpu_seconds(pids) - before < idle_cores:
            break
    return time.time() - started


def start_clients(urls, cookies, procs: int, join_rate: float, pending: int = 0):
    ctx = mp.get_context("spawn")
    handles = []
    for p in range(procs):
        mine = cookies[p::procs]
        ctl_parent, ctl_child = ctx.Pipe()
        out_parent, out_child = ctx.Pipe()
        proc = ctx.Process(
            target=client_process,
            args=(urls, mine, join_rate / procs, pending, ctl_child, out_child),
            daemon=True,
        )
        proc.start()
        handles.append((proc, ctl_parent, out_parent))
    return handles


def collect(handles, *, reset: bool = True) -> list[tuple]:
    rows = []
    for _, ctl, _ in handles:
        ctl.send(("report", reset))
    for _, _, out in handles:
        kind, data = out.recv()
        rows.extend(data)
    return rows


def stop_clients(handles) -> None:
    for _, ctl, _ in handles:
        with contextlib.suppress(Exception):
            ctl.send(("stop",))
    for proc, _, out in handles:
        if out.poll(20):
            out.recv()
        proc.join(5)
        if proc.is_alive():
            proc.kill()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def host_present(url: str, cookie: str, seconds: float) -> None:
    """The host's socket open for ``seconds``, sending nothing."""
    from websockets.asyncio.client import connect

    async with connect(
        url,
        additional_headers=[("Cookie", cookie)],
        origin=ORIGIN,
        compression=None,
        ping_interval=None,
    ) as ws:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                async for _ in ws:
                    pass


async def host_toggles(
    url: str, cookie: str, rate: float, seconds: float, reference: bool, extra: float = 0
):
    """Send ``rate`` state changes per second; return their send times (in order).

    ``extra`` (reference only): that many more frames per second shaped like ``reaction`` events,
    so the reference carries the same message rate as the room with reactions.
    """
    from websockets.asyncio.client import connect

    headers = [("Cookie", cookie)] if cookie else []
    sent: list[float] = []
    slots = [(k / rate, True) for k in range(int(rate * seconds))]
    if extra:
        slots += [((j + 0.5) / extra, False) for j in range(int(extra * seconds))]
    slots.sort()
    async with connect(
        url, additional_headers=headers, origin=ORIGIN, compression=None, ping_interval=None
    ) as ws:

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        reader.add_done_callback(lambda t: t.cancelled() or t.exception())
        await asyncio.sleep(0.5)
        start = time.time()
        toggles = 0
        for seq, (at, toggle) in enumerate(slots, start=1):
            delay = start + at - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if reference and toggle:
                muted = "true" if toggles % 2 == 0 else "false"
                message = (
                    f'{{"seq":{seq},"type":"participant.updated","change":"muted",'
                    f'"participant":{{"user":{{"id":1}},"self_muted":{muted}}}}}'
                )
            elif reference:
                message = (
                    f'{{"seq":{seq},"type":"reaction","counts":{{"x":1}},"totals":{{"x":{seq}}}}}'
                )
            else:
                message = json.dumps({"type": "mic.unmute" if toggles % 2 == 0 else "mic.mute"})
            if toggle:
                sent.append(time.time())
                toggles += 1
            await ws.send(message)
        await asyncio.sleep(0.5)
        reader.cancel()
    return sent


def latency_stats(rows, sent: list[float], members: int) -> dict[str, Any]:
    latencies: list[float] = []
    lost = 0
    gaps = 0
    for _seated, toggles, conn_gaps, _buckets, _rb, _closed in rows:
        gaps += conn_gaps
        toggles = sorted(toggles)
        lost += max(0, len(sent) - len(toggles))
        for (_, received), sent_at in zip(toggles, sent, strict=False):
            latencies.append(received - sent_at)
    missing_clients = max(0, members - len(rows))
    lost += missing_clients * len(sent)
    return {
        "deliveries": len(latencies),
        "p50_ms": pct(latencies, 0.5) * 1000,
        "p95_ms": pct(latencies, 0.95) * 1000,
        "max_ms": (max(latencies) if latencies else float("nan")) * 1000,
        "lost": lost,
        "seq_gaps": gaps,
    }


def rate_stats(rows, window: tuple[int, int]) -> dict[str, Any]:
    """Messages per second per client inside the window: the mean and the busiest second."""
    lo, hi = window
    per_client_mean, peak, reaction_peak = [], 0, 0
    for _seated, _toggles, _gaps, buckets, reaction_buckets, _closed in rows:
        seconds = range(lo, hi)
        counts = [buckets.get(s, 0) for s in seconds]
        if counts:
            per_client_mean.append(sum(counts) / len(counts))
            peak = max(peak, max(counts))
        reaction_peak = max(reaction_peak, *(reaction_buckets.get(s, 0) for s in seconds), 0)
    return {
        "msgs_per_s_mean": statistics.mean(per_client_mean) if per_client_mean else 0,
        "msgs_per_s_peak": peak,
        "reaction_msgs_per_s_peak": reaction_peak,
    }


def run_reference(args, n: int) -> dict[str, Any]:
    port = _free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=reference_server, args=(port,), daemon=True)
    server.start()
    _wait_port(port)
    url = f"ws://127.0.0.1:{port}/"
    handles = start_clients([url], [""] * n, args.client_procs, max(args.join_rate, 500))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            rows = collect(handles, reset=False)
            if sum(1 for r in rows if r[0] is not None) >= n:
                break
            time.sleep(1)
        collect(handles)
        sent = asyncio.run(
            host_toggles(f"ws://127.0.0.1:{port}/host", "", 10, args.seconds, reference=True)
        )
        rows = wait_delivered(handles, n, len(sent), time.time() + args.tail)
        result = latency_stats(rows, sent, n)
        # The same at the message rate of the room with reactions (10 events + 5 reaction/s).
        sent = asyncio.run(
            host_toggles(
                f"ws://127.0.0.1:{port}/host", "", 10, args.seconds, reference=True, extra=5
            )
        )
        rows = wait_delivered(handles, n, len(sent), time.time() + args.tail)
        with_reactions = latency_stats(rows, sent, n)
        result["with_reactions_p95_ms"] = with_reactions["p95_ms"]
        result["with_reactions_p50_ms"] = with_reactions["p50_ms"]
        result["with_reactions_lost"] = with_reactions["lost"]
        return result
    finally:
        stop_clients(handles)
        server.kill()


def run_daphne(args, env, n: int, daphnes: int, host, cookies, host_cookie) -> dict[str, Any]:
    room = fresh_room(host)
    ports = [_free_port() for _ in range(daphnes)]
    procs = []
    for port in ports:
        procs.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    # A join storm queues handshakes behind each other's database work; the
                    # default 5 s would drop them instead of seating them a little later.
                    "--websocket_connect_timeout",
                    "60",
                    "audiosocial.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=open(ROOT / "var" / f"bench-daphne-{port}.log", "w"),  # noqa: SIM115
                preexec_fn=_raise_fd_limit,  # noqa: PLW1509
            )
        )
    result: dict[str, Any] = {"n": n, "daphnes": daphnes}
    try:
        for port in ports:
            _wait_port(port)
        urls = [f"ws://127.0.0.1:{port}/ws/rooms/{room.pk}/" for port in ports]
        phases = set(args.phases.split(","))
        if "seat" in phases:
            measure_seated_room(args, result, urls, n, host, cookies, host_cookie, procs)
        if "storm" in phases:
            measure_storm(args, result, ports, n, host, cookies, procs)
        return result
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes so far (seconds)."""
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def _cpu_seconds(pids: list[int]) -> float:
    return sum(_cpu_by_pid(pids).values())


def _cpu_since(before: dict[int, float], pids: list[int]) -> float:
    """CPU spent since ``before`` by the processes alive now (one that started meanwhile counts
    whole; one that exited meanwhile is not counted: PostgreSQL backends come and go)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in _cpu_by_pid(pids).items())


def _machine_busy_seconds() -> float:
    """CPU time the whole machine spent busy so far (all cores, every process)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _pids_named(prefix: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().startswith(prefix):
                    pids.append(int(entry.name))
    return pids


class CpuMeter:
    """CPU spent during a phase: the daphne processes, PostgreSQL, and the whole machine (which
    includes the clients and anything else running), so a figure can be read per join whatever
    else loads the machine."""

    def __init__(self, procs, clients=()) -> None:
        self.daphnes = [p.pid for p in procs]
        self.clients = [p.pid for p, _, _ in clients]
        self.start = (
            _cpu_by_pid(self.daphnes),
            _cpu_by_pid(_pids_named("postgres")),
            _cpu_by_pid(self.clients),
            _cpu_by_pid(_pids_named("redis-server")),
        )
        self.busy = _machine_busy_seconds()
        self.t0 = time.time()
        self.load = Path("/proc/loadavg").read_text().split()[0]

    def report(self, per: int) -> dict[str, Any]:
        daphne = _cpu_since(self.start[0], self.daphnes)
        postgres = _cpu_since(self.start[1], _pids_named("postgres"))
        clients = _cpu_since(self.start[2], self.clients)
        redis = _cpu_since(self.start[3], _pids_named("redis-server"))
        busy = _machine_busy_seconds() - self.busy
        wall = time.time() - self.t0
        return {
            "daphne_cpu_ms_per_join": round(daphne / per * 1000, 2),
            "postgres_cpu_ms_per_join": round(postgres / per * 1000, 2),
            "redis_cpu_ms_per_join": round(redis / per * 1000, 2),
            "clients_cpu_ms_per_join": round(clients / per * 1000, 2),
            "daphne_cores": round(daphne / wall, 2),
            "machine_busy_cores": round(busy / wall, 2),
            "loadavg_at_start": self.load,
        }


def measure_seated_room(args, result, urls, n: int, host, cookies, host_cookie, procs) -> None:
    handles = []
    try:
        # 1. Seat everyone (as fast as the server admits them), then measure delivery.
        t0 = time.time()
        handles = start_clients(urls, cookies[:n], args.client_procs, 10_000, pending=8)
        meter = CpuMeter(procs, handles)
        rows = wait_seated(handles, n, t0 + args.seat_timeout)
        result["seating"] = {
            "seated": sum(1 for r in rows if r[0] is not None),
            "seconds": max((r[0] for r in rows if r[0] is not None), default=t0) - t0,
        }
        result["seating_cpu"] = meter.report(max(1, result["seating"]["seated"]))
        time.sleep(1.5)
        collect(handles)  # counters start now
        sent = asyncio.run(host_toggles(urls[0], host_cookie, 10, args.seconds, reference=False))
        rows = wait_delivered(handles, n, len(sent), time.time() + args.tail)
        result["events"] = latency_stats(rows, sent, n)
        # Events and reactions together: 100 reactions/s across the room.
        reactors = min(n, 50)
        t1 = int(time.time()) + 1
        for _, ctl, _ in handles:
            ctl.send(("react", 100 / reactors, args.seconds + 1, "👏", reactors // len(handles)))
        sent = asyncio.run(host_toggles(urls[0], host_cookie, 10, args.seconds, reference=False))
        for _, _, out in handles:
            out.recv()
        rows = wait_delivered(handles, n, len(sent), time.time() + args.tail)
        result["events_reactions"] = {
            **latency_stats(rows, sent, n),
            **rate_stats(rows, (t1, t1 + int(args.seconds))),
        }
        # Reactions alone (the host quiet): what 100 reactions/s across the room cost each member.
        time.sleep(1.5)
        collect(handles)
        t2 = int(time.time()) + 1
        for _, ctl, _ in handles:
            ctl.send(("react", 100 / reactors, args.seconds + 1, "👏", reactors // len(handles)))
        # The host stays in the room, silent (a host whose socket is gone past the grace period
        # leaves, and the room ends with them).
        asyncio.run(host_present(urls[0], host_cookie, args.seconds + 2))
        for _, _, out in handles:
            out.recv()
        rows = collect(handles)
        result["reactions_only"] = {
            **rate_stats(rows, (t2, t2 + int(args.seconds))),
            "closed": sum(1 for r in rows if r[5] is not None),
        }
    finally:
        if handles:
            # The room ends first (as a host ends it: every socket is told and closed, nobody
            # waits out a grace period), then the clients go, then the servers settle: the storm
            # measures arrivals into a new room, not the old room's 5,000 departures as well.
            end_rooms(host)
            stop_clients(handles)
            result["settled_seconds"] = round(settle(procs), 1)


def measure_storm(args, result, ports, n: int, host, cookies, procs) -> None:
    handles = []
    try:
        # 2. Join storm: a fresh room, N listeners arriving at --join-rate per second.
        room = fresh_room(host)
        urls = [f"ws://127.0.0.1:{port}/ws/rooms/{room.pk}/" for port in ports]
        t0 = time.time()
        handles = start_clients(urls, cookies[:n], args.client_procs, args.join_rate)
        meter = CpuMeter(procs, handles)
        rows = wait_seated(handles, n, t0 + args.storm_timeout)
        seated = [r[0] for r in rows if r[0] is not None]
        last = max(seated, default=time.time())
        result["storm_cpu"] = meter.report(max(1, len(seated)))
        result["storm"] = {
            "seated": len(seated),
            "seconds": last - t0,
            "refused": sum(1 for r in rows if r[5] is not None and r[0] is None),
            **rate_stats(rows, (int(t0) + 1, int(last) + 1)),
        }
    finally:
        if handles:
            stop_clients(handles)


def wait_delivered(handles, n: int, events: int, deadline: float) -> list[tuple]:
    """Wait (up to ``deadline``) until every client has every event; then read and reset.
    What has not arrived by then counts as lost."""
    while time.time() < deadline:
        rows = collect(handles, reset=False)
        if sum(len(r[1]) for r in rows) >= n * events:
            break
        time.sleep(0.5)
    return collect(handles)


def wait_seated(handles, n: int, deadline: float) -> list[tuple]:
    rows: list[tuple] = []
    while time.time() < deadline:
        time.sleep(1)
        rows = collect(handles, reset=False)
        settled = sum(1 for r in rows if r[0] is not None or r[5] is not None)
        if settled >= n:
            break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,2000,5000")
    parser.add_argument("--daphnes", default="1,2")
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured phase")
    parser.add_argument("--join-rate", type=float, default=200)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--storm-timeout", type=float, default=90)
    parser.add_argument("--seat-timeout", type=float, default=300)
    parser.add_argument(
        "--tail", type=float, default=15, help="how long late deliveries are waited for"
    )
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/as_bench_fanout"
        ),
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
    )
    parser.add_argument(
        "--phases",
        default="seat,storm",
        help="seat (seating, then events and reactions), storm (join storm); both by default",
    )
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    _raise_fd_limit()
    (ROOT / "var").mkdir(exist_ok=True)
    env = bench_env(args)
    prepare_database(args, env)
    setup_django(env)
    sizes = [int(s) for s in args.sizes.split(",")]
    host, _members, cookies, host_cookie = make_members(max(sizes))
    results = []
    for n in sizes:
        skip = args.skip_reference or "seat" not in args.phases.split(",")
        reference = None if skip else run_reference(args, n)
        if reference:
            print(f"N={n} reference: {json.dumps(reference)}", flush=True)
        for daphnes in [int(d) for d in args.daphnes.split(",")]:
            outcome = run_daphne(args, env, n, daphnes, host, cookies, host_cookie)
            outcome["reference"] = reference
            if reference and "events" in outcome:
                outcome["events"]["p95_ratio"] = outcome["events"]["p95_ms"] / reference["p95_ms"]
                outcome["events_reactions"]["p95_ratio"] = (
                    outcome["events_reactions"]["p95_ms"] / reference["with_reactions_p95_ms"]
                )
            print(f"N={n} daphne x{daphnes}: {json.dumps(outcome)}", flush=True)
            results.append(outcome)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
