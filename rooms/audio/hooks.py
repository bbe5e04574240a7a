"""What the room services tell the audio layer, after commit (owned by the audio work).

``rooms.services`` calls these through ``audiosocial.oncommit.run_on_commit`` whenever a change
affects who may be heard or who is in the AudioBridge. They must be quick for the caller and must
never raise into it: Janus being down is a state to report (``audio.unavailable``), not an error.

So each hook only queues its work on one worker thread per process and returns. One thread keeps
a process's Janus requests in the order the changes committed; each job re-reads the database,
so a late job still applies the latest state. The work itself is in ``rooms.audio.bridge``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio-hooks")
        return _executor


def _job(func: Callable[..., Any], *args: Any) -> None:
    close_old_connections()
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - reconciliation repairs what a failed job left
        logger.exception("audio hook %s%r failed", getattr(func, "__name__", func), args)
    finally:
        # The worker thread must not keep a connection open between jobs (or the test database
        # could not be dropped, and PostgreSQL would count an idle connection per process).
        connections.close_all()


def enabled() -> bool:
    # A test suite can switch audio side effects off where no Janus runs
    # (``AUDIO_HOOKS_ENABLED = False``); production never sets it.
    return bool(getattr(settings, "AUDIO_HOOKS_ENABLED", True))


def shared_memory_database() -> bool:
    """True on the test suite's in-memory SQLite database.

    Its shared cache locks whole tables and fails at once (``database table is locked``) instead
    of waiting, so on it audio work stays on the calling thread. Everywhere else (PostgreSQL, a
    SQLite file with its busy timeout) it runs on the worker thread.
    """
    connection = connections["default"]
    return connection.vendor == "sqlite" and connection.is_in_memory_db()


def submit(func: Callable[..., Any], *args: Any) -> Future | None:
    if not enabled():
        return None
    if not shared_memory_database():
        try:
            return _pool().submit(_job, func, *args)
        except RuntimeError:
            # The interpreter is shutting down (its executors refuse work): a stopping daphne
            # still owes Janus the kicks of the sockets it closes, so do them here.
            pass
    try:
        func(*args)
    except Exception:  # noqa: BLE001 - same contract as the worker: never raise
        logger.exception("audio hook %s%r failed", getattr(func, "__name__", func), args)
    return None


def wait_idle(timeout: float = 10.0) -> None:
    """Block until every hook queued so far has run (tests, management commands)."""
    _pool().submit(lambda: None).result(timeout=timeout)


def room_went_live(*, room_id: str) -> None:
    """Create the room's AudioBridge room (private, secret, allowed-token list)."""
    from rooms.audio import bridge

    submit(bridge.room_went_live, str(room_id))


def room_ended(*, room_id: str) -> None:
    """Destroy the AudioBridge room; everyone's media stops."""
    from rooms.audio import bridge

    submit(bridge.room_ended, str(room_id))


def participant_left(*, room_id: str, user_id: int, audio_token: str) -> None:
    """Leave, removal, eviction (block/ban), closed socket: revoke the token and kick, now."""
    from rooms.audio import bridge

    submit(bridge.participant_left, str(room_id), int(user_id), audio_token or "")


def participant_changed(*, room_id: str, user_id: int) -> None:
    """Role or mute changed: make Janus's mute state match (only unmuted speakers are audible)."""
    from rooms.audio import bridge

    submit(bridge.sync_participant, str(room_id), int(user_id))
