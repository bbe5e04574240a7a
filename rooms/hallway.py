"""The hallway: the rooms a member sees on opening the app, in three sections.

1. ``following``: live rooms where someone the member follows is on stage (hosting, moderating
   or speaking), ranked by how many followed people are on stage, then by listener count;
2. ``upcoming``: scheduled rooms hosted by people the member follows, soonest first;
3. ``live``: the other live public rooms, by listener count.

Only rooms the member may see appear (``rooms.selectors.visible_rooms_q``, the one visibility
rule shared with the API and the WebSocket), and never rooms whose host is deactivated,
suspended or banned.

Three queries for any page, whatever the number of rooms or of people followed:

1. the page's rooms, all three sections in order: the candidates (live rooms, followed hosts'
   scheduled rooms) left-joined to the followed people's stage seats from the partial index
   rooms_active_on_stage and grouped ("followed people on stage", hence the section);
2. who the cards show: the first stage seats of each room (followed people first), the
   first followed listeners of each room with how many there are, and the members the viewer
   blocked who are on a stage (the block warning), ranked in SQL (window functions) over the
   page's rooms, the listeners from the partial indexes rooms_active_listeners /
   rooms_active_by_member without reading a participant row;
3. the names and faces of just those members and of the hosts, by primary key (a host whose
   account was deactivated takes their rooms off the page here).

The followed set is never loaded into Python: it is a subquery served by the unique
(follower, followee) index. Counts come from the denormalised ``Room.speakers_count`` /
``listeners_count``.

**Compiled once per process.** Building and compiling these querysets (the visibility rule
alone is nine subqueries; windows; a union) costs more Python time than the database needs to
run them: about 12 ms of CPU per page (10 followees) against about 1 ms of Python for the whole
call once compiled (docs/benchmarks.md). So each statement is built with the ORM once per
process and database, for a stand-in member, and kept as SQL whose per-call values are bound on
each call: the member's id, the current time (sanctions in force), the cursor's keys, the
page's room and member ids (each list one array parameter). Those values always travel as query
parameters; only this module's own constants are written into the SQL, quoted by the driver.
If a statement ever cannot be templated this way (a parameter it cannot account for, such as a
time derived from "now"), the hallway builds and runs the queryset through the ORM on every
call instead: slower, never wrong. The stand-in shares what every member it serves has in
common (signed in, active); ``visible_rooms_q`` depends on the member only through their id, as
its pure subqueries do today. A rule that branches on another attribute of the member (staff,
say) must become a slot here, or a key of ``_statements``. Cards hold light ``HallwayRoom`` /
``HallwayPerson`` records read straight from the rows, not model instances.

Pagination is keyset: the cursor holds the section and the sort key of the last card. Listener
counts move while a member scrolls, so a room can move between pages; clients dedupe by id.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    Expression,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    UUIDField,
    Value,
    When,
    Window,
)
from django.db.models.fields.files import FieldFile
from django.db.models.functions import RowNumber
from django.utils import timezone

from audiosocial.errors import InvalidInput
from audiosocial.statements import compiled_once, converted_rows, statement_cache
from follows.models import Follow
from moderation.selectors import blocked_user_ids_q, restricted_sanctions
from rooms.compiled import CONST, MEMBER, NOW, parameter_kind, substitute_placeholders
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

_STAGE = sorted(Participant.STAGE_ROLES)
_PERSON_FIELDS = ("username", "display_name", "avatar")
_ROOM_FIELDS = (
    "pk",
    "title",
    "topic",
    "visibility",
    "state",
    "speakers_count",
    "listeners_count",
    "started_at",
    "scheduled_for",
    "host_id",
    "section",
    "on_stage",
)
_AVATAR = User._meta.get_field("avatar")


# --- What a card holds -------------------------------------------------------------------------


@dataclass(slots=True)
class HallwayPerson:
    """A member as a card shows them, read from the rows (no ``User`` instance is built).

    Offers what templates and payloads read from a user: ``pk``/``id``, ``username``,
    ``display_name``, ``name``, ``avatar`` (a file with ``.url``, or ``""``) and ``avatar_url``.
    """

    id: int
    username: str
    display_name: str
    avatar_name: str

    @property
    def pk(self) -> int:
        return self.id

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def avatar(self) -> FieldFile | str:
        return FieldFile(None, _AVATAR, self.avatar_name) if self.avatar_name else ""

    @property
    def avatar_url(self) -> str:
        return _AVATAR.storage.url(self.avatar_name) if self.avatar_name else ""


@dataclass(slots=True)
class HallwayRoom:
    """A room as a card shows it, with its host (the ``Room`` fields of the same names)."""

    id: uuid.UUID
    title: str
    topic: str
    visibility: str
    state: str
    speakers_count: int
    listeners_count: int
    started_at: datetime | None
    scheduled_for: datetime | None
    host: HallwayPerson

    @property
    def pk(self) -> uuid.UUID:
        return self.id

    @property
    def host_id(self) -> int:
        return self.host.id

    @property
    def is_live(self) -> bool:
        return self.state == Room.State.LIVE


@dataclass(slots=True)
class HallwayCard:
    section: str
    room: HallwayRoom
    followed_on_stage_count: int = 0
    speakers: list[HallwayPerson] = field(default_factory=list)
    followed_in_room: list[HallwayPerson] = field(default_factory=list)
    followed_in_room_count: int = 0
    # Members the viewer blocked who are on this stage now (the card warns; blocks are private:
    # only the viewer's own blocks count).
    blocked_on_stage: list[HallwayPerson] = field(default_factory=list)


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
                isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**31 for v in key
            ):
                raise ValueError
    except (ValueError, TypeError, KeyError, UnicodeError, binascii.Error, AttributeError):
        raise _bad_cursor() from None
    return _Position(section=section, key=tuple(key), room_id=room_id)


def _cursor_values(position: _Position | None) -> dict[str, Any]:
    if position is None:
        return {}
    values: dict[str, Any] = {"after_id": position.room_id}
    if position.section == 1:
        values["after_when"] = position.key[0]
    else:
        values.update({f"after_{i}": v for i, v in enumerate(position.key)})
    return values


# --- Statements compiled once ------------------------------------------------------------------
#
# A builder returns the queryset for a member, taking every other per-call value from
# ``slot(name, adapt)``: a placeholder when the statement is compiled for the cache, the value
# itself when the queryset runs through the ORM directly (the fallback). ``adapt`` turns the
# value into what the database driver takes.

Adapt = Callable[[Any, Any], Any]
Slot = Callable[[str, Adapt], Any]
Builder = Callable[[Any, Slot], QuerySet]

# No member has this id: where it appears among a compiled statement's parameters, the calling
# member's id goes.
_STAND_IN_ID = -7_316_044_291


def _as(field: Any) -> Adapt:
    """Adapt values as ``field`` stores them."""

    def adapt(value: Any, connection: Any) -> Any:
        return field.get_db_prep_value(value, connection)

    adapt.field = field  # type: ignore[attr-defined]
    return adapt


def _as_list_of(field: Any) -> Adapt:
    """Adapt a list of ``field`` values as one parameter (see ``_OneOf``)."""

    def adapt(values: Any, connection: Any) -> Any:
        items = [field.get_db_prep_value(value, connection) for value in values]
        return items if connection.vendor == "postgresql" else json.dumps(items)

    adapt.field = field  # type: ignore[attr-defined]
    return adapt


class _Marker:
    __slots__ = ("adapt", "name")

    def __init__(self, name: str, adapt: Adapt) -> None:
        self.name = name
        self.adapt = adapt


class _Param(Expression):
    """One parameter: ``value`` adapted now, or, with no value, a slot filled on each call."""

    _UNSET = object()

    def __init__(self, name: str, adapt: Adapt, value: Any = _UNSET) -> None:
        super().__init__(output_field=getattr(adapt, "field", None))
        self.name, self.adapt, self.value = name, adapt, value

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if self.value is self._UNSET:
            return "%s", [_Marker(self.name, self.adapt)]
        return "%s", [self.adapt(self.value, connection)]

    def get_group_by_cols(self) -> list[Any]:
        # A constant, like ``Value``: never a grouping key (PostgreSQL would read an integer
        # in GROUP BY as a column position).
        return []


class _OneOf(Expression):
    """``column`` is one of the values of a list passed as a single parameter, so one
    statement serves lists of any length: ``= ANY(%s::type[])`` on PostgreSQL, a JSON array
    read with ``json_each`` elsewhere."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: Any, values: Any) -> None:
        super().__init__()
        self.column, self.values = column, values

    def get_source_expressions(self) -> list[Any]:
        return [self.column, self.values]

    def set_source_expressions(self, expressions: list[Any]) -> None:
        self.column, self.values = expressions

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.column)
        values, more = compiler.compile(self.values)
        # Both fragments come from the compiler (a column, a placeholder): nothing a user sent.
        sql = f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608
        return sql, [*params, *more]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.column)
        values, more = compiler.compile(self.values)
        item = self.values.adapt.field.cast_db_type(connection)
        return f"{column} = ANY(({values})::{item}[])", [*params, *more]


