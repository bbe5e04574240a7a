"""Side effects that follow a database change run after commit, through this one helper.

Realtime events, Celery tasks and Janus calls must never announce a change that rolls back.
Outside a transaction (autocommit) ``transaction.on_commit`` runs the callback at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def run_on_commit(func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``func(*args, **kwargs)`` once the current transaction commits.

    A failure in a side effect is logged, never raised into the request that already committed.
    """

    def _run() -> None:
        try:
            func(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the write committed; report the side effect's failure
            logger.exception("on-commit side effect %r failed", func)

    transaction.on_commit(_run, robust=False)


def delay_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue a Celery task after commit (the task takes ids and reloads fresh rows)."""
    run_on_commit(task.delay, *args, **kwargs)
