"""Every write about rooms, with its rules. REST, WebSocket, admin and tasks only call these.

Conventions (docs/rooms.md has the full rulebook):

- keyword-only, atomic; a service that touches participants first locks the room row
  (``SELECT ... FOR UPDATE``), which serialises joins, role changes and the denormalised counters
  of one room, so caps and counts stay exact under concurrency;
- checks in this order: the room is in a state that allows the action, the actor may do it,
  then the target;
- refusals are ``audiosocial.errors`` with stable codes (``room_full``, ``stage_full``,
  ``not_a_moderator``, ``wrong_state``, ``removed_from_room``, ...); nothing changes on refusal;
- realtime events, audio hooks and notifications run after commit only.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from audiosocial.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
)
from audiosocial.oncommit import run_on_commit
from moderation.selectors import (
    blocked_either_way_among,
    is_blocked_either_way,
    is_restricted,
    restricted_sanctions,
)
from rooms import events
from rooms.entry import EntryFacts, entry_facts
from rooms.models import Participant, Room, RoomInvite
from rooms.selectors import can_see_room, idle_live_rooms, is_removed_from

if TYPE_CHECKING:
    from accounts.models import User

Role = Participant.Role
State = Room.State

TOPIC_MAX_LENGTH = 1000
# Scheduling further ahead than this is almost always a typo in the date.
SCHEDULE_MAX_AHEAD_DAYS = 90
# One ping per (room, pinger, target) in this window: a ping is a push notification.
PING_INTERVAL_SECONDS = 600

EDITABLE_FIELDS = frozenset({"title", "topic", "visibility", "scheduled_for", "cohosts"})


# --- Side effects (after commit) -----------------------------------------------------------------


def _audio(hook: str, **kwargs: Any) -> None:
    from rooms.audio import hooks

    run_on_commit(getattr(hooks, hook), **kwargs)


def _notify(hook: str, **kwargs: Any) -> None:
    from notifications import services as notifications

    run_on_commit(getattr(notifications, hook), **kwargs)


# --- Internal helpers ----------------------------------------------------------------------------


def _lock(room: Room) -> Room:
    """Reload ``room`` in place from its row, locked until the transaction ends."""
    try:
        room.refresh_from_db(from_queryset=Room.objects.select_for_update(of=("self",)))
    except Room.DoesNotExist:
        raise NotFound(
            "This room does not exist or you cannot see it.", code="room_not_found"
        ) from None
    return room


def _adjust_counts(room: Room, *, speakers: int = 0, listeners: int = 0) -> None:
    # F() so the database does the arithmetic even if a caller forgot the lock; the in-memory
    # copy is exact because the row is locked for the rest of the transaction.
    if not speakers and not listeners:
        return
    Room.objects.filter(pk=room.pk).update(
        speakers_count=F("speakers_count") + speakers,
        listeners_count=F("listeners_count") + listeners,
    )
    room.speakers_count += speakers
    room.listeners_count += listeners


def _count_delta(role: str, sign: int) -> dict[str, int]:
    if role in Participant.STAGE_ROLES:
        return {"speakers": sign}
    return {"listeners": sign}


def _active(room: Room, user: User) -> Participant | None:
    return (
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, user_id=user.pk, left_at__isnull=True)
        .first()
    )


def _require_live(room: Room) -> None:
    if room.state == State.LIVE:
        return
    if room.state == State.SCHEDULED:
        message = "This room has not started yet."
    else:
        message = "This room is over."
    raise Conflict(message, code="room_not_live", details={"state": room.state})


def _require_participant(room: Room, user: User) -> Participant:
    participant = _active(room, user)
    if participant is None:
        raise Forbidden("You are not in this room.", code="not_a_participant")
    return participant


def _require_moderator(room: Room, user: User) -> Participant:
    participant = _require_participant(room, user)
    if not participant.is_moderator:
        raise Forbidden("Only the host and moderators can do that.", code="not_a_moderator")
    return participant


def _require_host(room: Room, user: User | None) -> None:
    if user is None or user.pk != room.host_id:
        raise Forbidden("Only the room's host can do that.", code="not_host")


def _require_host_participant(room: Room, user: User) -> Participant:
    participant = _require_participant(room, user)
    if participant.role != Role.HOST:
        raise Forbidden("Only the room's host can do that.", code="not_host")
    return participant


def _require_target(room: Room, user: User) -> Participant:
    participant = _active(room, user)
    if participant is None:
        raise NotFound(f"{user.username} is not in this room.", code="not_in_room")
    return participant


def _require_other(actor: Participant, target: Participant) -> None:
    if actor.user_id == target.user_id:
        raise InvalidInput("You cannot do that to yourself.", code="cannot_target_self")


def _require_outranks(actor: Participant, target: Participant) -> None:
    """The host acts on everyone; moderators act on speakers and listeners only."""
    _require_other(actor, target)
    if actor.role == Role.HOST:
        return
    if actor.role == Role.MODERATOR and target.role in (Role.SPEAKER, Role.LISTENER):
        return
    raise Forbidden("Only the host can do that to the host or another moderator.", code="outranked")


def _require_stage_seat(room: Room) -> None:
    if room.speakers_count >= settings.ROOM_MAX_SPEAKERS:
        raise Conflict(
            f"The stage is full ({settings.ROOM_MAX_SPEAKERS} speakers at most).",
            code="stage_full",
            details={"limit": settings.ROOM_MAX_SPEAKERS},
        )


def _require_audience_seat(room: Room) -> None:
    if room.listeners_count >= settings.ROOM_MAX_LISTENERS:
        raise Conflict(
            "This room is full.",
            code="room_full",
            details={"limit": settings.ROOM_MAX_LISTENERS},
        )


def _lock_for_entry(room: Room, user: User | list[int]) -> dict[Any, Room]:
    """Lock ``room`` and every other room ``user`` (or any of these user ids) is in now, in
    primary-key order.

    Entering a room may mean leaving another (one room at a time), which changes that room's
    counters too. Locking all of them in one fixed order means two members crossing between the
    same two rooms cannot deadlock. Returns the other rooms, locked, by id (usually none: then
    this is exactly ``_lock``, plus the one query that found nothing elsewhere).
    """
    ids = user if isinstance(user, list) else [user.pk]
    elsewhere = set(
        Participant.objects.filter(user_id__in=ids, left_at__isnull=True)
        .exclude(room_id=room.pk)
        .values_list("room_id", flat=True)
    )
    if not elsewhere:
        _lock(room)
        return {}
    locked = {
        other.pk: other
        for other in Room.objects.select_for_update(of=("self",))
        .filter(pk__in=[room.pk, *elsewhere])
        .order_by("pk")
    }
    _lock(room)  # already locked by this transaction: only refreshes the caller's instance
    locked.pop(room.pk, None)
    return locked


def _participations_elsewhere(room: Room, user: User) -> list[Participant]:
    return list(
        Participant.objects.select_related("room")
        .filter(user_id=user.pk, left_at__isnull=True)
        .exclude(room_id=room.pk)
        .order_by("room_id")
    )


def _require_not_hosting_elsewhere(elsewhere: list[Participant]) -> None:
    for participant in elsewhere:
        if participant.role == Role.HOST:
            other = participant.room
            raise Conflict(
                f"You are hosting “{other.title}”; end it or leave it before joining another room.",
                code="hosting_elsewhere",
                details={"room": str(other.pk), "title": other.title},
            )


def _leave_elsewhere(room: Room, elsewhere: list[Participant], locked: dict[Any, Room]) -> None:
    """One room at a time: leave every other room (through the ordinary leave) before entering
    ``room``. The member's sockets in those rooms learn where they went (``moved``)."""
    for participant in elsewhere:
        other = locked.get(participant.room_id)
        if other is None:
            # Joined meanwhile (another tab) after the rooms were locked: lock it now.
            other = _lock(participant.room)
        _close(other, participant, removed=False, reason="left")
        events.publish(other.pk, events.moved(other, participant.user_id, to=room.pk))