_SLOT = NOW + 1


@dataclass(frozen=True)
class _Statement:
    sql: str
    binds: tuple[tuple[int, Any], ...]
    converters: tuple[tuple[int, tuple[list[Any], Any]], ...]

    def run(self, connection: Any, *, member_id: int, values: dict[str, Any]) -> list[Any]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = []
        for kind, payload in self.binds:
            if kind == CONST:
                params.append(payload)
            elif kind == MEMBER:
                params.append(member_id)
            elif kind == NOW:
                params.append(now)
            else:
                params.append(payload.adapt(values[payload.name], connection))
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        return converted_rows(rows, self.converters, connection)


# (alias, vendor, statement key) -> the statement, or None when it cannot be templated.
_statements = statement_cache("rooms.hallway")


def _compile(connection: Any, build: Builder) -> _Statement | None:
    """Build ``build``'s queryset for a stand-in member and keep its SQL with its slots.

    Parameters equal to the stand-in's id become the member's id; times taken while compiling
    (sanctions "in force now") become the time of each call. Any other time, or the stand-in id
    anywhere else, means the statement depends on something a slot does not carry: None.
    """
    stand_in = User(pk=_STAND_IN_ID, is_active=True)
    before = timezone.now()
    queryset = build(stand_in, _Param)
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    after = timezone.now()
    if str(_STAND_IN_ID) in sql:
        return None
    binds: list[tuple[int, Any]] = []
    for param in params:
        if isinstance(param, _Marker):
            binds.append((_SLOT, param))
            continue
        kind = parameter_kind(
            param, stand_in_id=_STAND_IN_ID, before=before, after=after, connection=connection
        )
        if kind is None:
            return None
        binds.append((kind, param if kind == CONST else None))
    if connection.vendor == "postgresql":
        sql, binds = _inline_constants(connection, sql, binds)
    converters: dict[int, Any] = {}
    if connection.vendor != "postgresql":
        # Elsewhere rows come back as stored (UUIDs as text, booleans as integers...). With
        # psycopg they already arrive as Python values; Django's converters there are int()
        # and float() on expressions, a call per value that changes nothing.
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        converters = compiler.get_converters(fields)
    return _Statement(sql=sql, binds=tuple(binds), converters=tuple(converters.items()))


