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

    class Meta:
        indexes = [
            models.Index(fields=["user", "kind", "ends_at"], name="moderation_sanction_active")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.user_id}"
