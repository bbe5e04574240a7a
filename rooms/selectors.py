"""Reads about rooms: who may see a room (one rule for REST, WebSocket, hallway, notifications),
a room's detail for one member, and a member's participation.

The visibility rule (docs/rooms.md):

- a banned or suspended member sees no room;
- nobody sees a room whose host they blocked or who blocked them;
- nobody sees a live room one of whose current co-moderators blocked them, unless they host it
  or are in it already (a block evicts them when it is made; a member promoted later does not);
- nobody sees a room they were removed from (``room_for_user`` says so with the code
  ``removed_from_room``, still a 404);
- otherwise the host, current participants and invited members see it, and beyond them:
  ``public`` → every member, ``followers`` → the host's followers, ``closed`` → nobody else.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from audiosocial.errors import NotFound
from audiosocial.statements import compiled_once, statement_cache
from follows.models import Follow
from moderation.selectors import blocked_user_ids_q, restricted_sanctions, room_ids_closed_to
from rooms.compiled import CONST, bound_parameters, parameter_kind
from rooms.events import counts_payload, participant_payload, room_payload, user_payload
from rooms.models import Participant, Room, RoomInvite

# How many listeners a room detail lists (the counts are always exact; the full audience is
# paginated at /api/rooms/<id>/listeners/).
DETAIL_LISTENERS = 100
# How many raised hands a moderator's detail lists (oldest first: the queue).
DETAIL_HANDS = 100

NOTHING = Q(pk__in=[])


def visible_rooms_q(user: Any) -> Q:
    """A filter for ``Room`` querysets: the rooms ``user`` may see (any state).

    Pure subqueries, so it costs no query of its own and composes into one hallway query.

    The exclusions stay ``NOT IN``. PostgreSQL guesses each at one half (on the benchmark seed
    it thinks a tenth of the visible live rooms visible: 90 of 836), where ``NOT EXISTS`` is
    estimated from the tables (719); but the hallway wraps the rule in one ``CASE`` for its
    estimate anyway, a single room's check needs none, and ``NOT EXISTS`` cost more to plan on
    every call: 0.75 to 1.3 ms for ``can_see_room``, 1.35 to 1.6 ms for the hallway's rooms
    statement, with no faster execution (docs/benchmarks.md, Hallway).
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    uid = user.pk
    blocked_by_me, blocking_me = blocked_user_ids_q(user_id=uid)
    restricted = Exists(restricted_sanctions().filter(user_id=uid))
    removed = Participant.objects.filter(user_id=uid, removed=True).values("room_id")
    follows_host = Follow.objects.filter(follower_id=uid).values("followee_id")
    invited = RoomInvite.objects.filter(user_id=uid).values("room_id")
    participating = Participant.objects.filter(user_id=uid, left_at__isnull=True).values("room_id")
    # Rooms a current co-moderator's block keeps this member out of (the host's own block is
    # the ``blocking_me`` case below).
    closed_by_moderator = room_ids_closed_to(user_id=uid)
    allowed = (
        Q(host_id=uid)
        | Q(visibility=Room.Visibility.PUBLIC)
        | Q(visibility=Room.Visibility.FOLLOWERS, host_id__in=follows_host)
        | Q(pk__in=invited)
        | Q(pk__in=participating)
    )
    return (
        allowed
        & ~Q(restricted)
        & ~Q(host_id__in=blocked_by_me)
        & ~Q(host_id__in=blocking_me)
        & ~Q(pk__in=removed)
        & (~Q(pk__in=closed_by_moderator) | Q(host_id=uid) | Q(pk__in=participating))
    )


def visible_rooms(*, user: Any) -> QuerySet[Room]:
    return Room.objects.filter(visible_rooms_q(user))


# --- The rule compiled once, for one room at a time ---------------------------------------------
#
# Building ``visible_rooms_q`` (nine subqueries) and compiling it cost about 2.7 ms of Python on
# every room API call, room page and socket connection, more than the query takes to run
# (docs/benchmarks.md). ``room_for_user`` and ``can_see_room`` therefore take the rule's SQL,
# compiled once per process and database for a stand-in member (``rooms.compiled``), with the
# member's id and the current time bound on each call. It refers to the room as the table
# itself (``"rooms_room"."host_id"``), so it is only ever used as a condition of a top-level
# ``Room`` query built here; anything composing the rule into a larger statement uses
# ``visible_rooms_q``. When the rule cannot be shared, the ORM builds it on each call.

_STAND_IN_ID = -7_316_044_297

# (alias, vendor) -> (SQL, binds), or None when it cannot be shared.
_visible_rules = statement_cache("rooms.selectors.visible_rule")


