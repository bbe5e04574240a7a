"""Hallway benchmark on PostgreSQL (issue 4; figures in docs/benchmarks.md).

Seeds a dedicated database with 10,000 members, 500,000 follows (power law: a few members are
followed by thousands), 1,000 live rooms with their participants (1 host, 1-12 speakers,
0-2,000 listeners each), 500 scheduled rooms, 5,000 blocks (20 made by each measured member, so
their cards carry block warnings), invitations to closed rooms and bans;
then measures ``rooms.hallway.hallway_for`` (queries and assembled cards) and the whole
``GET /api/hallway/`` request (Django test client: middleware, session, view, JSON) for members
following 10, 500 and 5,000 people.

    .venv/bin/python benchmarks/hallway.py              # seed if empty, then measure
    .venv/bin/python benchmarks/hallway.py --reseed     # drop the data and seed again
    .venv/bin/python benchmarks/hallway.py --explain    # EXPLAIN ANALYZE the hallway's queries
    .venv/bin/python benchmarks/hallway.py --explain --tier 10   # ... for a member following 10

Before measuring, ``VACUUM (ANALYZE)`` brings the planner's statistics and the visibility map
(index-only scans) to where autovacuum keeps a live database. The load average is printed with
the figures: on a shared machine it moves them more than anything else.

``BENCH_DATABASE_URL`` overrides the database (default
``postgres://postgres@127.0.0.1:5432/as_bench_hallway``); it is created when missing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/as_bench_hallway"

MEMBERS = 10_000
FOLLOWS = 500_000
LIVE_ROOMS = 1_000
SCHEDULED_ROOMS = 500
MAX_SPEAKERS = 12
MAX_LISTENERS = 2_000
BLOCKS = 5_000
BENCH_BLOCKS = 20  # blocks made by each benchmark member (of the BLOCKS): the card warning's cost
BANS = 50
TIERS = (10, 500, 5_000)
BENCH_PREFIX = "bench"  # usernames of the measured members: bench<tier>_<n>
MEMBERS_PER_TIER = 5
POPULARITY_EXPONENT = 0.7  # Zipf-like: the top member gets ~2% of all follow picks
SEED = 20261121


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audiosocial.settings")
    import django

    django.setup()
    from django.conf import settings

    # DEBUG would record every query in memory and slow each one down.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["localhost"]


# --- Seeding ---------------------------------------------------------------------------------


def _copy(model, columns: list[str], rows) -> int:
    """COPY ``rows`` (tuples in ``columns`` order) into ``model``'s table; every other column
    gets the model field's default, so fields added later by other apps do not break this."""
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    extra: list[tuple[str, object]] = []
    for field in model._meta.concrete_fields:
        if field.attname in columns or field.column in columns:
            continue
        if field.primary_key and field.get_internal_type() in {"AutoField", "BigAutoField"}:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        elif field.null and not field.has_default():
            value = None
        else:
            value = field.get_default()
        extra.append((field.column, value))
    names = [model._meta.get_field(c).column for c in columns] + [c for c, _ in extra]
    tail = tuple(v for _, v in extra)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg 3 cursor
        sql = f"COPY {model._meta.db_table} ({', '.join(names)}) FROM STDIN"
        with raw.copy(sql) as copy:
            for row in rows:
                copy.write_row(tuple(row) + tail)
                count += 1
    return count


