"""Hallway benchmark on PostgreSQL (issue 4; figures in docs/benchmarks.md).

Seeds a dedicated database with 10,000 members, 500,000 follows (power law: a few members are
followed by thousands), 1,000 live rooms with their participants (1 host, 1-12 speakers,
0-2,000 listeners each), 500 scheduled rooms, 5,000 blocks (20 made by each measured member, so
their cards carry block warnings), invitations to closed rooms and bans;
then measures, for members following 10, 500 and 5,000 people, ``rooms.hallway.hallway_for``
(queries and assembled cards), the whole ``GET /api/hallway/`` request (Django test client:
middleware, session, view, JSON) and the anchor the issue judges them by: the same page in
hand-written SQL (3 queries, checked to give the selector's cards), all three called in turn
so that the ratios hold on a busy machine.

    .venv/bin/python benchmarks/hallway.py              # seed if empty, then measure
    .venv/bin/python benchmarks/hallway.py --reseed     # drop the data and seed again
    .venv/bin/python benchmarks/hallway.py --explain    # EXPLAIN ANALYZE the hallway's queries
    .venv/bin/python benchmarks/hallway.py --explain --tier 10   # ... for a member following 10

Before measuring, ``VACUUM (ANALYZE)`` brings the planner's statistics and the visibility map
(index-only scans) to where autovacuum keeps a live database. The load average is printed with
the figures: on a shared machine it moves them more than anything else.

``BENCH_DATABASE_URL`` overrides the database (default
``postgres://postgres@127.0.0.1:5432/as_bench_hallway``); it is created when missing. Sessions
are cached in Redis as deployed (``REDIS_URL``, default ``redis://127.0.0.1:6379/13``; set it
empty to measure with the in-process cache).
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
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"

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
    # Sessions as a deployment on PostgreSQL keeps them: cached in Redis (REDIS_URL= measures
    # without). A database of its own, so the benchmark's sessions meet nobody's keys.
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
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
    with transaction.atomic(), connection.cursor() as cursor:
        # The members' follow counts (a trigger keeps them one row at a time) are counted once
        # after the copy instead, as the migration that made the trigger does.
        cursor.execute("ALTER TABLE follows_follow DISABLE TRIGGER follows_follow_counts")
        _copy(
            Follow,
            ["follower_id", "followee_id", "created_at"],
            (
                (int(ids[a]), int(ids[b]), start + timedelta(seconds=n))
                for n, (a, b) in enumerate(pairs)
            ),
        )
        # The foreign keys are checked at commit; checked now, no trigger event is pending and
        # the table can be altered again.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE follows_follow ENABLE TRIGGER follows_follow_counts")
        cursor.execute(
            f"UPDATE {User._meta.db_table} u SET"  # noqa: S608 - table names only
            " follower_count = (SELECT COUNT(*) FROM follows_follow f WHERE f.followee_id = u.id),"
            " following_count = (SELECT COUNT(*) FROM follows_follow f WHERE f.follower_id = u.id)"
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


# --- The anchor: the same hallway in hand-written SQL ------------------------------------------
#
# The issue judges the ORM against hand-written SQL for the same hallway on the same seed and
# machine (3 queries). Its absolute figures came from another machine, so the benchmark measures
# the anchor here, in the same run and interleaved call by call with the selector and the API
# (run-to-run noise on a shared machine then falls on all three alike), and judges the ratios.
# The anchor is what one would write by hand without the ORM: the visibility rule as
# NOT EXISTS/IN tests on the same indexes, the same three sections in one ordered statement,
# the same previews and names; its pages are checked equal to the selector's before timing.

# Visibility for a room row ``r`` (the rule of rooms.selectors.visible_rooms_q), over the sets the
# statement gathers once as CTEs.
_ANCHOR_VISIBLE = """
      (r.host_id = %(me)s OR r.visibility = 'public'
       OR (r.visibility = 'followers' AND r.host_id IN (SELECT id FROM followees))
       OR r.id IN (SELECT room_id FROM invited) OR r.id IN (SELECT room_id FROM mine WHERE active))
  AND r.host_id NOT IN (SELECT id FROM hidden_hosts)
  AND r.id NOT IN (SELECT room_id FROM mine WHERE removed)
  AND (r.id NOT IN (SELECT room_id FROM closed) OR r.host_id = %(me)s
       OR r.id IN (SELECT room_id FROM mine WHERE active))
