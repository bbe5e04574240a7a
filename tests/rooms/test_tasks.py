"""Housekeeping: idle live rooms end, stale schedules are cancelled; running it again changes
nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from audiosocial.celery import app
from rooms import tasks
from rooms.models import Participant, Room
from tests.factories import RoomFactory, UserFactory
from tests.rooms.conftest import live_room, seat

pytestmark = pytest.mark.django_db


def _age(room: Room, *, minutes: int, seen_minutes_ago: int | None) -> None:
    """Pretend the room started ``minutes`` ago and its people were last seen as given."""
    now = timezone.now()
    Room.objects.filter(pk=room.pk).update(started_at=now - timedelta(minutes=minutes))
    Participant.objects.filter(room=room).update(
        joined_at=now - timedelta(minutes=minutes),
        last_seen_at=None
        if seen_minutes_ago is None
        else now - timedelta(minutes=seen_minutes_ago),
    )


def test_housekeeping_is_registered_under_the_beat_name():
    assert settings.CELERY_BEAT_SCHEDULE["rooms-housekeeping"]["task"] == "rooms.housekeeping"
    assert "rooms.housekeeping" in app.tasks
    assert "rooms.presence_sweep" in app.tasks


def test_idle_live_rooms_end_and_busy_ones_stay():
    idle_minutes = settings.ROOM_IDLE_END_MINUTES
    idle = live_room(title="idle")
    seat(idle, UserFactory())
    _age(idle, minutes=idle_minutes + 30, seen_minutes_ago=idle_minutes + 1)
    never_seen = live_room(title="never seen")
    _age(never_seen, minutes=idle_minutes + 5, seen_minutes_ago=None)
    busy = live_room(title="busy")
    listener = UserFactory()
    seat(busy, listener)
    _age(busy, minutes=idle_minutes + 30, seen_minutes_ago=idle_minutes + 1)
    Participant.objects.filter(room=busy, user=listener).update(last_seen_at=timezone.now())
    live_room(title="just started")

    result = tasks.housekeeping.apply().get()

    assert result == {"ended": 2, "cancelled": 0}
    states = dict(Room.objects.values_list("title", "state"))
    assert states == {
        "idle": "ended",
        "never seen": "ended",
        "busy": "live",
        "just started": "live",
    }
    assert Room.objects.get(title="idle").end_reason == "idle"
    assert not Participant.objects.filter(room__title="idle", left_at__isnull=True).exists()
    assert tasks.housekeeping.apply().get() == {"ended": 0, "cancelled": 0}


def test_expired_schedules_are_cancelled_and_near_ones_kept():
    hours = settings.ROOM_SCHEDULE_EXPIRY_HOURS
    now = timezone.now()
    stale = RoomFactory(
        title="stale",
        state="scheduled",
        started_at=None,
        scheduled_for=now - timedelta(hours=hours + 1),
    )
    late = RoomFactory(
        title="late", state="scheduled", started_at=None, scheduled_for=now - timedelta(hours=1)
    )
    soon = RoomFactory(
        title="soon", state="scheduled", started_at=None, scheduled_for=now + timedelta(hours=1)
    )

    assert tasks.housekeeping.apply().get() == {"ended": 0, "cancelled": 1}

    for room in (stale, late, soon):
        room.refresh_from_db()
    assert (stale.state, stale.end_reason) == ("cancelled", "expired")
    assert late.state == soon.state == "scheduled"
    assert tasks.cancel_expired_schedules() == 0


def test_a_heartbeat_between_the_scan_and_the_lock_keeps_the_room():
    from rooms import services

    idle_since = timezone.now() - timedelta(minutes=settings.ROOM_IDLE_END_MINUTES)
    room = live_room()
    _age(room, minutes=60, seen_minutes_ago=40)
    Participant.objects.filter(room=room).update(last_seen_at=timezone.now())
    assert services.room_end_if_idle(room=room, idle_since=idle_since) is False
    room.refresh_from_db()
    assert room.state == "live"


def test_leave_stale_participants_hands_over_and_keeps_counts():
    room = live_room()
    mod, listener = UserFactory(), UserFactory()
    seat(room, mod, "moderator")
    seat(room, listener)
    now = timezone.now()
    Participant.objects.filter(room=room, user=room.host).update(
        last_seen_at=now - timedelta(minutes=5)
    )
    assert tasks.leave_stale_participants(seen_before=now - timedelta(minutes=1)) == 1
    room.refresh_from_db()
    assert room.host_id == mod.pk and room.listeners_count == 1 and room.speakers_count == 1


def test_a_participant_seen_after_the_sweeps_scan_stays():
    from rooms import services

    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    cutoff = timezone.now() - timedelta(minutes=1)
    Participant.objects.filter(room=room, user=listener).update(last_seen_at=timezone.now())
    assert (
        services.participant_leave_if_stale(room=room, user=listener, seen_before=cutoff) is False
    )
    Participant.objects.filter(room=room, user=listener).update(
        last_seen_at=cutoff - timedelta(seconds=1)
    )
    assert services.participant_leave_if_stale(room=room, user=listener, seen_before=cutoff) is True
    room.refresh_from_db()
    assert room.listeners_count == 0