def _compile_visible_rule(connection: Any) -> tuple[str, tuple[tuple[int, Any], ...]] | None:
    from django.contrib.auth import get_user_model

    stand_in = get_user_model()(pk=_STAND_IN_ID, is_active=True)
    before = timezone.now()
    query = Room.objects.filter(visible_rooms_q(stand_in)).query
    sql, params = query.get_compiler(connection=connection).compile(query.where)
    after = timezone.now()
    table = connection.ops.quote_name(Room._meta.db_table)
    # The room must be the outer query's own table, never a table the rule reads itself.
    if str(_STAND_IN_ID) in sql or re.search(rf"(FROM|JOIN)\s+{re.escape(table)}", sql):
        return None
    binds: list[tuple[int, Any]] = []
    for param in params:
        kind = parameter_kind(
            param, stand_in_id=_STAND_IN_ID, before=before, after=after, connection=connection
        )
        if kind is None:
            return None
        binds.append((kind, param if kind == CONST else None))
    return sql, tuple(binds)


def _visible_condition(user: Any) -> Q | RawSQL:
    """``visible_rooms_q(user)`` for a top-level ``Room`` query, from the compiled rule."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    connection = connections[router.db_for_read(Room)]
    rule = compiled_once(_visible_rules, connection, _compile_visible_rule)
    if rule is None:
        return visible_rooms_q(user)
    sql, binds = rule
    params = bound_parameters(binds, member_id=user.pk, connection=connection)
    # The SQL is the ORM compiler's, for a stand-in member; every value is a bound parameter.
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def can_see_room(*, user: Any, room: Room) -> bool:
    """One query: the same rule as ``visible_rooms_q``, for one room."""
    return Room.objects.filter(pk=room.pk).filter(_visible_condition(user)).exists()


def parse_room_id(room_id: Any) -> uuid.UUID:
    """Room ids are UUIDs; anything else is simply a room that does not exist."""
    if isinstance(room_id, uuid.UUID):
        return room_id
    try:
        return uuid.UUID(str(room_id))
    except (ValueError, TypeError, AttributeError):
        raise _room_not_found() from None


def _room_not_found() -> NotFound:
    return NotFound("This room does not exist or you cannot see it.", code="room_not_found")


def room_for_user(*, user: Any, room_id: Any) -> Room:
    """The room ``room_id`` if ``user`` may see it (host loaded), else ``NotFound``.

    One query when visible. A member removed from the room gets the code ``removed_from_room``
    (still a 404): they already know the room exists, and the reason helps their client.
    """
    pk = parse_room_id(room_id)
    room = (
        Room.objects.select_related("host").filter(pk=pk).filter(_visible_condition(user)).first()
    )
    if room is not None:
        return room
    if (
        getattr(user, "is_authenticated", False)
        and Participant.objects.filter(room_id=pk, user_id=user.pk, removed=True).exists()
    ):
        raise NotFound(
            "You were removed from this room and cannot rejoin it.", code="removed_from_room"
        )
    raise _room_not_found()


def participant_for(*, room: Room, user: Any) -> Participant | None:
    """``user``'s active participation in ``room`` (user loaded), or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, user_id=user.pk, left_at__isnull=True)
        .first()
    )


def is_removed_from(*, room: Room, user_id: int) -> bool:
    return Participant.objects.filter(room_id=room.pk, user_id=user_id, removed=True).exists()


# --- Permissions as the client should present them (the services enforce the same rules) -----

MODERATOR_ACTIONS = (
    "invite_speaker",
    "move_to_audience",
    "mute",
    "unmute",
    "remove",
    "lower_hands",
    "invite",
)
HOST_ONLY_ACTIONS = ("edit", "end", "add_moderator", "revoke_moderator", "transfer_host")


def permissions_for(*, room: Room, participant: Participant | None, user: Any) -> list[str]:
    """What ``user`` may do in ``room`` right now, as action names (docs/rooms.md)."""
    is_host = getattr(user, "pk", None) == room.host_id
    if room.state == Room.State.SCHEDULED:
        return ["edit", "start", "cancel"] if is_host else []
    if room.state != Room.State.LIVE:
        return []
    if participant is None:
        return ["join"]
    actions: list[str] = ["leave", "ping"]
    if participant.role == Participant.Role.HOST:
        actions += [*HOST_ONLY_ACTIONS, *MODERATOR_ACTIONS, "mic"]
    elif participant.role == Participant.Role.MODERATOR:
        actions += [*MODERATOR_ACTIONS, "mic", "leave_stage"]
    elif participant.role == Participant.Role.SPEAKER:
        actions += ["mic", "leave_stage"]
    else:
        actions.append("raise_hand" if participant.hand_raised_at is None else "lower_hand")
        if participant.speaker_invite_pending:
            actions += ["accept_speaker_invite", "decline_speaker_invite"]
    return actions


