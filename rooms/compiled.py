"""Shared by the statements the rooms app compiles once per process (``rooms.hallway``,
``rooms.entry``, the visibility condition of ``rooms.selectors``): the ORM builds a statement
once for a stand-in member, and each of the parameters it produced is then either the member's
id, the current time it took while compiling (both bound afresh on every call) or a constant.
Anything else (the stand-in's id written into the SQL, a time derived from "now") means the
statement cannot be shared, and its caller goes through the ORM on every call instead."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from django.utils import timezone

# What a compiled statement's parameter becomes on each call.
CONST, MEMBER, NOW = range(3)


def temporal(value: Any) -> datetime | None:
    """``value`` as a datetime if the ORM passed one (SQLite gets ISO text), else None."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) >= 19:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def taken_while_compiling(
    moment: datetime, before: datetime, after: datetime, connection: Any
) -> bool:
    """Whether ``moment`` is "now" as read while compiling (between ``before`` and ``after``):
    such a parameter becomes the time of each call; any other time makes the statement one
    that cannot be templated."""
    if timezone.is_naive(moment):
        before, after = (timezone.make_naive(t, connection.timezone) for t in (before, after))
    return before <= moment <= after


def parameter_kind(
    param: Any, *, stand_in_id: int, before: datetime, after: datetime, connection: Any
) -> int | None:
    """``MEMBER``, ``NOW`` or ``CONST`` for one parameter of a statement compiled (between
    ``before`` and ``after``) for the member ``stand_in_id``; None when the statement cannot be
    shared."""
    if type(param) is int and param == stand_in_id:
        return MEMBER
    if (moment := temporal(param)) is not None:
        return NOW if taken_while_compiling(moment, before, after, connection) else None
    if isinstance(param, date) or str(stand_in_id) in repr(param):
        return None
    return CONST


def bound_parameters(
    binds: tuple[tuple[int, Any], ...], *, member_id: int, connection: Any
) -> list[Any]:
    """The parameters of one call: ``binds`` are (kind, constant) pairs."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    return [member_id if kind == MEMBER else now if kind == NOW else value for kind, value in binds]


def substitute_placeholders(
    sql: str, params: Sequence[Any], substitute: Callable[[Any], str]
) -> str:
    """``sql`` with each ``%s`` replaced by ``substitute(its parameter)`` (return ``"%s"`` to
    keep it a placeholder); an escaped ``%%`` stays as it is."""
    values = iter(params)
    return "".join(
        substitute(next(values)) if piece == "%s" else piece for piece in re.split(r"(%%|%s)", sql)
    )