"""

# The page's rooms: the member's sets once (followees; hosts hidden by a block either way or a
# sanction; their own participations; rooms a co-moderator's block closes; invitations), then
# each section with its own order and limit (the other public rooms read in listener order and
# stop at the page's end), then the page. The followee count rides along (the previews'
# form depends on it).
_ANCHOR_ROOMS = """
WITH followees AS MATERIALIZED (
    SELECT followee_id AS id FROM follows_follow WHERE follower_id = %(me)s
), hidden_hosts AS MATERIALIZED (
    SELECT blocked_id AS id FROM moderation_block WHERE blocker_id = %(me)s
    UNION ALL SELECT blocker_id FROM moderation_block WHERE blocked_id = %(me)s
    UNION ALL SELECT user_id FROM moderation_sanction s
    WHERE s.kind IN ('suspension', 'ban') AND s.lifted_at IS NULL AND s.starts_at <= %(now)s
      AND (s.ends_at IS NULL OR s.ends_at > %(now)s)
), mine AS MATERIALIZED (
    SELECT room_id, removed, left_at IS NULL AS active FROM rooms_participant
    WHERE user_id = %(me)s AND (left_at IS NULL OR removed)
), closed AS MATERIALIZED (
    SELECT m.room_id FROM moderation_block b
    JOIN rooms_participant m ON m.user_id = b.blocker_id AND m.left_at IS NULL
         AND m.role IN ('host', 'moderator')
    WHERE b.blocked_id = %(me)s
), invited AS MATERIALIZED (
    SELECT room_id FROM rooms_roominvite WHERE user_id = %(me)s
), stage AS MATERIALIZED (
    -- Not through the CTE: the planner needs the follows statistics to hash-join many.
    SELECT p.room_id, count(*) AS n FROM rooms_participant p
    WHERE p.user_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(me)s)
      AND p.left_at IS NULL AND p.role IN ('host', 'moderator', 'speaker')
    GROUP BY p.room_id
)
SELECT page.*, (SELECT count(*) FROM followees) FROM (
    (SELECT r.id, r.title, r.topic, r.visibility, r.state, r.speakers_count, r.listeners_count,
            r.started_at, r.scheduled_for, r.host_id, 0 AS section, s.n AS on_stage
     FROM stage s JOIN rooms_room r ON r.id = s.room_id
     WHERE r.state = 'live' AND {visible}
     ORDER BY s.n DESC, r.listeners_count DESC, r.id LIMIT %(limit)s)
    UNION ALL
    (SELECT r.id, r.title, r.topic, r.visibility, r.state, r.speakers_count, r.listeners_count,
            r.started_at, r.scheduled_for, r.host_id, 1, 0
     FROM rooms_room r
     WHERE r.state = 'scheduled' AND r.host_id IN (SELECT id FROM followees)
       AND r.scheduled_for >= %(not_before)s AND {visible}
     ORDER BY r.scheduled_for, r.id LIMIT %(limit)s)
    UNION ALL
    (SELECT r.id, r.title, r.topic, r.visibility, r.state, r.speakers_count, r.listeners_count,
            r.started_at, r.scheduled_for, r.host_id, 2, 0
     FROM rooms_room r
     WHERE r.state = 'live' AND r.visibility = 'public'
       AND r.id NOT IN (SELECT room_id FROM stage) AND {visible}
     ORDER BY r.listeners_count DESC, r.id LIMIT %(limit)s)
) page
WHERE NOT EXISTS (
    SELECT 1 FROM moderation_sanction s
    WHERE s.user_id = %(me)s AND s.kind IN ('suspension', 'ban') AND s.lifted_at IS NULL
      AND s.starts_at <= %(now)s AND (s.ends_at IS NULL OR s.ends_at > %(now)s))
