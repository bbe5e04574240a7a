"""Members. Profile fields live on the User row itself: a profile is always read with its user,
so a separate one-to-one table would only add a join to every card and roster."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.validators import MinLengthValidator
from django.db import models
from django.db.models.functions import Lower


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