def _save(participant: Participant, *fields: str) -> None:
    # Always name the fields: a full save could write back a stale moderator_muted.
    participant.save(update_fields=list(fields))


def _set_role(room: Room, participant: Participant, role: str) -> None:
    old = participant.role
    if old == role:
        return
    was_on_stage = old in Participant.STAGE_ROLES
    on_stage = role in Participant.STAGE_ROLES
    participant.role = role
    participant.hand_raised_at = None
    participant.speaker_invited_at = None
    fields = ["role", "hand_raised_at", "speaker_invited_at"]
    if on_stage != was_on_stage:
        # Everyone arrives on stage muted and leaves it muted; they unmute themselves.
        participant.self_muted = True
        fields.append("self_muted")
    _save(participant, *fields)
    if on_stage and not was_on_stage:
        _adjust_counts(room, speakers=1, listeners=-1)
    elif was_on_stage and not on_stage:
        _adjust_counts(room, speakers=-1, listeners=1)


def _validate_title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput("A room needs a title.", code="title_required")
    title = title.strip()
    if len(title) > settings.ROOM_TITLE_MAX_LENGTH:
        raise InvalidInput(
            f"Titles are limited to {settings.ROOM_TITLE_MAX_LENGTH} characters.",
            code="title_too_long",
            details={"limit": settings.ROOM_TITLE_MAX_LENGTH},
        )
    return title


def _validate_topic(topic: Any) -> str:
    if topic is None:
        return ""
    if not isinstance(topic, str):
        raise InvalidInput("The topic must be text.", code="invalid_topic")
    topic = topic.strip()
    if len(topic) > TOPIC_MAX_LENGTH:
        raise InvalidInput(
            f"Topics are limited to {TOPIC_MAX_LENGTH} characters.",
            code="topic_too_long",
            details={"limit": TOPIC_MAX_LENGTH},
        )
    return topic


def _validate_visibility(visibility: Any) -> str:
    if visibility not in Room.Visibility.values:
        raise InvalidInput(
            "Visibility must be one of: public, followers, closed.",
            code="invalid_visibility",
        )
    return str(visibility)


def _validate_schedule(when: Any) -> datetime:
    if not isinstance(when, datetime) or timezone.is_naive(when):
        raise InvalidInput(
            "The start time must be a date and time with a timezone.", code="invalid_schedule"
        )
    now = timezone.now()
    if when <= now:
        raise InvalidInput("The start time must be in the future.", code="scheduled_in_past")
    if when > now + timedelta(days=SCHEDULE_MAX_AHEAD_DAYS):
        raise InvalidInput(
            f"Rooms can be scheduled at most {SCHEDULE_MAX_AHEAD_DAYS} days ahead.",
            code="scheduled_too_far",
        )
    return when


