from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from audiosocial.errors import Conflict, Forbidden, InvalidInput
from rooms import services
from rooms.models import Participant, Room
from tests.factories import RoomFactory, UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, seat

pytestmark = pytest.mark.django_db

S = Room.State
ALLOWED = [(S.SCHEDULED, S.LIVE), (S.SCHEDULED, S.CANCELLED), (S.LIVE, S.ENDED)]
FORBIDDEN = [
    (a, b) for a in S.values for b in S.values if (a, b) not in {(x, y) for x, y in ALLOWED}
]


def test_transition_table_declares_exactly_the_lifecycle():
    assert {k: set(v) for k, v in Room.TRANSITIONS.items()} == {
        S.SCHEDULED: {S.LIVE, S.CANCELLED},
        S.LIVE: {S.ENDED},
        S.ENDED: set(),
        S.CANCELLED: set(),
    }


@pytest.mark.parametrize(("start", "to"), ALLOWED)
def test_allowed_transitions_move_and_stamp(start, to):
    room = RoomFactory(state=start, started_at=None)
    services.room_transition(room=room, to=to, reason="test")
    room.refresh_from_db()
    assert room.state == to
    if to == S.LIVE:
        assert room.started_at is not None
    else:
        assert room.ended_at is not None and room.end_reason == "test"


@pytest.mark.parametrize(("start", "to"), FORBIDDEN)
def test_undeclared_transitions_are_refused_and_change_nothing(start, to):
    room = RoomFactory(state=start, started_at=None)
    with pytest.raises(Conflict) as exc:
        services.room_transition(room=room, to=to)
    assert exc.value.code == "wrong_state"
    assert exc.value.details == {"state": start, "to": to}
    room.refresh_from_db()
    assert room.state == start and room.started_at is None and room.ended_at is None


def test_create_without_schedule_goes_live_with_host_on_stage(
    recorder, django_capture_on_commit_callbacks
):
    host = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        room = services.room_create(host=host, title="  Morning show  ", topic="News")
    room.refresh_from_db()
    assert room.state == S.LIVE and room.started_at is not None
    assert room.title == "Morning show"
    me = Participant.objects.get(room=room, user=host)
    assert me.role == Participant.Role.HOST and me.is_active and me.audio_token
    assert (room.speakers_count, room.listeners_count) == (1, 0)
    assert ("room_went_live", {"room_id": str(room.pk)}) in recorder.audio
    assert ("notify_room_live", {"room_id": str(room.pk)}) in recorder.notifications
    assert recorder.types() == ["room.updated"]


def test_create_with_schedule_waits_and_nobody_can_join_yet():
    when = timezone.now() + timedelta(hours=2)
    room = services.room_create(host=UserFactory(), title="Later", scheduled_for=when)
    assert room.state == S.SCHEDULED and room.scheduled_for == when
    assert not Participant.objects.filter(room=room).exists()
    with pytest.raises(Conflict) as exc:
        services.participant_join(room=room, user=UserFactory())
    assert exc.value.code == "room_not_live"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"title": ""}, "title_required"),
        ({"title": "   "}, "title_required"),
        ({"title": "x" * 121}, "title_too_long"),
        ({"title": "ok", "topic": "y" * 1001}, "topic_too_long"),
        ({"title": "ok", "visibility": "secret"}, "invalid_visibility"),
        ({"title": "ok", "scheduled_for": "tomorrow"}, "invalid_schedule"),
        ({"title": "ok", "scheduled_for": datetime(2030, 1, 1)}, "invalid_schedule"),  # noqa: DTZ001
        (
            {"title": "ok", "scheduled_for": timezone.now() - timedelta(minutes=1)},
            "scheduled_in_past",
        ),
        (
            {"title": "ok", "scheduled_for": timezone.now() + timedelta(days=400)},
            "scheduled_too_far",
        ),
    ],
)
def test_create_refuses_bad_input(kwargs, code):
    with pytest.raises(InvalidInput) as exc:
        services.room_create(host=UserFactory(), **kwargs)
    assert exc.value.code == code
    assert not Room.objects.exists()


