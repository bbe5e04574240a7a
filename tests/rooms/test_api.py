"""The REST API: a host runs a whole room, and every refusal comes back in the error envelope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from moderation.models import Block
from rooms.models import Room
from tests.factories import UserFactory
from tests.rooms.conftest import live_room, seat

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code, body
    assert body["message"]
    return body


def test_a_host_runs_a_whole_room_through_the_api():
    host = UserFactory(username="hostess")
    alice, bob, carol = (UserFactory(username=n) for n in ("alice", "bob", "carol"))
    as_host, as_alice, as_bob, as_carol = map(client_for, (host, alice, bob, carol))

    # Schedule.
    when = (timezone.now() + timedelta(hours=3)).isoformat()
    response = as_host.post(
        "/api/rooms/", {"title": "Launch", "topic": "Q&A", "scheduled_for": when}, format="json"
    )
    assert response.status_code == 201, response.content
    room = response.json()
    base = f"/api/rooms/{room['id']}/"
    assert room["state"] == "scheduled"
    assert room["me"]["permissions"] == ["edit", "start", "cancel"]
    envelope(as_alice.post(base + "join/"), 409, "room_not_live")

    # Edit, then start early.
    assert as_host.patch(base, {"topic": "Ask me anything"}, format="json").status_code == 200
    envelope(as_alice.patch(base, {"title": "Mine"}, format="json"), 403, "not_host")
    response = as_host.post(base + "start/")
    assert response.status_code == 200
    assert response.json()["state"] == "live"
    assert response.json()["participants"]["host"][0]["user"]["username"] == "hostess"

    # Admit listeners.
    for client in (as_alice, as_bob, as_carol):
        response = client.post(base + "join/")
        assert response.status_code == 200
        assert response.json()["me"]["role"] == "listener"
    assert response.json()["counts"] == {"speakers": 1, "listeners": 3}

    # Promote: a hand, an invitation, an acceptance.
    assert as_alice.post(base + "hand/").json()["hand_raised"] is True
    hands = as_host.get(base).json()["hands"]
    assert [h["user"]["username"] for h in hands] == ["alice"]
    envelope(as_bob.post(base + "speakers/invite/", {"username": "alice"}), 403, "not_a_moderator")
    assert as_host.post(base + "speakers/invite/", {"username": "alice"}).status_code == 200
    assert as_alice.get(base).json()["me"]["invited_to_speak"] is True
    response = as_alice.post(base + "speakers/accept/")
    assert response.json()["role"] == "speaker"
    assert as_alice.post(base + "mic/unmute/").json()["muted"] is False

    # Mute: sticky against the speaker's own unmute.
    response = as_host.post(base + "participants/alice/mute/")
    assert response.json()["moderator_muted"] is True
    envelope(as_alice.post(base + "mic/unmute/"), 403, "muted_by_moderator")
    assert as_host.post(base + "participants/alice/unmute/").json()["moderator_muted"] is False

    # A co-moderator, who removes someone; the removed member cannot come back.
    response = as_host.post(base + "moderators/bob/")
    assert response.json()["role"] == "moderator"
    assert as_bob.post(base + "participants/carol/remove/").status_code == 204
    envelope(as_carol.post(base + "join/"), 404, "removed_from_room")
    envelope(as_carol.get(base), 404, "removed_from_room")

    # Move a speaker back to the audience.
    assert as_bob.post(base + "speakers/alice/move-to-audience/").json()["role"] == "listener"

    # Hand over, then the new host ends the room.
    response = as_host.post(base + "host/", {"username": "bob"})
    assert response.json()["role"] == "host"
    envelope(as_host.post(base + "end/"), 403, "not_host")
    detail = as_bob.post(base + "end/").json()
    assert detail["state"] == "ended" and detail["end_reason"] == "host"
    assert detail["counts"] == {"speakers": 0, "listeners": 0}
    assert detail["host"]["username"] == "bob"
    envelope(as_alice.post(base + "hand/"), 409, "room_not_live")


def test_leave_and_listeners_pagination():
    room = live_room()
    members = [UserFactory() for _ in range(5)]
    for member in members:
        seat(room, member)
    client = client_for(members[0])
    first = client.get(f"/api/rooms/{room.pk}/listeners/?page_size=3").json()
    assert [p["user"]["id"] for p in first["results"]] == [m.pk for m in members[:3]]
    second = client.get(first["next"]).json()
    assert [p["user"]["id"] for p in second["results"]] == [m.pk for m in members[3:]]
    assert client.post(f"/api/rooms/{room.pk}/leave/").status_code == 204
    assert client.post(f"/api/rooms/{room.pk}/leave/").status_code == 204
    room.refresh_from_db()
    assert room.listeners_count == 4


def test_create_now_and_invite_and_ping():
    host, guest, friend = UserFactory(), UserFactory(), UserFactory()
    response = client_for(host).post(
        "/api/rooms/", {"title": "Closed", "visibility": "closed"}, format="json"
    )
    assert response.status_code == 201
    room_id = response.json()["id"]
    assert response.json()["state"] == "live"
    envelope(client_for(guest).get(f"/api/rooms/{room_id}/"), 404, "room_not_found")
    response = client_for(host).post(f"/api/rooms/{room_id}/invites/", {"username": guest.username})
    assert response.status_code == 201 and response.json()["username"] == guest.username
    assert client_for(guest).post(f"/api/rooms/{room_id}/join/").status_code == 200
    envelope(
        client_for(guest).post(f"/api/rooms/{room_id}/ping/", {"username": friend.username}),
        403,
        "cannot_ping",
    )


def test_error_envelopes():
    host = UserFactory()
    as_host = client_for(host)
    body = envelope(
        as_host.post("/api/rooms/", {"title": "x" * 121}, format="json"), 400, "invalid"
    )
    assert "title" in body["details"]
    envelope(as_host.post("/api/rooms/", {}, format="json"), 400, "invalid")
    envelope(
        as_host.post("/api/rooms/", {"title": "ok", "visibility": "secret"}, format="json"),
        400,
        "invalid",
    )
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    envelope(
        as_host.post("/api/rooms/", {"title": "ok", "scheduled_for": past}, format="json"),
        400,
        "scheduled_in_past",
    )
    room = live_room(host=host)
    base = f"/api/rooms/{room.pk}/"
    envelope(as_host.post(base + "start/"), 409, "wrong_state")
    envelope(as_host.post(base + "moderators/nobody-here/"), 404, "user_not_found")
    envelope(as_host.post(base + "speakers/invite/", {}), 400, "invalid")
    envelope(
        as_host.post(base + "participants/" + UserFactory().username + "/mute/"), 404, "not_in_room"
    )
    envelope(
        as_host.post("/api/rooms/", {"title": "Second"}, format="json"), 409, "already_hosting"
    )
    envelope(as_host.patch(base, {"title": "y" * 500}, format="json"), 400, "invalid")
    for bad in ("not-a-uuid", "12345", "00000000-0000-0000-0000-000000000000"):
        envelope(as_host.get(f"/api/rooms/{bad}/"), 404, "room_not_found")
        envelope(as_host.post(f"/api/rooms/{bad}/join/"), 404, "room_not_found")
    anonymous = APIClient()
    response = anonymous.get(base)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


OUTSIDER_CALLS = [
    ("get", ""),
    ("patch", ""),
    ("post", "start/"),
    ("post", "end/"),
    ("post", "cancel/"),
    ("post", "join/"),
    ("post", "leave/"),
    ("get", "listeners/"),
    ("post", "hand/"),
    ("delete", "hand/"),
    ("post", "mic/mute/"),
    ("post", "mic/unmute/"),
    ("post", "speakers/invite/"),
    ("post", "speakers/accept/"),
    ("post", "speakers/decline/"),
    ("post", "speakers/speaker/move-to-audience/"),
    ("delete", "participants/speaker/hand/"),
    ("post", "participants/speaker/mute/"),
    ("post", "participants/speaker/unmute/"),
    ("post", "participants/speaker/remove/"),
    ("post", "moderators/speaker/"),
    ("delete", "moderators/speaker/"),
    ("post", "host/"),
    ("post", "invites/"),
    ("post", "ping/"),
]


@pytest.mark.parametrize(("method", "path"), OUTSIDER_CALLS)
def test_a_room_you_cannot_see_is_a_404_on_every_path(method, path):
    host = UserFactory()
    room = live_room(host=host)
    seat(room, UserFactory(username="speaker"), "speaker")
    outsider = UserFactory()
    Block.objects.create(blocker=host, blocked=outsider)
    client = client_for(outsider)
    response = getattr(client, method)(
        f"/api/rooms/{room.pk}/{path}", {"username": "speaker"}, format="json"
    )
    nonexistent = getattr(client, method)(
        f"/api/rooms/00000000-0000-4000-8000-000000000000/{path}",
        {"username": "speaker"},
        format="json",
    )
    # Same answer as for a room that does not exist: nothing confirms that it does.
    assert response.status_code == nonexistent.status_code == 404
    assert response.json() == nonexistent.json()
    room.refresh_from_db()
    assert room.state == Room.State.LIVE and room.listeners_count == 0


def test_schema_generates_for_room_views():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = schema["paths"]
    assert "/api/rooms/{room_id}/participants/{username}/mute/" in paths
    assert paths["/api/rooms/{room_id}/"]["get"]["parameters"][0]["schema"]["format"] == "uuid"
