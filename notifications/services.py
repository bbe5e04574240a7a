"""Notifications: the hooks other apps call, delivery (set-based, chunked, idempotent, pushed
live), reminders, marking read and preferences.

The hooks are cheap for their callers: each only enqueues a Celery task after commit
(``delay_on_commit``); the task takes ids, reloads fresh rows and calls ``deliver`` here.

Delivery writes rows in chunks, each chunk its own transaction, and pushes each chunk to the
recipients' sockets once it is committed: members online get their notice after the first chunk,
not after the whole audience is written, and a retried task resumes without doubles because
every row has a per-recipient ``dedupe_key`` (``INSERT ... ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from accounts.selectors import member_by_username
from audiosocial.errors import Conflict, InvalidInput
from audiosocial.oncommit import delay_on_commit, run_on_commit
from follows.models import Follow
from moderation.models import Report
from notifications import presence, selectors
from notifications.consumers import user_group
from notifications.events import notification_event, notification_payload, unread_count_event
from notifications.models import DisabledKind, MutedActor, Notification, RoomReminder
from rooms.models import Room
from rooms.selectors import room_for_user

User = get_user_model()
K = Notification.Kind
logger = logging.getLogger(__name__)

REMINDER_LEAD = timedelta(minutes=10)
REPORT_CLOSED = (Report.Status.RESOLVED, Report.Status.DISMISSED)
# group_send calls in flight at once when pushing a chunk (one Redis PUBLISH each).
PUSH_CONCURRENCY = 500


def fanout_chunk_size() -> int:
    return max(1, int(settings.NOTIFICATIONS_FANOUT_CHUNK_SIZE))


# --- hooks (the contract other apps call) ------------------------------------------------------
# The tasks module imports this one, so the hooks import it when called.


def notify_followed(*, follower_id: int, followee_id: int) -> None:
    """``follower`` started following ``followee``."""
    from notifications import tasks

    delay_on_commit(tasks.notify_followed_task, follower_id, followee_id)


def notify_room_live(*, room_id: str) -> None:
    """A room went live: fan out to the host's (and announced co-hosts') followers."""
    from notifications import tasks

    delay_on_commit(tasks.room_live_fan_out_task, str(room_id))


def notify_speaker_invited(*, room_id: str, user_id: int, by_id: int) -> None:
    """``by`` invited ``user`` (in the room) to speak."""
    from notifications import tasks

    # Each invitation is its own event (invited, declined, invited again later): the id is made
    # here, once, so a retried or duplicated task still inserts a single row.
    event_id = uuid.uuid4().hex
    delay_on_commit(tasks.notify_speaker_invited_task, str(room_id), user_id, by_id, event_id)


def notify_pinged(*, room_id: str, user_id: int, by_id: int) -> None:
    """``by`` pinged ``user`` into a room."""
    from notifications import tasks

    # Rooms rate-limits pings; one that gets through is a new event (see notify_speaker_invited).
    event_id = uuid.uuid4().hex
    delay_on_commit(tasks.notify_pinged_task, str(room_id), user_id, by_id, event_id)


def notify_invitation_accepted(*, inviter_id: int, new_member_id: int) -> None:
    """Someone signed up with ``inviter``'s invitation."""
    from notifications import tasks

    delay_on_commit(tasks.notify_invitation_accepted_task, inviter_id, new_member_id)


def notify_report_resolved(*, report_id: int) -> None:
    """A report was resolved or dismissed: tell the reporter (no sanction details)."""
    from notifications import tasks

    delay_on_commit(tasks.notify_report_resolved_task, report_id)


