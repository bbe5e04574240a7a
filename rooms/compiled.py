"""Shared by the statements the rooms app compiles once per process (``rooms.hallway``,
``rooms.entry``): telling, among the parameters the ORM produced for a stand-in member, the
current time it took while compiling (bound afresh on every call) from a fixed value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone


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
