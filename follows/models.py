from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Follow(models.Model):
    follower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following_set"
    )
    followee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follower_set"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="follows_unique_pair"),
            models.CheckConstraint(condition=~Q(follower=F("followee")), name="follows_no_self"),
        ]
        indexes = [
            models.Index(fields=["followee", "-created_at"], name="follows_followee_recent"),
            models.Index(fields=["follower", "-created_at"], name="follows_follower_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} → {self.followee_id}"