def _inline_constants(
    connection: Any, sql: str, binds: list[tuple[int, Any]]
) -> tuple[str, list[tuple[int, Any]]]:
    """Write the statement's constants (roles, states: values from this module's code, never
    from a request) into its SQL as literals, quoted by psycopg as it would quote them on every
    call; only the per-call values stay parameters. A page's rooms statement goes from about a
    hundred parameters to a third of that, which psycopg no longer converts on each call."""
    kept: list[tuple[int, Any]] = []

    def substitute(bind: tuple[int, Any]) -> str:
        kind, payload = bind
        if kind == CONST:
            return connection.ops.compose_sql("%s", [payload]).replace("%", "%%")
        kept.append(bind)
        return "%s"

    return substitute_placeholders(sql, binds, substitute), kept


def _fetch(key: tuple[Any, ...], build: Builder, *, user: Any, values: dict[str, Any]) -> list:
    """The rows of ``build``'s statement for ``user`` with ``values`` in its slots."""
    connection = connections[router.db_for_read(Room)]
    statement = compiled_once(_statements, connection, lambda c: _compile(c, build), *key)
    if statement is not None:
        return statement.run(connection, member_id=user.pk, values=values)
    return list(build(user, lambda name, adapt: _Param(name, adapt, values[name])))


# --- 1. The page's rooms -----------------------------------------------------------------------


def _followees(user: Any) -> QuerySet:
    return Follow.objects.filter(follower_id=user.pk).values("followee_id")


def _candidates(user: Any) -> QuerySet[Room]:
    """Rooms ``user`` may see whose host is in good standing (not suspended or banned).

    All of it goes in as one ``CASE``: PostgreSQL then weighs it as a single test (half the
    rooms pass) and runs its subqueries as hashed sets. Left bare, each of the visibility rule's
    ``NOT IN`` conditions is guessed to halve the rooms, 1 room in 32 is thought visible, and
    the planner joins room by room: at 500 followees that nested loop took 0.6 s where the hash
    joins take 3 ms (docs/benchmarks.md).

    A deactivated host (``is_active`` off) is dropped after the query, from the member rows of
    query 3 (``hallway_for``): checked here it cost a primary-key probe per candidate room, 1 to
    2 ms a page, for what should not happen at all (a deactivated member's rooms should end).
    """
    host_restricted = Exists(restricted_sanctions().filter(user_id=OuterRef("host_id")))
    shown = visible_rooms_q(user) & ~Q(host_restricted)
    return Room.objects.filter(Case(When(shown, then=Value(True)), default=Value(False)))


