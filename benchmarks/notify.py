"""Notification fan-out benchmark on PostgreSQL + Redis (issue 10; figures in docs/benchmarks.md).

A host with 100,000 followers starts a scheduled room through the real REST endpoint on a daphne
this script starts; a real Celery worker (a subprocess, on Redis) runs the fan-out. Measured from
the moment the start request is sent:

- when the start request returned, and how many notification rows existed at that moment
  (the fan-out must not be part of the request);
- when every one of the 100,000 rows existed (polling COUNT(*) every 20 ms);
- when each of 1,000 followers with an open ``/ws/notifications/`` socket (``websockets``
  clients in two separate processes, authenticated by session cookies made here) received its
  ``notification`` message.

It also measures the anchor of the issue on the same data (one set-based ``INSERT ... SELECT``
of 100,000 rows from the follows table into a table with the same unique key and indexes, then a
duplicate run), and, with ``--compare-push``, what pushing to every recipient would cost
instead of only to those with a socket open.

    .venv/bin/python benchmarks/notify.py                    # 100,000 followers, 1,000 sockets
    .venv/bin/python benchmarks/notify.py --followers 20000 --sockets 200

``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/as_bench_notify``; dropped
and recreated) and ``BENCH_REDIS_URL`` (default ``redis://127.0.0.1:6379/9``; flushed) choose
the services.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/as_bench_notify"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
CLIENT_PROCESSES = 2


# --- socket clients (run in their own processes) -----------------------------------------------


async def _client_main(port: int, cookies: list[str], wait_seconds: float) -> list:
    from websockets.asyncio.client import connect

    url = f"ws://127.0.0.1:{port}/ws/notifications/"
    origin = f"http://127.0.0.1:{port}"
    sockets = []
    gate = asyncio.Semaphore(50)

    async def open_one(cookie: str):
        async with gate:
            ws = await connect(
                url,
                additional_headers=[("Cookie", f"sessionid={cookie}")],
                origin=origin,
                compression=None,
                open_timeout=120,
                max_queue=None,
            )
            hello = json.loads(await ws.recv())
            unread = json.loads(await ws.recv())
            assert hello["type"] == "hello" and unread["type"] == "unread_count", (hello, unread)
            return ws

    sockets = await asyncio.gather(*(open_one(c) for c in cookies))
    print("READY", flush=True)

    async def wait_one(ws):
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), wait_seconds))
                if message.get("type") == "notification":
                    return {
                        "at": time.time(),
                        "kind": message["notification"]["kind"],
                        "unread_count": message["unread_count"],
                    }
        except TimeoutError:
            return None

    results = await asyncio.gather(*(wait_one(ws) for ws in sockets))
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return results


def run_client(args: argparse.Namespace) -> None:
    cookies = json.loads(Path(args.cookies).read_text())
    results = asyncio.run(_client_main(args.port, cookies, args.timeout))
    Path(args.out).write_text(json.dumps(results))


# --- orchestration ------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def service_env(db_url: str, redis_url: str) -> dict[str, str]:
    # Production-like processes: DEBUG off (no query log), plain HTTP on loopback.
    return dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="audiosocial.settings",
        DATABASE_URL=db_url,
        REDIS_URL=redis_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        JANUS_API_SECRET="bench",  # noqa: S106 - no Janus here; the audio hook just fails
        JANUS_ADMIN_SECRET="bench",  # noqa: S106
        JANUS_ADMIN_KEY="bench",
        LOG_LEVEL="WARNING",
    )


def seed(followers: int):
    from django.contrib.auth import get_user_model
    from django.db import connection

    User = get_user_model()
    host = User.objects.create(username="host", display_name="The Host", password="!")  # noqa: S106 - unusable
    batch = 10_000
    for start in range(0, followers, batch):
        User.objects.bulk_create(
            [
                User(username=f"f{i}", email=f"f{i}@bench.test", password="!")  # noqa: S106 - unusable
                for i in range(start, min(start + batch, followers))
            ],
            batch_size=batch,
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO follows_follow (follower_id, followee_id, created_at) "
            "SELECT id, %s, now() FROM accounts_user WHERE id <> %s",
            [host.pk, host.pk],
        )
        cursor.execute("ANALYZE")
    return host


def measure_anchor(host_id: int) -> tuple[float, float]:
    """The issue's anchor: one INSERT ... SELECT of every follower, then a duplicate run."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_anchor (id bigserial PRIMARY KEY, recipient_id bigint NOT NULL, "
            "kind varchar(32) NOT NULL, actor_id bigint, dedupe_key varchar(200) NOT NULL, "
            "data jsonb NOT NULL, created_at timestamptz NOT NULL, read_at timestamptz, "
            "UNIQUE (recipient_id, dedupe_key))"
        )
        cursor.execute("CREATE INDEX ON bench_anchor (recipient_id, created_at DESC, id DESC)")
        timings = []
        for _ in range(2):
            t = time.perf_counter()
            cursor.execute(
                "INSERT INTO bench_anchor (recipient_id, kind, actor_id, dedupe_key, data, "
                "created_at) SELECT follower_id, 'went_live', %s, 'went_live:anchor', '{}', now() "
                "FROM follows_follow WHERE followee_id = %s "
                "ON CONFLICT (recipient_id, dedupe_key) DO NOTHING",
                [host_id, host_id],
            )
            timings.append(time.perf_counter() - t)
        cursor.execute("DROP TABLE bench_anchor")
    return timings[0], timings[1]