def _resolve_cohosts(host: User, usernames: Any) -> list[User]:
    """The members ``usernames`` names as co-hosts of ``host``'s room, in the given order.

    Three queries whatever the list. Each must be an active member who may be on a stage (not
    suspended or banned) and not blocked either way with the host; one sentence for both of
    those refusals, so neither a block nor a sanction is disclosed.
    """
    if usernames is None:
        return []
    if isinstance(usernames, str) or not all(isinstance(u, str) for u in usernames):
        raise InvalidInput("Co-hosts must be a list of usernames.", code="invalid_cohosts")
    names: list[str] = []
    for raw in usernames:
        name = raw.strip().lstrip("@")
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    if len(names) > Room.MAX_COHOSTS:
        raise InvalidInput(
            f"A room can announce at most {Room.MAX_COHOSTS} co-hosts.",
            code="too_many_cohosts",
            details={"limit": Room.MAX_COHOSTS},
        )
    if not names:
        return []
    if any(n.lower() == host.username.lower() for n in names):
        raise InvalidInput("You host this room already.", code="cohost_is_host")
    lookup = Q()
    for name in names:
        lookup |= Q(username__iexact=name)
    found = {u.username.lower(): u for u in get_user_model().objects.filter(lookup, is_active=True)}
    missing = [n for n in names if n.lower() not in found]
    if missing:
        raise InvalidInput(
            f"No member is called {missing[0]}.",
            code="cohost_not_found",
            details={"username": missing[0]},
        )
    cohosts = [found[n.lower()] for n in names]
    ids = [u.pk for u in cohosts]
    restricted = set(
        restricted_sanctions().filter(user_id__in=ids).values_list("user_id", flat=True)
    )
    blocked = blocked_either_way_among(user_id=host.pk, other_ids=ids)
    for user in cohosts:
        if user.pk in restricted or user.pk in blocked:
            raise Forbidden(
                f"{user.username} cannot co-host your room.",
                code="cannot_cohost",
                details={"username": user.username},
            )
    return cohosts


def _announce_cohosts(room: Room, cohosts: list[User]) -> None:
    """Record the co-hosts; each is let into the room whatever its visibility (an invitation,
    without a notification of its own)."""
    room.cohost_ids = [u.pk for u in cohosts]
    RoomInvite.objects.bulk_create(
        [RoomInvite(room=room, user=u, invited_by_id=room.host_id) for u in cohosts],
        ignore_conflicts=True,
    )


def _require_not_restricted(user: User) -> None:
    if is_restricted(user_id=user.pk):
        raise Forbidden(
            "Your account is suspended or banned; you cannot do that.",
            code="account_restricted",
        )


def _already_live_conflict(room_id: Any = None) -> Conflict:
    details = {"room": str(room_id)} if room_id else {}
    return Conflict(
        "You already host a live room; end it before starting another.",
        code="already_hosting",
        details=details,
    )


# --- The state machine ---------------------------------------------------------------------------


def room_transition(*, room: Room, to: str, reason: str = "") -> Room:
    """Move ``room`` to state ``to`` if ``Room.TRANSITIONS`` allows it, and save.

    The one place a room's state changes. Refuses undeclared moves with ``wrong_state``;
    translates the one-live-room-per-host constraint into ``already_hosting``.
    """
    allowed = Room.TRANSITIONS.get(room.state, frozenset())
    if to not in allowed:
        raise Conflict(
            f"A {room.state} room cannot become {to}.",
            code="wrong_state",
            details={"state": room.state, "to": str(to)},
        )
    previous = room.state
    now = timezone.now()
    room.state = to
    fields = ["state", "updated_at"]
    if to == State.LIVE:
        room.started_at = now
        fields.append("started_at")
    if to in (State.ENDED, State.CANCELLED):
        room.ended_at = now
        room.end_reason = reason
        fields += ["ended_at", "end_reason"]
    try:
        with transaction.atomic():
            room.save(update_fields=fields)
    except IntegrityError:
        room.state = previous
        if to == State.LIVE:
            raise _already_live_conflict() from None
        raise
    return room


def _go_live(room: Room, locked: dict[Any, Room]) -> Participant:
    """``room`` opens with its host on stage; ``locked``: ``_lock_for_entry`` for the host."""
    elsewhere = _participations_elsewhere(room, room.host) if locked else []
    _require_not_hosting_elsewhere(elsewhere)
    room_transition(room=room, to=State.LIVE)
    _leave_elsewhere(room, elsewhere, locked)
    host = Participant.objects.create(
        room=room,
        user=room.host,
        role=Role.HOST,
        audio_token=secrets.token_urlsafe(24),
        last_seen_at=timezone.now(),
    )
    _adjust_counts(room, speakers=1)
    _audio("room_went_live", room_id=str(room.pk))
    _notify("notify_room_live", room_id=str(room.pk))
    events.publish(room.pk, events.room_updated(room, change="started"))
    return host


def _end(room: Room, *, reason: str) -> None:
    room_transition(room=room, to=State.ENDED, reason=reason)
    now = timezone.now()
    Participant.objects.filter(room_id=room.pk, left_at__isnull=True).update(
        left_at=now, hand_raised_at=None, speaker_invited_at=None
    )
    room.speakers_count = 0
    room.listeners_count = 0
    Room.objects.filter(pk=room.pk).update(speakers_count=0, listeners_count=0)
    _audio("room_ended", room_id=str(room.pk))
    events.publish(room.pk, events.room_ended(room, reason=reason))


# --- Lifecycle -----------------------------------------------------------------------------------