_ROLE_ORDER = {
    Participant.Role.HOST: 0,
    Participant.Role.MODERATOR: 1,
    Participant.Role.SPEAKER: 2,
    Participant.Role.LISTENER: 3,
}


def cohosts_of(*, room: Room) -> list[Any]:
    """The room's announced co-hosts (active members, in the host's order): no query when there
    are none, one otherwise."""
    if not room.cohost_ids:
        return []
    from django.contrib.auth import get_user_model

    found = {
        u.pk: u for u in get_user_model().objects.filter(pk__in=room.cohost_ids, is_active=True)
    }
    return [found[pk] for pk in room.cohost_ids if pk in found]


def room_detail(*, room: Room, user: Any) -> dict[str, Any]:
    """The room as ``user`` sees it: state, counts, participants grouped by role, their own
    role and permissions; moderators also get the raised-hand queue.

    Constant query count: 3 (4 for moderators), plus 1 if ``room.host`` was not loaded and 1 if
    the room announced co-hosts.
    """
    me = participant_for(room=room, user=user)
    is_moderator = me is not None and me.is_moderator
    stage = list(
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, left_at__isnull=True, role__in=Participant.STAGE_ROLES)
        .order_by("joined_at", "pk")
    )
    stage.sort(key=lambda p: _ROLE_ORDER[p.role])
    listeners = list(
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, left_at__isnull=True, role=Participant.Role.LISTENER)
        .order_by("joined_at", "pk")[:DETAIL_LISTENERS]
    )
    grouped: dict[str, list[dict[str, Any]]] = {
        "host": [],
        "moderators": [],
        "speakers": [],
        "listeners": [],
    }
    group_of = {
        Participant.Role.HOST: "host",
        Participant.Role.MODERATOR: "moderators",
        Participant.Role.SPEAKER: "speakers",
        Participant.Role.LISTENER: "listeners",
    }
    for p in [*stage, *listeners]:
        grouped[group_of[p.role]].append(participant_payload(p, with_hand=is_moderator))
    data = room_payload(room)
    data["cohosts"] = [user_payload(u) for u in cohosts_of(room=room)]
    data["participants"] = grouped
    data["counts"] = counts_payload(room)
    data["limits"] = {
        "speakers": settings.ROOM_MAX_SPEAKERS,
        "listeners": settings.ROOM_MAX_LISTENERS,
    }
    data["me"] = {
        "role": me.role if me else None,
        "participating": me is not None,
        "muted": me.muted if me else None,
        "moderator_muted": me.moderator_muted if me else None,
        "hand_raised": bool(me and me.hand_raised_at),
        "invited_to_speak": bool(me and me.speaker_invite_pending),
        "permissions": permissions_for(room=room, participant=me, user=user),
    }
    if is_moderator:
        hands = (
            Participant.objects.select_related("user")
            .filter(
                room_id=room.pk,
                left_at__isnull=True,
                role=Participant.Role.LISTENER,
                hand_raised_at__isnull=False,
            )
            .order_by("hand_raised_at", "pk")[:DETAIL_HANDS]
        )
        data["hands"] = [participant_payload(p, with_hand=True) for p in hands]
    return data


def room_listeners(*, room: Room) -> QuerySet[Participant]:
    """The room's audience, oldest first, for pagination."""
    return (
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, left_at__isnull=True, role=Participant.Role.LISTENER)
        .order_by("joined_at", "pk")
    )


def live_room_for_host(*, user_id: int) -> Room | None:
    return Room.objects.filter(host_id=user_id, state=Room.State.LIVE).first()


def idle_live_rooms(*, idle_since: Any) -> QuerySet[Room]:
    """Live rooms started before ``idle_since`` where no active participant was seen since."""
    recently_seen = Participant.objects.filter(room_id=OuterRef("pk"), left_at__isnull=True).filter(
        Q(last_seen_at__gte=idle_since) | Q(last_seen_at__isnull=True, joined_at__gte=idle_since)
    )
    return Room.objects.filter(state=Room.State.LIVE, started_at__lt=idle_since).exclude(
        Exists(recently_seen)
    )


def lapsed_speaker_invites(*, invited_before: Any) -> QuerySet[Participant]:
    """Unanswered invitations to speak made before ``invited_before``, in live rooms."""
    return Participant.objects.filter(
        left_at__isnull=True,
        speaker_invited_at__isnull=False,
        speaker_invited_at__lte=invited_before,
        room__state=Room.State.LIVE,
    )


def expired_scheduled_rooms(*, scheduled_before: Any) -> QuerySet[Room]:
    return Room.objects.filter(state=Room.State.SCHEDULED, scheduled_for__lt=scheduled_before)