def seed() -> dict:
    import numpy as np
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from follows.models import Follow
    from moderation.models import Block, Sanction
    from rooms.models import Participant, Room, RoomInvite

    User = get_user_model()
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    now = timezone.now()

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {User._meta.db_table} RESTART IDENTITY CASCADE")

    with transaction.atomic():
        _copy(
            User,
            ["username", "email", "password", "display_name", "date_joined"],
            (
                (f"m{i}", f"m{i}@bench.test", "!", f"Member {i}", now - timedelta(minutes=i))
                for i in range(MEMBERS)
            ),
        )
    ids = np.array(User.objects.order_by("pk").values_list("pk", flat=True))

    # Popularity: a random permutation of members, weighted by rank^-a.
    order = rng.permutation(MEMBERS)
    weights = np.empty(MEMBERS)
    weights[order] = (np.arange(MEMBERS) + 1.0) ** -POPULARITY_EXPONENT
    weights /= weights.sum()

    # Benchmark members: MEMBERS_PER_TIER per tier, with exactly ``tier`` followees chosen by
    # popularity (people follow the popular). They follow nobody else.
    bench: dict[int, list[int]] = {}
    special = rng.choice(MEMBERS, size=len(TIERS) * MEMBERS_PER_TIER, replace=False)
    pairs: set[tuple[int, int]] = set()
    for t, tier in enumerate(TIERS):
        members = special[t * MEMBERS_PER_TIER : (t + 1) * MEMBERS_PER_TIER]
        bench[tier] = [int(ids[m]) for m in members]
        for k, m in enumerate(members):
            # Named, so that they are the ones measured (others may follow as many by chance).
            User.objects.filter(pk=int(ids[m])).update(username=f"{BENCH_PREFIX}{tier}_{k}")
            w = weights.copy()
            w[m] = 0
            w /= w.sum()
            for f in rng.choice(MEMBERS, size=tier, replace=False, p=w):
                pairs.add((int(m), int(f)))

    # Everyone else: out-degree log-normal (mean ~50), followees by popularity; duplicates and
    # self-follows are dropped and topped up until the total is reached.
    out_weights = rng.lognormal(0, 1, MEMBERS)
    out_weights[special] = 0
    out_weights /= out_weights.sum()
    while len(pairs) < FOLLOWS:
        need = int((FOLLOWS - len(pairs)) * 1.1) + 100
        followers = rng.choice(MEMBERS, size=need, p=out_weights)
        followees = rng.choice(MEMBERS, size=need, p=weights)
        for a, b in zip(followers.tolist(), followees.tolist(), strict=True):
            if a != b:
                pairs.add((a, b))
                if len(pairs) >= FOLLOWS:
                    break
    start = now - timedelta(days=365)
    with transaction.atomic():
        _copy(
            Follow,
            ["follower_id", "followee_id", "created_at"],
            (
                (int(ids[a]), int(ids[b]), start + timedelta(seconds=n))
                for n, (a, b) in enumerate(pairs)
            ),
        )

    # Live rooms: distinct hosts, popular members host more often.
    hosts = rng.choice(MEMBERS, size=LIVE_ROOMS, replace=False, p=weights)
    visibility = rng.choice(["public", "followers", "closed"], size=LIVE_ROOMS, p=[0.8, 0.15, 0.05])
    live_rows, participants, invites = [], [], []
    for r in range(LIVE_ROOMS):
        room_id = uuid.uuid4()
        host = int(hosts[r])
        n_speakers = int(rng.integers(1, MAX_SPEAKERS + 1))
        n_listeners = int(MAX_LISTENERS * rng.random() ** 2)
        people = rng.choice(MEMBERS, size=n_speakers + n_listeners + 1, replace=False)
        people = people[people != host][: n_speakers + n_listeners]
        joined = now - timedelta(minutes=int(rng.integers(1, 180)))
        participants.append((room_id, int(ids[host]), "host", joined))
        for k, p in enumerate(people.tolist()):
            role = "speaker" if k < n_speakers else "listener"
            participants.append((room_id, int(ids[p]), role, joined + timedelta(seconds=k)))
        live_rows.append(
            (
                room_id,
                f"Live room {r}",
                "benchmark",
                int(ids[host]),
                str(visibility[r]),
                "live",
                joined,
                1 + n_speakers,
                len(people) - n_speakers,
                "x" * 32,
            )
        )
        if visibility[r] == "closed":
            for p in rng.choice(MEMBERS, size=20, replace=False).tolist():
                if p != host:
                    invites.append((room_id, int(ids[p]), int(ids[host]), now))
    sched_hosts = rng.choice(MEMBERS, size=SCHEDULED_ROOMS, p=weights)
    sched_visibility = rng.choice(
        ["public", "followers", "closed"], size=SCHEDULED_ROOMS, p=[0.8, 0.15, 0.05]
    )
    sched_rows = [
        (
            uuid.uuid4(),
            f"Scheduled room {r}",
            "benchmark",
            int(ids[int(sched_hosts[r])]),
            str(sched_visibility[r]),
            "scheduled",
            now + timedelta(minutes=int(rng.integers(5, 72 * 60))),
            "x" * 32,
        )
        for r in range(SCHEDULED_ROOMS)
    ]
    with transaction.atomic():
        _copy(
            Room,
            [
                "id",
                "title",
                "topic",
                "host_id",
                "visibility",
                "state",
                "started_at",
                "speakers_count",
                "listeners_count",
                "janus_secret",
            ],
            live_rows,
        )
        _copy(
            Room,
            [
                "id",
                "title",
                "topic",
                "host_id",
                "visibility",
                "state",
                "scheduled_for",
                "janus_secret",
            ],
            sched_rows,
        )
        _copy(Participant, ["room_id", "user_id", "role", "joined_at"], participants)
        _copy(RoomInvite, ["room_id", "user_id", "invited_by_id", "created_at"], invites)

        bench_ids = {pk for tier in bench.values() for pk in tier}
        blocks: set[tuple[int, int]] = set()
        # Each benchmark member blocked a few people they do not follow (a block cuts follows),
        # drawn by popularity like everything else: some host (their rooms leave the hallway),
        # some speak (the cards warn about them).
        followed: dict[int, set[int]] = {int(m): set() for m in special}
        for a, b in pairs:
            if a in followed:
                followed[a].add(b)
        for m, theirs in followed.items():
            w = weights.copy()
            w[[m, *theirs]] = 0
            w /= w.sum()
            for b in rng.choice(MEMBERS, size=BENCH_BLOCKS, replace=False, p=w).tolist():
                blocks.add((int(ids[m]), int(ids[b])))
        while len(blocks) < BLOCKS:
            a, b = (int(x) for x in ids[rng.integers(0, MEMBERS, size=2)])
            if a != b and a not in bench_ids:
                blocks.add((a, b))
        _copy(Block, ["blocker_id", "blocked_id", "created_at"], ((a, b, now) for a, b in blocks))
        banned = [int(x) for x in rng.choice(ids, size=BANS, replace=False) if x not in bench_ids]
        _copy(
            Sanction,
            ["user_id", "kind", "reason", "starts_at"],
            ((pk, "ban", "benchmark", now - timedelta(days=1)) for pk in banned),
        )

    vacuum_analyze()
    return {
        "seconds": time.perf_counter() - started,
        "participants": len(participants),
        "follows": len(pairs),
    }


