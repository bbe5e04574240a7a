"""Joining in batches (``services.participant_join_many``): a join storm's arrivals are let in
several per transaction, each by exactly the rules of ``participant_join``; and the entry checks
run as one statement compiled once (``rooms.entry``) that says what the ORM rule says."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audiosocial.errors import ApplicationError, Conflict
from follows.models import Follow
from moderation.models import Block, Sanction
from rooms import entry, selectors, services
from rooms.models import Participant, Room, RoomInvite
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, seat
from tests.rooms.test_visibility import KINDS, SEES, _member

pytestmark = pytest.mark.django_db


def _code(outcome) -> str:
    return outcome.code if isinstance(outcome, ApplicationError) else outcome.role


def test_a_batch_answers_each_member_as_a_single_join_would(
    recorder, django_capture_on_commit_callbacks
):
    host = UserFactory()
    cohost = UserFactory()
    room = services.room_create(host=host, title="Batch", cohosts=[cohost.username])
    other = live_room()
    moderator = UserFactory()
    seat(room, moderator, "moderator")
    stranger, banned, removed, blocked_by_host, blocked_by_mod = (UserFactory() for _ in range(5))
    inside, elsewhere, hosting_elsewhere, inactive = (UserFactory() for _ in range(4))
    now = timezone.now()
    Sanction.objects.create(user=banned, kind="ban", reason="x", starts_at=now)
    seat(room, removed)
    services.participant_remove(room=room, by=host, user=removed)
    Block.objects.create(blocker=host, blocked=blocked_by_host)
    Block.objects.create(blocker=moderator, blocked=blocked_by_mod)
    current = seat(room, inside)
    seat(other, elsewhere)
    services.room_create(host=hosting_elsewhere, title="Mine")
    inactive.is_active = False
    inactive.save()
    members = [
        stranger,
        banned,
        removed,
        blocked_by_host,
        blocked_by_mod,
        inside,
        elsewhere,
        hosting_elsewhere,
        inactive,
        cohost,
    ]
    room = Room.objects.get(pk=room.pk)
    recorder.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.participant_join_many(room=Room(pk=room.pk), users=members)

    assert {u.username: _code(outcomes[u.pk]) for u in members} == {
        stranger.username: "listener",
        banned.username: "account_restricted",
        removed.username: "removed_from_room",
        blocked_by_host.username: "room_not_found",
        blocked_by_mod.username: "room_not_found",
        inside.username: "listener",
        elsewhere.username: "listener",
        hosting_elsewhere.username: "hosting_elsewhere",
        inactive.username: "room_not_found",
        cohost.username: "moderator",
    }
    assert outcomes[inside.pk].pk == current.pk  # the current participation, not a new one
    refused = [banned, removed, blocked_by_host, blocked_by_mod, hosting_elsewhere, inactive]
    assert not Participant.objects.filter(
        room=room, user__in=refused, left_at__isnull=True
    ).exists()
    # One room at a time: the member in another room left it, through the ordinary leave.
    assert not Participant.objects.filter(room=other, user=elsewhere, left_at__isnull=True).exists()
    assert_counts_exact(room)
    assert_counts_exact(other)
    joined = [
        e["participant"]["user"]["id"] for e in recorder.events if e["type"] == "participant.joined"
    ]
    assert sorted(joined) == sorted(u.pk for u in (stranger, elsewhere, cohost))
    assert any(e["type"] == "moved" and e["user_id"] == elsewhere.pk for e in recorder.events)


def test_a_batch_never_seats_more_than_the_audience_cap(settings):
    settings.ROOM_MAX_LISTENERS = 3
    room = live_room()
    seat(room, UserFactory())
    members = [UserFactory() for _ in range(4)]
    outcomes = services.participant_join_many(room=room, users=members)
    assert [_code(outcomes[u.pk]) for u in members] == [
        "listener",
        "listener",
        "room_full",
        "room_full",
    ]
    room.refresh_from_db()
    assert room.listeners_count == 3
    assert_counts_exact(room)


def test_a_member_listed_twice_gets_one_participation():
    room = live_room()
    member = UserFactory()
    outcomes = services.participant_join_many(room=room, users=[member, member])
    assert list(outcomes) == [member.pk]
    assert Participant.objects.filter(room=room, user=member).count() == 1
    assert_counts_exact(room)


@pytest.mark.parametrize("state", ["scheduled", "ended"])
def test_a_room_that_is_not_live_refuses_the_whole_batch(state):
    host = UserFactory()
    when = timezone.now() + timedelta(hours=1)
    room = services.room_create(host=host, title="Later", scheduled_for=when)
    if state == "ended":
        services.room_start(room=room, by=host)
        services.room_end(room=room, by=host)
    with pytest.raises(Conflict) as exc:
        services.participant_join_many(room=room, users=[UserFactory(), UserFactory()])
    assert exc.value.code == "room_not_live"
    assert not Participant.objects.filter(room=room, role="listener").exists()


def test_a_batch_costs_the_same_queries_whatever_its_size(django_assert_num_queries):
    counts = []
    for size in (1, 25):
        room = live_room()
        members = [UserFactory() for _ in range(size)]
        room = Room(pk=room.pk)
        room._state.adding = False
        with CaptureQueriesContext(connection) as ctx:
            outcomes = services.participant_join_many(room=room, users=members)
        assert all(isinstance(o, Participant) for o in outcomes.values())
        counts.append(len(ctx.captured_queries))
    # savepoint, members elsewhere, room lock, entry checks, insert, counters, release
    assert counts == [7, 7]
    room = live_room()
    member = UserFactory()
    with django_assert_num_queries(7):
        services.participant_join(room=room, user=member)


@pytest.mark.parametrize("visibility", ["public", "followers", "closed"])
def test_the_compiled_entry_checks_say_what_the_orm_rule_says(visibility):
    room = live_room(visibility=visibility)
    members = {kind: _member(kind, room) for kind in KINDS}
    facts = entry.entry_facts(room_id=room.pk, users=list(members.values()))
    key = (connection.alias, connection.vendor)
    assert entry._statements[key] is not None, "the statement could not be compiled"
    for kind, user in members.items():
        fact = facts[user.pk]
        sees = fact.visible and user.is_active
        assert sees is (kind in SEES[visibility]), kind
        assert sees is selectors.can_see_room(user=user, room=room), kind
        assert fact.removed is (kind == "removed"), kind
        assert fact.restricted is (kind in ("banned", "suspended")), kind
        in_room = kind in ("host", "participant")
        assert (fact.participant_id is not None) is in_room, kind


def test_without_a_compiled_statement_the_orm_gives_the_same_answers(monkeypatch):
    room = live_room(visibility="followers")
    follower, stranger = UserFactory(), UserFactory()
    Follow.objects.create(follower=follower, followee=room.host)
    RoomInvite.objects.create(room=room, user=stranger, invited_by=room.host)
    seat(room, follower)
    compiled = entry.entry_facts(room_id=room.pk, users=[follower, stranger, room.host])
    monkeypatch.setattr(entry, "_compile", lambda connection: None)
    monkeypatch.setattr(entry, "_statements", {})
    through_orm = entry.entry_facts(room_id=room.pk, users=[follower, stranger, room.host])
    assert compiled == through_orm


def test_a_signed_out_visitor_in_a_batch_finds_no_room():
    from django.contrib.auth.models import AnonymousUser

    room = live_room()
    member = UserFactory()
    visitor = AnonymousUser()
    outcomes = services.participant_join_many(room=room, users=[visitor, member])
    assert _code(outcomes[None]) == "room_not_found"
    assert _code(outcomes[member.pk]) == "listener"