@transaction.atomic
def room_create(
    *,
    host: User,
    title: str,
    topic: str = "",
    visibility: str = Room.Visibility.PUBLIC,
    scheduled_for: datetime | None = None,
    cohosts: list[str] | None = None,
) -> Room:
    """Schedule a room, or (no ``scheduled_for``) open it now with ``host`` on stage.
    ``cohosts``: up to ``Room.MAX_COHOSTS`` usernames, announced with the room."""
    _require_not_restricted(host)
    title = _validate_title(title)
    topic = _validate_topic(topic)
    visibility = _validate_visibility(visibility)
    announced = _resolve_cohosts(host, cohosts)
    if scheduled_for is not None:
        scheduled_for = _validate_schedule(scheduled_for)
    else:
        live = Room.objects.filter(host_id=host.pk, state=State.LIVE).values_list("pk", flat=True)
        if live:
            raise _already_live_conflict(live[0])
    room = Room.objects.create(
        host=host,
        title=title,
        topic=topic,
        visibility=visibility,
        scheduled_for=scheduled_for,
        state=State.SCHEDULED,
    )
    if announced:
        _announce_cohosts(room, announced)
        room.save(update_fields=["cohost_ids"])
    if scheduled_for is None:
        # The new row is nobody else's yet; this locks the rooms the host is leaving.
        _go_live(room, _lock_for_entry(room, host))
    return room