def _after(position_section: int, slot: Slot) -> Q:
    """Rooms strictly after the cursor in the hallway's order (section, then its own key)."""
    after_id = slot("after_id", _as(UUIDField()))
    if position_section == 0:
        on_stage = slot("after_0", _as(IntegerField()))
        listeners = slot("after_1", _as(IntegerField()))
        return (
            Q(section__gt=0)
            | Q(section=0, on_stage__lt=on_stage)
            | Q(section=0, on_stage=on_stage, listeners_count__lt=listeners)
            | Q(section=0, on_stage=on_stage, listeners_count=listeners, pk__gt=after_id)
        )
    if position_section == 1:
        when = slot("after_when", _as(DateTimeField()))
        return (
            Q(section__gt=1)
            | Q(section=1, scheduled_for__gt=when)
            | Q(section=1, scheduled_for=when, pk__gt=after_id)
        )
    listeners = slot("after_0", _as(IntegerField()))
    return Q(section=2, listeners_count__lt=listeners) | Q(
        section=2, listeners_count=listeners, pk__gt=after_id
    )


def _rooms_builder(*, cursor_section: int | None, limit: int) -> Builder:
    """Every room of the hallway in its order, each with its section, at most ``limit`` rows
    (after the cursor's position when ``cursor_section`` is given): one statement.

    Candidates are the live rooms and the followed hosts' upcoming rooms the member may see.
    Each is left-joined to its followed stage seats (the partial index rooms_active_on_stage
    against the followed set: a few thousand narrow index entries at most) and grouped, which
    gives "followed people on stage" and so the section. Ordering by section, then each
    section's key, puts the three sections one after the other.

    One statement rather than a ``UNION ALL`` of a part per section: on this seed the parts'
    three copies of the visibility rule cost PostgreSQL more to plan (about 2 ms against 0.8)
    than reading the 1,000 live rooms once costs to run (docs/benchmarks.md).
    """

    def build(user: Any, slot: Slot) -> QuerySet:
        followees = _followees(user)
        followed_stage = FilteredRelation(
            "participants",
            condition=Q(
                participants__left_at__isnull=True,
                participants__role__in=_STAGE,
                participants__user_id__in=Subquery(followees),
            ),
        )
        # A host running late keeps their card until housekeeping expires the room.
        upcoming = Q(
            state=Room.State.SCHEDULED,
            host_id__in=followees,
            scheduled_for__gte=slot("not_before", _as(DateTimeField())),
        )
        queryset = (
            _candidates(user)
            .filter(Q(state=Room.State.LIVE) | upcoming)
            .annotate(followed_stage=followed_stage)
            # Columns of the partial index: the join reads no participant row.
            .annotate(on_stage=Count("followed_stage__user_id"))
            .annotate(
                section=Case(
                    When(state=Room.State.SCHEDULED, then=Value(1)),
                    When(on_stage__gt=0, then=Value(0)),
                    default=Value(2),
                    output_field=IntegerField(),
                )
            )
            # Other live rooms only when public (HAVING: the section is known after grouping).
            .filter(Q(section__lt=2) | Q(visibility=Room.Visibility.PUBLIC))
        )
        if cursor_section is not None:
            queryset = queryset.filter(_after(cursor_section, slot))
        # Within a section the other keys tie: no followed stage (0) outside the first, no
        # date outside the second, no listeners in the second.
        order = ("section", "-on_stage", "scheduled_for", "-listeners_count", "pk")
        return queryset.values_list(*_ROOM_FIELDS).order_by(*order)[:limit]

    return build


