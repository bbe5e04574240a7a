"""The member a session names is loaded by a statement compiled once per process
(``accounts.selectors.member_by_id``, the authentication backends' ``get_user``): the same
instance Django's ``User.objects.get`` would build, and the same refusals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts import selectors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(user) -> dict:
    return {f.attname: getattr(user, f.attname) for f in type(user)._meta.concrete_fields}


def test_the_member_is_the_instance_the_orm_builds(django_assert_num_queries):
    nominator = UserFactory()
    member = UserFactory(
        display_name="Zoë Ångström",
        bio="Line one\nline two",
        nominated_by=nominator,
        extra_invitations=3,
        is_staff=True,
        last_login=timezone.now() - timedelta(days=2),
    )
    member.avatar.name = "avatars/2026/11/face.png"
    member.save()

    with django_assert_num_queries(1):
        loaded = selectors.member_by_id(user_id=member.pk)

    expected = get_user_model().objects.get(pk=member.pk)
    assert _fields(loaded) == _fields(expected)
    assert loaded.avatar.name == "avatars/2026/11/face.png"
    assert loaded.nominated_by == nominator  # the relation still loads lazily
    assert not loaded._state.adding and loaded._state.db == expected._state.db
    # Saving it updates the row rather than inserting another.
    loaded.bio = "changed"
    loaded.save(update_fields=["bio"])
    assert get_user_model().objects.get(pk=member.pk).bio == "changed"


def test_a_missing_member_is_none():
    assert selectors.member_by_id(user_id=987_654_321) is None


def test_sessions_of_a_deactivated_or_deleted_member_are_signed_out():
    kept, deactivated, deleted = UserFactory(), UserFactory(), UserFactory()
    clients = {}
    for user in (kept, deactivated, deleted):
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    assert all(c.get("/api/me/").status_code == 200 for c in clients.values())

    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])
    deleted_name = deleted.username
    deleted.delete()

    assert clients[kept.username].get("/api/me/").status_code == 200
    assert clients[deactivated.username].get("/api/me/").status_code == 401
    assert clients[deleted_name].get("/api/me/").status_code == 401


def test_a_changed_password_ends_the_other_sessions():
    member = UserFactory()
    client = Client()
    client.force_login(member)
    assert client.get("/api/me/").status_code == 200

    member.set_password("another passphrase for the test")
    member.save()

    assert client.get("/api/me/").status_code == 401
