"""Celery beat's schedule, run inside the web process when there is no Redis (``make run``).

With ``REDIS_URL`` a Celery worker and ``celery beat`` run the periodic tasks of
``CELERY_BEAT_SCHEDULE``. On the embedded defaults there is neither (Celery runs eagerly, in the
caller), and room events and notification pushes only reach sockets of the process that sends
them, so a separate scheduler process could not deliver them. ``PERIODIC_TASKS_IN_PROCESS``
(set by ``scripts/run.sh`` when ``REDIS_URL`` is empty) makes the ASGI application run the same
schedule as an asyncio task in its own event loop: each due task runs on Django's sync thread,
exactly as a request would run it, so what it publishes reaches the process's sockets.

One process only: with several web processes every one of them would run the schedule. That is
what Redis and ``celery beat`` are for (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def _celery_app() -> Any:
    from audiosocial.celery import app

    # A worker imports every app's tasks module at start; here it is done once, on first use.
    app.autodiscover_tasks(force=True)
    return app


def _run_task(name: str) -> None:
    task = _celery_app().tasks[name]
    # ``apply`` runs the task here and now, whatever the broker; a failure is logged, never raised
    # into the loop (the next run tries again).
    result = task.apply(throw=False)
    if result.failed():
        logger.error("periodic task %s failed: %r", name, result.result)


async def run_schedule(
    schedule: dict[str, dict[str, Any]] | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run each entry's task every ``schedule`` seconds, forever (cancel the task to stop).

    Each task's first run is one interval after the start, as with ``celery beat``. Tasks run one
    at a time, on the thread Django's sync code shares (``thread_sensitive``).
    """
    entries = schedule if schedule is not None else settings.CELERY_BEAT_SCHEDULE
    start = clock()
    due = {name: start + float(entry["schedule"]) for name, entry in entries.items()}
    run = sync_to_async(_run_task, thread_sensitive=True)
    while True:
        name = min(due, key=due.__getitem__)
        wait = due[name] - clock()
        if wait > 0:
            await sleep(wait)
        try:
            await run(entries[name]["task"])
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("periodic task %s could not run", entries[name]["task"])
        due[name] = max(due[name] + float(entries[name]["schedule"]), clock())


class PeriodicTasksMiddleware:
    """ASGI wrapper: starts ``run_schedule`` in the server's event loop on the first connection
    (``scripts/run.sh`` makes one at start-up), when ``PERIODIC_TASKS_IN_PROCESS`` is on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.task: asyncio.Task | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        if self.task is None and settings.PERIODIC_TASKS_IN_PROCESS:
            self.task = asyncio.get_running_loop().create_task(run_schedule())
            logger.info("running the periodic tasks in this process")
        return await self.app(scope, receive, send)
