"""Notifications, the member's preferences about them, and "remind me" requests for rooms.

Every notification carries a ``dedupe_key`` unique per recipient ("went_live:<room id>"): a
retried or duplicated task inserts with ``ON CONFLICT DO NOTHING`` / ``ignore_conflicts`` and so
never creates a second row for the same event.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Notification(models.Model):
    class Kind(models.TextChoices):
        WENT_LIVE = "went_live", "Someone you follow started a room"
        ROOM_REMINDER = "room_reminder", "A room you asked to be reminded of starts soon"
        ROOM_STARTING = "room_starting", "A room you asked to be reminded of is starting"
        SPEAKER_INVITED = "speaker_invited", "You were invited to speak"
        PINGED = "pinged", "You were pinged into a room"
        FOLLOWED = "followed", "Someone followed you"
        INVITATION_ACCEPTED = "invitation_accepted", "Someone joined with your invitation"
        REPORT_RESOLVED = "report_resolved", "Your report was reviewed"

    # No index of its own: the (recipient, dedupe_key) unique index starts with it.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # actor and room: indexed, but without a database constraint. A fan-out writes 100,000 rows
    # naming the same actor and room, and PostgreSQL's per-row referential check on those two
    # columns cost ~40% of the whole insert (measured, docs/benchmarks.md). Deleting a member or
    # a room still sets null / cascades: Django's collector does it, through these indexes.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    room = models.ForeignKey(
        "rooms.Room",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    # Set only by a few kinds: a partial index (below) keeps the fan-out's NULLs out of it.
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    # A plain id rather than a foreign key: moderation's Report may change shape independently,
    # and a reporter must keep the "your report was reviewed" notice whatever happens to it.
    report_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200)
    # Set explicitly by the set-based fan-out (one timestamp for the whole event).
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"], name="notifications_unique_per_recipient"
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "went_live",
                        "room_reminder",
                        "room_starting",
                        "speaker_invited",
                        "pinged",
                        "followed",
                        "invitation_accepted",
                        "report_resolved",
                    ]
                ),
                name="notifications_kind_valid",
            ),
        ]
        indexes = [
            models.Index(
                F("recipient"),
                F("created_at").desc(),
                F("id").desc(),
                name="notif_recipient_recent",
            ),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notif_recipient_unread",
            ),
            models.Index(
                fields=["target_user"],
                condition=Q(target_user__isnull=False),
                name="notif_target_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class MutedActor(models.Model):
    """``user`` gets no notifications caused by ``muted`` (a quieter step than blocking)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_mutes"
    )
    muted = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_muted_by"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "muted"], name="notifications_mute_unique"),
            models.CheckConstraint(
                condition=~Q(user=F("muted")), name="notifications_no_self_mute"
            ),
        ]
        # Fan-out asks "who muted this host?": the reverse direction needs its own index.
        indexes = [models.Index(fields=["muted"], name="notif_muted_by")]

    def __str__(self) -> str:
        return f"{self.user_id} mutes {self.muted_id}"


class DisabledKind(models.Model):
    """A kind of notification ``user`` turned off. Kinds are on unless a row says otherwise,
    so the common case (everything on) costs no rows and fan-out excludes with one anti-join."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="disabled_notification_kinds",
    )
    kind = models.CharField(max_length=32, choices=Notification.Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="notifications_disabled_kind_unique"
            ),
        ]
        indexes = [models.Index(fields=["kind", "user"], name="notif_disabled_by_kind")]

    def __str__(self) -> str:
        return f"{self.user_id} turned off {self.kind}"


class RoomReminder(models.Model):
    """ "Remind me" on a scheduled room: a reminder 10 minutes before, a notice when it starts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_reminders"
    )
    room = models.ForeignKey("rooms.Room", on_delete=models.CASCADE, related_name="reminders")
    created_at = models.DateTimeField(default=timezone.now)
    # The scheduled time the reminder was last sent for: a rescheduled room reminds again.
    reminded_for = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="notifications_reminder_unique"),
        ]
        indexes = [models.Index(fields=["user", "room"], name="notif_reminder_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} reminds {self.room_id}"
