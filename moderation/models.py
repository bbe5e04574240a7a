from django.conf import settings
from django.db import models
from django.db.models import F, Q

from audiosocial.models import TimeStampedModel


class Block(models.Model):
    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="moderation_block_unique"),
            models.CheckConstraint(
                condition=~Q(blocker=F("blocked")), name="moderation_no_self_block"
            ),
        ]
        indexes = [models.Index(fields=["blocked"], name="moderation_block_blocked")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


class Sanction(TimeStampedModel):
    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        SUSPENSION = "suspension", "Temporary suspension"
        BAN = "ban", "Permanent ban"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sanctions"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="sanctions_applied",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty for a ban: permanent.")
    lifted_at = models.DateTimeField(null=True, blank=True)
    # Set by the expiry task when a suspension runs out (restriction reads already ignore it).
    expired_at = models.DateTimeField(null=True, blank=True)

    RESTRICTING_KINDS = frozenset({Kind.SUSPENSION, Kind.BAN})

    class Meta:
        indexes = [
            models.Index(fields=["user", "kind", "ends_at"], name="moderation_sanction_active")
        ]
        constraints = [
            # A suspension always has an end; a warning or a ban never has one.
            models.CheckConstraint(
                condition=Q(kind="suspension", ends_at__isnull=False)
                | Q(kind__in=["warning", "ban"], ends_at__isnull=True),
                name="moderation_sanction_shape",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id}"

    @property
    def restricts(self) -> bool:
        return self.kind in self.RESTRICTING_KINDS

    def in_force_at(self, when) -> bool:
        if not self.restricts or self.lifted_at is not None or self.starts_at > when:
            return False
        return self.ends_at is None or self.ends_at > when


# Limits of what a member may send with a report. The stored text of a merged report grows by
# appended submissions, so it has its own cap.
REPORT_TEXT_MAX_LENGTH = 2000
REPORT_MERGED_TEXT_MAX_LENGTH = 10_000
# Reports of the same target by the same reporter within this window are one report.
REPORT_MERGE_WINDOW_MINUTES = 15
# Evidence snapshots kept on one (merged) report.
REPORT_MAX_EVIDENCE_CAPTURES = 5


class Report(TimeStampedModel):
    class Category(models.TextChoices):
        HARASSMENT = "harassment", "Harassment"
        HATE = "hate", "Hate"
        SPAM = "spam", "Spam"
        IMPERSONATION = "impersonation", "Impersonation"
        SELF_HARM = "self_harm", "Self-harm"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_REVIEW = "in_review", "In review"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    class TargetType(models.TextChoices):
        MEMBER = "member", "Member"
        ROOM = "room", "Room"
        MEMBER_IN_ROOM = "member_in_room", "Member in a room"

    class Severity(models.IntegerChoices):
        LOW = 1, "Low"
        MEDIUM = 2, "Medium"
        HIGH = 3, "High"
        CRITICAL = 4, "Critical"

    # Severity follows the category: someone at risk of self-harm is looked at first.
    SEVERITY_BY_CATEGORY: dict[str, int] = {
        Category.SELF_HARM: Severity.CRITICAL,
        Category.HATE: Severity.HIGH,
        Category.HARASSMENT: Severity.HIGH,
        Category.IMPERSONATION: Severity.MEDIUM,
        Category.SPAM: Severity.LOW,
        Category.OTHER: Severity.LOW,
    }

    # moderation.services.report_transition refuses any other move.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.OPEN: frozenset({Status.IN_REVIEW, Status.RESOLVED, Status.DISMISSED}),
        Status.IN_REVIEW: frozenset({Status.RESOLVED, Status.DISMISSED}),
        Status.RESOLVED: frozenset(),
        Status.DISMISSED: frozenset(),
    }
    ACTIVE_STATUSES = frozenset({Status.OPEN, Status.IN_REVIEW})

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="reports_made",
    )
    target_type = models.CharField(max_length=16, choices=TargetType.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_received",
    )
    target_room = models.ForeignKey(
        "rooms.Room",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    category = models.CharField(max_length=16, choices=Category.choices)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    text = models.TextField(blank=True, max_length=REPORT_MERGED_TEXT_MAX_LENGTH)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # How many submissions were merged into this report, and when the latest arrived.
    submissions = models.PositiveIntegerField(default=1)
    last_submitted_at = models.DateTimeField()
    evidence = models.JSONField(
        default=list, blank=True, help_text="Snapshots of the room taken when it was reported."
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_assigned",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_closed",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    sanction = models.ForeignKey(
        Sanction,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
        help_text="The sanction applied when this report was resolved.",
    )

    class Meta:
        permissions = [("end_room", "Can end a live room as a moderator")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "in_review", "resolved", "dismissed"]),
                name="moderation_report_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(severity__gte=1, severity__lte=4),
                name="moderation_report_severity_range",
            ),
            models.CheckConstraint(
                condition=~Q(reporter=F("target_user")), name="moderation_report_not_self"
            ),
        ]
        indexes = [
            # The queue: active reports, most severe first, then the longest waiting.
            models.Index(
                fields=["-severity", "created_at"],
                condition=Q(status__in=["open", "in_review"]),
                name="moderation_report_queue",
            ),
            models.Index(
                fields=["reporter", "target_user", "target_room", "-created_at"],
                name="moderation_report_dupe",
            ),
            models.Index(fields=["target_user", "-created_at"], name="moderation_report_user"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} report #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class AuditLog(models.Model):
    """One row per moderation action, written in the same transaction as the action."""

    class Action(models.TextChoices):
        BLOCK_CREATE = "block.create", "Member blocked a member"
        BLOCK_DELETE = "block.delete", "Member unblocked a member"
        REPORT_CREATE = "report.create", "Report filed"
        REPORT_MERGE = "report.merge", "Report merged into an open one"
        REPORT_ASSIGN = "report.assign", "Report assigned"
        REPORT_RESOLVE = "report.resolve", "Report resolved"
        REPORT_DISMISS = "report.dismiss", "Report dismissed"
        SANCTION_APPLY = "sanction.apply", "Sanction applied"
        SANCTION_LIFT = "sanction.lift", "Sanction lifted"
        SANCTION_EXPIRE = "sanction.expire", "Suspension expired"
        ROOM_END = "room.end", "Live room ended by a moderator"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_actions",
        help_text="Empty when the system acted (e.g. a suspension expiring).",
    )
    action = models.CharField(max_length=32, choices=Action.choices)
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_audit_entries",
    )
    target_room = models.ForeignKey(
        "rooms.Room",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="moderation_audit_entries",
    )
    target_report = models.ForeignKey(
        Report,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_user", "-created_at"], name="moderation_audit_user"),
            models.Index(fields=["action", "-created_at"], name="moderation_audit_action"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.created_at:%Y-%m-%d %H:%M}"
