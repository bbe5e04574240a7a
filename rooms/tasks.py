"""Periodic room work (Celery beat, see ``CELERY_BEAT_SCHEDULE``). Idempotent: run it twice, or
on two workers at once, and each room is ended or cancelled once."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from audiosocial.errors import ApplicationError
from rooms import services
from rooms.audio.tasks import audio_reconcile  # noqa: F401 - registers rooms.audio_reconcile
from rooms.models import Room
from rooms.selectors import expired_scheduled_rooms, idle_live_rooms, lapsed_speaker_invites

logger = logging.getLogger(__name__)

# Per run, so one beat tick never holds a worker for long; the rest waits for the next tick.
HOUSEKEEPING_BATCH = 500


def end_idle_rooms(*, now=None) -> int:
    """End live rooms where nobody was seen for ``ROOM_IDLE_END_MINUTES``."""
    now = now or timezone.now()
    idle_since = now - timedelta(minutes=settings.ROOM_IDLE_END_MINUTES)
    ended = 0
    for room in idle_live_rooms(idle_since=idle_since).order_by("started_at")[:HOUSEKEEPING_BATCH]:
        try:
            if services.room_end_if_idle(room=room, idle_since=idle_since):
                ended += 1
        except ApplicationError as exc:
            # Ended by someone else meanwhile: that is the idempotent outcome.
            logger.info("housekeeping skipped room %s: %s", room.pk, exc.code)
    return ended


def cancel_expired_schedules(*, now=None) -> int:
    """Cancel scheduled rooms whose start passed more than ``ROOM_SCHEDULE_EXPIRY_HOURS`` ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.ROOM_SCHEDULE_EXPIRY_HOURS)
    cancelled = 0
    rooms = expired_scheduled_rooms(scheduled_before=cutoff).order_by("scheduled_for")
    for room in rooms[:HOUSEKEEPING_BATCH]:
        try:
            services.room_cancel(room=room, by=None, reason="expired")
            cancelled += 1
        except ApplicationError as exc:
            logger.info("housekeeping skipped room %s: %s", room.pk, exc.code)
    return cancelled


@shared_task(name="rooms.housekeeping")
def housekeeping() -> dict[str, int]:
    return {"ended": end_idle_rooms(), "cancelled": cancel_expired_schedules()}


def expire_speaker_invites(*, now=None) -> int:
    """Lapse invitations to speak left unanswered for ``ROOM_SPEAKER_INVITE_TTL_SECONDS``."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.ROOM_SPEAKER_INVITE_TTL_SECONDS)
    lapsed = (
        lapsed_speaker_invites(invited_before=cutoff)
        .select_related("room")
        .order_by("speaker_invited_at")[:HOUSEKEEPING_BATCH]
    )
    expired = 0
    for participant in lapsed:
        try:
            if services.speaker_invite_expire(
                room=participant.room, user_id=participant.user_id, now=now
            ):
                expired += 1
        except ApplicationError as exc:
            logger.info("invite expiry skipped %s: %s", participant.pk, exc.code)
    return expired


@shared_task(name="rooms.expire_speaker_invites")
def expire_speaker_invites_task() -> int:
    return expire_speaker_invites()


@shared_task(name="rooms.end_room")
def end_room(room_id: str, reason: str = "moderation") -> bool:
    """End a room from outside a request (e.g. a moderation decision); no-op if already over."""
    room = Room.objects.filter(pk=room_id).first()
    if room is None or room.state != Room.State.LIVE:
        return False
    try:
        services.room_end(room=room, by=None, reason=reason)
    except ApplicationError:
        return False
    return True


def leave_stale_participants(*, seen_before) -> int:
    """Make everyone not seen since ``seen_before`` leave their live room (host hand-over and
    auto-end apply). For the live-state layer's presence sweep, which owns the threshold: REST-only
    clients send no heartbeats, so this is only safe with a socket-driven ``last_seen_at``."""
    from django.db.models import Q

    from rooms.models import Participant

    stale = (
        Participant.objects.select_related("room", "user")
        .filter(left_at__isnull=True, room__state=Room.State.LIVE)
        .filter(
            Q(last_seen_at__lt=seen_before)
            | Q(last_seen_at__isnull=True, joined_at__lt=seen_before)
        )
        .order_by("pk")[:HOUSEKEEPING_BATCH]
    )
    left = 0
    for participant in stale:
        try:
            if services.participant_leave_if_stale(
                room=participant.room, user=participant.user, seen_before=seen_before
            ):
                left += 1
        except ApplicationError as exc:
            logger.info("presence sweep skipped %s: %s", participant.pk, exc.code)
    return left


@shared_task(name="rooms.presence_sweep")
def presence_sweep() -> int:
    """Beat entry point. The sweep itself belongs to the live-state layer: it runs
    ``rooms.realtime.presence_sweep()`` when that exists, and does nothing otherwise."""
    from rooms import realtime

    sweep = getattr(realtime, "presence_sweep", None)
    return int(sweep() or 0) if sweep is not None else 0
