"""What a room's services must know before letting members in, for many members at once.

``entry_facts(room_id=..., user_ids=[...])`` answers, in one statement, for each member: may they
see the room (``rooms.selectors.visible_rooms_q``, the one visibility rule), are they suspended
or banned, were they removed from it, their current participation in it, and whether they are in
another room now. ``rooms.services.participant_join_many`` asks it under the room lock.

**Compiled once per process.** Building the visibility rule with the ORM (nine subqueries) cost
about 4 ms of Python per join, all of it under the room's row lock: one room admitted at most
~125 joins a second however many processes served it (docs/benchmarks.md). So, as the hallway
does (``rooms.hallway``), the ORM builds each fact once, for a stand-in member and room, and the
SQL is kept: the stand-in member's id becomes a reference to the member column of the outer
statement (``unnest`` of an id array on PostgreSQL, ``json_each`` elsewhere), the room id and the
current time (sanctions in force) are bound on every call, other constants stay parameters. If
the SQL cannot be templated that way (the stand-in id written into the SQL, a time the statement
derived from "now"), each member is asked through the ORM instead: slower, never wrong. The
rule depends on a member only through their id once they are signed in and active, which the
caller checks on the user object (``visible_rooms_q`` says ``NOTHING`` otherwise).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone

from audiosocial.statements import compiled_once, statement_cache
from moderation.selectors import restricted_sanctions
from rooms.compiled import CONST, MEMBER, NOW, parameter_kind, substitute_placeholders
from rooms.models import Participant, Room
from rooms.selectors import can_see_room, is_removed_from, visible_rooms_q

# Nobody has this id and no room this one: where they appear among a compiled statement's
# parameters, the member column and the room parameter go.
_STAND_IN_USER = -7_316_044_293
_STAND_IN_ROOM = uuid.UUID("7316e4a2-0000-4000-8000-00000000e471")
_MEMBER_ALIAS = "entry_member"


@dataclass(frozen=True, slots=True)
class EntryFacts:
    visible: bool
    restricted: bool
    removed: bool
    # The member's current participation in this room (its id), if any.
    participant_id: int | None
    # In another room now.
    elsewhere: bool


def _fact_querysets(user: Any, room_id: Any) -> list[QuerySet]:
    """Each fact as a queryset whose existence (or first value) answers it."""
    uid = user.pk
    return [
        Room.objects.filter(visible_rooms_q(user), pk=room_id).values("pk"),
        restricted_sanctions().filter(user_id=uid).values("pk"),
        Participant.objects.filter(room_id=room_id, user_id=uid, removed=True).values("pk"),
        Participant.objects.filter(room_id=room_id, user_id=uid, left_at__isnull=True).values("pk"),
        Participant.objects.filter(user_id=uid, left_at__isnull=True)
        .exclude(room_id=room_id)
        .values("pk"),
    ]


# Besides the kinds of rooms.compiled: the room parameter.
_ROOM = NOW + 1


@dataclass(frozen=True)
class _Statement:
    sql: str
    binds: tuple[tuple[int, Any], ...]

    def run(self, connection: Any, room_id: Any, user_ids: list[int]) -> list[tuple]:
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        room = Room._meta.pk.get_db_prep_value(room_id, connection)
        ids = user_ids if connection.vendor == "postgresql" else json.dumps(user_ids)
        params = [room if kind == _ROOM else now if kind == NOW else v for kind, v in self.binds]
        params.append(ids)  # the FROM clause comes last
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            return cursor.fetchall()


def _compile(connection: Any) -> _Statement | None:
    from django.contrib.auth import get_user_model

    stand_in = get_user_model()(pk=_STAND_IN_USER, is_active=True)
    postgres = connection.vendor == "postgresql"
    member = f"{_MEMBER_ALIAS}.id" if postgres else f"{_MEMBER_ALIAS}.value"
    room_values = (_STAND_IN_ROOM, _STAND_IN_ROOM.hex, str(_STAND_IN_ROOM))
    before = timezone.now()
    columns: list[str] = []
    binds: list[tuple[int, Any]] = []
    for position, queryset in enumerate(_fact_querysets(stand_in, _STAND_IN_ROOM)):
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        if str(_STAND_IN_USER) in sql or _STAND_IN_ROOM.hex in sql.replace("-", ""):
            return None
        shareable = True

        def substitute(param: Any) -> str:
            nonlocal shareable
            if param in room_values:
                binds.append((_ROOM, None))
                return "%s"
            kind = parameter_kind(
                param,
                stand_in_id=_STAND_IN_USER,
                before=before,
                after=timezone.now(),
                connection=connection,
            )
            if kind is None:
                shareable = False
                return "%s"
            if kind == MEMBER:
                return member
            binds.append((kind, param if kind == CONST else None))
            return "%s"

        inner = substitute_placeholders(sql, params, substitute)
        if not shareable:
            return None
        # The current participation's id (one at most: a unique constraint); the rest exist or not.
        columns.append(f"({inner} LIMIT 1)" if position == 3 else f"EXISTS({inner})")
    source = (
        f"unnest(%s::bigint[]) AS {_MEMBER_ALIAS}(id)"
        if postgres
        else f"json_each(%s) AS {_MEMBER_ALIAS}"
    )
    # Every fragment comes from the ORM's compiler or this module: no value a user sent.
    sql = f"SELECT {member}, {', '.join(columns)} FROM {source}"  # noqa: S608
    return _Statement(sql=sql, binds=tuple(binds))


# (alias, vendor) -> the statement, or None when it cannot be templated.
_statements = statement_cache("rooms.entry")


def entry_facts(*, room_id: Any, users: list[Any]) -> dict[int, EntryFacts]:
    """The facts above for each of ``users`` (signed-in, active members) about ``room_id``:
    one query."""
    ids = sorted({u.pk for u in users})
    if not ids:
        return {}
    connection = connections[router.db_for_read(Participant)]
    statement = compiled_once(_statements, connection, _compile)
    if statement is None:
        return {u.pk: _facts_through_orm(room_id, u) for u in users}
    return {
        int(row[0]): EntryFacts(
            visible=bool(row[1]),
            restricted=bool(row[2]),
            removed=bool(row[3]),
            participant_id=row[4],
            elsewhere=bool(row[5]),
        )
        for row in statement.run(connection, room_id, ids)
    }


def _facts_through_orm(room_id: Any, user: Any) -> EntryFacts:
    room = Room(pk=room_id)
    uid = user.pk
    current = (
        Participant.objects.filter(room_id=room_id, user_id=uid, left_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )
    return EntryFacts(
        visible=can_see_room(user=user, room=room),
        restricted=restricted_sanctions().filter(user_id=uid).exists(),
        removed=is_removed_from(room=room, user_id=uid),
        participant_id=current,
        elsewhere=Participant.objects.filter(user_id=uid, left_at__isnull=True)
        .exclude(room_id=room_id)
        .exists(),
    )