@transaction.atomic
def room_update(*, room: Room, by: User, **changes: Any) -> Room:
    """Edit title, topic, visibility, co-hosts (and the start time while scheduled). Host only.
    New co-hosts become moderators when they next join; people already in the room keep their
    role whatever the list says."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise InvalidInput(
            f"These fields cannot be edited: {', '.join(sorted(unknown))}.",
            code="not_editable",
            details={"fields": sorted(unknown)},
        )
    _lock(room)
    _require_host(room, by)
    if room.state not in (State.SCHEDULED, State.LIVE):
        raise Conflict("This room is over; it cannot be edited.", code="wrong_state")
    fields: list[str] = []
    if "title" in changes:
        room.title = _validate_title(changes["title"])
        fields.append("title")
    if "topic" in changes:
        room.topic = _validate_topic(changes["topic"])
        fields.append("topic")
    if "visibility" in changes:
        room.visibility = _validate_visibility(changes["visibility"])
        fields.append("visibility")
    if "scheduled_for" in changes:
        if room.state != State.SCHEDULED:
            raise Conflict(
                "The start time can only change before the room starts.", code="wrong_state"
            )
        if changes["scheduled_for"] is None:
            raise InvalidInput("A scheduled room needs a start time.", code="invalid_schedule")
        room.scheduled_for = _validate_schedule(changes["scheduled_for"])
        fields.append("scheduled_for")
    if "cohosts" in changes:
        announced = _resolve_cohosts(room.host, changes["cohosts"] or [])
        if [u.pk for u in announced] != room.cohost_ids:
            _announce_cohosts(room, announced)
            fields.append("cohost_ids")
    if fields:
        room.save(update_fields=[*fields, "updated_at"])
        events.publish(room.pk, events.room_updated(room, change="details"))
    return room


@transaction.atomic
def room_start(*, room: Room, by: User) -> Room:
    """Open a scheduled room now (early is fine); the host joins on stage (leaving any room
    they are listening to: one room at a time)."""
    locked = _lock_for_entry(room, by)
    _require_host(room, by)
    if room.state == State.SCHEDULED:
        _require_not_restricted(by)
        live = (
            Room.objects.filter(host_id=room.host_id, state=State.LIVE)
            .values_list("pk", flat=True)
            .first()
        )
        if live:
            raise _already_live_conflict(live)
    _go_live(room, locked)
    return room


@transaction.atomic
def room_end(*, room: Room, by: User | None = None, reason: str = "host") -> Room:
    """End a live room: everyone leaves, audio stops. ``by=None`` is the system (housekeeping,
    moderation); otherwise only the host may."""
    _lock(room)
    if by is not None:
        _require_host(room, by)
    _end(room, reason=reason)
    return room


@transaction.atomic
def room_cancel(*, room: Room, by: User | None, reason: str = "host") -> Room:
    """Cancel a scheduled room. ``by=None`` is the system (expired schedules)."""
    _lock(room)
    if by is not None:
        _require_host(room, by)
    room_transition(room=room, to=State.CANCELLED, reason=reason)
    events.publish(room.pk, events.room_updated(room, change="cancelled"))
    return room


@transaction.atomic
def room_end_if_idle(*, room: Room, idle_since: datetime) -> bool:
    """Housekeeping: end ``room`` if it is still live and nobody was seen since ``idle_since``.

    Re-checked under the room lock, so a heartbeat that lands meanwhile keeps the room alive.
    """
    _lock(room)
    if not idle_live_rooms(idle_since=idle_since).filter(pk=room.pk).exists():
        return False
    _end(room, reason="idle")
    return True


# --- Membership ----------------------------------------------------------------------------------


@transaction.atomic
def participant_join(*, room: Room, user: User) -> Participant:
    """Enter a live room as a listener (the host re-enters as host, an announced co-host comes
    in as a moderator). Joining twice is harmless: the current participation is returned.

    One room at a time: a member in another room leaves it first (the ordinary leave: counters,
    events, audio), unless they host it (``hosting_elsewhere``: a room should not end, or change
    hands, because its host clicked on another one). The rules are ``participant_join_many``'s,
    for one member."""
    outcome = _join_many(room, [user])[user.pk]
    if isinstance(outcome, ApplicationError):
        raise outcome
    return outcome


@transaction.atomic
def participant_join_many(
    *, room: Room, users: Sequence[User]
) -> dict[int, Participant | ApplicationError]:
    """Let several members into ``room`` in one transaction: a join storm's batch.

    Each member by the same rules, in the given order, under the room lock: they may see the
    room (``rooms.selectors.visible_rooms_q``: sanctions, blocks by the host or a current
    co-moderator, removal, visibility), are not hosting elsewhere, and find a seat. A refusal is
    returned in that member's place (the error ``participant_join`` raises) and changes nothing
    for anyone. The room itself missing or not live raises, for everyone. A member listed twice
    (two tabs) gets one participation.

    Why a batch: the room's row stays locked from the first check to the commit, so one room
    admits one transaction at a time whatever the number of processes; here the lock, the
    checks (one statement for all, ``rooms.entry``), the rows (one insert), the counters (one
    update) and the commit are paid once per batch instead of once per member.
    """
    return _join_many(room, users)


def _join_many(room: Room, users: Sequence[User]) -> dict[int, Participant | ApplicationError]:
    members = list({u.pk: u for u in users}.values())
    locked = _lock_for_entry(room, [u.pk for u in members])
    _require_live(room)
    facts = entry_facts(room_id=room.pk, users=[u for u in members if u.is_authenticated])
    current_ids = [f.participant_id for f in facts.values() if f.participant_id is not None]
    current = (
        {
            p.user_id: p
            for p in Participant.objects.select_related("user").filter(pk__in=current_ids)
        }
        if current_ids
        else {}
    )
    outcomes: dict[int, Participant | ApplicationError] = {}
    admitted: list[Participant] = []
    now = timezone.now()
    for user in members:
        try:
            outcome = _admit(room, user, facts.get(user.pk), current.get(user.pk), locked, now)
        except ApplicationError as exc:
            outcomes[user.pk] = exc
            continue
        outcomes[user.pk] = outcome
        if outcome.pk is None:
            admitted.append(outcome)
    if admitted:
        Participant.objects.bulk_create(admitted)
        speakers = sum(1 for p in admitted if p.role in Participant.STAGE_ROLES)
        Room.objects.filter(pk=room.pk).update(
            speakers_count=F("speakers_count") + speakers,
            listeners_count=F("listeners_count") + (len(admitted) - speakers),
        )
        events.publish_many(room.pk, [events.participant_joined(room, p) for p in admitted])
    return outcomes


def _admit(
    room: Room,
    user: User,
    facts: EntryFacts | None,
    current: Participant | None,
    locked: dict[Any, Room],
    now: datetime,
) -> Participant:
    """One member of ``participant_join_many``: checked, then their ``current`` participation,
    or moved out of any other room and seated (a new, unsaved row: the caller writes the rows
    and the counters)."""
    active = user.is_authenticated and user.is_active
    if facts is None or not active or not facts.visible:
        # Precise reasons only for what the member already knows about themselves.
        if facts is not None and facts.restricted:
            raise Forbidden(
                "Your account is suspended or banned; you cannot do that.",
                code="account_restricted",
            )
        if facts is not None and facts.removed:
            raise Forbidden(
                "You were removed from this room and cannot rejoin it.",
                code="removed_from_room",
            )
        # Blocks (by the host or a current co-moderator) end here too, as a room that does not
        # exist: a block is private to the member who made it.
        raise NotFound("This room does not exist or you cannot see it.", code="room_not_found")
    if current is not None:
        return current
    elsewhere = _participations_elsewhere(room, user) if facts.elsewhere else []
    _require_not_hosting_elsewhere(elsewhere)
    if user.pk == room.host_id:
        role = Role.HOST
    elif user.pk in room.cohost_ids and room.speakers_count < settings.ROOM_MAX_SPEAKERS:
        # An announced co-host moderates from the moment they arrive (a full stage seats them
        # in the audience; the host can still bring them up).
        role = Role.MODERATOR
    else:
        role = Role.LISTENER
    if role == Role.LISTENER:
        _require_audience_seat(room)
    _leave_elsewhere(room, elsewhere, locked)
    # Counted now so that the next member of the batch meets the caps; written by the caller.
    if role in Participant.STAGE_ROLES:
        room.speakers_count += 1
    else:
        room.listeners_count += 1
    return Participant(
        room=room,
        user=user,
        role=role,
        audio_token=secrets.token_urlsafe(24),
        last_seen_at=now,
    )


def _close(room: Room, participant: Participant, *, removed: bool, reason: str) -> None:
    participant.left_at = timezone.now()
    participant.removed = removed
    participant.hand_raised_at = None
    participant.speaker_invited_at = None
    _save(participant, "left_at", "removed", "hand_raised_at", "speaker_invited_at")
    _adjust_counts(room, **_count_delta(participant.role, -1))
    _audio(
        "participant_left",
        room_id=str(room.pk),
        user_id=participant.user_id,
        audio_token=participant.audio_token,
    )
    events.publish(room.pk, events.participant_left(room, participant, reason=reason))
    if removed:
        events.publish(room.pk, events.removed(room, participant.user_id, reason=reason))
    if participant.role == Role.HOST:
        _hand_over_or_end(room)


def _hand_over_or_end(room: Room) -> None:
    """The host is gone: the longest-serving co-moderator inherits the room (as on Clubhouse);
    without one, the room ends."""
    hosts_elsewhere = Room.objects.filter(host_id=OuterRef("user_id"), state=State.LIVE).exclude(
        pk=room.pk
    )
    successor = (
        Participant.objects.select_related("user")
        .filter(room_id=room.pk, left_at__isnull=True, role=Role.MODERATOR)
        .exclude(Exists(hosts_elsewhere))
        .order_by("joined_at", "pk")
        .first()
    )
    if successor is None:
        _end(room, reason="host_left")
        return
    _make_host(room, successor)


def _make_host(room: Room, participant: Participant) -> None:
    _set_role(room, participant, Role.HOST)
    room.host = participant.user
    try:
        with transaction.atomic():
            room.save(update_fields=["host", "updated_at"])
    except IntegrityError:
        raise _already_live_conflict() from None
    _audio("participant_changed", room_id=str(room.pk), user_id=participant.user_id)
    events.publish(room.pk, events.participant_updated(room, participant, change="role"))
    events.publish(room.pk, events.room_updated(room, change="host"))


@transaction.atomic
def participant_leave(*, room: Room, user: User) -> None:
    """Leave quietly. Leaving when not in the room does nothing (sockets may close twice).
    When the host leaves, a co-moderator takes over, or the room ends."""
    _lock(room)
    participant = _active(room, user)
    if participant is None:
        return
    _close(room, participant, removed=False, reason="left")


@transaction.atomic
def participant_leave_if_stale(*, room: Room, user: User, seen_before: datetime) -> bool:
    """Presence sweep: ``user`` leaves unless seen since ``seen_before``. Re-checked under the
    room lock, so a heartbeat that lands between the sweep's scan and this call keeps them in."""
    _lock(room)
    participant = _active(room, user)
    if participant is None:
        return False
    last_seen = participant.last_seen_at or participant.joined_at
    if last_seen >= seen_before:
        return False
    _close(room, participant, removed=False, reason="left")
    return True


