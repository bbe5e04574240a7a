"""Notification pages given input no page of ours produces: a redirect or the page, never a 500.

Each case was found by tests/fuzz/test_pages_fuzz.py.
"""

from __future__ import annotations

import pytest

from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    user = UserFactory(username="member")
    client.force_login(user)
    return user


def unread(recipient) -> Notification:
    actor = UserFactory()
    return Notification.objects.create(
        recipient=recipient, kind="followed", actor=actor, dedupe_key=f"followed:{actor.pk}"
    )


def test_opening_a_notification_id_beyond_the_id_column_redirects_to_the_list(client, member):
    kept = unread(member)
    response = client.post(f"/notifications/{'9' * 25}/open/", {"next": "/"})
    assert response.status_code == 302
    kept.refresh_from_db()
    assert kept.read_at is None


@pytest.mark.parametrize("before", ["²", "٣", "-1", "9" * 30, "x"])
def test_a_list_cursor_that_is_not_an_id_shows_the_first_page(client, member, before):
    unread(member)
    response = client.get("/notifications/", {"before": before})
    assert response.status_code == 200
    assert response.content.decode().count('class="unread"') == 1


@pytest.mark.parametrize("target", ["9999", "hallway", "notifications", "rooms/x/", "javascript:x"])
def test_opening_a_notification_with_a_next_that_is_not_a_path_goes_to_the_list(
    client, member, target
):
    notification = unread(member)
    response = client.post(f"/notifications/{notification.pk}/open/", {"next": target})
    assert (response.status_code, response["Location"]) == (302, "/notifications/")
    notification.refresh_from_db()
    assert notification.read_at is not None
