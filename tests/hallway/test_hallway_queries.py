"""The hallway's query count is the same for 1 room and 200, for 1 followee and 5,000."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from rest_framework.test import APIClient

from follows.models import Follow
from moderation.models import Block
from rooms.hallway import hallway_for
from rooms.models import Participant, Room

pytestmark = pytest.mark.django_db

User = get_user_model()

SMALL = {"followees": 1, "rooms": 1}
LARGE = {"followees": 5000, "rooms": 200}


def seed(member, *, followees: int, rooms: int) -> None:
    """``followees`` followed members; ``rooms`` live rooms (half hosted by followed members,
    each with a followed speaker, a moderator the member blocked and two listeners) and as many
    scheduled ones."""
    people = User.objects.bulk_create(
        User(username=f"p{i}", email=f"p{i}@example.test", password="!")
        for i in range(max(followees, 4 * rooms + 4))
    )
    Follow.objects.bulk_create(Follow(follower=member, followee=p) for p in people[:followees])
    now = timezone.now()
    live = Room.objects.bulk_create(
        Room(
            title=f"live {i}",
            host=people[i],
            state="live",
            started_at=now,
            speakers_count=2,
            listeners_count=i,
        )
        for i in range(rooms)
    )
    Room.objects.bulk_create(
        Room(
            title=f"soon {i}",
            host=people[i],
            state="scheduled",
            scheduled_for=now + timedelta(hours=1 + i),
        )
        for i in range(rooms)
    )
    blocked = User.objects.bulk_create(
        User(username=f"b{i}", email=f"b{i}@example.test", password="!") for i in range(rooms)
    )
    Block.objects.bulk_create(Block(blocker=member, blocked=b) for b in blocked)
    participants = []
    for i, room in enumerate(live):
        participants.append(Participant(room=room, user=room.host, role="host"))
        participants.append(Participant(room=room, user=people[rooms + i], role="speaker"))
        participants.append(Participant(room=room, user=people[2 * rooms + i], role="listener"))
        participants.append(Participant(room=room, user=people[3 * rooms + i], role="listener"))
        participants.append(Participant(room=room, user=blocked[i], role="moderator"))
    Participant.objects.bulk_create(participants)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "large"])
def test_first_page_takes_three_queries_at_any_size(member, django_assert_num_queries, size):
    seed(member, **size)

    with django_assert_num_queries(3):
        page = hallway_for(user=member)

    assert len(page.cards) == min(20, 2 * size["rooms"])
    # Every live card warns about its blocked moderator.
    assert all(
        [p.username[0] for p in c.blocked_on_stage] == (["b"] if c.room.is_live else [])
        for c in page.cards
    )
    # The cards are fully assembled: reading them costs nothing more.
    with django_assert_num_queries(0):
        [(c.room.host.username, [s.username for s in c.speakers]) for c in page.cards]


@pytest.mark.parametrize("size", [{"followees": 1, "rooms": 2}, LARGE], ids=["small", "large"])
def test_a_later_page_takes_the_same_count_at_any_size(member, django_assert_num_queries, size):
    seed(member, **size)
    cursor = hallway_for(user=member, limit=1).next_cursor
    assert cursor is not None

    with django_assert_num_queries(3):
        page = hallway_for(user=member, cursor=cursor, limit=2)

    assert any(card.speakers for card in page.cards)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "large"])
def test_the_api_request_query_count_does_not_grow(member, django_assert_num_queries, size):
    seed(member, **size)
    client = APIClient()
    client.force_login(member)

    # the member (the session comes from the cache), then the hallway's three
    with django_assert_num_queries(4):
        response = client.get("/api/hallway/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == min(20, 2 * size["rooms"])
    assert all(len(r["blocked_on_stage"]) == (r["state"] == "live") for r in results)
