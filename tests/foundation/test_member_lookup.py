"""Every "act on a member by username" path finds members the same way (one selector,
``accounts.selectors.member_by_username``): case-insensitively, never a deactivated account, and
a missing member is the same 404 with the same words everywhere."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from moderation.models import Block
from rooms import services as room_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _paths(room_id):
    # (method, path, body) for each endpoint that names a member by username.
    return [
        ("post", "/api/users/{u}/follow/", None),
        ("get", "/api/users/{u}/followers/", None),
        ("get", "/api/users/{u}/following/", None),
        ("post", "/api/users/{u}/mute-notifications/", None),
        ("post", "/api/reports/", {"category": "spam", "username": "{u}"}),
        ("post", f"/api/rooms/{room_id}/invites/", {"username": "{u}"}),
        # Last: a block would make the invitation above a (correct) refusal.
        ("post", "/api/users/{u}/block/", None),
    ]


@pytest.fixture
def world():
    # Not a transactional test: the room's after-commit work (audio, events) does not run.
    host = UserFactory(username="host")
    UserFactory(username="Target.Person")
    UserFactory(username="gone", is_active=False)
    room = room_services.room_create(host=host, title="Lookup")
    client = APIClient()
    client.force_authenticate(host)
    return client, room


def _call(client, method, path, body, username):
    path = path.replace("{u}", username)
    if body is not None:
        body = {
            k: (v.replace("{u}", username) if isinstance(v, str) else v) for k, v in body.items()
        }
    return getattr(client, method)(path, body, format="json")


def test_missing_and_deactivated_members_are_the_same_404_everywhere(world):
    client, room = world
    for method, path, body in _paths(room.pk):
        for username in ("nobody", "gone"):
            response = _call(client, method, path, body, username)
            assert response.status_code == 404, (path, username, response.content)
            assert response.json()["code"] == "user_not_found", path
            assert response.json()["message"] == f"No member has the username “{username}”.", path
    assert not Block.objects.exists()


def test_usernames_are_found_whatever_their_case(world):
    client, room = world
    for method, path, body in _paths(room.pk):
        response = _call(client, method, path, body, "target.PERSON")
        assert response.status_code < 300, (path, response.content)
