"""Admin: live participants inline, filters, and "End room now" through the services."""

from __future__ import annotations

import pytest

from rooms.models import Room
from tests.factories import UserFactory
from tests.rooms.conftest import live_room, seat

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_changelist_filters_by_state_and_visibility(staff_client):
    live_room(title="Open now")
    live_room(title="Inner circle", visibility="closed")
    response = staff_client.get("/admin/rooms/room/?state__exact=live&visibility__exact=closed")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Inner circle" in content and "Open now" not in content


def test_change_page_lists_only_the_people_in_the_room_now(staff_client):
    room = live_room(title="Busy")
    here, gone = UserFactory(username="still-here"), UserFactory(username="went-home")
    seat(room, here)
    seat(room, gone)
    from rooms import services

    services.participant_leave(room=room, user=gone)
    response = staff_client.get(f"/admin/rooms/room/{room.pk}/change/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "still-here" in content and "went-home" not in content
    assert room.janus_secret not in content


def test_end_room_now_ends_live_rooms_and_leaves_others(staff_client):
    from datetime import timedelta

    from django.utils import timezone

    from rooms import services

    live = live_room(title="Live one")
    seat(live, UserFactory())
    later = services.room_create(
        host=UserFactory(), title="Later", scheduled_for=timezone.now() + timedelta(hours=1)
    )
    response = staff_client.post(
        "/admin/rooms/room/",
        {"action": "end_room_now", "_selected_action": [str(live.pk), str(later.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    live.refresh_from_db()
    later.refresh_from_db()
    assert live.state == Room.State.ENDED and live.end_reason == "moderation"
    assert (live.speakers_count, live.listeners_count) == (0, 0)
    assert later.state == Room.State.SCHEDULED
    assert "Ended 1 room" in response.content.decode()
