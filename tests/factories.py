"""factory_boy factories shared by every test folder; extend here rather than writing twins."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.test")
    display_name = factory.LazyAttribute(lambda o: o.username.title())
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class FollowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "follows.Follow"

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class RoomFactory(factory.django.DjangoModelFactory):
    """A room row only: counters are whatever you pass (ParticipantFactory does not move them)."""

    class Meta:
        model = "rooms.Room"

    title = factory.Sequence(lambda n: f"Room {n}")
    host = factory.SubFactory(UserFactory)
    visibility = "public"
    state = "live"
    started_at = factory.LazyFunction(timezone.now)


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rooms.Participant"

    room = factory.SubFactory(RoomFactory)
    user = factory.SubFactory(UserFactory)
    role = "listener"


class InvitationFactory(factory.django.DjangoModelFactory):
    """A pending invitation; pass ``used_by``/``used_at``, ``revoked_at`` or a past
    ``expires_at`` for the other states."""

    class Meta:
        model = "accounts.Invitation"

    created_by = factory.SubFactory(UserFactory)
    email = ""
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))
