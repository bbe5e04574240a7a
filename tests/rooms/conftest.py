"""Room test helpers: rooms built through the services (so counters are real), and recorders for
the after-commit side effects (realtime events, audio hooks, notifications)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db.models import Q

from rooms import services
from rooms.models import Participant, Room
from tests.factories import UserFactory

AUDIO_HOOKS = ("room_went_live", "room_ended", "participant_left", "participant_changed")
NOTIFY_HOOKS = ("notify_room_live", "notify_speaker_invited", "notify_pinged")


@dataclass
class Recorder:
    events: list[dict[str, Any]] = field(default_factory=list)
    audio: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def audio_names(self) -> list[str]:
        return [name for name, _ in self.audio]

    def clear(self) -> None:
        self.events.clear()
        self.audio.clear()
        self.notifications.clear()


@pytest.fixture(autouse=True)
def recorder(monkeypatch) -> Recorder:
    """Replace the transport, the audio hooks and the notification hooks with recorders.

    They only run after commit: use ``django_capture_on_commit_callbacks(execute=True)`` in a
    test that looks at them (the default test transaction never commits).
    """
    rec = Recorder()
    from notifications import services as notifications
    from rooms import realtime
    from rooms.audio import hooks

    monkeypatch.setattr(
        realtime, "publish_room_event", lambda room_id, event: rec.events.append(event)
    )
    for name in AUDIO_HOOKS:
        monkeypatch.setattr(
            hooks, name, lambda _name=name, **kw: rec.audio.append((_name, kw)), raising=False
        )
    for name in NOTIFY_HOOKS:
        monkeypatch.setattr(
            notifications,
            name,
            lambda _name=name, **kw: rec.notifications.append((_name, kw)),
            raising=False,
        )
    return rec


@dataclass
class Cast:
    """A live room with one member in each role, plus members outside it."""

    room: Room
    host: Any
    moderator: Any
    speaker: Any
    listener: Any
    non_participant: Any  # may see and join the room, is not in it
    outsider: Any  # may not see the room (blocked by the host)

    def of(self, role: str) -> Any:
        return getattr(self, role)


def live_room(*, host: Any = None, **kwargs: Any) -> Room:
    return services.room_create(
        host=host or UserFactory(), title=kwargs.pop("title", "Live"), **kwargs
    )


def seat(room: Room, user: Any, role: str = "listener") -> Participant:
    """Put ``user`` in ``room`` with ``role`` through the services (counters stay true)."""
    participant = services.participant_join(room=room, user=user)
    if role in ("speaker", "moderator"):
        services.speaker_invite(room=room, by=room.host, user=user)
        participant = services.speaker_accept(room=room, user=user)
    if role == "moderator":
        participant = services.moderator_add(room=room, by=room.host, user=user)
    return participant


@pytest.fixture
def cast() -> Cast:
    from moderation.models import Block

    host = UserFactory(username="host")
    room = live_room(host=host, title="Cast")
    moderator = UserFactory(username="mod")
    speaker = UserFactory(username="speaker")
    listener = UserFactory(username="listener")
    seat(room, moderator, "moderator")
    seat(room, speaker, "speaker")
    seat(room, listener)
    outsider = UserFactory(username="outsider")
    Block.objects.create(blocker=host, blocked=outsider)
    room.refresh_from_db()
    return Cast(
        room=room,
        host=host,
        moderator=moderator,
        speaker=speaker,
        listener=listener,
        non_participant=UserFactory(username="passerby"),
        outsider=outsider,
    )


def true_counts(room: Room) -> tuple[int, int]:
    active = Participant.objects.filter(room=room, left_at__isnull=True)
    speakers = active.filter(role__in=Participant.STAGE_ROLES).count()
    listeners = active.filter(~Q(role__in=Participant.STAGE_ROLES)).count()
    return speakers, listeners


def assert_counts_exact(room: Room) -> None:
    room.refresh_from_db()
    assert (room.speakers_count, room.listeners_count) == true_counts(room)


def participant(room: Room, user: Any) -> Participant:
    return Participant.objects.get(room=room, user=user, left_at__isnull=True)