# --- delivery ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotificationSpec:
    """Everything a notification says except who receives it."""

    kind: str
    dedupe_key: str
    actor: Any = None
    room: Room | None = None
    target_user: Any = None
    report_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def deliver(*, spec: NotificationSpec, recipient_ids: Sequence[int]) -> int:
    """Write one notification per recipient (already filtered for eligibility) and push each to
    the recipient's open sockets. Idempotent: returns how many rows this call created.

    Deliberately not one transaction: each chunk commits on its own so a large audience never
    holds one long transaction, and each chunk is pushed as soon as it is committed.
    """
    if not recipient_ids:
        return 0
    now = timezone.now()
    template = notification_payload(
        Notification(
            kind=spec.kind,
            actor=spec.actor,
            room=spec.room,
            target_user=spec.target_user,
            report_id=spec.report_id,
            data=spec.data,
            created_at=now,
        )
    )
    # Members with an open socket go first, in chunks of their own: their notice is what a
    # person is waiting to see, and it should not wait behind thousands of offline rows.
    online: set[int] = set()
    if len(recipient_ids) > 1:
        try:
            online = presence.online_user_ids()
        except Exception:  # noqa: BLE001 - only the order suffers; the rows must still be written
            logger.exception("presence unavailable; writing %s in plain order", spec.dedupe_key)
    first = [i for i in recipient_ids if i in online]
    rest = [i for i in recipient_ids if i not in online] if first else list(recipient_ids)
    size = fanout_chunk_size()
    chunks = [part[i : i + size] for part in (first, rest) for i in range(0, len(part), size)]
    started = time.monotonic()
    created = 0
    for chunk in chunks:
        with transaction.atomic():
            rows = _insert_chunk(spec=spec, recipient_ids=chunk, now=now)
            if rows:
                run_on_commit(push_created, rows=rows, template=template)
        created += len(rows)
    if len(recipient_ids) > 1:
        logger.info(
            "%s: %d recipients (%d online), %d new rows in %d chunks, %.3f s",
            spec.dedupe_key,
            len(recipient_ids),
            len(first),
            created,
            len(chunks),
            time.monotonic() - started,
        )
    return created


def _insert_chunk(
    *, spec: NotificationSpec, recipient_ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    """Insert rows for ``recipient_ids``; return (id, recipient_id) of the rows created here."""
    if connection.vendor == "postgresql" and use_sql_fast_path:
        return _insert_chunk_postgresql(spec=spec, recipient_ids=recipient_ids, now=now)
    return _insert_chunk_portable(spec=spec, recipient_ids=recipient_ids, now=now)


# Tests turn this off to run the portable path on PostgreSQL too.
use_sql_fast_path = True


def _insert_chunk_postgresql(
    *, spec: NotificationSpec, recipient_ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    # One set-based statement per chunk; RETURNING lists only rows this statement inserted, so a
    # retried task pushes nothing twice.
    table = Notification._meta.db_table
    sql = f"""
        INSERT INTO {table}
            (recipient_id, kind, actor_id, room_id, target_user_id, report_id, data,
             dedupe_key, created_at, read_at)
        SELECT r.id, %s, %s::bigint, %s::uuid, %s::bigint, %s::bigint, %s::jsonb,
               %s, %s::timestamptz, NULL
        FROM unnest(%s::bigint[]) AS r(id)
        ON CONFLICT (recipient_id, dedupe_key) DO NOTHING
        RETURNING id, recipient_id
    """  # noqa: S608 - the table name comes from the model, every value is a parameter
    params = [
        spec.kind,
        spec.actor.pk if spec.actor is not None else None,
        str(spec.room.pk) if spec.room is not None else None,
        spec.target_user.pk if spec.target_user is not None else None,
        spec.report_id,
        json.dumps(spec.data),
        spec.dedupe_key,
        now,
        # An array literal built here: psycopg's generic list adaptation cost more CPU than the
        # database spent on the rows.
        "{" + ",".join(str(int(i)) for i in recipient_ids) + "}",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(row[0], row[1]) for row in cursor.fetchall()]


def _insert_chunk_portable(
    *, spec: NotificationSpec, recipient_ids: list[int], now: datetime
) -> list[tuple[int, int]]:
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=recipient_id,
                kind=spec.kind,
                actor=spec.actor,
                room=spec.room,
                target_user=spec.target_user,
                report_id=spec.report_id,
                data=spec.data,
                dedupe_key=spec.dedupe_key,
                created_at=now,
            )
            for recipient_id in recipient_ids
        ],
        ignore_conflicts=True,
    )
    # ignore_conflicts hides which rows were new: this call's rows carry its own timestamp.
    return list(
        Notification.objects.filter(
            dedupe_key=spec.dedupe_key, recipient_id__in=recipient_ids, created_at=now
        ).values_list("id", "recipient_id")
    )