def make_sessions(users) -> list[str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_worker(timeout: float = 60) -> None:
    from audiosocial.celery import app

    deadline = time.monotonic() + timeout
    while not app.control.ping(timeout=0.5):
        if time.monotonic() > deadline:
            raise RuntimeError("the Celery worker did not answer")


def compare_push(n_all: int, n_online: int) -> tuple[float, float]:
    """Cost of group_send from the worker's side: to every recipient vs only those online."""
    from notifications.services import group_send_many

    def timed(n: int) -> float:
        messages = [
            (f"user.bench{i}", {"type": "notification.event", "event": {"type": "noop"}})
            for i in range(n)
        ]
        t = time.perf_counter()
        group_send_many(messages)
        return time.perf_counter() - t

    return timed(n_all), timed(n_online)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(args: argparse.Namespace) -> None:
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    env = service_env(db_url, redis_url)
    print(f"== database {db_url}, redis {redis_url}")
    recreate_database(db_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    # Same settings as the servers: sessions are signed, and their auth hash keyed, by SECRET_KEY.
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    settings.DEBUG = False
    from notifications.models import Notification
    from rooms.models import Room

    t = time.perf_counter()
    host = seed(args.followers)
    print(f"   seeded {args.followers:,} followers in {time.perf_counter() - t:.1f} s")
    anchor_first, anchor_again = measure_anchor(host.pk)
    print(f"   anchor INSERT ... SELECT: {anchor_first:.2f} s, duplicate run {anchor_again:.2f} s")

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    socket_users = list(get_user_model().objects.exclude(pk=host.pk).order_by("?")[: args.sockets])
    cookies = make_sessions(socket_users)
    host_token = make_sessions([host])[0]
    room = Room.objects.create(
        host=host,
        title="Benchmark live",
        scheduled_for=timezone.now() + timedelta(hours=1),
        state=Room.State.SCHEDULED,
    )

    procs: list[subprocess.Popen] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    worker_log = tmp / "worker.log"
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(VENV_BIN / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(args.port),
                    "audiosocial.asgi:application",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        with worker_log.open("w") as log:
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "audiosocial",
                        "worker",
                        "--pool",
                        "solo",
                        "--loglevel",
                        "INFO",
                        "--hostname",
                        f"bench-notify-{os.getpid()}@%h",
                    ],
                    cwd=ROOT,
                    env=dict(env, LOG_LEVEL="INFO"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        wait_http(f"http://127.0.0.1:{args.port}/healthz")
        wait_worker()

        clients = []
        per = -(-len(cookies) // CLIENT_PROCESSES)
        for index in range(CLIENT_PROCESSES):
            part = cookies[index * per : (index + 1) * per]
            if not part:
                continue
            cookie_file = tmp / f"cookies{index}.json"
            cookie_file.write_text(json.dumps(part))
            out = tmp / f"received{index}.json"
            proc = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--client",
                    "--port",
                    str(args.port),
                    "--cookies",
                    str(cookie_file),
                    "--out",
                    str(out),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            procs.append(proc)
            clients.append((proc, out))
        t = time.perf_counter()
        for proc, _ in clients:
            line = proc.stdout.readline().strip()
            if line != "READY":
                raise RuntimeError(f"a client process failed to connect its sockets: {line!r}")
        print(f"   {len(cookies):,} sockets connected in {time.perf_counter() - t:.1f} s")
        time.sleep(1)

        count_sql = f"SELECT count(*) FROM {Notification._meta.db_table} WHERE dedupe_key = %s"
        key = f"went_live:{room.pk}"
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"http://127.0.0.1:{args.port}/api/rooms/{room.pk}/start/",
            method="POST",
            data=b"{}",
            headers={"X-Session-Token": host_token, "Content-Type": "application/json"},
        )
        t0 = time.time()
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status = response.status
        t_response = time.time() - t0
        with connection.cursor() as cursor:
            cursor.execute(count_sql, [key])
            rows_at_response = cursor.fetchone()[0]
            rows = rows_at_response
            while rows < args.followers and time.time() - t0 < 120:
                time.sleep(0.02)
                cursor.execute(count_sql, [key])
                rows = cursor.fetchone()[0]
        t_rows = time.time() - t0

        received: list = []
        for proc, out in clients:
            proc.wait(timeout=args.timeout + 60)
            received += json.loads(out.read_text())
        got = [r for r in received if r is not None]
        latencies = [r["at"] - t0 for r in got]
        wrong = [r for r in got if r["kind"] != "went_live" or r["unread_count"] != 1]
        worker_lines = [
            ln.split("]", 1)[-1].strip()
            for ln in worker_log.read_text().splitlines()
            if ("room_live_fan_out" in ln and "succeeded" in ln) or str(room.pk) in ln
        ]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    print()
    print(
        f"start request: HTTP {status} in {t_response * 1000:.0f} ms, "
        f"{rows_at_response:,} notification rows existed when it returned"
    )
    print(
        f"all {rows:,} rows exist: {t_rows:.2f} s after the request was sent "
        f"({t_rows / anchor_first:.1f}x the anchor)"
    )
    for line in worker_lines:
        print(f"worker: {line}")
    if latencies:
        print(
            f"sockets: {len(got):,}/{len(received):,} received theirs; after the request: "
            f"p50 {statistics.median(latencies):.2f} s, p95 {pct(latencies, 95):.2f} s, "
            f"last {max(latencies):.2f} s; wrong payloads: {len(wrong)}"
        )
    from notifications.services import room_live_fan_out

    t = time.perf_counter()
    again = room_live_fan_out(room_id=str(room.pk))
    print(
        f"the same fan-out run again (a retried task): {again} new rows in "
        f"{time.perf_counter() - t:.2f} s"
    )
    if args.compare_push:
        every, online = compare_push(args.followers, args.sockets)
        print(
            f"push from a worker: group_send to all {args.followers:,} recipients {every:.2f} s, "
            f"to the {args.sockets:,} online only {online:.2f} s"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--sockets", type=int, default=1_000)
    parser.add_argument("--port", type=int, default=8391)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--compare-push", action="store_true")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cookies", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.client:
        run_client(arguments)
    else:
        main(arguments)