@transaction.atomic
def participant_remove(*, room: Room, by: User, user: User) -> None:
    """Remove someone from the room (moderators); they cannot rejoin it."""
    _lock(room)
    _require_live(room)
    actor = _require_moderator(room, by)
    target = _require_target(room, user)
    _require_outranks(actor, target)
    _close(room, target, removed=True, reason="removed")


@transaction.atomic
def participant_evict(*, room: Room, user: User, reason: str) -> Participant | None:
    """The system removes ``user`` (a block with the host, a ban): same effects as a removal,
    no permission check. ``reason`` is a short public code that goes into the room's events, so it
    must not disclose a block (moderation passes ``removed`` for blocks, ``evicted`` for sanctions).
    Returns the closed participation, or None if the user was not in the room."""
    _lock(room)
    if room.state != State.LIVE:
        return None
    participant = _active(room, user)
    if participant is None:
        return None
    _close(room, participant, removed=True, reason=reason)
    return participant


# --- Hands and the stage -------------------------------------------------------------------------


@transaction.atomic
def hand_raise(*, room: Room, user: User) -> Participant:
    _lock(room)
    _require_live(room)
    participant = _require_participant(room, user)
    if participant.role != Role.LISTENER:
        raise Conflict("You are already on stage.", code="already_on_stage")
    if participant.hand_raised_at is None:
        participant.hand_raised_at = timezone.now()
        _save(participant, "hand_raised_at")
        events.publish(room.pk, events.hand_updated(room, participant))
    return participant


@transaction.atomic
def hand_lower(*, room: Room, user: User, by: User | None = None) -> Participant:
    """Lower ``user``'s hand: their own doing, or a moderator's (``by``)."""
    _lock(room)
    _require_live(room)
    if by is not None and by.pk != user.pk:
        _require_moderator(room, by)
        participant = _require_target(room, user)
    else:
        participant = _require_participant(room, user)
    if participant.hand_raised_at is not None:
        participant.hand_raised_at = None
        _save(participant, "hand_raised_at")
        events.publish(room.pk, events.hand_updated(room, participant, by_id=by.pk if by else None))
    return participant


@transaction.atomic
def speaker_invite(*, room: Room, by: User, user: User) -> Participant:
    """Invite a listener to the stage (moderators); they accept or decline."""
    _lock(room)
    _require_live(room)
    actor = _require_moderator(room, by)
    target = _require_target(room, user)
    _require_other(actor, target)
    if target.role != Role.LISTENER:
        raise Conflict(f"{user.username} is already on stage.", code="already_on_stage")
    _require_stage_seat(room)
    target.speaker_invited_at = timezone.now()
    _save(target, "speaker_invited_at")
    events.publish(room.pk, events.speaker_invited(room, target, by_id=by.pk))
    events.publish(room.pk, events.hand_updated(room, target, by_id=by.pk))
    _notify("notify_speaker_invited", room_id=str(room.pk), user_id=user.pk, by_id=by.pk)
    return target


