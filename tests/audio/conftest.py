"""Audio test fixtures. The real Janus (``janus_server`` / ``janus``) comes from tests/janus.py,
registered in tests/conftest.py and shared with the browser tests."""

from __future__ import annotations

import pytest

from tests.janus import JanusServer, free_port  # noqa: F401 - re-exported for the audio tests


@pytest.fixture
def published(monkeypatch):
    """Every room event published during the test, in order (replaces the delivery layer)."""
    import threading

    from rooms import realtime

    events: list[tuple[str, dict]] = []
    lock = threading.Lock()

    def capture(room_id, event):
        with lock:
            events.append((str(room_id), dict(event)))

    monkeypatch.setattr(realtime, "publish_room_event", capture)
    return events


@pytest.fixture
async def audio(janus, settings):
    """Real Janus + hooks on + this process's signalling hub torn down after the test."""
    from rooms.audio import hooks, signalling

    settings.AUDIO_HOOKS_ENABLED = True
    yield janus
    await signalling.shutdown()
    hooks.wait_idle()