ORDER BY section, on_stage DESC, scheduled_for, listeners_count DESC, id
LIMIT %(limit)s
""".replace("{visible}", _ANCHOR_VISIBLE)

_ANCHOR_STAGE = """
SELECT 0, room_id, user_id, rank, blocked FROM (
    SELECT p.room_id, p.user_id,
           row_number() OVER (
               PARTITION BY p.room_id
               ORDER BY p.user_id IN (
                            SELECT followee_id FROM follows_follow WHERE follower_id = %(me)s
                        ) DESC,
                        CASE p.role WHEN 'host' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END,
                        p.joined_at, p.id) AS rank,
           (p.user_id IN (SELECT blocked_id FROM moderation_block
                          WHERE blocker_id = %(me)s))::int AS blocked
    FROM rooms_participant p
    WHERE p.room_id = ANY(%(rooms)s) AND p.left_at IS NULL
      AND p.role IN ('host', 'moderator', 'speaker')
) stage WHERE rank <= %(previews)s OR blocked = 1
"""

# Followed listeners, ranked and counted by windows over the matches (the planner finds a few
# followees' seats from the followed side, many by a hash join)...
_ANCHOR_LISTENERS_FEW = """
SELECT 1, room_id, user_id, rank, total FROM (
    SELECT p.room_id, p.user_id,
           row_number() OVER (PARTITION BY p.room_id ORDER BY p.joined_at, p.user_id) AS rank,
           count(*) OVER (PARTITION BY p.room_id) AS total
    FROM rooms_participant p
    WHERE p.room_id = ANY(%(rooms)s) AND p.left_at IS NULL AND p.role = 'listener'
      AND p.user_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(me)s)
) listeners WHERE rank <= %(previews)s
"""

# ... or, for a member who follows thousands (most of a room's listeners match), counted by
# grouping and the first few read per room in arrival order, each checked by a key probe: the
# windows would sort thousands of matches (7.2 against 4.5 ms at 5,000 followees; at 500 the
# windows win, 3.5 against 5.6 ms).
_ANCHOR_LISTENERS_MANY = """
SELECT 1, c.room_id, l.user_id, l.rank, c.total
FROM (
    SELECT p.room_id, count(*) AS total FROM rooms_participant p
    WHERE p.room_id = ANY(%(rooms)s) AND p.left_at IS NULL AND p.role = 'listener'
      AND p.user_id IN (SELECT followee_id FROM follows_follow WHERE follower_id = %(me)s)
    GROUP BY p.room_id
) c
CROSS JOIN LATERAL (
    SELECT p.user_id, row_number() OVER (ORDER BY p.joined_at, p.user_id) AS rank
    FROM rooms_participant p
    WHERE p.room_id = c.room_id AND p.left_at IS NULL AND p.role = 'listener'
      AND EXISTS (SELECT 1 FROM follows_follow f
                  WHERE f.follower_id = %(me)s AND f.followee_id = p.user_id)
    ORDER BY p.joined_at, p.user_id LIMIT %(previews)s
) l
"""
_ANCHOR_MANY_FOLLOWEES = 2_000

_ANCHOR_PEOPLE = """
SELECT id, username, display_name, avatar, is_active FROM accounts_user WHERE id = ANY(%(ids)s)
"""


def anchor_page(member_id: int, limit: int = 20) -> list[tuple]:
    """The first hallway page of ``member_id`` in hand-written SQL (3 queries), as the tuples
    ``card_key`` makes of the selector's cards."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from rooms.hallway import FOLLOWED_PREVIEWS, SECTIONS, SPEAKER_PREVIEWS

    now = timezone.now()
    not_before = now - timedelta(hours=settings.ROOM_SCHEDULE_EXPIRY_HOURS)
    raw = connection.cursor().cursor  # psycopg's own cursor: no Django wrapper
    raw.execute(
        _ANCHOR_ROOMS,
        {"me": member_id, "now": now, "not_before": not_before, "limit": limit + 1},
    )
    rooms = raw.fetchall()[:limit]
    if not rooms:
        return []
    listeners_sql = (
        _ANCHOR_LISTENERS_MANY if rooms[0][12] >= _ANCHOR_MANY_FOLLOWEES else _ANCHOR_LISTENERS_FEW
    )
    previews = max(SPEAKER_PREVIEWS, FOLLOWED_PREVIEWS)
    raw.execute(
        _ANCHOR_STAGE + "UNION ALL" + listeners_sql,
        {"me": member_id, "rooms": [r[0] for r in rooms], "previews": previews},
    )
    seats: dict = {}
    listeners: dict = {}
    totals: dict = {}
    blocked: dict = {}
    for kind, room_id, user_id, rank, extra in raw.fetchall():
        if kind == 1:
            listeners.setdefault(room_id, []).append((rank, user_id))
            totals[room_id] = extra
            continue
        if rank <= previews:
            seats.setdefault(room_id, []).append((rank, user_id))
        if extra:
            blocked.setdefault(room_id, []).append((rank, user_id))
    shown = {}
    wanted = {r[9] for r in rooms}
    for r in rooms:
        room_id, on_stage = r[0], r[11]
        stage = [m for _, m in sorted(seats.get(room_id, ()))]
        followed = (stage[:on_stage] + [m for _, m in sorted(listeners.get(room_id, ()))])[
            :FOLLOWED_PREVIEWS
        ]
        warned = [m for _, m in sorted(blocked.get(room_id, ()))]
        shown[room_id] = (stage[:SPEAKER_PREVIEWS], followed, warned)
        wanted.update(stage[:SPEAKER_PREVIEWS], followed, warned)
    raw.execute(_ANCHOR_PEOPLE, {"ids": sorted(wanted)})
    people = {row[0]: row for row in raw.fetchall()}
    page = []
    for r in rooms:
        room_id, host_id, on_stage = r[0], r[9], r[11]
        host = people.get(host_id)
        if host is None or not host[4]:
            continue
        speakers, followed, warned = shown[room_id]
        page.append(
            (
                SECTIONS[r[10]],
                room_id,
                r[1],
                r[5],
                r[6],
                on_stage,
                on_stage + totals.get(room_id, 0),
                host[1],
                tuple(people[m][1] for m in speakers if m in people),
                tuple(people[m][1] for m in followed if m in people),
                tuple(people[m][1] for m in warned if m in people),
            )
        )
    return page


