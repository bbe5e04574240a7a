"""Who may see (and so join) a room: one rule, shared by the API, the WebSocket, the hallway and
notifications. A room you may not see does not exist for you (404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from freezegun import freeze_time

from audiosocial.errors import NotFound
from follows.models import Follow
from moderation.models import Block, Sanction
from rooms import selectors, services
from rooms.models import Room, RoomInvite
from tests.factories import UserFactory
from tests.rooms.conftest import live_room, seat

pytestmark = pytest.mark.django_db

KINDS = (
    "host",
    "follower",
    "stranger",
    "invited",
    "participant",
    "blocked_by_host",
    "blocking_host",
    "banned",
    "suspended",
    "suspension_over",
    "removed",
    "inactive",
)
SEES = {
    "public": {
        "host",
        "follower",
        "stranger",
        "invited",
        "participant",
        "suspension_over",
    },
    "followers": {"host", "follower", "invited", "participant"},
    "closed": {"host", "invited", "participant"},
}


def _member(kind: str, room: Room):
    if kind == "host":
        return room.host
    user = UserFactory()
    now = timezone.now()
    if kind == "follower":
        Follow.objects.create(follower=user, followee=room.host)
    elif kind == "invited":
        RoomInvite.objects.create(room=room, user=user, invited_by=room.host)
    elif kind == "participant":
        # In the room (joined while it was public, say) and still there.
        visibility = room.visibility
        Room.objects.filter(pk=room.pk).update(visibility="public")
        room.refresh_from_db()
        seat(room, user)
        Room.objects.filter(pk=room.pk).update(visibility=visibility)
        room.refresh_from_db()
    elif kind == "blocked_by_host":
        Block.objects.create(blocker=room.host, blocked=user)
    elif kind == "blocking_host":
        Follow.objects.create(follower=user, followee=room.host)
        Block.objects.create(blocker=user, blocked=room.host)
    elif kind == "banned":
        Follow.objects.create(follower=user, followee=room.host)
        Sanction.objects.create(user=user, kind="ban", reason="x", starts_at=now)
    elif kind == "suspended":
        Sanction.objects.create(
            user=user, kind="suspension", reason="x", starts_at=now, ends_at=now + timedelta(days=1)
        )
    elif kind == "suspension_over":
        Sanction.objects.create(
            user=user,
            kind="suspension",
            reason="x",
            starts_at=now - timedelta(days=2),
            ends_at=now - timedelta(days=1),
        )
    elif kind == "removed":
        Follow.objects.create(follower=user, followee=room.host)
        RoomInvite.objects.create(room=room, user=user, invited_by=room.host)
        seat(room, user)
        services.participant_remove(room=room, by=room.host, user=user)
    elif kind == "inactive":
        user.is_active = False
        user.save()
    return user


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("visibility", ["public", "followers", "closed"])
def test_visibility_rule(visibility, kind):
    room = live_room(visibility=visibility)
    user = _member(kind, room)
    expected = kind in SEES[visibility]
    assert selectors.can_see_room(user=user, room=room) is expected
    assert selectors.visible_rooms(user=user).filter(pk=room.pk).exists() is expected
    if expected:
        assert selectors.room_for_user(user=user, room_id=str(room.pk)) == room
    else:
        with pytest.raises(NotFound) as exc:
            selectors.room_for_user(user=user, room_id=str(room.pk))
        assert exc.value.code == ("removed_from_room" if kind == "removed" else "room_not_found")


@pytest.mark.parametrize("visibility", ["public", "followers", "closed"])
def test_who_may_see_may_join_and_nobody_else(visibility):
    for kind in KINDS:
        if kind in ("host", "participant"):
            continue
        room = live_room(visibility=visibility)
        user = _member(kind, room)
        if kind in SEES[visibility]:
            assert services.participant_join(room=room, user=user).is_active
        else:
            with pytest.raises(Exception) as exc:  # noqa: PT011 - the code is what matters
                services.participant_join(room=room, user=user)
            assert getattr(exc.value, "code", None) in {
                "room_not_found",
                "account_restricted",
                "removed_from_room",
            }, kind
        services.room_end(room=room, by=None)


def test_anonymous_sees_nothing():
    room = live_room()
    assert not selectors.can_see_room(user=AnonymousUser(), room=room)
    with pytest.raises(NotFound):
        selectors.room_for_user(user=AnonymousUser(), room_id=room.pk)


@pytest.mark.parametrize("bad", ["nope", "123", "", "00000000-0000-0000-0000-00000000000g", None])
def test_malformed_ids_are_simply_not_found(bad):
    with pytest.raises(NotFound) as exc:
        selectors.room_for_user(user=UserFactory(), room_id=bad)
    assert exc.value.code == "room_not_found"


def test_a_block_by_a_co_moderator_keeps_the_member_out_without_saying_so():
    room = live_room()
    mod, member = UserFactory(), UserFactory()
    seat(room, mod, "moderator")
    Block.objects.create(blocker=mod, blocked=member)
    with pytest.raises(NotFound) as exc:
        services.participant_join(room=room, user=member)
    assert exc.value.code == "room_not_found"


def test_a_block_by_a_co_moderator_hides_the_room_on_every_read():
    room, elsewhere = live_room(), live_room()
    mod, member, bystander = UserFactory(), UserFactory(), UserFactory()
    seat(room, mod, "moderator")
    Block.objects.create(blocker=mod, blocked=member)

    assert not selectors.can_see_room(user=member, room=room)
    assert selectors.can_see_room(user=bystander, room=room)
    with pytest.raises(NotFound) as exc:
        selectors.room_for_user(user=member, room_id=room.pk)
    assert exc.value.code == "room_not_found"
    visible = set(selectors.visible_rooms(user=member).values_list("pk", flat=True))
    assert room.pk not in visible and elsewhere.pk in visible


def test_a_co_moderator_block_stops_counting_when_they_are_no_longer_a_moderator():
    room = live_room()
    mod, member = UserFactory(), UserFactory()
    seat(room, mod, "moderator")
    Block.objects.create(blocker=mod, blocked=member)
    assert not selectors.can_see_room(user=member, room=room)
    services.moderator_revoke(room=room, by=room.host, user=mod)
    assert selectors.can_see_room(user=member, room=room)


def test_a_co_moderator_block_neither_hides_the_room_from_its_host_nor_from_those_inside():
    host, mod, listener = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host=host)
    seat(room, listener)
    seat(room, mod)
    # Made a moderator after the block: nobody was evicted, so the listener is still inside.
    Block.objects.create(blocker=mod, blocked=listener)
    Block.objects.create(blocker=mod, blocked=host)
    services.moderator_add(room=room, by=host, user=mod)

    assert selectors.can_see_room(user=host, room=room)
    assert selectors.can_see_room(user=listener, room=room)
    assert selectors.room_for_user(user=listener, room_id=room.pk) == room


def test_unfollowing_does_not_throw_a_participant_out_of_a_followers_room():
    room = live_room(visibility="followers")
    fan = UserFactory()
    follow = Follow.objects.create(follower=fan, followee=room.host)
    seat(room, fan)
    follow.delete()
    assert selectors.room_for_user(user=fan, room_id=room.pk) == room


def test_visible_rooms_q_costs_no_query_of_its_own(django_assert_num_queries):
    user = UserFactory()
    with django_assert_num_queries(0):
        selectors.visible_rooms_q(user)
    with django_assert_num_queries(1):
        list(Room.objects.filter(selectors.visible_rooms_q(user)))


def test_room_for_user_is_one_query(django_assert_num_queries):
    room = live_room()
    user = UserFactory()
    with django_assert_num_queries(1):
        found = selectors.room_for_user(user=user, room_id=str(room.pk))
        assert found.host.username  # host loaded with it


def test_the_hallway_leaves_out_a_room_a_co_moderator_blocked_you_from(
    django_assert_num_queries,
):
    from rooms.hallway import hallway_for

    room, other = live_room(title="Blocked"), live_room(title="Open")
    mod, member = UserFactory(), UserFactory()
    seat(room, mod, "moderator")
    Block.objects.create(blocker=mod, blocked=member)

    shown = {card.room.pk for card in hallway_for(user=member).cards}
    assert room.pk not in shown and other.pk in shown
    assert room.pk in {card.room.pk for card in hallway_for(user=UserFactory()).cards}
    # Still the hallway's three queries: the rule composes as a subquery.
    with django_assert_num_queries(3):
        hallway_for(user=member)


# --- The rule compiled once (room_for_user, can_see_room) ----------------------------------------


@pytest.fixture
def count_rule_compiles(monkeypatch):
    """Counts compilations of the single-room rule from here on (the process cache emptied)."""
    monkeypatch.setattr(selectors, "_visible_rules", {})
    compiled = []
    real = selectors._compile_visible_rule

    def counting(connection):
        compiled.append(connection.alias)
        return real(connection)

    monkeypatch.setattr(selectors, "_compile_visible_rule", counting)
    return compiled


def test_members_share_the_compiled_rule_and_each_gets_their_own_answer(count_rule_compiles):
    room = live_room(visibility="followers")
    fan, stranger, blocked = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=fan, followee=room.host)
    Follow.objects.create(follower=blocked, followee=room.host)
    Block.objects.create(blocker=room.host, blocked=blocked)

    answers = {
        name: selectors.can_see_room(user=user, room=room)
        for name, user in [("host", room.host), ("fan", fan), ("stranger", stranger)]
        + [("blocked", blocked)]
    }

    assert answers == {"host": True, "fan": True, "stranger": False, "blocked": False}
    assert selectors.room_for_user(user=fan, room_id=room.pk) == room
    assert len(count_rule_compiles) == 1
    assert all(rule is not None for rule in selectors._visible_rules.values())


def test_a_sanction_after_the_rule_was_compiled_applies_at_once_and_at_each_calls_time(
    count_rule_compiles,
):
    room = live_room()
    member = UserFactory()
    assert selectors.can_see_room(user=member, room=room)  # compiled now
    start = timezone.now()
    Sanction.objects.create(
        user=member,
        kind=Sanction.Kind.SUSPENSION,
        reason="cool down",
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(hours=2),
    )

    with freeze_time(start):
        before = selectors.can_see_room(user=member, room=room)
    with freeze_time(start + timedelta(minutes=90)):
        during = selectors.can_see_room(user=member, room=room)
    with freeze_time(start + timedelta(hours=3)):
        after = selectors.can_see_room(user=member, room=room)

    assert (before, during, after) == (True, False, True)
    assert len(count_rule_compiles) == 1


def test_a_rule_that_cannot_be_shared_is_built_by_the_orm_on_each_call(
    monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(selectors, "_visible_rules", {})
    monkeypatch.setattr(selectors, "_compile_visible_rule", lambda connection: None)
    room = live_room(visibility="closed")
    guest, stranger = UserFactory(), UserFactory()
    RoomInvite.objects.create(room=room, user=guest, invited_by=room.host)

    with django_assert_num_queries(1):
        assert selectors.room_for_user(user=guest, room_id=room.pk) == room
    assert not selectors.can_see_room(user=stranger, room=room)
    assert set(selectors._visible_rules.values()) == {None}