def push_created(*, rows: Sequence[tuple[int, int]], template: dict[str, Any]) -> int:
    """Push freshly committed notifications to the recipients who have a socket open.

    Presence is read after the rows are committed: a socket that registers later counts unread
    rows itself when it connects, so no notification falls between the two.
    """
    online = presence.online_among(recipient_id for _, recipient_id in rows)
    if not online:
        return 0
    counts = selectors.unread_counts(user_ids=online)
    messages = [
        (
            user_group(recipient_id),
            {
                "type": "notification.event",
                "event": notification_event({**template, "id": nid}, counts.get(recipient_id, 0)),
            },
        )
        for nid, recipient_id in rows
        if recipient_id in online
    ]
    group_send_many(messages)
    return len(messages)


def group_send_many(messages: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send many channel-layer group messages from sync code, a bounded number in flight."""
    if not messages:
        return
    layer = get_channel_layer()

    async def _send_all() -> None:
        for start in range(0, len(messages), PUSH_CONCURRENCY):
            batch = messages[start : start + PUSH_CONCURRENCY]
            await asyncio.gather(*(layer.group_send(group, msg) for group, msg in batch))

    async_to_sync(_send_all)()


def push_unread_count(*, user_id: int) -> None:
    """Every open tab of the member learns the new count (after marking read elsewhere)."""
    count = selectors.unread_count(user_id=user_id)
    group_send_many(
        [
            (
                user_group(user_id),
                {"type": "notification.event", "event": unread_count_event(count)},
            )
        ]
    )


# --- what each event produces (called by the tasks) -------------------------------------------


def room_live_fan_out(*, room_id: str) -> int:
    """A room went live: "starting now" to those who asked to be reminded, "went live" to the
    followers of the host (and announced co-hosts), each only if they may see the room."""
    room = Room.objects.select_related("host").filter(pk=room_id).first()
    if room is None or room.state != Room.State.LIVE:
        return 0  # ended (or never started) before the task ran: nothing worth announcing
    started = time.monotonic()
    audiences = selectors.room_live_audiences(room=room)
    logger.info(
        "room %s live: audiences (%d starting, %d went_live, %d via co-hosts) read in %.3f s",
        room.pk,
        len(audiences.starting),
        len(audiences.host_followers),
        sum(len(ids) for _, ids in audiences.cohost_followers),
        time.monotonic() - started,
    )
    created = deliver(
        spec=NotificationSpec(
            kind=K.ROOM_STARTING, dedupe_key=f"room_starting:{room.pk}", actor=room.host, room=room
        ),
        recipient_ids=audiences.starting,
    )
    # One dedupe key for every "went live" of this room, whoever it comes from: a member who
    # follows the host and a co-host, or a retried task, still gets a single one.
    went_live = f"went_live:{room.pk}"
    created += deliver(
        spec=NotificationSpec(kind=K.WENT_LIVE, dedupe_key=went_live, actor=room.host, room=room),
        recipient_ids=audiences.host_followers,
    )
    for cohost, recipient_ids in audiences.cohost_followers:
        created += deliver(
            spec=NotificationSpec(
                kind=K.WENT_LIVE,
                dedupe_key=went_live,
                actor=cohost,
                room=room,
                data={"cohost": True, "host": room.host.username},
            ),
            recipient_ids=recipient_ids,
        )
    return created


def reminders_send(*, now: datetime | None = None) -> int:
    """Remind members REMINDER_LEAD before a scheduled room starts. Run every minute by beat;
    idempotent (``reminded_for`` plus the dedupe key, which includes the scheduled time so a
    rescheduled room reminds again)."""
    now = now or timezone.now()
    due = RoomReminder.objects.filter(
        room__state=Room.State.SCHEDULED,
        room__scheduled_for__gt=now,
        room__scheduled_for__lte=now + REMINDER_LEAD,
    ).exclude(reminded_for=F("room__scheduled_for"))
    room_ids = set(due.values_list("room_id", flat=True))
    created = 0
    for room in Room.objects.select_related("host").filter(pk__in=room_ids):
        user_ids = list(due.filter(room_id=room.pk).values_list("user_id", flat=True))
        recipients = list(
            selectors.eligible_recipients(
                candidates=user_ids, kind=K.ROOM_REMINDER, actor_id=room.host_id, room=room
            ).values_list("id", flat=True)
        )
        created += deliver(
            spec=NotificationSpec(
                kind=K.ROOM_REMINDER,
                dedupe_key=f"room_reminder:{room.pk}:{int(room.scheduled_for.timestamp())}",
                actor=room.host,
                room=room,
                data={"scheduled_for": room.scheduled_for.isoformat().replace("+00:00", "Z")},
            ),
            recipient_ids=recipients,
        )
        RoomReminder.objects.filter(room_id=room.pk, user_id__in=user_ids).update(
            reminded_for=room.scheduled_for
        )
    return created


def _deliver_one(*, recipient_id: int, spec: NotificationSpec) -> int:
    actor_id = spec.actor.pk if spec.actor is not None else None
    eligible = selectors.eligible_recipients(
        candidates=[recipient_id], kind=spec.kind, actor_id=actor_id, room=spec.room
    ).exists()
    return deliver(spec=spec, recipient_ids=[recipient_id]) if eligible else 0


def followed_notify(*, follower_id: int, followee_id: int) -> int:
    # Fresh read: an unfollow before the task ran means there is nothing to tell.
    if not Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists():
        return 0
    follower = User.objects.filter(pk=follower_id).first()
    if follower is None:
        return 0
    # One per follower, ever: unfollowing and following again does not notify twice.
    return _deliver_one(
        recipient_id=followee_id,
        spec=NotificationSpec(
            kind=K.FOLLOWED,
            dedupe_key=f"followed:{follower_id}",
            actor=follower,
            target_user=follower,
        ),
    )


def _open_room_and_actor(
    room_id: str, by_id: int, *, states: Iterable[str] = (Room.State.LIVE,)
) -> tuple[Room | None, Any]:
    room = Room.objects.select_related("host").filter(pk=room_id, state__in=list(states)).first()
    actor = User.objects.filter(pk=by_id).first()
    return room, actor


def speaker_invited_notify(*, room_id: str, user_id: int, by_id: int, event_id: str) -> int:
    room, actor = _open_room_and_actor(room_id, by_id)
    if room is None or actor is None:
        return 0
    return _deliver_one(
        recipient_id=user_id,
        spec=NotificationSpec(
            kind=K.SPEAKER_INVITED,
            dedupe_key=f"speaker_invited:{room.pk}:{event_id}",
            actor=actor,
            room=room,
        ),
    )


def pinged_notify(*, room_id: str, user_id: int, by_id: int, event_id: str) -> int:
    # Rooms also "pings" a member it invites into a closed room, possibly before it starts.
    room, actor = _open_room_and_actor(
        room_id, by_id, states=(Room.State.LIVE, Room.State.SCHEDULED)
    )
    if room is None or actor is None:
        return 0
    return _deliver_one(
        recipient_id=user_id,
        spec=NotificationSpec(
            kind=K.PINGED, dedupe_key=f"pinged:{room.pk}:{event_id}", actor=actor, room=room
        ),
    )


def invitation_accepted_notify(*, inviter_id: int, new_member_id: int) -> int:
    new_member = User.objects.filter(pk=new_member_id).first()
    if new_member is None:
        return 0
    return _deliver_one(
        recipient_id=inviter_id,
        spec=NotificationSpec(
            kind=K.INVITATION_ACCEPTED,
            dedupe_key=f"invitation_accepted:{new_member_id}",
            actor=new_member,
            target_user=new_member,
        ),
    )


def report_resolved_notify(*, report_id: int) -> int:
    report = (
        Report.objects.filter(pk=report_id, status__in=REPORT_CLOSED)
        .values("reporter_id", "status")
        .first()
    )
    if report is None or report["reporter_id"] is None:
        return 0
    # No actor (moderators stay anonymous) and no sanction details: only that it was reviewed.
    return _deliver_one(
        recipient_id=report["reporter_id"],
        spec=NotificationSpec(
            kind=K.REPORT_RESOLVED,
            dedupe_key=f"report_resolved:{report_id}",
            report_id=report_id,
            data={"status": report["status"]},
        ),
    )


# --- the member's own actions (REST) -----------------------------------------------------------


@transaction.atomic
def notifications_mark_read(
    *, user: Any, ids: Iterable[int] | None = None, everything: bool = False
) -> int:
    """Mark some (ids not the member's own are ignored) or all unread notifications read."""
    if not everything and ids is None:
        raise InvalidInput("Send 'ids' or 'all': true.", code="nothing_to_mark")
    qs = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if not everything:
        # Numbers beyond the bigint id column cannot be ids, and would overflow the query.
        qs = qs.filter(id__in=[i for i in ids or [] if 0 < i < 2**63])
    marked = qs.update(read_at=timezone.now())
    if marked:
        run_on_commit(push_unread_count, user_id=user.pk)
    return marked


@transaction.atomic
def preferences_update(*, user: Any, kinds: dict[str, bool]) -> set[str]:
    """Switch kinds on or off; returns the kinds now off."""
    unknown = sorted(set(kinds) - set(K.values))
    if unknown:
        raise InvalidInput(
            f"Unknown notification kind: {', '.join(unknown)}.",
            code="unknown_kind",
            details={"kinds": unknown, "known": list(K.values)},
        )
    off = [k for k, enabled in kinds.items() if not enabled]
    on = [k for k, enabled in kinds.items() if enabled]
    if on:
        DisabledKind.objects.filter(user_id=user.pk, kind__in=on).delete()
    if off:
        DisabledKind.objects.bulk_create(
            [DisabledKind(user_id=user.pk, kind=k) for k in off], ignore_conflicts=True
        )
    return selectors.disabled_kinds_for(user_id=user.pk)


@transaction.atomic
def actor_mute(*, user: Any, username: str) -> Any:
    """Stop notifications caused by a member (they are not told)."""
    target = member_by_username(username=username)
    if target.pk == user.pk:
        raise InvalidInput("You cannot mute your own notifications.", code="self_mute")
    MutedActor.objects.get_or_create(user_id=user.pk, muted_id=target.pk)
    return target


@transaction.atomic
def actor_unmute(*, user: Any, username: str) -> Any:
    target = member_by_username(username=username)
    MutedActor.objects.filter(user_id=user.pk, muted_id=target.pk).delete()
    return target


@transaction.atomic
def room_reminder_set(*, user: Any, room_id: str) -> RoomReminder:
    """ "Remind me": a notice 10 minutes before the scheduled start, and one when it starts."""
    room = room_for_user(user=user, room_id=room_id)
    if room.host_id == user.pk:
        raise Conflict("You host this room; reminders are for its audience.", code="own_room")
    if room.state != Room.State.SCHEDULED:
        raise Conflict(
            "Reminders are only for scheduled rooms that have not started.",
            code="room_not_scheduled",
        )
    reminder, _ = RoomReminder.objects.get_or_create(user_id=user.pk, room_id=room.pk)
    return reminder


@transaction.atomic
def room_reminder_clear(*, user: Any, room_id: str) -> None:
    room = room_for_user(user=user, room_id=room_id)
    RoomReminder.objects.filter(user_id=user.pk, room_id=room.pk).delete()
