"""The hallway: the rooms a member sees on opening the app, in three sections.

1. ``following``: live rooms that someone the member follows hosts or is on stage in, ranked by
   how many followed people are on stage, then by listener count;
2. ``upcoming``: scheduled rooms hosted by people the member follows, soonest first;
3. ``live``: the other live public rooms, by listener count.

Only rooms the member may see appear (``rooms.selectors.visible_rooms_q``, the one visibility
rule shared with the API and the WebSocket), and never rooms whose host is suspended or banned.

Query count, whatever the number of rooms or of people followed: one query per section at or
after the cursor's section (three on the first page), plus two for the cards' people (speaker
previews and followed people in the room). The followed set is never loaded into Python: it is
a subquery served by the unique (follower, followee) index. Counts come from the denormalised
``Room.speakers_count`` / ``listeners_count``; the only aggregate is "followed people on stage",
computed over the partial index ``rooms_active_on_stage``.

Pagination is keyset: the cursor holds the section and the sort key of the last card. Listener
counts move while a member scrolls, so a room can move between pages; clients dedupe by id.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from audiosocial.errors import InvalidInput
from follows.models import Follow
from moderation.selectors import restricted_sanctions
from rooms.models import Participant, Room
from rooms.selectors import visible_rooms_q

User = get_user_model()

SECTION_FOLLOWING = "following"
SECTION_UPCOMING = "upcoming"
SECTION_LIVE = "live"
SECTIONS = (SECTION_FOLLOWING, SECTION_UPCOMING, SECTION_LIVE)

DEFAULT_LIMIT = 20
MAX_LIMIT = 50
SPEAKER_PREVIEWS = 3
FOLLOWED_PREVIEWS = 5

_STAGE = list(Participant.STAGE_ROLES)


@dataclass
class HallwayCard:
    section: str
    room: Room  # ``host`` loaded
    followed_on_stage_count: int = 0
    speakers: list[Any] = field(default_factory=list)
    followed_in_room: list[Any] = field(default_factory=list)
    followed_in_room_count: int = 0


@dataclass
class HallwayPage:
    cards: list[HallwayCard]
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    section: int
    key: tuple[Any, ...]
    room_id: uuid.UUID


# --- Cursor ------------------------------------------------------------------------------------


def _encode_cursor(card: HallwayCard) -> str:
    room = card.room
    section = SECTIONS.index(card.section)
    if card.section == SECTION_FOLLOWING:
        key: list[Any] = [card.followed_on_stage_count, room.listeners_count]
    elif card.section == SECTION_UPCOMING:
        key = [room.scheduled_for.isoformat()]
    else:
        key = [room.listeners_count]
    raw = json.dumps({"s": section, "k": key, "id": str(room.pk)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> InvalidInput:
    return InvalidInput(
        "This page cursor is not valid; start again from the first page.", code="invalid_cursor"
    )


def _decode_cursor(cursor: str) -> _Position:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        section = data["s"]
        key = data["k"]
        room_id = uuid.UUID(data["id"])
        if not isinstance(section, int) or not 0 <= section < len(SECTIONS):
            raise ValueError
        if not isinstance(key, list):
            raise ValueError
        if SECTIONS[section] == SECTION_UPCOMING:
            (when,) = key
            parsed = datetime.fromisoformat(when)
            if parsed.tzinfo is None:
                raise ValueError
            key = [parsed]
        else:
            expected = 2 if SECTIONS[section] == SECTION_FOLLOWING else 1
            if len(key) != expected or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in key
            ):
                raise ValueError
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, AttributeError):
        raise _bad_cursor() from None
    return _Position(section=section, key=tuple(key), room_id=room_id)


def _after(position: _Position) -> Q:
    """Rows strictly after ``position`` in its section's order."""
    pk = position.room_id
    if SECTIONS[position.section] == SECTION_FOLLOWING:
        on_stage, listeners = position.key
        return (
            Q(followed_on_stage__lt=on_stage)
            | Q(followed_on_stage=on_stage, listeners_count__lt=listeners)
            | Q(followed_on_stage=on_stage, listeners_count=listeners, pk__gt=pk)
        )
    if SECTIONS[position.section] == SECTION_UPCOMING:
        (when,) = position.key
        return Q(scheduled_for__gt=when) | Q(scheduled_for=when, pk__gt=pk)
    (listeners,) = position.key
    return Q(listeners_count__lt=listeners) | Q(listeners_count=listeners, pk__gt=pk)


# --- Sections ----------------------------------------------------------------------------------


def _followed_on_stage(followees: QuerySet) -> QuerySet[Participant]:
    # Matches the partial index rooms_active_on_stage (user, room): active and on stage.
    return Participant.objects.filter(left_at__isnull=True, role__in=_STAGE, user_id__in=followees)


def _rooms_for(user: Any) -> QuerySet[Room]:
    """Rooms ``user`` may see whose host is not suspended or banned, host loaded."""
    # visible_rooms_q covers blocks (both ways), removals, invitations and the viewer's own
    # sanctions; a sanctioned host's rooms stay out of every hallway as well.
    return (
        Room.objects.select_related("host")
        .filter(visible_rooms_q(user), host__is_active=True)
        .exclude(host_id__in=restricted_sanctions().values("user_id"))
    )


