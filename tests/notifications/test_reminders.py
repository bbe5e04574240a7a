"""'Remind me': a reminder 10 minutes before the scheduled start (beat, every minute), once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time

from notifications import services, tasks
from notifications.models import DisabledKind, Notification, RoomReminder
from tests.factories import UserFactory
from tests.notifications.conftest import block, follow, make_room

pytestmark = pytest.mark.django_db

K = Notification.Kind
START = datetime(2026, 11, 21, 18, 0, tzinfo=UTC)


def scheduled_room(host=None, **kwargs):
    return make_room(host or UserFactory(), state="scheduled", scheduled_for=START, **kwargs)


def reminded():
    return set(
        Notification.objects.filter(kind=K.ROOM_REMINDER).values_list(
            "recipient__username", flat=True
        )
    )


def test_reminder_is_sent_ten_minutes_before_and_only_once():
    room = scheduled_room()
    RoomReminder.objects.create(user=UserFactory(username="early"), room=room)
    RoomReminder.objects.create(user=UserFactory(username="keen"), room=room)

    with freeze_time(START - timedelta(minutes=10, seconds=30)):
        assert tasks.send_reminders.delay().get() == 0
    assert reminded() == set()

    with freeze_time(START - timedelta(minutes=9, seconds=45)):
        assert tasks.send_reminders.delay().get() == 2
    assert reminded() == {"early", "keen"}
    n = Notification.objects.filter(kind=K.ROOM_REMINDER).first()
    assert n.room == room and n.actor == room.host
    assert n.data == {"scheduled_for": "2026-11-21T18:00:00Z"}

    # The next beats (and a duplicated one) send nothing more.
    for minutes in (8.75, 8.75, 1):
        with freeze_time(START - timedelta(minutes=minutes)):
            assert services.reminders_send() == 0
    assert Notification.objects.count() == 2


def test_a_reminder_asked_for_inside_the_window_goes_out_at_the_next_beat():
    room = scheduled_room()
    with freeze_time(START - timedelta(minutes=5)):
        services.reminders_send()
        RoomReminder.objects.create(user=UserFactory(username="late"), room=room)
        assert services.reminders_send() == 1
    assert reminded() == {"late"}


def test_no_reminder_once_the_start_time_passed():
    room = scheduled_room()
    RoomReminder.objects.create(user=UserFactory(), room=room)
    with freeze_time(START + timedelta(minutes=1)):
        assert services.reminders_send() == 0


@pytest.mark.parametrize("state", ["live", "cancelled"])
def test_no_reminder_for_a_room_that_started_early_or_was_cancelled(state):
    room = scheduled_room()
    RoomReminder.objects.create(user=UserFactory(), room=room)
    room.state = state
    room.save()
    with freeze_time(START - timedelta(minutes=5)):
        assert services.reminders_send() == 0


def test_a_rescheduled_room_reminds_again_for_the_new_time():
    room = scheduled_room()
    RoomReminder.objects.create(user=UserFactory(username="fan"), room=room)
    with freeze_time(START - timedelta(minutes=9)):
        assert services.reminders_send() == 1
        room.scheduled_for = START + timedelta(hours=1)
        room.save()
    with freeze_time(START + timedelta(minutes=51)):
        assert services.reminders_send() == 1
    assert Notification.objects.filter(kind=K.ROOM_REMINDER).count() == 2


def test_reminders_respect_blocks_preferences_and_visibility():
    host = UserFactory()
    room = scheduled_room(host, visibility="followers")
    names = ["ok", "blocked", "kind_off", "not_a_follower"]
    users = {n: UserFactory(username=n) for n in names}
    for name, user in users.items():
        RoomReminder.objects.create(user=user, room=room)
        if name != "not_a_follower":
            follow(user, host)
    block(host, users["blocked"])
    DisabledKind.objects.create(user=users["kind_off"], kind=K.ROOM_REMINDER)

    with freeze_time(START - timedelta(minutes=5)):
        assert services.reminders_send() == 1
    assert reminded() == {"ok"}


def test_send_reminders_is_the_task_beat_runs(settings):
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.send_reminders.name == "notifications.send_reminders"
    assert tasks.send_reminders.name in names