def _page_rooms(user: Any, position: _Position | None, limit: int) -> list[tuple[HallwayCard, int]]:
    """The page's cards, each with its host's id (the host is filled in with the people)."""
    section = position.section if position is not None else None
    build = _rooms_builder(cursor_section=section, limit=limit)
    not_before = timezone.now() - timedelta(hours=settings.ROOM_SCHEDULE_EXPIRY_HOURS)
    values = {"not_before": not_before, **_cursor_values(position)}
    rows = _fetch(("rooms", section, limit), build, user=user, values=values)
    return [
        (
            HallwayCard(
                SECTIONS[section_number],
                HallwayRoom(
                    pk,
                    title,
                    topic,
                    visibility,
                    state,
                    speakers_count,
                    listeners_count,
                    started_at,
                    scheduled_for,
                    None,  # type: ignore[arg-type]
                ),
                on_stage,
            ),
            host_id,
        )
        for (
            pk,
            title,
            topic,
            visibility,
            state,
            speakers_count,
            listeners_count,
            started_at,
            scheduled_for,
            host_id,
            section_number,
            on_stage,
        ) in rows
    ]


# --- 2. Who is shown on the cards; 3. their names and faces ------------------------------------

_STAGE_SEAT, _FOLLOWED_LISTENER = 0, 1
# Stage seats ranked for the previews: the speaker previews and the followed people on stage.
_STAGE_PREVIEWS = max(SPEAKER_PREVIEWS, FOLLOWED_PREVIEWS)


def _role_rank() -> Case:
    """Host, moderators, then speakers."""
    return Case(
        When(role=Participant.Role.HOST, then=Value(0)),
        When(role=Participant.Role.MODERATOR, then=Value(1)),
        default=Value(2),
    )


def _previews_builder(user: Any, slot: Slot) -> QuerySet:
    """Who the page's cards show, in one statement (``UNION ALL``), as rows of
    (kind, room, member, rank, blocked or count):

    * the first stage seats of each of the page's rooms (from the partial index
      rooms_active_by_role), followed people first, then host, moderators, speakers, each by
      arrival: the first ``SPEAKER_PREVIEWS`` are the speaker previews, and since the followed
      come first, the first ``FOLLOWED_PREVIEWS`` hold every followed person on stage the card
      can show (how many there are came with the room: ``followed_on_stage_count``); and,
      whatever their rank, every seat of a member the viewer blocked, flagged (the block
      warning). Only the viewer's own blocks: a room whose host blocked them, or whom they
      blocked, is not on the page at all. A flag on the ranked seats costs the planner a hashed
      subquery; a third part of the union for them cost 0.3-0.4 ms more to plan;
    * the first ``FOLLOWED_PREVIEWS`` followed listeners in each room by arrival, with how many
      there are, ranked over the page's listeners against the followed set. The partial index
      rooms_active_listeners hands them over in arrival order (so the sort behind the ranking
      has next to nothing to do) without reading a participant row; for members who follow few
      people, rooms_active_by_member finds them from the followed side instead.

    Ranks, not times: no member columns or timestamps to decode; the members' names are read
    for the few people shown only (query 3).
    """
    rooms = _OneOf(F("room_id"), slot("rooms", _as_list_of(UUIDField())))
    followed = Exists(Follow.objects.filter(follower_id=user.pk, followee_id=OuterRef("user_id")))
    blocked_ids, _ = blocked_user_ids_q(user_id=user.pk)
    blocked = Exists(blocked_ids.filter(blocked_id=OuterRef("user_id")))
    room = [F("room_id")]
    stage = (
        Participant.objects.filter(rooms, left_at__isnull=True, role__in=_STAGE)
        .annotate(
            kind=Value(_STAGE_SEAT),
            rank=Window(
                RowNumber(),
                partition_by=room,
                order_by=[followed.desc(), _role_rank().asc(), F("joined_at").asc(), "pk"],
            ),
            blocked=Case(When(blocked, then=Value(1)), default=Value(0)),
        )
        .filter(Q(rank__lte=_STAGE_PREVIEWS) | Q(blocked=1))
        .values_list("kind", "room_id", "user_id", "rank", "blocked")
    )
    listeners = (
        Participant.objects.filter(
            rooms,
            left_at__isnull=True,
            role=Participant.Role.LISTENER,
            user_id__in=_followees(user),
        )
        .annotate(
            kind=Value(_FOLLOWED_LISTENER),
            rank=Window(
                RowNumber(),
                partition_by=room,
                order_by=[F("joined_at").asc(), F("user_id").asc()],
            ),
            total=Window(Count("*"), partition_by=room),
        )
        .filter(rank__lte=FOLLOWED_PREVIEWS)
        .values_list("kind", "room_id", "user_id", "rank", "total")
    )
    return stage.union(listeners, all=True)