@transaction.atomic
def speaker_accept(*, room: Room, user: User) -> Participant:
    """Come on stage after an invitation. A moderator's earlier mute is lifted: being invited
    again is a fresh start."""
    _lock(room)
    _require_live(room)
    participant = _require_participant(room, user)
    if participant.role != Role.LISTENER:
        raise Conflict("You are already on stage.", code="already_on_stage")
    if participant.speaker_invited_at is None:
        raise Conflict("Nobody has invited you to speak.", code="not_invited")
    if not participant.speaker_invite_pending:
        # Not cleared here: a refusal rolls back. The sweep clears it and tells the room.
        raise Conflict(
            "This invitation to speak has expired. Raise your hand to ask again.",
            code="speaker_invite_expired",
            details={"expired_at": participant.speaker_invite_expires_at.isoformat()},
        )
    _require_stage_seat(room)
    _set_role(room, participant, Role.SPEAKER)
    participant.moderator_muted = False
    _save(participant, "moderator_muted")
    _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
    events.publish(room.pk, events.participant_updated(room, participant, change="role"))
    events.publish(room.pk, events.speaker_invitation_answered(room, participant, accepted=True))
    return participant


@transaction.atomic
def speaker_decline(*, room: Room, user: User) -> Participant:
    _lock(room)
    _require_live(room)
    participant = _require_participant(room, user)
    if participant.speaker_invited_at is None:
        raise Conflict("Nobody has invited you to speak.", code="not_invited")
    if not participant.speaker_invite_pending:
        # "Not now" on an invitation that lapsed meanwhile: the outcome the member wanted.
        _expire_invite(room, participant)
        return participant
    participant.speaker_invited_at = None
    _save(participant, "speaker_invited_at")
    events.publish(room.pk, events.speaker_invitation_answered(room, participant, accepted=False))
    return participant


def _expire_invite(room: Room, participant: Participant) -> None:
    participant.speaker_invited_at = None
    _save(participant, "speaker_invited_at")
    events.publish(room.pk, events.speaker_invite_expired(room, participant))
    events.publish(room.pk, events.hand_updated(room, participant))


@transaction.atomic
def speaker_invite_expire(*, room: Room, user_id: int, now: datetime | None = None) -> bool:
    """Lapse ``user_id``'s invitation to speak in ``room`` if it is still unanswered after
    ``ROOM_SPEAKER_INVITE_TTL_SECONDS``: cleared, and the invitee and moderators are told
    (``speaker.expired``, and the hand update that clears "invited"). Re-checked under the room
    lock, so an accept or a fresh invitation that lands meanwhile wins. Returns whether it lapsed.
    """
    _lock(room)
    if room.state != State.LIVE:
        return False
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ROOM_SPEAKER_INVITE_TTL_SECONDS)
    participant = (
        Participant.objects.select_related("user")
        .filter(
            room_id=room.pk,
            user_id=user_id,
            left_at__isnull=True,
            role=Role.LISTENER,
            speaker_invited_at__lte=cutoff,
        )
        .first()
    )
    if participant is None:
        return False
    _expire_invite(room, participant)
    return True


@transaction.atomic
def speaker_move_to_audience(*, room: Room, by: User, user: User) -> Participant:
    """Back to the audience: a moderator moves someone, or a speaker steps down. A moderator who
    leaves the stage stops being a moderator. The host stays on stage (hand the room over first)."""
    _lock(room)
    _require_live(room)
    actor = _require_participant(room, by)
    if by.pk == user.pk:
        target = actor
    else:
        if not actor.is_moderator:
            raise Forbidden("Only the host and moderators can do that.", code="not_a_moderator")
        target = _require_target(room, user)
        _require_outranks(actor, target)
    if target.role == Role.HOST:
        raise Conflict(
            "The host stays on stage; hand the room over first.", code="host_stays_on_stage"
        )
    if target.role not in Participant.STAGE_ROLES:
        raise Conflict(f"{user.username} is not on stage.", code="not_on_stage")
    _set_role(room, target, Role.LISTENER)
    _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
    events.publish(room.pk, events.participant_updated(room, target, change="role", by_id=by.pk))
    return target


# --- Mute ----------------------------------------------------------------------------------------


def _require_on_stage(participant: Participant, *, own: bool) -> None:
    if participant.role not in Participant.STAGE_ROLES:
        who = "You are" if own else f"{participant.user.username} is"
        raise Conflict(f"{who} not on stage.", code="not_on_stage")


@transaction.atomic
def participant_mute(*, room: Room, by: User, user: User) -> Participant:
    """A moderator mutes someone on stage. Sticky: only a moderator's unmute, or a new
    invitation to speak, lifts it."""
    _lock(room)
    _require_live(room)
    actor = _require_moderator(room, by)
    target = _require_target(room, user)
    _require_outranks(actor, target)
    _require_on_stage(target, own=False)
    if not target.moderator_muted:
        target.moderator_muted = True
        _save(target, "moderator_muted")
        _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
        events.publish(
            room.pk, events.participant_updated(room, target, change="muted", by_id=by.pk)
        )
    return target


@transaction.atomic
def participant_unmute(*, room: Room, by: User, user: User) -> Participant:
    """A moderator lifts a moderator mute. The speaker's own microphone stays as they left it."""
    _lock(room)
    _require_live(room)
    actor = _require_moderator(room, by)
    target = _require_target(room, user)
    _require_outranks(actor, target)
    if target.moderator_muted:
        target.moderator_muted = False
        _save(target, "moderator_muted")
        _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
        events.publish(
            room.pk, events.participant_updated(room, target, change="muted", by_id=by.pk)
        )
    return target


@transaction.atomic
def mic_mute(*, room: Room, user: User) -> Participant:
    _lock(room)
    _require_live(room)
    participant = _require_participant(room, user)
    _require_on_stage(participant, own=True)
    if not participant.self_muted:
        participant.self_muted = True
        _save(participant, "self_muted")
        _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
        events.publish(room.pk, events.participant_updated(room, participant, change="muted"))
    return participant


