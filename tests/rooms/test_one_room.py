"""One room at a time: entering a room leaves the previous one through the ordinary leave."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiosocial.errors import Conflict, NotFound
from moderation.models import Block
from rooms import services
from rooms.models import Participant, Room
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, participant, seat

pytestmark = pytest.mark.django_db


def active_rooms(user) -> set:
    return set(
        Participant.objects.filter(user=user, left_at__isnull=True).values_list(
            "room_id", flat=True
        )
    )


def test_joining_another_room_leaves_the_previous_one_with_its_events_and_audio(
    recorder, django_capture_on_commit_callbacks
):
    member = UserFactory()
    first, second = live_room(title="First"), live_room(title="Second")
    old = seat(first, member)
    recorder.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.participant_join(room=second, user=member)

    assert active_rooms(member) == {second.pk}
    old.refresh_from_db()
    assert old.left_at is not None and not old.removed
    assert_counts_exact(first)
    assert_counts_exact(second)
    first.refresh_from_db()
    assert first.listeners_count == 0
    left = next(e for e in recorder.events if e["type"] == "participant.left")
    assert (left["room"], left["user_id"], left["reason"]) == (str(first.pk), member.pk, "left")
    moved = next(e for e in recorder.events if e["type"] == "moved")
    assert moved == {
        "type": "moved",
        "room": str(first.pk),
        "audience": "user",
        "user_id": member.pk,
        "to": str(second.pk),
    }
    assert (
        "participant_left",
        {"room_id": str(first.pk), "user_id": member.pk, "audio_token": old.audio_token},
    ) in recorder.audio
    joined = next(e for e in recorder.events if e["type"] == "participant.joined")
    assert joined["room"] == str(second.pk)


@pytest.mark.parametrize("role", ["speaker", "moderator"])
def test_a_member_on_stage_elsewhere_leaves_that_stage(role):
    member = UserFactory()
    first, second = live_room(), live_room()
    seat(first, member, role)
    first.refresh_from_db()
    assert first.speakers_count == 2

    services.participant_join(room=second, user=member)

    assert active_rooms(member) == {second.pk}
    first.refresh_from_db()
    assert first.speakers_count == 1
    assert_counts_exact(first)


def test_a_host_of_a_live_room_is_refused_elsewhere_and_nothing_changes(recorder):
    host = UserFactory()
    mine = live_room(host=host, title="My show")
    other = live_room()
    recorder.clear()

    with pytest.raises(Conflict) as exc:
        services.participant_join(room=other, user=host)

    assert exc.value.code == "hosting_elsewhere"
    assert "My show" in exc.value.message
    assert exc.value.details == {"room": str(mine.pk), "title": "My show"}
    assert active_rooms(host) == {mine.pk}
    mine.refresh_from_db()
    assert mine.state == Room.State.LIVE and mine.host_id == host.pk
    assert_counts_exact(other)
    assert recorder.events == []


def test_a_former_host_who_handed_over_leaves_as_a_moderator():
    host, heir = UserFactory(), UserFactory()
    room = live_room(host=host)
    seat(room, heir)
    services.host_transfer(room=room, by=host, user=heir)
    other = live_room()

    services.participant_join(room=other, user=host)

    room.refresh_from_db()
    assert room.state == Room.State.LIVE and room.host_id == heir.pk
    assert active_rooms(host) == {other.pk}
    assert_counts_exact(room)


def test_a_refused_join_keeps_the_member_where_they_were(settings):
    member = UserFactory()
    first = live_room()
    seat(first, member)
    closed = live_room(visibility="closed")
    with pytest.raises(NotFound):
        services.participant_join(room=closed, user=member)
    blocker = UserFactory()
    blocked_room = live_room(host=blocker)
    Block.objects.create(blocker=blocker, blocked=member)
    with pytest.raises(NotFound):
        services.participant_join(room=blocked_room, user=member)
    full = live_room()
    seat(full, UserFactory())
    settings.ROOM_MAX_LISTENERS = 1
    with pytest.raises(Conflict) as exc:
        services.participant_join(room=full, user=member)
    assert exc.value.code == "room_full"

    assert active_rooms(member) == {first.pk}
    assert_counts_exact(first)


def test_joining_the_same_room_again_leaves_nothing():
    member = UserFactory()
    room = live_room()
    first = seat(room, member)
    again = services.participant_join(room=room, user=member)
    assert again.pk == first.pk
    assert active_rooms(member) == {room.pk}


def test_starting_a_room_now_leaves_the_room_you_were_listening_to(
    recorder, django_capture_on_commit_callbacks
):
    member = UserFactory()
    listening = live_room()
    seat(listening, member)

    with django_capture_on_commit_callbacks(execute=True):
        mine = services.room_create(host=member, title="Mine")

    assert active_rooms(member) == {mine.pk}
    assert participant(mine, member).role == Participant.Role.HOST
    assert_counts_exact(listening)
    assert any(e["type"] == "moved" and e["to"] == str(mine.pk) for e in recorder.events)


def test_starting_a_scheduled_room_leaves_the_room_you_were_listening_to():
    member = UserFactory()
    later = services.room_create(
        host=member, title="Later", scheduled_for=timezone.now() + timedelta(hours=1)
    )
    listening = live_room()
    seat(listening, member)
    assert active_rooms(member) == {listening.pk}

    services.room_start(room=later, by=member)

    assert active_rooms(member) == {later.pk}
    assert_counts_exact(listening)


def test_scheduling_a_room_does_not_take_you_out_of_the_one_you_are_in():
    member = UserFactory()
    listening = live_room()
    seat(listening, member)
    services.room_create(
        host=member, title="Later", scheduled_for=timezone.now() + timedelta(hours=1)
    )
    assert active_rooms(member) == {listening.pk}


def test_rest_join_moves_the_member_and_a_host_gets_a_clear_409(client):
    member, host = UserFactory(), UserFactory()
    first, second = live_room(), live_room(title="Second")
    seat(first, member)
    mine = live_room(host=host, title="Host's own")

    client.force_login(member)
    assert client.post(f"/api/rooms/{second.pk}/join/").status_code == 200
    assert active_rooms(member) == {second.pk}

    client.force_login(host)
    response = client.post(f"/api/rooms/{second.pk}/join/")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "hosting_elsewhere"
    assert "Host's own" in body["message"]
    assert body["details"]["room"] == str(mine.pk)


def test_joining_costs_the_same_queries_whatever_the_size_of_the_room_left():
    counts = []
    for size in (1, 6):
        first, second = live_room(), live_room()
        for _ in range(size):
            seat(first, UserFactory())
        member = UserFactory()
        seat(first, member)
        with CaptureQueriesContext(connection) as ctx:
            services.participant_join(room=second, user=member)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
