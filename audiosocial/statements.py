"""Statements the ORM builds once per process and database, then reused with bound parameters.

Used where building a queryset costs more Python than the database takes to answer it: the
hallway (``rooms.hallway``), a batch's entry checks (``rooms.entry``), one room's visibility
(``rooms.selectors``) and the member a session names (``accounts.selectors.member_by_id``).
``rooms/compiled.py`` says what each parameter of a statement compiled for a stand-in member
becomes on a call; ``converted_rows`` turns the raw rows into the values the ORM would give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")


def statement_cache(name: str) -> dict[tuple[Any, ...], Any]:
    """A process-wide cache of compiled statements, emptied whenever settings change (tests that
    override settings get statements compiled under them)."""
    cache: dict[tuple[Any, ...], Any] = {}

    def clear(**kwargs: Any) -> None:
        cache.clear()

    setting_changed.connect(clear, weak=False, dispatch_uid=f"statements:{name}")
    return cache


def compiled_once(
    cache: dict[tuple[Any, ...], Any],
    connection: Any,
    compile_statement: Callable[[Any], T],
    *key: Any,
) -> T:
    """``compile_statement(connection)``'s result, compiled on the first call for this database
    (alias and vendor) and ``key``, kept in ``cache`` after that (a None too: "cannot be
    compiled", so the caller's fallback is chosen once)."""
    full_key = (connection.alias, connection.vendor, *key)
    try:
        return cache[full_key]
    except KeyError:
        value = cache[full_key] = compile_statement(connection)
        return value


# compiler.get_converters() as pairs: (column position, (functions, expression)).
Converters = Sequence[tuple[int, tuple[list[Any], Any]]]


def converted_rows(rows: Iterable[Sequence[Any]], converters: Converters, connection: Any) -> list:
    """``rows`` as the ORM would hand them over: each column through its field's converters
    (the ones ``compiler.get_converters`` named when the statement was compiled)."""
    if not converters:
        return list(rows)
    result = []
    for row in rows:
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        result.append(row)
    return result
