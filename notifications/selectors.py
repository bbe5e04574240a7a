"""Reads: who may receive a notification (set-based), a member's notifications and counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from follows.models import Follow
from moderation.models import Block
from moderation.selectors import (
    blocked_user_ids_q,
    restricted_sanctions,
    user_ids_closed_out_of,
)
from notifications.models import DisabledKind, MutedActor, Notification, RoomReminder
from rooms.models import Participant, Room, RoomInvite

User = get_user_model()


# --- audiences ---------------------------------------------------------------------------------


def room_audience_q(*, room: Room) -> Q:
    """A ``User`` filter: who may see ``room``, for a whole audience in one query.

    ``rooms.selectors.visible_rooms_q`` answers the same question from the member's side (rooms
    one member may see); this is its transpose, for fan-out. Together with the active and
    not-restricted filters of ``eligible_recipients`` it is the same rule (docs/rooms.md), and
    tests/notifications/test_audience.py checks that the two agree: the host, current
    participants and invited members; beyond them public → every member, followers → the host's
    followers, closed → nobody else; never across a block with the host, never a removed member,
    never a member a current co-moderator blocked (unless inside already).
    """
    invited = RoomInvite.objects.filter(room_id=room.pk).values("user_id")
    inside = Participant.objects.filter(room_id=room.pk, left_at__isnull=True).values("user_id")
    q = Q(id=room.host_id) | Q(id__in=invited) | Q(id__in=inside)
    if room.visibility == Room.Visibility.PUBLIC:
        q = Q()
    elif room.visibility == Room.Visibility.FOLLOWERS:
        q |= Q(id__in=Follow.objects.filter(followee_id=room.host_id).values("follower_id"))
    blocked, blockers = blocked_user_ids_q(user_id=room.host_id)
    removed = Participant.objects.filter(room_id=room.pk, removed=True).values("user_id")
    # A current co-moderator's block keeps a member out too, unless they host it or are inside.
    closed_out = (
        ~Q(id__in=user_ids_closed_out_of(room=room)) | Q(id=room.host_id) | Q(id__in=inside)
    )
    return q & ~Q(id__in=blocked) & ~Q(id__in=blockers) & ~Q(id__in=removed) & closed_out


def eligible_recipients(
    *,
    candidates: QuerySet | Iterable[int],
    kind: str,
    actor_id: int | None,
    room: Room | None = None,
) -> QuerySet:
    """The candidates who should get a ``kind`` notification caused by ``actor``: active, not
    suspended or banned, the kind switched on, the actor neither muted nor blocked either way,
    and (for room kinds) allowed to see the room. One query, whatever the number of candidates."""
    if not isinstance(candidates, QuerySet):
        candidates = list(candidates)
    qs = User.objects.filter(id__in=candidates, is_active=True)
    qs = qs.exclude(id__in=restricted_sanctions().values("user_id"))
    qs = qs.exclude(id__in=DisabledKind.objects.filter(kind=kind).values("user_id"))
    if actor_id is not None:
        blocked, blockers = blocked_user_ids_q(user_id=actor_id)
        qs = qs.exclude(id=actor_id)
        qs = qs.exclude(id__in=MutedActor.objects.filter(muted_id=actor_id).values("user_id"))
        qs = qs.exclude(id__in=blocked).exclude(id__in=blockers)
    if room is not None:
        qs = qs.filter(room_audience_q(room=room))
    return qs


def announced_cohosts(*, room: Room) -> list[Any]:
    """The room's announced co-hosts who may still speak for it: active, not suspended or
    banned, not blocked either way with the host. No query without co-hosts, one with."""
    if not room.cohost_ids:
        return []
    blocked, blockers = blocked_user_ids_q(user_id=room.host_id)
    found = {
        u.pk: u
        for u in User.objects.filter(pk__in=room.cohost_ids, is_active=True)
        .exclude(id__in=restricted_sanctions().values("user_id"))
        .exclude(id__in=blocked)
        .exclude(id__in=blockers)
    }
    return [found[pk] for pk in room.cohost_ids if pk in found]


@dataclass
class LiveAudiences:
    """Who hears that a room went live, each member once: "starting now" for those who asked
    to be reminded, then "went live" for the host's followers, then for each announced co-host
    the followers not reached already."""

    starting: list[int]
    host_followers: list[int]
    cohost_followers: list[tuple[Any, list[int]]] = field(default_factory=list)


def room_live_audiences(*, room: Room) -> LiveAudiences:
    """The audiences of a room that just went live (``LiveAudiences``).

    Members who asked to be reminded get "starting now" even if they do not follow the host;
    a follower who asked gets only that one, so nobody hears about the same start twice. A
    follower of an announced co-host hears it from the co-host (who is the actor: their mutes
    and blocks apply), unless they muted the host. One query per audience.
    """
    K = Notification.Kind
    reminded = RoomReminder.objects.filter(room_id=room.pk).values("user_id")
    starting = list(
        eligible_recipients(
            candidates=reminded, kind=K.ROOM_STARTING, actor_id=room.host_id, room=room
        ).values_list("id", flat=True)
    )
    followers = Follow.objects.filter(followee_id=room.host_id).values("follower_id")
    skip = set(starting)
    live = [
        user_id
        for user_id in eligible_recipients(
            candidates=followers, kind=K.WENT_LIVE, actor_id=room.host_id, room=room
        ).values_list("id", flat=True)
        if user_id not in skip
    ]
    audiences = LiveAudiences(starting=starting, host_followers=live)
    skip.update(live)
    muted_host = MutedActor.objects.filter(muted_id=room.host_id).values("user_id")
    for cohost in announced_cohosts(room=room):
        theirs = Follow.objects.filter(followee_id=cohost.pk).values("follower_id")
        ids = [
            user_id
            for user_id in eligible_recipients(
                candidates=theirs, kind=K.WENT_LIVE, actor_id=cohost.pk, room=room
            )
            .exclude(id=room.host_id)
            .exclude(id__in=muted_host)
            .values_list("id", flat=True)
            if user_id not in skip
        ]
        skip.update(ids)
        audiences.cohost_followers.append((cohost, ids))
    return audiences


# --- a member's notifications ------------------------------------------------------------------


def visible_notifications() -> QuerySet[Notification]:
    """Notifications hide when recipient and actor block each other, even ones made before."""
    return Notification.objects.exclude(
        Exists(
            Block.objects.filter(
                blocker_id=OuterRef("recipient_id"), blocked_id=OuterRef("actor_id")
            )
        )
    ).exclude(
        Exists(
            Block.objects.filter(
                blocker_id=OuterRef("actor_id"), blocked_id=OuterRef("recipient_id")
            )
        )
    )


def notifications_for(*, user_id: int) -> QuerySet[Notification]:
    return (
        visible_notifications()
        .filter(recipient_id=user_id)
        .select_related("actor", "room", "target_user")
        .order_by("-created_at", "-id")
    )


def unread_count(*, user_id: int) -> int:
    return visible_notifications().filter(recipient_id=user_id, read_at__isnull=True).count()


def unread_counts(*, user_ids: Iterable[int]) -> dict[int, int]:
    """Unread counts of many members in one query (members with none are absent → 0)."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = (
        visible_notifications()
        .filter(recipient_id__in=ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("recipient_id", "n")
    )
    return dict(rows)


def disabled_kinds_for(*, user_id: int) -> set[str]:
    return set(DisabledKind.objects.filter(user_id=user_id).values_list("kind", flat=True))


def muted_for(*, user_id: int) -> QuerySet[MutedActor]:
    """The members ``user_id`` muted, newest first, for the API and the settings page.
    Deactivated members are left out (unmuting them by name would be a 404); the mute stays."""
    return (
        MutedActor.objects.filter(user_id=user_id, muted__is_active=True)
        .select_related("muted")
        .order_by("-created_at", "-id")
    )


def has_reminder(*, user_id: int, room_id: str) -> bool:
    return RoomReminder.objects.filter(user_id=user_id, room_id=room_id).exists()
