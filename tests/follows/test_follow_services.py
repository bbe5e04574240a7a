"""Follow and unfollow: the rules, idempotency, blocks, notifications and the database guards."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from audiosocial.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from follows import services
from follows.models import Follow
from moderation.models import Block
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def notified(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(
        "notifications.services.notify_followed", lambda **kwargs: calls.append(kwargs)
    )
    return calls


def test_follow_creates_the_follow_and_notifies_the_followee(notified):
    alice, bob = UserFactory(), UserFactory()

    follow, created = services.follow_create(follower=alice, followee=bob)

    assert created is True
    assert Follow.objects.filter(follower=alice, followee=bob).count() == 1
    assert follow.follower_id == alice.pk
    assert notified == [{"follower_id": alice.pk, "followee_id": bob.pk}]


def test_following_twice_changes_nothing_and_notifies_once(notified):
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)

    _, created = services.follow_create(follower=alice, followee=bob)

    assert created is False
    assert Follow.objects.filter(follower=alice, followee=bob).count() == 1
    assert len(notified) == 1


def test_following_yourself_is_refused(notified):
    alice = UserFactory()

    with pytest.raises(InvalidInput) as error:
        services.follow_create(follower=alice, followee=alice)

    assert error.value.code == "cannot_follow_self"
    assert not Follow.objects.exists()
    assert notified == []


@pytest.mark.parametrize("missing", ["none", "inactive"])
def test_following_a_missing_member_is_refused(notified, missing):
    alice = UserFactory()
    target = None if missing == "none" else UserFactory(is_active=False)

    with pytest.raises(NotFound) as error:
        services.follow_create(follower=alice, followee=target)

    assert error.value.code == "user_not_found"
    assert not Follow.objects.exists()


@pytest.mark.parametrize("direction", ["you_blocked_them", "they_blocked_you"])
def test_a_block_either_way_refuses_the_follow(notified, direction):
    alice, bob = UserFactory(), UserFactory()
    if direction == "you_blocked_them":
        Block.objects.create(blocker=alice, blocked=bob)
    else:
        Block.objects.create(blocker=bob, blocked=alice)

    with pytest.raises(Forbidden) as error:
        services.follow_create(follower=alice, followee=bob)

    assert error.value.code == "blocked"
    assert not Follow.objects.exists()
    assert notified == []


def test_unfollow_removes_only_that_follow():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)
    FollowFactory(follower=alice, followee=carol)
    FollowFactory(follower=bob, followee=alice)

    services.follow_delete(follower=alice, followee=bob)

    assert set(Follow.objects.values_list("follower_id", "followee_id")) == {
        (alice.pk, carol.pk),
        (bob.pk, alice.pk),
    }


def test_unfollowing_someone_you_do_not_follow_is_refused():
    alice, bob = UserFactory(), UserFactory()
    FollowFactory(follower=bob, followee=alice)

    with pytest.raises(Conflict) as error:
        services.follow_delete(follower=alice, followee=bob)

    assert error.value.code == "not_following"
    assert Follow.objects.count() == 1


def test_follows_cut_both_ways_removes_both_directions_and_nothing_else():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)
    FollowFactory(follower=bob, followee=alice)
    FollowFactory(follower=alice, followee=carol)
    FollowFactory(follower=carol, followee=bob)

    removed = services.follows_cut_both_ways(a=bob, b=alice)

    assert removed == 2
    assert set(Follow.objects.values_list("follower_id", "followee_id")) == {
        (alice.pk, carol.pk),
        (carol.pk, bob.pk),
    }


def test_database_refuses_duplicate_and_self_follows():
    alice, bob = UserFactory(), UserFactory()
    Follow.objects.create(follower=alice, followee=bob)

    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=alice)


def test_mass_following_is_rate_limited_and_already_followed_does_not_count(notified, settings):
    settings.FOLLOWS_PER_HOUR = 3
    member = UserFactory()
    first, *others = UserFactory.create_batch(4)
    services.follow_create(follower=member, followee=first)
    # Re-following someone already followed changes nothing and spends nothing.
    for _ in range(5):
        services.follow_create(follower=member, followee=first)
    services.follow_create(follower=member, followee=others[0])
    services.follow_create(follower=member, followee=others[1])
    with pytest.raises(RateLimited) as refused:
        services.follow_create(follower=member, followee=others[2])
    assert refused.value.code == "follow_rate_limited"
    assert not Follow.objects.filter(follower=member, followee=others[2]).exists()
    assert Follow.objects.filter(follower=member).count() == 3
    # Another member has a budget of their own.
    services.follow_create(follower=others[2], followee=member)
