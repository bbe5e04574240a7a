from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from audiosocial.models import TimeStampedModel


def new_secret() -> str:
    return secrets.token_urlsafe(24)


class Room(TimeStampedModel):
    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        LIVE = "live", "Live"
        ENDED = "ended", "Ended"
        CANCELLED = "cancelled", "Cancelled"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        FOLLOWERS = "followers", "Followers of the host"
        CLOSED = "closed", "Invited members only"

    MAX_COHOSTS = 2

    # Allowed lifecycle moves; rooms.services.room_transition refuses anything else.
    TRANSITIONS: dict[str, frozenset[str]] = {
        State.SCHEDULED: frozenset({State.LIVE, State.CANCELLED}),
        State.LIVE: frozenset({State.ENDED}),
        State.ENDED: frozenset(),
        State.CANCELLED: frozenset(),
    }

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=settings.ROOM_TITLE_MAX_LENGTH)
    topic = models.TextField(max_length=1000, blank=True)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hosted_rooms"
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why the room ended or was cancelled: host, host_left, idle, expired, moderation, admin.
    end_reason = models.CharField(max_length=32, blank=True)
    # Denormalised counters, kept exact by rooms.services (hallway cards never COUNT(*)).
    speakers_count = models.PositiveIntegerField(default=0)
    listeners_count = models.PositiveIntegerField(default=0)
    # Audio placement: which Janus node hosts the AudioBridge room, and its credentials.
    janus_node = models.CharField(max_length=200, blank=True)
    janus_room = models.BigIntegerField(null=True, blank=True, unique=True)
    janus_secret = models.CharField(max_length=64, default=new_secret, editable=False)
    audio_available = models.BooleanField(default=False)
    # Co-hosts announced by the host (at most ``MAX_COHOSTS`` user ids, in the host's order):
    # they become moderators when they join, and their followers hear the room went live.
    # Ids on the row rather than a join table because participant_join, the hot path of a join
    # storm, reads them from the room row it already locks, at no query of its own.
    cohost_ids = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["host"], condition=Q(state="live"), name="rooms_one_live_room_per_host"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["scheduled", "live", "ended", "cancelled"]),
                name="rooms_room_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["-listeners_count"],
                condition=Q(state="live", visibility="public"),
                name="rooms_live_public_by_size",
            ),
            models.Index(
                fields=["host", "scheduled_for"],
                condition=Q(state="scheduled"),
                name="rooms_scheduled_by_host",
            ),
            models.Index(fields=["state"], name="rooms_room_state"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        return self.state == self.State.LIVE


class Participant(models.Model):
    class Role(models.TextChoices):
        HOST = "host", "Host"
        MODERATOR = "moderator", "Moderator"
        SPEAKER = "speaker", "Speaker"
        LISTENER = "listener", "Listener"

    STAGE_ROLES = frozenset({Role.HOST, Role.MODERATOR, Role.SPEAKER})
    MODERATOR_ROLES = frozenset({Role.HOST, Role.MODERATOR})

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.LISTENER)
    hand_raised_at = models.DateTimeField(null=True, blank=True)
    speaker_invited_at = models.DateTimeField(null=True, blank=True)
    # Recorded separately so a speaker's own unmute can never undo a moderator's mute.
    self_muted = models.BooleanField(default=True)
    moderator_muted = models.BooleanField(default=False)
    joined_at = models.DateTimeField(auto_now_add=True)
    left_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    removed = models.BooleanField(default=False)
    # Per-participant AudioBridge token: random, revoked when the participation ends.
    audio_token = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "user"],
                condition=Q(left_at__isnull=True),
                name="rooms_one_active_participation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["room", "role"],
                condition=Q(left_at__isnull=True),
                name="rooms_active_by_role",
            ),
            models.Index(
                fields=["user", "room"],
                condition=Q(left_at__isnull=True, role__in=["host", "moderator", "speaker"]),
                name="rooms_active_on_stage",
            ),
            models.Index(
                fields=["room", "user"], condition=Q(removed=True), name="rooms_removed_users"
            ),
            # The sweep that lapses unanswered invitations to speak reads only these rows.
            models.Index(
                fields=["speaker_invited_at"],
                condition=Q(left_at__isnull=True, speaker_invited_at__isnull=False),
                name="rooms_pending_speaker_invites",
            ),
            # The hallway's "people you follow in this room" (rooms.hallway), answered from the
            # index alone (PostgreSQL; SQLite ignores ``include``): a pass over a page's rooms'
            # listeners in arrival order when the member follows many, a probe per followee
            # when they follow few.
            models.Index(
                fields=["room", "joined_at", "user"],
                condition=Q(left_at__isnull=True, role="listener"),
                name="rooms_active_listeners",
            ),
            models.Index(
                fields=["user", "room"],
                include=["role", "joined_at"],
                condition=Q(left_at__isnull=True),
                name="rooms_active_by_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id} as {self.role}"

    @property
    def is_active(self) -> bool:
        return self.left_at is None

    @property
    def on_stage(self) -> bool:
        return self.role in self.STAGE_ROLES

    @property
    def is_moderator(self) -> bool:
        return self.role in self.MODERATOR_ROLES

    @property
    def muted(self) -> bool:
        return self.self_muted or self.moderator_muted

    @property
    def speaker_invite_expires_at(self) -> datetime | None:
        if self.speaker_invited_at is None:
            return None
        return self.speaker_invited_at + timedelta(seconds=settings.ROOM_SPEAKER_INVITE_TTL_SECONDS)

    @property
    def speaker_invite_pending(self) -> bool:
        """Invited to speak, and the invitation has not lapsed yet. A lapsed invitation keeps its
        timestamp until ``rooms.services.speaker_invites_expire`` clears it and tells the room;
        every read uses this property, so it stops counting at once."""
        expires = self.speaker_invite_expires_at
        return expires is not None and expires > timezone.now()


class RoomInvite(models.Model):
    """An invitation into a closed room (made by its host or moderators)."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="invites")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_invites"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_invites_sent"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="rooms_invite_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} invited to {self.room_id}"