def _people_builder(user: Any, slot: Slot) -> QuerySet:
    """Name and face of each member a page shows (hosts, previews), and whether the account is
    active: one primary key lookup each."""
    members = _OneOf(F("pk"), slot("members", _as_list_of(User._meta.pk)))
    return User.objects.filter(members).values_list("pk", *_PERSON_FIELDS, "is_active")


def _attach_people(user: Any, cards: list[HallwayCard], host_ids: list[int]) -> set[int]:
    """Hosts, speaker previews, followed people and blocked people on stage for every card: two
    queries in all.

    Speaker previews: followed people first, then host, moderators, speakers, each by arrival.
    Followed people: those on stage (host, moderators, speakers, each by arrival), then
    listeners by arrival. Blocked on stage: the viewer's blocked members on the stage, in stage
    order. Returns the ids of the hosts whose account is not active."""
    by_room = {card.room.pk: card for card in cards}
    rows = _fetch(("previews",), _previews_builder, user=user, values={"rooms": list(by_room)})
    seats: dict[Any, list[tuple[int, int]]] = {}
    listeners: dict[Any, list[tuple[int, int]]] = {}
    listener_counts: dict[Any, int] = {}
    blocked: dict[Any, list[tuple[int, int]]] = {}
    for kind, room_id, member_id, rank, extra in rows:
        if kind == _FOLLOWED_LISTENER:
            listeners.setdefault(room_id, []).append((rank, member_id))
            listener_counts[room_id] = extra  # how many followed listeners the room has
            continue
        if rank <= _STAGE_PREVIEWS:
            seats.setdefault(room_id, []).append((rank, member_id))
        if extra:  # blocked by the viewer; never followed, so ranked in stage order
            blocked.setdefault(room_id, []).append((rank, member_id))

    shown: dict[Any, tuple[list[int], list[int], list[int]]] = {}
    wanted = set(host_ids)
    for room_id, card in by_room.items():
        room_seats = [m for _, m in sorted(seats.get(room_id, ()))]
        speakers = room_seats[:SPEAKER_PREVIEWS]
        # The followed people on stage rank first: as many as the room query counted.
        followed = room_seats[: card.followed_on_stage_count]
        followed += [m for _, m in sorted(listeners.get(room_id, ()))]
        followed = followed[:FOLLOWED_PREVIEWS]
        warned = [m for _, m in sorted(blocked.get(room_id, ()))]
        shown[room_id] = (speakers, followed, warned)
        wanted.update(speakers, followed, warned)
        card.followed_in_room_count = card.followed_on_stage_count + listener_counts.get(room_id, 0)

    people: dict[int, HallwayPerson] = {}
    inactive: set[int] = set()
    for pk, username, display_name, avatar, is_active in _fetch(
        ("people",), _people_builder, user=user, values={"members": sorted(wanted)}
    ):
        people[pk] = HallwayPerson(pk, username, display_name, avatar)
        if not is_active:
            inactive.add(pk)
    for card, host_id in zip(cards, host_ids, strict=True):
        card.room.host = people.get(host_id) or HallwayPerson(host_id, "", "", "")
        if host_id not in people:  # the account is gone since the first query
            inactive.add(host_id)
    for room_id, (speakers, followed, warned) in shown.items():
        card = by_room[room_id]
        # Someone gone since the first query is left out.
        card.speakers = [people[m] for m in speakers if m in people]
        card.followed_in_room = [people[m] for m in followed if m in people]
        card.blocked_on_stage = [people[m] for m in warned if m in people]
    return inactive


# --- Entry point -------------------------------------------------------------------------------


def hallway_for(*, user: Any, cursor: str | None = None, limit: int = DEFAULT_LIMIT) -> HallwayPage:
    """One page of ``user``'s hallway, in the order of the three sections.

    ``cursor`` is the ``next_cursor`` of the previous page (``invalid_cursor`` when it cannot
    be read). ``limit`` is clamped to 1..50.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    position = _decode_cursor(cursor) if cursor else None
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return HallwayPage(cards=[], next_cursor=None)
    rows = _page_rooms(user, position, limit + 1)
    cards = [card for card, _ in rows[:limit]]
    next_cursor = _encode_cursor(cards[-1]) if len(rows) > limit else None
    if cards:
        inactive = _attach_people(user, cards, [host_id for _, host_id in rows[:limit]])
        if inactive:
            # Rooms of deactivated hosts leave the page; the cursor still follows the last
            # room read, so the next page starts where this one ended (it may hold fewer cards).
            cards = [card for card in cards if card.room.host.id not in inactive]
    return HallwayPage(cards=cards, next_cursor=next_cursor)