def _section_following(user: Any, followees: QuerySet) -> QuerySet[Room]:
    on_stage = _followed_on_stage(followees)
    count_on_stage = (
        on_stage.filter(room_id=OuterRef("pk"))
        .order_by()
        .values("room_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        _rooms_for(user)
        .filter(state=Room.State.LIVE)
        .filter(Q(host_id__in=followees) | Q(pk__in=on_stage.values("room_id")))
        .annotate(
            followed_on_stage=Coalesce(Subquery(count_on_stage, output_field=IntegerField()), 0)
        )
        .order_by("-followed_on_stage", "-listeners_count", "pk")
    )


def _section_upcoming(user: Any, followees: QuerySet) -> QuerySet[Room]:
    # A host running late keeps their card until housekeeping expires the room.
    not_before = timezone.now() - timedelta(hours=settings.ROOM_SCHEDULE_EXPIRY_HOURS)
    return (
        _rooms_for(user)
        .filter(state=Room.State.SCHEDULED, host_id__in=followees, scheduled_for__gte=not_before)
        .order_by("scheduled_for", "pk")
    )


def _section_live(user: Any, followees: QuerySet) -> QuerySet[Room]:
    # Exactly the complement of the first section among public live rooms, so no room is listed
    # twice; the scan follows the partial index rooms_live_public_by_size.
    return (
        _rooms_for(user)
        .filter(state=Room.State.LIVE, visibility=Room.Visibility.PUBLIC)
        .exclude(host_id__in=followees)
        .exclude(pk__in=_followed_on_stage(followees).values("room_id"))
        .order_by("-listeners_count", "pk")
    )


_BUILDERS = {
    SECTION_FOLLOWING: _section_following,
    SECTION_UPCOMING: _section_upcoming,
    SECTION_LIVE: _section_live,
}


# --- People on the cards -----------------------------------------------------------------------


def _attach_people(cards: list[HallwayCard], user: Any, followees: QuerySet) -> None:
    room_ids = [card.room.pk for card in cards]
    by_room = {card.room.pk: card for card in cards}
    you_follow = Exists(Follow.objects.filter(follower_id=user.pk, followee_id=OuterRef("user_id")))
    role_rank = Case(
        When(role=Participant.Role.HOST, then=Value(0)),
        When(role=Participant.Role.MODERATOR, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )

    # Up to SPEAKER_PREVIEWS stage members per room: followed first, then host, moderators,
    # speakers, each by arrival.
    speakers = (
        Participant.objects.filter(room_id__in=room_ids, left_at__isnull=True, role__in=_STAGE)
        .select_related("user")
        .annotate(
            followed=you_follow,
            rank=Window(
                RowNumber(),
                partition_by=[F("room_id")],
                order_by=[
                    F("followed").desc(),
                    role_rank.asc(),
                    F("joined_at").asc(),
                    F("pk").asc(),
                ],
            ),
        )
        .filter(rank__lte=SPEAKER_PREVIEWS)
        .order_by("room_id", "rank")
    )
    for participant in speakers:
        by_room[participant.room_id].speakers.append(participant.user)

    # Followed people anywhere in the room (stage first), with the exact total per room.
    followed = (
        Participant.objects.filter(
            room_id__in=room_ids, left_at__isnull=True, user_id__in=followees
        )
        .select_related("user")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("room_id")],
                order_by=[
                    Case(When(role__in=_STAGE, then=Value(0)), default=Value(1)).asc(),
                    F("joined_at").asc(),
                    F("pk").asc(),
                ],
            ),
            total=Window(Count("pk"), partition_by=[F("room_id")]),
        )
        .filter(rank__lte=FOLLOWED_PREVIEWS)
        .order_by("room_id", "rank")
    )
    for participant in followed:
        card = by_room[participant.room_id]
        card.followed_in_room.append(participant.user)
        card.followed_in_room_count = participant.total


# --- Entry point -------------------------------------------------------------------------------


def hallway_for(*, user: Any, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> HallwayPage:
    """One page of ``user``'s hallway, in the order of the three sections.

    ``cursor`` is the ``next_cursor`` of the previous page (``invalid_cursor`` when it cannot
    be read). ``limit`` is clamped to 1..50.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    position = _decode_cursor(cursor) if cursor else None
    followees = Follow.objects.filter(follower_id=user.pk).values("followee_id")

    # Every section at or after the cursor is read with the same LIMIT even if an earlier one
    # already filled the page: it keeps the query count independent of the data, and each
    # section query is a short index scan.
    rows: list[HallwayCard] = []
    first = position.section if position else 0
    for index in range(first, len(SECTIONS)):
        section = SECTIONS[index]
        queryset = _BUILDERS[section](user, followees)
        if position is not None and index == position.section:
            queryset = queryset.filter(_after(position))
        for room in queryset[: limit + 1]:
            rows.append(
                HallwayCard(
                    section=section,
                    room=room,
                    followed_on_stage_count=getattr(room, "followed_on_stage", 0),
                )
            )

    cards = rows[:limit]
    next_cursor = _encode_cursor(cards[-1]) if len(rows) > limit else None
    if cards:
        _attach_people(cards, user, followees)
    return HallwayPage(cards=cards, next_cursor=next_cursor)