@transaction.atomic
def mic_unmute(*, room: Room, user: User) -> Participant:
    _lock(room)
    _require_live(room)
    participant = _require_participant(room, user)
    _require_on_stage(participant, own=True)
    if participant.moderator_muted:
        raise Forbidden(
            "A moderator muted you; only a moderator can lift that.", code="muted_by_moderator"
        )
    if participant.self_muted:
        participant.self_muted = False
        _save(participant, "self_muted")
        _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
        events.publish(room.pk, events.participant_updated(room, participant, change="muted"))
    return participant


# --- Moderators and the host ---------------------------------------------------------------------


@transaction.atomic
def moderator_add(*, room: Room, by: User, user: User) -> Participant:
    """The host makes a participant a co-moderator (a listener comes on stage)."""
    _lock(room)
    _require_live(room)
    actor = _require_host_participant(room, by)
    target = _require_target(room, user)
    _require_other(actor, target)
    if target.role == Role.MODERATOR:
        return target
    if target.role == Role.LISTENER:
        _require_stage_seat(room)
    _set_role(room, target, Role.MODERATOR)
    _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
    events.publish(room.pk, events.participant_updated(room, target, change="role", by_id=by.pk))
    return target


@transaction.atomic
def moderator_revoke(*, room: Room, by: User, user: User) -> Participant:
    """The host takes moderation back; the former moderator stays on stage as a speaker."""
    _lock(room)
    _require_live(room)
    actor = _require_host_participant(room, by)
    target = _require_target(room, user)
    _require_other(actor, target)
    if target.role != Role.MODERATOR:
        raise Conflict(f"{user.username} is not a moderator.", code="not_moderator")
    _set_role(room, target, Role.SPEAKER)
    _audio("participant_changed", room_id=str(room.pk), user_id=user.pk)
    events.publish(room.pk, events.participant_updated(room, target, change="role", by_id=by.pk))
    return target


@transaction.atomic
def host_transfer(*, room: Room, by: User, user: User) -> Participant:
    """The host hands the room over to another participant and stays on as a moderator."""
    _lock(room)
    _require_live(room)
    actor = _require_host_participant(room, by)
    target = _require_target(room, user)
    _require_other(actor, target)
    if target.role == Role.LISTENER:
        _require_stage_seat(room)
    if Room.objects.filter(host_id=user.pk, state=State.LIVE).exclude(pk=room.pk).exists():
        raise Conflict(f"{user.username} already hosts another live room.", code="already_hosting")
    _set_role(room, actor, Role.MODERATOR)
    events.publish(room.pk, events.participant_updated(room, actor, change="role", by_id=by.pk))
    _audio("participant_changed", room_id=str(room.pk), user_id=by.pk)
    _make_host(room, target)
    return target


# --- Invitations and pings -----------------------------------------------------------------------


@transaction.atomic
def room_invite(*, room: Room, by: User, user: User) -> RoomInvite:
    """Let ``user`` into a closed (or followers-only) room: host and moderators. Idempotent."""
    _lock(room)
    if room.state not in (State.SCHEDULED, State.LIVE):
        raise Conflict("This room is over.", code="room_not_live", details={"state": room.state})
    if by.pk != room.host_id:
        _require_moderator(room, by)
    if user.pk == by.pk:
        raise InvalidInput("You cannot do that to yourself.", code="cannot_target_self")
    if not user.is_active or is_restricted(user_id=user.pk):
        raise NotFound(f"No member is called {user.username}.", code="user_not_found")
    if is_blocked_either_way(a_id=user.pk, b_id=room.host_id) or is_blocked_either_way(
        a_id=user.pk, b_id=by.pk
    ):
        raise Forbidden("You cannot invite this member.", code="cannot_invite")
    if is_removed_from(room=room, user_id=user.pk):
        raise Conflict(
            f"{user.username} was removed from this room and cannot rejoin it.",
            code="removed_from_room",
        )
    invite, created = RoomInvite.objects.get_or_create(
        room=room, user=user, defaults={"invited_by": by}
    )
    if created:
        # An invitation into a room reaches the member the same way a ping does.
        _notify("notify_pinged", room_id=str(room.pk), user_id=user.pk, by_id=by.pk)
    return invite


@transaction.atomic
def room_ping(*, room: Room, by: User, user: User) -> None:
    """Any participant asks someone who may join to come in (a notification)."""
    _lock(room)
    _require_live(room)
    _require_participant(room, by)
    if user.pk == by.pk:
        raise InvalidInput("You cannot do that to yourself.", code="cannot_target_self")
    if _active(room, user) is not None:
        raise Conflict(f"{user.username} is already in this room.", code="already_in_room")
    if is_blocked_either_way(a_id=user.pk, b_id=by.pk) or not can_see_room(user=user, room=room):
        # One message whatever the reason: do not disclose blocks or someone's sanctions.
        raise Forbidden(f"{user.username} cannot join this room.", code="cannot_ping")
    key = f"rooms:ping:{room.pk}:{by.pk}:{user.pk}"
    if not cache.add(key, 1, timeout=PING_INTERVAL_SECONDS):
        raise RateLimited(
            f"You already pinged {user.username} into this room recently.",
            code="ping_rate_limited",
            details={"retry_after_seconds": PING_INTERVAL_SECONDS},
        )
    _notify("notify_pinged", room_id=str(room.pk), user_id=user.pk, by_id=by.pk)