def vacuum_analyze() -> None:
    """Statistics and visibility map as a live database has them (autovacuum), for the tables
    the hallway reads: a no-op pass when nothing changed since the last run."""
    from django.db import connection

    tables = [
        "accounts_user",
        "follows_follow",
        "rooms_room",
        "rooms_participant",
        "rooms_roominvite",
        "moderation_block",
        "moderation_sanction",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


# --- Measuring -------------------------------------------------------------------------------


def bench_members() -> dict[int, list]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    User = get_user_model()
    counted = (
        User.objects.filter(username__startswith=BENCH_PREFIX)
        .annotate(n=Count("following_set"))
        .filter(n__in=TIERS)
        .order_by("pk")
        .values_list("pk", "n")
    )
    tiers: dict[int, list] = {tier: [] for tier in TIERS}
    for pk, n in counted:
        if len(tiers[n]) < MEMBERS_PER_TIER:
            tiers[n].append(pk)
    return {tier: list(User.objects.filter(pk__in=pks)) for tier, pks in tiers.items()}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class CpuClock:
    """CPU time spent by this process and by its PostgreSQL backend (Linux: the backend's
    /proc/<pid>/schedstat). On a shared machine the wall clock also counts the time spent
    waiting for a core; the CPU time is what a quiet machine would take."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (pid,) = cursor.fetchone()
        self.path = Path(f"/proc/{pid}/schedstat")

    def __call__(self) -> float:
        backend_ns = int(self.path.read_text().split()[0]) if self.path.exists() else 0
        return time.process_time() * 1000 + backend_ns / 1e6


def measure(iterations: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rooms.hallway import hallway_for

    results = []
    for tier, members in bench_members().items():
        selector_ms: list[float] = []
        selector_cpu: list[float] = []
        api_ms: list[float] = []
        api_cpu: list[float] = []
        queries = sections = None
        for member in members:
            with CaptureQueriesContext(connection) as ctx:
                page = hallway_for(user=member)
            queries = len(ctx.captured_queries)
            counts: dict[str, int] = {}
            for card in page.cards:
                counts[card.section] = counts.get(card.section, 0) + 1
                if card.blocked_on_stage:
                    counts["warned"] = counts.get("warned", 0) + 1
            sections = counts
            client = Client(HTTP_HOST="localhost")
            client.force_login(member)
            for _ in range(5):  # warm caches and connections
                hallway_for(user=member)
                client.get("/api/hallway/")
            cpu = CpuClock()  # the connection's backend, now that it is open
            for _ in range(iterations):
                c0, t0 = cpu(), time.perf_counter()
                page = hallway_for(user=member)
                selector_ms.append((time.perf_counter() - t0) * 1000)
                selector_cpu.append(cpu() - c0)
            for _ in range(iterations):
                c0, t0 = cpu(), time.perf_counter()
                response = client.get("/api/hallway/")
                api_ms.append((time.perf_counter() - t0) * 1000)
                api_cpu.append(cpu() - c0)
                assert response.status_code == 200, response.content[:200]
        results.append(
            {
                "tier": tier,
                "members": len(members),
                "samples": len(selector_ms),
                "queries": queries,
                "sections_first_member": sections,
                "selector_p50": statistics.median(selector_ms),
                "selector_p95": percentile(selector_ms, 0.95),
                "api_p50": statistics.median(api_ms),
                "api_p95": percentile(api_ms, 0.95),
                "selector_cpu_p50": statistics.median(selector_cpu),
                "selector_cpu_p95": percentile(selector_cpu, 0.95),
                "api_cpu_p50": statistics.median(api_cpu),
                "api_cpu_p95": percentile(api_cpu, 0.95),
            }
        )
    return results


def explain(tier: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rooms.hallway import hallway_for

    member = bench_members()[tier][0]
    hallway_for(user=member)  # compiled statements, warm caches
    with CaptureQueriesContext(connection) as ctx:
        hallway_for(user=member)
    with connection.cursor() as cursor:
        for query in ctx.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            print("\n".join(row[0] for row in cursor.fetchall()))
            print("-" * 80)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reseed", action="store_true", help="drop the data and seed again")
    parser.add_argument("--iterations", type=int, default=60, help="per member (5 per tier)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE and stop")
    parser.add_argument("--tier", type=int, default=TIERS[-1], choices=TIERS, help="--explain's")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    ensure_database(url)
    setup_django(url)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from moderation.models import Block
    from rooms.models import Room

    complete = (
        get_user_model().objects.count() == MEMBERS
        and Room.objects.filter(state="live").count() == LIVE_ROOMS
        and Block.objects.count() == BLOCKS  # the last table seeded
        # Seeds from before the measured members were named and made blocks of their own are
        # seeded again.
        and Block.objects.filter(blocker__username__startswith=BENCH_PREFIX).count()
        == len(TIERS) * MEMBERS_PER_TIER * BENCH_BLOCKS
    )
    if args.reseed or not complete:
        info = seed()
        print(
            f"seeded in {info['seconds']:.1f} s: {MEMBERS} members, {info['follows']} follows, "
            f"{LIVE_ROOMS} live rooms with {info['participants']} participants, "
            f"{SCHEDULED_ROOMS} scheduled rooms"
        )
    else:
        vacuum_analyze()
    if args.explain:
        explain(args.tier)
        return
    load_before = os.getloadavg()
    results = measure(args.iterations)
    load_after = os.getloadavg()
    print("Wall clock:")
    print("| followees | queries | selector p50 | selector p95 | API p50 | API p95 | cards |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        cards = ", ".join(f"{k} {v}" for k, v in (r["sections_first_member"] or {}).items())
        print(
            f"| {r['tier']:,} | {r['queries']} | {r['selector_p50']:.1f} ms "
            f"| {r['selector_p95']:.1f} ms | {r['api_p50']:.1f} ms | {r['api_p95']:.1f} ms "
            f"| {cards} |"
        )
    print("CPU time (this process + its PostgreSQL backend):")
    print("| followees | selector p50 | selector p95 | API p50 | API p95 |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['tier']:,} | {r['selector_cpu_p50']:.1f} ms | {r['selector_cpu_p95']:.1f} ms "
            f"| {r['api_cpu_p50']:.1f} ms | {r['api_cpu_p95']:.1f} ms |"
        )
    print(f"({results[0]['samples']} samples per tier: {results[0]['members']} members)")
    from django.conf import settings
    from django.core.cache import caches

    cache = type(caches[settings.SESSION_CACHE_ALIAS]).__name__
    print(f"sessions: {settings.SESSION_ENGINE}, cache {cache}")
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (load_before, load_after))
    print(f"load average (1/5/15 min) before: {before}, after: {after}")


if __name__ == "__main__":
    main()