def card_key(card) -> tuple:
    """What a card shows, comparable between the selector and the anchor."""
    room = card.room
    return (
        card.section,
        room.pk,
        room.title,
        room.speakers_count,
        room.listeners_count,
        card.followed_on_stage_count,
        card.followed_in_room_count,
        room.host.username,
        tuple(p.username for p in card.speakers),
        tuple(p.username for p in card.followed_in_room),
        tuple(p.username for p in card.blocked_on_stage),
    )


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
    """Per tier: the anchor, the selector and the API request, called in turn (the order
    rotating each round) so that whatever else the machine does falls on all three alike."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rooms.hallway import hallway_for

    results = []
    for tier, members in bench_members().items():
        wall: dict[str, list[float]] = {"anchor": [], "selector": [], "api": []}
        cpu_ms: dict[str, list[float]] = {"anchor": [], "selector": [], "api": []}
        queries = sections = None
        for member in members:
            with CaptureQueriesContext(connection) as ctx:
                page = hallway_for(user=member)
            queries = len(ctx.captured_queries)
            # The anchor must do the selector's work: the same cards, showing the same people.
            selector_page = [card_key(card) for card in page.cards]
            anchor = anchor_page(member.pk)
            if anchor != selector_page:
                raise SystemExit(f"the anchor's page differs from the selector's for {member}")
            counts: dict[str, int] = {}
            for card in page.cards:
                counts[card.section] = counts.get(card.section, 0) + 1
                if card.blocked_on_stage:
                    counts["warned"] = counts.get("warned", 0) + 1
            sections = counts
            client = Client(HTTP_HOST="localhost")
            client.force_login(member)

            def api(client=client) -> None:
                response = client.get("/api/hallway/")
                assert response.status_code == 200, response.content[:200]

            calls = {
                "anchor": lambda member=member: anchor_page(member.pk),
                "selector": lambda member=member: hallway_for(user=member),
                "api": api,
            }
            for _ in range(5):  # warm caches and connections
                for call in calls.values():
                    call()
            cpu = CpuClock()  # the connection's backend, now that it is open
            names = list(calls)
            for n in range(iterations):
                for name in names[n % 3 :] + names[: n % 3]:
                    c0, t0 = cpu(), time.perf_counter()
                    calls[name]()
                    wall[name].append((time.perf_counter() - t0) * 1000)
                    cpu_ms[name].append(cpu() - c0)
        result = {
            "tier": tier,
            "members": len(members),
            "samples": len(wall["selector"]),
            "queries": queries,
            "sections_first_member": sections,
        }
        for name in calls:
            result[f"{name}_p50"] = statistics.median(wall[name])
            result[f"{name}_p95"] = percentile(wall[name], 0.95)
            result[f"{name}_cpu_p50"] = statistics.median(cpu_ms[name])
            result[f"{name}_cpu_p95"] = percentile(cpu_ms[name], 0.95)
        results.append(result)
    return results


def measure_room_reads(iterations: int) -> dict[str, float]:
    """``room_for_user`` and ``can_see_room`` (every room call, page and socket) for a member
    following 500 people and a live public room: the visibility rule compiled once (as served)
    against the rule built by the ORM on each call (its fallback), called in turn; CPU medians."""
    from rooms import selectors
    from rooms.models import Room

    member = bench_members()[500][0]
    room = Room.objects.filter(state="live", visibility="public").order_by("pk").first()
    compiled_rules = dict(selectors._visible_rules)
    real_compile = selectors._compile_visible_rule

    def use(compiled: bool) -> None:
        selectors._visible_rules.clear()
        selectors._compile_visible_rule = real_compile if compiled else (lambda connection: None)

    calls = {
        "room_for_user": lambda: selectors.room_for_user(user=member, room_id=room.pk),
        "can_see_room": lambda: selectors.can_see_room(user=member, room=room),
    }
    samples: dict[str, list[float]] = {}
    cpu = CpuClock()
    try:
        for compiled in (True, False):
            use(compiled)
            for call in calls.values():
                call()  # compile (or not) before timing
            rules = dict(selectors._visible_rules)
            for _ in range(iterations):
                for name, call in calls.items():
                    selectors._visible_rules.update(rules)
                    c0 = cpu()
                    call()
                    label = f"{name} ({'compiled' if compiled else 'ORM'})"
                    samples.setdefault(label, []).append(cpu() - c0)
    finally:
        selectors._compile_visible_rule = real_compile
        selectors._visible_rules.clear()
        selectors._visible_rules.update(compiled_rules)
    return {label: statistics.median(values) for label, values in samples.items()}


def measure_search(iterations: int) -> dict[str, float]:
    """``follows.selectors.member_search`` (``GET /api/users/?q=``, the people page) for a member
    following 500: a query every member matches ("member": all display names start so, the
    worst case of "most followed first"), and a narrower one; CPU medians."""
    from follows.selectors import member_search

    viewer = bench_members()[500][0]
    cpu = CpuClock()
    medians = {}
    for query in ("member", "m1", "bench5000"):
        member_search(viewer=viewer, query=query)
        samples = []
        for _ in range(iterations):
            c0 = cpu()
            member_search(viewer=viewer, query=query)
            samples.append(cpu() - c0)
        medians[query] = statistics.median(samples)
    return medians


def measure_suggestions(iterations: int) -> dict[int, float]:
    """``follows.selectors.suggestions_for`` (the people page, ``GET /api/suggestions/``)
    for the first member of each tier: CPU median."""
    from follows.selectors import suggestions_for

    cpu = CpuClock()
    medians = {}
    for tier, members in bench_members().items():
        member = members[0]
        suggestions_for(user=member)
        samples = []
        for _ in range(iterations):
            c0 = cpu()
            suggestions_for(user=member)
            samples.append(cpu() - c0)
        medians[tier] = statistics.median(samples)
    return medians


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
    print("Wall clock (p50 / p95):")
    print("| followees | queries | anchor | selector | API | cards |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in results:
        cards = ", ".join(f"{k} {v}" for k, v in (r["sections_first_member"] or {}).items())
        print(
            f"| {r['tier']:,} | {r['queries']} | {r['anchor_p50']:.1f} / {r['anchor_p95']:.1f} ms "
            f"| {r['selector_p50']:.1f} / {r['selector_p95']:.1f} ms "
            f"| {r['api_p50']:.1f} / {r['api_p95']:.1f} ms | {cards} |"
        )
    print("CPU time (this process + its PostgreSQL backend; p50 / p95):")
    print("| followees | anchor | selector | API |")
    print("|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['tier']:,} | {r['anchor_cpu_p50']:.1f} / {r['anchor_cpu_p95']:.1f} ms "
            f"| {r['selector_cpu_p50']:.1f} / {r['selector_cpu_p95']:.1f} ms "
            f"| {r['api_cpu_p50']:.1f} / {r['api_cpu_p95']:.1f} ms |"
        )
    print("Against the anchor (p95 / anchor p95; targets: selector 1.5x, API 2x):")
    print("| followees | selector, wall | selector, CPU | API, wall | API, CPU |")
    print("|---:|---:|---:|---:|---:|")
    for r in results:
        ratios = [
            r[f"{name}_{clock}p95"] / r[f"anchor_{clock}p95"]
            for name in ("selector", "api")
            for clock in ("", "cpu_")
        ]
        print("| " + f"{r['tier']:,} | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |")
    suggestions = measure_suggestions(max(5, args.iterations // 3))
    print(
        "Suggestions (CPU, median): "
        + ", ".join(f"{k:,} followees {v:.1f} ms" for k, v in suggestions.items())
    )
    search = measure_search(max(5, args.iterations // 3))
    print(
        "Member search (CPU, median): " + ", ".join(f"{q!r} {v:.1f} ms" for q, v in search.items())
    )
    reads = measure_room_reads(args.iterations * 5)
    print("One room's visibility for a member following 500 (CPU, median):")
    print(", ".join(f"{label} {ms:.2f} ms" for label, ms in reads.items()))
    print(f"({results[0]['samples']} samples per tier: {results[0]['members']} members)")
    from django.conf import settings
    from django.core.cache import caches

    cache = type(caches[settings.SESSION_CACHE_ALIAS]).__name__
    print(f"sessions: {settings.SESSION_ENGINE}, cache {cache}")
    before, after = (" ".join(f"{x:.2f}" for x in load) for load in (load_before, load_after))
    print(f"load average (1/5/15 min) before: {before}, after: {after}")


if __name__ == "__main__":
    main()
