"""Shared set-up for the notification tests: tasks run inline, presence starts empty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audiosocial.celery import app as celery_app
from follows.models import Follow
from moderation.models import Block, Sanction
from notifications import presence
from rooms.models import Room, RoomInvite


@pytest.fixture(autouse=True)
def _inline_tasks():
    # With REDIS_URL the project enqueues to a real broker; these tests check what the tasks do,
    # so they run inline (the benchmark and test_real_worker use a real worker).
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_janus(settings):
    # Rooms' services call the audio hooks; no Janus runs for these tests (tests/audio/ has one).
    settings.AUDIO_HOOKS_ENABLED = False


@pytest.fixture(autouse=True)
def _empty_presence():
    presence.reset()
    yield
    presence.reset()


def make_room(host, *, visibility="public", state="live", scheduled_for=None, title="Morning chat"):
    now = timezone.now()
    return Room.objects.create(
        title=title,
        host=host,
        visibility=visibility,
        state=state,
        scheduled_for=scheduled_for,
        started_at=now if state == Room.State.LIVE else None,
    )


def follow(follower, followee):
    return Follow.objects.create(follower=follower, followee=followee)


def block(blocker, blocked):
    return Block.objects.create(blocker=blocker, blocked=blocked)


def invite(room, user):
    return RoomInvite.objects.create(room=room, user=user, invited_by=room.host)


def suspend(user, kind=Sanction.Kind.SUSPENSION):
    now = timezone.now()
    return Sanction.objects.create(
        user=user,
        kind=kind,
        reason="test",
        starts_at=now - timedelta(hours=1),
        ends_at=None if kind == Sanction.Kind.BAN else now + timedelta(days=1),
    )
