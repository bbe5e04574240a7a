"""The denormalised speaker/listener counters equal the real counts after anything, including
many members joining the same room at the same instant (PostgreSQL, real threads)."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable

import pytest
from django.db import connection

from audiosocial.errors import ApplicationError
from rooms import services
from rooms.models import Participant, Room
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, seat, true_counts


@pytest.mark.django_db
def test_counters_follow_every_kind_of_move():
    room = live_room()
    host = room.host
    members = [UserFactory() for _ in range(6)]
    steps: list[Callable[[], object]] = [
        *[lambda m=m: services.participant_join(room=room, user=m) for m in members],
        lambda: services.speaker_invite(room=room, by=host, user=members[0]),
        lambda: services.speaker_accept(room=room, user=members[0]),
        lambda: services.moderator_add(room=room, by=host, user=members[1]),
        lambda: services.moderator_revoke(room=room, by=host, user=members[1]),
        lambda: services.speaker_move_to_audience(room=room, by=host, user=members[1]),
        lambda: services.participant_leave(room=room, user=members[0]),
        lambda: services.participant_remove(room=room, by=host, user=members[2]),
        lambda: services.participant_evict(room=room, user=members[3], reason="blocked"),
        lambda: services.host_transfer(room=room, by=host, user=members[4]),
        lambda: services.participant_leave(room=room, user=members[4]),
        lambda: services.participant_join(room=room, user=members[0]),
    ]
    for step in steps:
        step()
        assert_counts_exact(room)
    room.refresh_from_db()
    # host (now a moderator who inherited back the room) on stage; members 0, 1, 5 listening.
    assert (room.speakers_count, room.listeners_count) == (1, 3)
    assert room.host_id == host.pk


@pytest.mark.django_db
def test_counters_survive_a_random_walk():
    rng = random.Random(5)
    room = live_room()
    members = [UserFactory() for _ in range(8)]
    for _ in range(120):
        user = rng.choice(members)
        action = rng.choice(["join", "leave", "invite", "accept", "down", "mod"])
        try:
            if action == "join":
                services.participant_join(room=room, user=user)
            elif action == "leave":
                services.participant_leave(room=room, user=user)
            elif action == "invite":
                services.speaker_invite(room=room, by=room.host, user=user)
            elif action == "accept":
                services.speaker_accept(room=room, user=user)
            elif action == "down":
                services.speaker_move_to_audience(room=room, by=user, user=user)
            else:
                services.moderator_add(room=room, by=room.host, user=user)
        except ApplicationError:
            pass
        room.refresh_from_db()
        if room.state != Room.State.LIVE:
            break
        assert (room.speakers_count, room.listeners_count) == true_counts(room)


def _run_together(workers: list[Callable[[], None]]) -> list[BaseException]:
    barrier = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def run(work: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return failures


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_keep_counters_exact(require_postgres):
    room = live_room()
    members = [UserFactory() for _ in range(24)]
    failures = _run_together(
        [
            lambda m=m: services.participant_join(room=Room.objects.get(pk=room.pk), user=m)
            for m in members
        ]
    )
    assert failures == []
    room.refresh_from_db()
    assert (room.speakers_count, room.listeners_count) == (1, 24) == true_counts(room)


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_never_exceed_the_cap(require_postgres, settings):
    settings.ROOM_MAX_LISTENERS = 5
    room = live_room()
    members = [UserFactory() for _ in range(16)]
    failures = _run_together(
        [
            lambda m=m: services.participant_join(room=Room.objects.get(pk=room.pk), user=m)
            for m in members
        ]
    )
    assert len(failures) == 11
    assert {getattr(f, "code", repr(f)) for f in failures} == {"room_full"}
    room.refresh_from_db()
    assert (room.speakers_count, room.listeners_count) == (1, 5) == true_counts(room)


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_join_by_one_member_counts_once(require_postgres):
    room = live_room()
    member = UserFactory()
    failures = _run_together(
        [
            lambda: services.participant_join(room=Room.objects.get(pk=room.pk), user=member)
            for _ in range(8)
        ]
    )
    assert failures == []
    assert Participant.objects.filter(room=room, user=member).count() == 1
    assert_counts_exact(room)


@pytest.mark.django_db(transaction=True)
def test_concurrent_stage_moves_respect_the_stage_cap(require_postgres, settings):
    settings.ROOM_MAX_SPEAKERS = 4
    room = live_room()
    invited = [UserFactory() for _ in range(8)]
    for member in invited:
        seat(room, member)
        services.speaker_invite(room=room, by=room.host, user=member)
    leavers = [UserFactory() for _ in range(6)]
    for member in leavers:
        seat(room, member)
    work = [
        lambda m=m: services.speaker_accept(room=Room.objects.get(pk=room.pk), user=m)
        for m in invited
    ] + [
        lambda m=m: services.participant_leave(room=Room.objects.get(pk=room.pk), user=m)
        for m in leavers
    ]
    failures = _run_together(work)
    assert {getattr(f, "code", repr(f)) for f in failures} == {"stage_full"}
    assert len(failures) == 5
    room.refresh_from_db()
    assert (room.speakers_count, room.listeners_count) == (4, 5) == true_counts(room)


@pytest.mark.django_db(transaction=True)
def test_members_crossing_between_two_rooms_at_once_neither_deadlock_nor_miscount(
    require_postgres,
):
    # One room at a time: each move locks both rooms. In id order, so the crossings cannot
    # deadlock (PostgreSQL would abort one of them with a DeadlockDetected error).
    first, second = live_room(), live_room()
    in_first = [UserFactory() for _ in range(8)]
    in_second = [UserFactory() for _ in range(8)]
    for member in in_first:
        seat(first, member)
    for member in in_second:
        seat(second, member)
    work = [
        lambda m=m: services.participant_join(room=Room.objects.get(pk=second.pk), user=m)
        for m in in_first
    ] + [
        lambda m=m: services.participant_join(room=Room.objects.get(pk=first.pk), user=m)
        for m in in_second
    ]
    failures = _run_together(work)
    assert failures == []
    for room, arrived in ((first, in_second), (second, in_first)):
        room.refresh_from_db()
        assert (room.speakers_count, room.listeners_count) == (1, 8) == true_counts(room)
        assert set(
            Participant.objects.filter(
                room=room, left_at__isnull=True, role="listener"
            ).values_list("user_id", flat=True)
        ) == {m.pk for m in arrived}