def test_a_host_has_one_live_room_at_a_time():
    host = UserFactory()
    first = live_room(host=host)
    with pytest.raises(Conflict) as exc:
        live_room(host=host)
    assert exc.value.code == "already_hosting"
    assert exc.value.details == {"room": str(first.pk)}
    later = services.room_create(
        host=host, title="Later", scheduled_for=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(Conflict) as exc:
        services.room_start(room=later, by=host)
    assert exc.value.code == "already_hosting"
    later.refresh_from_db()
    assert later.state == S.SCHEDULED
    services.room_end(room=first, by=host)
    services.room_start(room=later, by=host)
    assert later.state == S.LIVE


def test_database_constraint_is_translated_when_the_check_is_raced():
    # Bypass the friendly pre-check: the constraint is the last line and becomes a Conflict.
    host = UserFactory()
    live_room(host=host)
    other = RoomFactory(host=host, state=S.SCHEDULED, started_at=None)
    with pytest.raises(Conflict) as exc:
        services.room_transition(room=other, to=S.LIVE)
    assert exc.value.code == "already_hosting"
    assert other.state == S.SCHEDULED
    other.refresh_from_db()
    assert other.state == S.SCHEDULED


def test_scheduled_room_can_start_early_and_only_by_its_host():
    host = UserFactory()
    room = services.room_create(
        host=host, title="Later", scheduled_for=timezone.now() + timedelta(days=1)
    )
    with pytest.raises(Forbidden) as exc:
        services.room_start(room=room, by=UserFactory())
    assert exc.value.code == "not_host"
    services.room_start(room=room, by=host)
    room.refresh_from_db()
    assert room.state == S.LIVE and room.speakers_count == 1
    with pytest.raises(Conflict) as exc:
        services.room_start(room=room, by=host)
    assert exc.value.code == "wrong_state"


def test_cancel_only_scheduled_rooms_and_only_by_host():
    host = UserFactory()
    room = services.room_create(
        host=host, title="Later", scheduled_for=timezone.now() + timedelta(days=1)
    )
    with pytest.raises(Forbidden):
        services.room_cancel(room=room, by=UserFactory())
    services.room_cancel(room=room, by=host)
    room.refresh_from_db()
    assert room.state == S.CANCELLED and room.end_reason == "host"
    live = live_room(host=host)
    with pytest.raises(Conflict) as exc:
        services.room_cancel(room=live, by=host)
    assert exc.value.code == "wrong_state"


def test_end_closes_every_participation_and_zeroes_counters(
    recorder, django_capture_on_commit_callbacks
):
    room = live_room()
    seat(room, UserFactory(), "speaker")
    seat(room, UserFactory())
    seat(room, UserFactory())
    with pytest.raises(Forbidden):
        services.room_end(room=room, by=UserFactory())
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.room_end(room=room, by=room.host)
    room.refresh_from_db()
    assert room.state == S.ENDED and room.end_reason == "host" and room.ended_at
    assert not Participant.objects.filter(room=room, left_at__isnull=True).exists()
    assert (room.speakers_count, room.listeners_count) == (0, 0)
    assert_counts_exact(room)
    assert recorder.types() == ["room.ended"]
    assert recorder.audio == [("room_ended", {"room_id": str(room.pk)})]
    with pytest.raises(Conflict) as exc:
        services.room_end(room=room, by=room.host)
    assert exc.value.code == "wrong_state"


def test_system_can_end_a_room_without_a_user():
    room = live_room()
    services.room_end(room=room, by=None, reason="moderation")
    room.refresh_from_db()
    assert room.state == S.ENDED and room.end_reason == "moderation"


def test_update_edits_details_host_only(recorder, django_capture_on_commit_callbacks):
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    with pytest.raises(Forbidden) as exc:
        services.room_update(room=room, by=speaker, title="Mine now")
    assert exc.value.code == "not_host"
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, by=room.host, title="Renamed", visibility="closed")
    room.refresh_from_db()
    assert (room.title, room.visibility) == ("Renamed", "closed")
    assert recorder.types() == ["room.updated"]
    assert recorder.events[0]["data"]["title"] == "Renamed"


def test_update_refuses_unknown_fields_schedule_changes_when_live_and_ended_rooms():
    room = live_room()
    with pytest.raises(InvalidInput) as exc:
        services.room_update(room=room, by=room.host, state="ended")
    assert exc.value.code == "not_editable"
    with pytest.raises(Conflict):
        services.room_update(
            room=room, by=room.host, scheduled_for=timezone.now() + timedelta(hours=1)
        )
    services.room_end(room=room, by=room.host)
    with pytest.raises(Conflict) as exc:
        services.room_update(room=room, by=room.host, title="Again")
    assert exc.value.code == "wrong_state"
    room.refresh_from_db()
    assert room.title == "Live"


def test_rescheduling_a_scheduled_room():
    host = UserFactory()
    room = services.room_create(
        host=host, title="Later", scheduled_for=timezone.now() + timedelta(days=1)
    )
    when = timezone.now() + timedelta(days=2)
    services.room_update(room=room, by=host, scheduled_for=when)
    room.refresh_from_db()
    assert room.scheduled_for == when


def test_restricted_members_cannot_create_rooms():
    from moderation.models import Sanction

    host = UserFactory()
    Sanction.objects.create(
        user=host, kind=Sanction.Kind.BAN, reason="spam", starts_at=timezone.now()
    )
    with pytest.raises(Forbidden) as exc:
        live_room(host=host)
    assert exc.value.code == "account_restricted"
    assert not Room.objects.exists()
