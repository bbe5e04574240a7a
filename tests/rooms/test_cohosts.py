"""Co-hosts announced with a room: who may be one, moderators on arrival, REST and detail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audiosocial.errors import Forbidden, InvalidInput, NotFound
from moderation.models import Block, Sanction
from rooms import selectors, services
from rooms.models import Participant, Room, RoomInvite
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, participant, seat

pytestmark = pytest.mark.django_db


def later_time():
    return timezone.now() + timedelta(hours=2)


def suspend(user):
    now = timezone.now()
    Sanction.objects.create(
        user=user,
        kind=Sanction.Kind.SUSPENSION,
        reason="test",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=1),
    )


def test_a_room_announces_up_to_two_co_hosts_in_the_hosts_order():
    host = UserFactory()
    ana, bo = UserFactory(username="Ana"), UserFactory(username="bo")
    room = services.room_create(
        host=host,
        title="Panel",
        scheduled_for=later_time(),
        cohosts=["@bo", " ana ", "BO"],
    )
    room.refresh_from_db()
    assert room.cohost_ids == [bo.pk, ana.pk]
    assert [u.username for u in selectors.cohosts_of(room=room)] == ["bo", "Ana"]


@pytest.mark.parametrize(
    ("names", "error", "code"),
    [
        (["a1", "a2", "a3"], InvalidInput, "too_many_cohosts"),
        (["nobody"], InvalidInput, "cohost_not_found"),
        (["HOST"], InvalidInput, "cohost_is_host"),
        ("a1", InvalidInput, "invalid_cohosts"),
        (["cleo"], Forbidden, "cannot_cohost"),  # suspended
        (["dan"], Forbidden, "cannot_cohost"),  # blocked by the host
        (["eve"], Forbidden, "cannot_cohost"),  # blocks the host
        (["fay"], InvalidInput, "cohost_not_found"),  # deactivated
    ],
)
def test_who_may_not_co_host_and_nothing_is_created(names, error, code):
    host = UserFactory(username="host")
    for name in ("a1", "a2", "a3"):
        UserFactory(username=name)
    suspend(UserFactory(username="cleo"))
    Block.objects.create(blocker=host, blocked=UserFactory(username="dan"))
    Block.objects.create(blocker=UserFactory(username="eve"), blocked=host)
    UserFactory(username="fay", is_active=False)

    with pytest.raises(error) as exc:
        services.room_create(host=host, title="Panel", cohosts=names)

    assert exc.value.code == code
    if code == "cannot_cohost":
        # One sentence for blocks and sanctions alike: neither is disclosed.
        assert exc.value.message == f"{names[0]} cannot co-host your room."
    assert not Room.objects.exists()


def test_an_announced_co_host_joins_as_a_moderator_on_stage(recorder):
    host, cohost, other = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host=host, cohosts=[cohost.username])

    seat(room, other)
    joined = services.participant_join(room=room, user=cohost)

    assert joined.role == Participant.Role.MODERATOR
    assert participant(room, other).role == Participant.Role.LISTENER
    room.refresh_from_db()
    assert room.speakers_count == 2
    assert_counts_exact(room)
    assert "remove" in selectors.permissions_for(room=room, participant=joined, user=cohost)


def test_a_co_host_finding_the_stage_full_joins_the_audience(settings):
    settings.ROOM_MAX_SPEAKERS = 1
    host, cohost = UserFactory(), UserFactory()
    room = live_room(host=host, cohosts=[cohost.username])
    assert services.participant_join(room=room, user=cohost).role == Participant.Role.LISTENER
    assert_counts_exact(room)


def test_co_hosts_may_enter_a_closed_room():
    host, cohost, stranger = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host=host, visibility="closed", cohosts=[cohost.username])
    assert RoomInvite.objects.filter(room=room, user=cohost).exists()
    assert services.participant_join(room=room, user=cohost).role == Participant.Role.MODERATOR
    with pytest.raises(NotFound):
        services.participant_join(room=room, user=stranger)


def test_a_co_host_takes_over_when_the_host_leaves():
    host, cohost = UserFactory(), UserFactory()
    room = live_room(host=host, cohosts=[cohost.username])
    services.participant_join(room=room, user=cohost)
    services.participant_leave(room=room, user=host)
    room.refresh_from_db()
    assert room.state == Room.State.LIVE and room.host_id == cohost.pk


def test_the_host_edits_the_co_hosts_and_the_room_says_so(
    recorder, django_capture_on_commit_callbacks
):
    host, ana, bo = UserFactory(), UserFactory(), UserFactory()
    room = services.room_create(
        host=host, title="Panel", scheduled_for=later_time(), cohosts=[ana.username]
    )
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.room_update(room=room, by=host, cohosts=[bo.username, ana.username])
    room.refresh_from_db()
    assert room.cohost_ids == [bo.pk, ana.pk]
    assert recorder.types() == ["room.updated"]

    services.room_update(room=room, by=host, cohosts=[])
    room.refresh_from_db()
    assert room.cohost_ids == []

    with pytest.raises(Forbidden):
        services.room_update(room=room, by=ana, cohosts=[ana.username])


def test_a_co_host_removed_from_the_list_joins_as_a_listener():
    host, ana = UserFactory(), UserFactory()
    room = live_room(host=host, cohosts=[ana.username])
    services.room_update(room=room, by=host, cohosts=[])
    assert services.participant_join(room=room, user=ana).role == Participant.Role.LISTENER


@pytest.mark.parametrize("size", [1, 20])
def test_detail_lists_the_co_hosts_at_a_constant_cost(size, django_assert_num_queries):
    host, ana, bo = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host=host, cohosts=[ana.username, bo.username])
    for _ in range(size):
        seat(room, UserFactory())
    viewer = UserFactory()
    room = Room.objects.select_related("host").get(pk=room.pk)
    with django_assert_num_queries(4):
        data = selectors.room_detail(room=room, user=viewer)
    assert [c["username"] for c in data["cohosts"]] == [ana.username, bo.username]


def test_rest_create_and_patch_take_cohosts(client):
    host, ana, bo = UserFactory(), UserFactory(username="ana"), UserFactory(username="bo")
    client.force_login(host)

    created = client.post(
        "/api/rooms/",
        {"title": "Panel", "cohosts": ["ana"], "scheduled_for": later_time().isoformat()},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert [c["username"] for c in created.json()["cohosts"]] == ["ana"]
    room_id = created.json()["id"]

    patched = client.patch(
        f"/api/rooms/{room_id}/", {"cohosts": ["bo", "ana"]}, content_type="application/json"
    )
    assert patched.status_code == 200
    assert [c["username"] for c in patched.json()["cohosts"]] == ["bo", "ana"]

    too_many = client.patch(
        f"/api/rooms/{room_id}/", {"cohosts": ["a", "b", "c"]}, content_type="application/json"
    )
    assert too_many.status_code == 400
    assert "cohosts" in too_many.json()["details"]

    Block.objects.create(blocker=bo, blocked=host)
    refused = client.patch(
        f"/api/rooms/{room_id}/", {"cohosts": ["bo"]}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "cannot_cohost"
    unknown = client.patch(
        f"/api/rooms/{room_id}/", {"cohosts": ["nobody"]}, content_type="application/json"
    )
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "cohost_not_found"
    assert Room.objects.get(pk=room_id).cohost_ids == [bo.pk, ana.pk]
