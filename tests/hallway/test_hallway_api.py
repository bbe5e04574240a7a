"""GET /api/hallway/: card shape, pages through ``next``, clear errors for bad input."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.hallway.helpers import follow, live_room, scheduled_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(member):
    client = APIClient()
    client.force_login(member)
    return client


def test_hallway_card_shape(api, member, users):
    follow(member, users["host"])
    room = live_room(users["host"], speakers=[users["guest"]], audience=41, topic="jazz")

    body = api.get("/api/hallway/").json()

    assert body["next"] is None and body["next_cursor"] is None
    (card,) = body["results"]
    assert card == {
        "section": "following",
        "id": str(room.pk),
        "title": room.title,
        "topic": "jazz",
        "visibility": "public",
        "state": "live",
        "host": {
            "id": users["host"].pk,
            "username": "host",
            "display_name": "Host",
            "avatar_url": "",
        },
        "speakers_count": 2,
        "listeners_count": 41,
        "speakers": [card["host"], {**card["speakers"][1], "username": "guest"}],
        "followed_on_stage_count": 1,
        "followed_in_room": [card["host"]],
        "followed_in_room_count": 1,
        "blocked_on_stage": [],
        "started_at": room.started_at.isoformat().replace("+00:00", "Z"),
        "scheduled_for": None,
    }


def test_next_links_walk_every_card_once(api, member, users):
    follow(member, users["a"], users["b"])
    live_room(users["a"], audience=3)
    scheduled_room(users["b"], in_hours=3)
    for i in range(5):
        live_room(users[f"other{i}"], audience=i)

    ids, url = [], "/api/hallway/?limit=2"
    while url:
        body = api.get(url).json()
        ids += [card["id"] for card in body["results"]]
        url = body["next"]

    assert len(ids) == 7 == len(set(ids))
    assert ids == [card["id"] for card in api.get("/api/hallway/?limit=50").json()["results"]]


@pytest.mark.parametrize(
    "query",
    ["cursor=not-a-cursor", "cursor=eyJzIjo5LCJrIjpbXSwiaWQiOiJ4In0", "cursor=e30"],
)
def test_a_bad_cursor_is_a_clear_400(api, query):
    response = api.get(f"/api/hallway/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize("query", ["limit=0", "limit=51", "limit=many"])
def test_a_bad_limit_is_a_clear_400(api, query):
    response = api.get(f"/api/hallway/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "limit" in response.json()["details"]


def test_the_hallway_needs_a_signed_in_member():
    response = APIClient().get("/api/hallway/")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
