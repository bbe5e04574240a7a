"""The periodic tasks run inside the web process without Redis (audiosocial/periodic.py): what they
publish reaches that process's sockets, which a separate scheduler process could not do."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async

from audiosocial import periodic
from audiosocial.asgi import application
from moderation.models import Sanction
from rooms.models import Participant
from tests.factories import UserFactory
from tests.realtime.conftest import make_room, make_user, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_app(monkeypatch):
    """The project's ASGI application with a schedule not yet started (and stopped after)."""
    middleware = periodic.PeriodicTasksMiddleware(application.app)
    yield middleware
    if middleware.task is not None:
        middleware.task.cancel()


async def test_an_invitation_lapses_on_the_in_process_schedule_and_sockets_hear_it(
    settings, fresh_app
):
    settings.PERIODIC_TASKS_IN_PROCESS = True
    settings.ROOM_SPEAKER_INVITE_TTL_SECONDS = 1
    settings.CELERY_BEAT_SCHEDULE = {
        "invites": {"task": "rooms.expire_speaker_invites", "schedule": 0.2}
    }
    host = await make_user(username="host")
    member = await make_user(username="member")
    room = await make_room(host)
    host_socket = await open_socket(host, room.pk, app=fresh_app)
    member_socket = await open_socket(member, room.pk, app=fresh_app)
    assert fresh_app.task is not None  # started by the first connection, once
    started = fresh_app.task
    await host_socket.send(type="speaker.invite", id=1, user=member.pk)
    await member_socket.until("speaker.invited")

    # Nobody answers: the schedule running in this process lapses it and tells the room.
    expired = await host_socket.until("speaker.expired", wait=5)
    assert expired["user_id"] == member.pk
    participation = await database_sync_to_async(Participant.objects.get)(
        room=room, user=member, left_at__isnull=True
    )
    assert participation.speaker_invited_at is None
    assert fresh_app.task is started
    await host_socket.close()
    await member_socket.close()


async def test_the_schedule_is_off_unless_asked_for(settings, fresh_app):
    settings.PERIODIC_TASKS_IN_PROCESS = False
    host = await make_user(username="host")
    room = await make_room(host)
    socket = await open_socket(host, room.pk, app=fresh_app)
    assert fresh_app.task is None
    await socket.close()


async def test_a_failing_task_is_logged_and_the_others_keep_running(settings, caplog):
    """One broken task must not stop the loop: suspensions still expire on time."""
    from datetime import timedelta

    from django.utils import timezone

    @database_sync_to_async
    def ended_suspension():
        member = UserFactory()
        return Sanction.objects.create(
            user=member,
            kind=Sanction.Kind.SUSPENSION,
            reason="Test",
            starts_at=timezone.now() - timedelta(days=1),
            ends_at=timezone.now() - timedelta(minutes=1),
        )

    sanction = await ended_suspension()
    schedule = {
        "broken": {"task": "rooms.end_room", "schedule": 0.05},  # needs an argument: fails
        "sanctions": {"task": "moderation.expire_sanctions", "schedule": 0.1},
    }
    runner = asyncio.create_task(periodic.run_schedule(schedule))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            await database_sync_to_async(sanction.refresh_from_db)()
            if sanction.expired_at is not None:
                break
    finally:
        runner.cancel()
    assert sanction.expired_at is not None
    assert not runner.done() or runner.cancelled()
    assert any("periodic task rooms.end_room failed" in r.getMessage() for r in caplog.records)
