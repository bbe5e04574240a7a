"""``User.follower_count`` / ``following_count`` are kept by the database (triggers on the
follows table), whatever writes the follow: services, a block, the admin, a cascade, fixtures."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from follows import services
from follows.models import Follow
from moderation import services as moderation_services
from tests.accounts.test_race import run_concurrently
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def counts(*users) -> list[tuple[int, int]]:
    rows = dict(
        (pk, (followers, following))
        for pk, followers, following in User.objects.filter(
            pk__in=[u.pk for u in users]
        ).values_list("pk", "follower_count", "following_count")
    )
    return [rows[u.pk] for u in users]


def test_following_and_unfollowing_through_the_services():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()

    services.follow_create(follower=alice, followee=bob)
    services.follow_create(follower=carol, followee=bob)
    services.follow_create(follower=alice, followee=bob)  # again: nothing changes
    assert counts(alice, bob, carol) == [(0, 1), (2, 0), (0, 1)]

    services.follow_delete(follower=alice, followee=bob)
    assert counts(alice, bob, carol) == [(0, 0), (1, 0), (0, 1)]


def test_rows_written_without_the_services_count_too():
    alice, bob = UserFactory(), UserFactory()

    FollowFactory(follower=alice, followee=bob)
    Follow.objects.create(follower=bob, followee=alice)
    assert counts(alice, bob) == [(1, 1), (1, 1)]

    Follow.objects.all().delete()
    assert counts(alice, bob) == [(0, 0), (0, 0)]


def test_a_block_cuts_the_counts_both_ways():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    for follower, followee in [(alice, bob), (bob, alice), (carol, bob)]:
        services.follow_create(follower=follower, followee=followee)

    moderation_services.block_create(blocker=alice, blocked=bob)

    assert counts(alice, bob, carol) == [(0, 0), (1, 0), (0, 1)]


def test_deleting_an_account_takes_its_follows_out_of_the_others_counts():
    leaving, fan, idol = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=fan, followee=leaving)
    FollowFactory(follower=leaving, followee=idol)
    FollowFactory(follower=fan, followee=idol)

    leaving.delete()

    assert counts(fan, idol) == [(0, 1), (1, 0)]


def test_profiles_read_the_counts_without_counting_follows(django_assert_num_queries):
    from accounts.selectors import profiles_for

    viewer, member = UserFactory(), UserFactory()
    for _ in range(3):
        FollowFactory(follower=UserFactory(), followee=member)
    FollowFactory(follower=member, followee=viewer)

    with django_assert_num_queries(1) as captured:
        profile = profiles_for(viewer=viewer).get(pk=member.pk)

    assert (profile.follower_count, profile.following_count, profile.follows_you) == (3, 1, True)
    assert "COUNT(" not in captured.captured_queries[0]["sql"].upper()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_members_following_each_other_at_once_both_count(require_postgres):
    """Each follow updates both members' rows: the trigger takes them in one statement, so two
    reciprocal follows at the same moment wait for each other instead of deadlocking."""
    alice, bob = UserFactory(), UserFactory()

    for _ in range(5):
        results = run_concurrently(
            lambda: services.follow_create(follower=alice, followee=bob),
            lambda: services.follow_create(follower=bob, followee=alice),
        )
        assert [created for _, created in results] == [True, True], results
        assert counts(alice, bob) == [(1, 1), (1, 1)]
        results = run_concurrently(
            lambda: services.follow_delete(follower=alice, followee=bob),
            lambda: services.follow_delete(follower=bob, followee=alice),
        )
        assert results == [None, None], results
        assert counts(alice, bob) == [(0, 0), (0, 0)]
    assert connection.vendor == "postgresql"


def test_saving_a_member_loaded_before_a_follow_keeps_the_follow_counted():
    """A profile edit saves the whole member: the counts it loaded must not be written back."""
    member, fan = UserFactory(), UserFactory()
    loaded = User.objects.get(pk=member.pk)  # counts 0 / 0 in memory

    FollowFactory(follower=fan, followee=member)
    loaded.display_name = "New name"
    loaded.save()

    assert counts(member) == [(1, 0)]
    assert User.objects.get(pk=member.pk).display_name == "New name"


def test_saving_a_member_with_deferred_fields_writes_only_what_it_loaded(
    django_assert_num_queries,
):
    member = UserFactory(bio="kept")
    partial = User.objects.only("pk", "display_name").get(pk=member.pk)
    partial.display_name = "Renamed"

    with django_assert_num_queries(1):  # one UPDATE, no fetch of the deferred fields
        partial.save()

    fresh = User.objects.get(pk=member.pk)
    assert (fresh.display_name, fresh.bio) == ("Renamed", "kept")


def test_the_recount_command_repairs_counts_that_drifted():
    from io import StringIO

    from django.core.management import call_command

    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)
    FollowFactory(follower=carol, followee=bob)
    # As after loading follows with the trigger disabled, or an edit by hand.
    User.objects.filter(pk__in=[alice.pk, bob.pk]).update(follower_count=7, following_count=0)
    out = StringIO()

    call_command("follow_counts_recount", stdout=out)

    assert counts(alice, bob, carol) == [(0, 1), (2, 0), (0, 1)]
    assert out.getvalue().strip() == "Counts corrected for 2 members."
    out = StringIO()
    call_command("follow_counts_recount", stdout=out)
    assert out.getvalue().strip() == "Counts corrected for 0 members."
