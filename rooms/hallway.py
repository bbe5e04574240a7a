"""The hallway: the rooms a member sees on opening the app, in three sections.

1. ``following``: live rooms where someone the member follows is on stage (hosting, moderating
   or speaking), ranked by how many followed people are on stage, then by listener count;
2. ``upcoming``: scheduled rooms hosted by people the member follows, soonest first;
3. ``live``: the other live public rooms, by listener count.

Only rooms the member may see appear (``rooms.selectors.visible_rooms_q``, the one visibility
rule shared with the API and the WebSocket), and never rooms whose host is suspended or banned.

Three queries for any page, whatever the number of rooms or of people followed: the rooms of
all three sections in order (one query, the section computed per room), then the cards' people
(speaker previews; followed people in the room). The followed set is never loaded into Python:
it is a subquery served by the unique (follower, followee) index. Counts come from the
denormalised ``Room.speakers_count`` / ``listeners_count``; the only aggregates are "followed
people on stage" (over the followed stage participants) and "followed people in the room"
(for the rooms shown only).

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
    BooleanField,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
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
_USER_CARD_FIELDS = ("id", "username", "display_name", "avatar")
_CARD_FIELDS = (
    "id",
    "title",
    "topic",
    "visibility",
    "state",
    "host",
    "speakers_count",
    "listeners_count",
    "started_at",
    "scheduled_for",
    *(f"host__{name}" for name in _USER_CARD_FIELDS),
)


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
    """Rooms strictly after ``position`` in the hallway's order (section, then its own key)."""
    pk = position.room_id
    section = SECTIONS[position.section]
    if section == SECTION_FOLLOWING:
        on_stage, listeners = position.key
        return (
            Q(section__gt=0)
            | Q(section=0, followed_on_stage__lt=on_stage)
            | Q(section=0, followed_on_stage=on_stage, listeners_count__lt=listeners)
            | Q(section=0, followed_on_stage=on_stage, listeners_count=listeners, pk__gt=pk)
        )
    if section == SECTION_UPCOMING:
        (when,) = position.key
        return (
            Q(section__gt=1)
            | Q(section=1, scheduled_for__gt=when)
            | Q(section=1, scheduled_for=when, pk__gt=pk)
        )
    (listeners,) = position.key
    return Q(section=2, listeners_count__lt=listeners) | Q(
        section=2, listeners_count=listeners, pk__gt=pk
    )


# --- Sections ----------------------------------------------------------------------------------


def _cards_rooms() -> QuerySet[Room]:
    """Rooms with their hosts, only the columns a card shows (fewer values to read and parse)."""
    return Room.objects.select_related("host").only(*_CARD_FIELDS)


