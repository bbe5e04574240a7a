"""Members. Profile fields live on the User row itself: a profile is always read with its user,
so a separate one-to-one table would only add a join to every card and roster."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from audiosocial.models import TimeStampedModel


class MemberManager(UserManager):
    def get_by_natural_key(self, username):
        # Usernames are unique case-insensitively, so sign-in is case-insensitive too.
        return self.get(username__iexact=username)


class User(AbstractUser):
    username_validator = UnicodeUsernameValidator()

    username = models.CharField(
        "username",
        max_length=30,
        unique=True,
        validators=[username_validator, MinLengthValidator(2)],
        help_text="2-30 characters: letters, digits and @/./+/-/_ only.",
        error_messages={"unique": "That username is taken."},
    )
    display_name = models.CharField(max_length=60, blank=True)
    bio = models.TextField(max_length=500, blank=True)
    avatar = models.ImageField(upload_to="avatars/%Y/%m/", blank=True)
    nominated_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="nominees",
        help_text="The member whose invitation this member accepted.",
    )
    extra_invitations = models.PositiveIntegerField(
        default=0, help_text="Invitations granted by staff on top of the default quota."
    )
    # How many members follow this one, and how many this one follows: kept by database
    # triggers on every insert and delete of a follow (follows/migrations/0002), whatever wrote
    # it (services, admin, cascades, fixtures), so profiles and "most followed" orderings read
    # a column instead of counting follows.
    follower_count = models.IntegerField(default=0, editable=False)
    following_count = models.IntegerField(default=0, editable=False)

    objects = MemberManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.username

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def save(self, *args: Any, **kwargs: Any) -> None:
        """An update never writes the follow counts back: the database keeps them (triggers),
        and the values this instance loaded may be stale by now (a profile edit saving while
        someone follows the member would otherwise undo that follow's count)."""
        plain_update = not (
            self._state.adding
            or args
            or kwargs.get("update_fields") is not None
            or kwargs.get("force_insert")
        )
        if plain_update:
            # As Django's own save does, leave out the fields this instance never loaded.
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.attname
                for field in self._meta.concrete_fields
                if not field.primary_key
                and field.attname not in deferred
                and field.name not in DATABASE_KEPT_FIELDS
            ]
        super().save(*args, **kwargs)


# Columns only the database writes (follows/migrations/0002's triggers).
DATABASE_KEPT_FIELDS = frozenset({"follower_count", "following_count"})


def new_invitation_code() -> str:
    # 24 random bytes = 192 bits, URL-safe base64 without padding: always 32 characters.
    return secrets.token_urlsafe(24)


INVITATION_CODE_LENGTH = 32
INVITATION_CODE_ALPHABET = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


class Invitation(TimeStampedModel):
    """A single-use, expiring, revocable signup code created by a member from their quota."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        USED = "used", "Used"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    code = models.CharField(max_length=64, unique=True, default=new_invitation_code, editable=False)
    created_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations_sent")
    email = models.EmailField(
        blank=True, help_text="When set, only this email address can sign up with the code."
    )
    expires_at = models.DateTimeField()
    used_by = models.OneToOneField(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation_used",
    )
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="accounts_inv_creator_recent"),
        ]
        constraints = [
            # A revoked invitation was never used; a used one cannot be revoked afterwards.
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(used_at__isnull=True),
                name="accounts_inv_not_used_and_revoked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code[:6]}… by {self.created_by_id}"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.used_at is not None:
            return self.Status.USED
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.PENDING

    @property
    def status_label(self) -> str:
        return self.Status(self.status).label
