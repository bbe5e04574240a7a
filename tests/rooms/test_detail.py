"""``room_detail``: grouped participants, your role and permissions, a constant query count; and
the events, which carry no private data."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from rooms import selectors, services
from rooms.models import Room
from tests.factories import UserFactory
from tests.rooms.conftest import live_room, seat

pytestmark = pytest.mark.django_db


def _room_of(size: int) -> tuple[Room, list]:
    room = live_room()
    speakers = [UserFactory() for _ in range(min(size, 4))]
    for user in speakers:
        seat(room, user, "speaker")
    listeners = [UserFactory() for _ in range(size)]
    for user in listeners:
        seat(room, user)
        services.hand_raise(room=room, user=user)
    return Room.objects.select_related("host").get(pk=room.pk), listeners


@pytest.mark.parametrize("size", [2, 25])
def test_room_detail_query_count_is_constant_for_a_listener(size, django_assert_num_queries):
    room, listeners = _room_of(size)
    with django_assert_num_queries(3):
        data = selectors.room_detail(room=room, user=listeners[0])
    assert len(data["participants"]["listeners"]) == size
    assert "hands" not in data


@pytest.mark.parametrize("size", [2, 25])
def test_room_detail_query_count_is_constant_for_a_moderator(size, django_assert_num_queries):
    room, _ = _room_of(size)
    with django_assert_num_queries(4):
        data = selectors.room_detail(room=room, user=room.host)
    assert len(data["hands"]) == size


def test_room_detail_groups_by_role_and_says_what_you_may_do():
    room = live_room()
    mod, speaker, listener, visitor = (UserFactory() for _ in range(4))
    seat(room, mod, "moderator")
    seat(room, speaker, "speaker")
    seat(room, listener)
    services.hand_raise(room=room, user=listener)
    room.refresh_from_db()
    data = selectors.room_detail(room=room, user=listener)
    names = {k: [p["user"]["username"] for p in v] for k, v in data["participants"].items()}
    assert names == {
        "host": [room.host.username],
        "moderators": [mod.username],
        "speakers": [speaker.username],
        "listeners": [listener.username],
    }
    assert data["counts"] == {"speakers": 3, "listeners": 1}
    assert data["me"]["role"] == "listener" and data["me"]["hand_raised"]
    assert "lower_hand" in data["me"]["permissions"]
    assert "mute" not in data["me"]["permissions"]
    # A listener does not see others' hands; the host does.
    assert "hand_raised" not in data["participants"]["listeners"][0]
    assert selectors.room_detail(room=room, user=room.host)["participants"]["listeners"][0][
        "hand_raised"
    ]
    assert selectors.room_detail(room=room, user=visitor)["me"]["permissions"] == ["join"]
    host_perms = selectors.room_detail(room=room, user=room.host)["me"]["permissions"]
    assert {"end", "mute", "remove", "add_moderator", "transfer_host"} <= set(host_perms)
    mod_perms = selectors.room_detail(room=room, user=mod)["me"]["permissions"]
    assert "mute" in mod_perms and "end" not in mod_perms


def test_events_and_details_never_carry_emails_or_audio_tokens(
    recorder, django_capture_on_commit_callbacks
):
    host = UserFactory(email="host-secret@example.test")
    guest = UserFactory(email="guest-secret@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        room = live_room(host=host)
        participant = seat(room, guest, "moderator")
        services.hand_lower(room=room, user=guest)
        services.participant_mute(room=room, by=host, user=guest)
        services.participant_remove(room=room, by=host, user=guest)
        services.room_end(room=room, by=host)
    blob = json.dumps(recorder.events) + json.dumps(selectors.room_detail(room=room, user=host))
    assert "secret@example" not in blob
    assert participant.audio_token not in blob
    assert all(e["audience"] in {"room", "moderators", "user"} for e in recorder.events)
    assert all(e["room"] == str(room.pk) for e in recorder.events)


def test_events_are_sent_only_after_commit(recorder, django_capture_on_commit_callbacks):
    room = live_room()
    ghost, member = UserFactory(), UserFactory()
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            seat(room, ghost)
            raise RuntimeError("roll back")
        seat(room, member)
    assert recorder.types() == ["participant.joined"]
    assert recorder.events[0]["participant"]["user"]["id"] == member.pk
    room.refresh_from_db()
    assert room.listeners_count == 1