def _hallway_rooms(user: Any, followees: QuerySet) -> QuerySet[Room]:
    """Every room of the hallway in its order, each annotated with its section: one query.

    Candidates are the live rooms and the followed hosts' upcoming rooms the member may see
    (``visible_rooms_q``; a suspended or banned host's rooms stay out as well). Each is
    left-joined to its followed stage participants (the partial index rooms_active_on_stage
    against the followed set: a few thousand narrow rows at most) and grouped, which gives
    "followed people on stage" and so the section. Ordering by section, then each section's
    key, puts the three sections one after the other.
    """
    not_before = timezone.now() - timedelta(hours=settings.ROOM_SCHEDULE_EXPIRY_HOURS)
    followed_stage = FilteredRelation(
        "participants",
        condition=Q(
            participants__left_at__isnull=True,
            participants__role__in=_STAGE,
            participants__user_id__in=Subquery(followees),
        ),
    )
    return (
        _cards_rooms()
        .filter(visible_rooms_q(user), host__is_active=True)
        .exclude(host_id__in=restricted_sanctions().values("user_id"))
        # A host running late keeps their card until housekeeping expires the room.
        .filter(
            Q(state=Room.State.LIVE)
            | Q(state=Room.State.SCHEDULED, host_id__in=followees, scheduled_for__gte=not_before)
        )
        .annotate(followed_stage=followed_stage)
        .annotate(followed_on_stage=Count("followed_stage"))
        .annotate(
            section=Case(
                When(state=Room.State.SCHEDULED, then=Value(1)),
                When(followed_on_stage__gt=0, then=Value(0)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        # Other live rooms only when public (HAVING: the section is known after grouping).
        .filter(Q(section__lt=2) | Q(visibility=Room.Visibility.PUBLIC))
        # Within a section the other keys tie: no followed stage (0) outside the first,
        # no date outside the second, no listeners in the second.
        .order_by("section", "-followed_on_stage", "scheduled_for", "-listeners_count", "pk")
    )


# --- People on the cards -----------------------------------------------------------------------


def _attach_people(cards: list[HallwayCard], followees: QuerySet) -> None:
    """Speaker previews and followed people for every card: two queries in all.

    1. the first people on each stage, with their members: a window over the page's stages
       (at most ``ROOM_MAX_SPEAKERS`` rows a room, from the partial index rooms_active_by_role);
    2. the first followed people in each room, with their members: a window over the page's
       followed participants. Kept apart from the stages so PostgreSQL picks its access path
       from the size of the followed set (a probe per followee for a few, one pass over the
       rooms' participants for thousands); an ``OR`` of both would force the pass over every
       listener of the page's rooms, tens of thousands of rows, even for ten followees.

    How many followed people each room holds came with the room (``followed_in_room``).
    """
    by_room = {card.room.pk: card for card in cards}
    room_ids = list(by_room)
    member = [f"user__{name}" for name in _USER_CARD_FIELDS]
    role_rank = Case(
        When(role=Participant.Role.HOST, then=Value(0)),
        When(role=Participant.Role.MODERATOR, then=Value(1)),
        default=Value(2),
    )
    stage = list(
        Participant.objects.filter(room_id__in=room_ids, left_at__isnull=True, role__in=_STAGE)
        .select_related("user")
        .only("room_id", "user", "role", "joined_at", *member)
        .annotate(followed=ExpressionWrapper(Q(user_id__in=followees), output_field=BooleanField()))
        .annotate(
            # Followed first, then host, moderators, speakers, each by arrival.
            rank=Window(
                RowNumber(),
                partition_by=[F("room_id")],
                order_by=[F("followed").desc(), role_rank.asc(), F("joined_at").asc(), "pk"],
            )
        )
        .filter(rank__lte=SPEAKER_PREVIEWS)
    )
    stage_first = Case(When(role__in=_STAGE, then=Value(0)), default=Value(1))
    followed = list(
        Participant.objects.filter(
            room_id__in=room_ids, left_at__isnull=True, user_id__in=followees
        )
        .select_related("user")
        .only("room_id", "user", "role", "joined_at", *member)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("room_id")],
                order_by=[stage_first.asc(), F("joined_at").asc(), F("pk").asc()],
            )
        )
        .filter(rank__lte=FOLLOWED_PREVIEWS)
    )

    stage.sort(key=lambda p: p.rank)
    for participant in stage:
        by_room[participant.room_id].speakers.append(participant.user)
    followed.sort(key=lambda p: p.rank)
    for participant in followed:
        by_room[participant.room_id].followed_in_room.append(participant.user)


def _followed_in_room(followees: QuerySet) -> Subquery:
    # The unique partial index on active (room, user) answers it: a probe per followee when
    # they are few, one pass over the room's participants when they are thousands.
    counted = (
        Participant.objects.filter(room_id=OuterRef("pk"), left_at__isnull=True)
        .filter(user_id__in=followees)
        .order_by()
        .values("room_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Subquery(counted, output_field=IntegerField())


# --- Entry point -------------------------------------------------------------------------------


def hallway_for(*, user: Any, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> HallwayPage:
    """One page of ``user``'s hallway, in the order of the three sections.

    ``cursor`` is the ``next_cursor`` of the previous page (``invalid_cursor`` when it cannot
    be read). ``limit`` is clamped to 1..50.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    position = _decode_cursor(cursor) if cursor else None
    followees = Follow.objects.filter(follower_id=user.pk).values("followee_id")
    queryset = _hallway_rooms(user, followees)
    if position is not None:
        queryset = queryset.filter(_after(position))
    # Counted only for the rows that leave the query: PostgreSQL evaluates an output column
    # that the ORDER BY does not need after the sort and the LIMIT.
    queryset = queryset.annotate(followed_in_room=_followed_in_room(followees))
    rows = [
        HallwayCard(
            section=SECTIONS[room.section],
            room=room,
            followed_on_stage_count=room.followed_on_stage,
            followed_in_room_count=room.followed_in_room or 0,
        )
        for room in queryset[: limit + 1]
    ]

    cards = rows[:limit]
    next_cursor = _encode_cursor(cards[-1]) if len(rows) > limit else None
    if cards:
        _attach_people(cards, followees)
    return HallwayPage(cards=cards, next_cursor=next_cursor)
