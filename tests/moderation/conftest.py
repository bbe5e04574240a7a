"""Moderation test helpers: rooms built through the real room services (no recorders, no mocks),
moderators as the data migration makes them, and a spy that records audio-hook calls while still
calling the real hook."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps

from audiosocial.celery import app as celery_app
from moderation.permissions import ensure_moderators_group
from rooms import services as room_services
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _inline_tasks():
    # With REDIS_URL the project enqueues to a real broker; these tests check what the tasks do
    # (session cleanup, the reporter's notification, expiry), so they run inline.
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_janus(settings):
    # The services still call the audio hooks (``audio_calls`` records them); the hooks' Janus
    # work is switched off here, as no Janus runs for these tests (tests/audio/ covers it).
    settings.AUDIO_HOOKS_ENABLED = False


@pytest.fixture
def moderators_group(db):
    # The migration created it; ensure again so a flush by a transactional test cannot lose it.
    return ensure_moderators_group(apps)


@pytest.fixture
def moderator(moderators_group):
    user = UserFactory(username="moderator", is_staff=True)
    user.groups.add(moderators_group)
    return user


@pytest.fixture
def staff_member(db):
    """Staff, but not in the Moderators group: no moderation permission."""
    return UserFactory(username="staffer", is_staff=True)


def live_room(host: Any, title: str = "Late night talk") -> Any:
    return room_services.room_create(host=host, title=title)


def join(room: Any, *users: Any) -> None:
    for user in users:
        room_services.participant_join(room=room, user=user)


def on_stage(room: Any, host: Any, user: Any) -> None:
    """Bring ``user`` (already a listener) on stage as a speaker, the way members do."""
    room_services.speaker_invite(room=room, by=host, user=user)
    room_services.speaker_accept(room=room, user=user)


def make_moderator(room: Any, host: Any, user: Any) -> None:
    room_services.moderator_add(room=room, by=host, user=user)


@pytest.fixture
def audio_calls(monkeypatch) -> list[tuple[str, dict]]:
    """Every call the room services make to the audio hooks, recorded on the way through to the
    real hook (the audio layer itself is tested against Janus in tests/audio/)."""
    from rooms.audio import hooks

    calls: list[tuple[str, dict]] = []
    for name in ("participant_left", "room_ended"):
        real = getattr(hooks, name)

        def spy(_real=real, _name=name, **kwargs):
            calls.append((_name, kwargs))
            return _real(**kwargs)

        monkeypatch.setattr(hooks, name, spy)
    return calls
