"""Block semantics (docs/moderation.md, "Blocks"), each through the real services."""

from __future__ import annotations

import pytest

from audiosocial.errors import Forbidden, InvalidInput, NotFound
from follows import services as follow_services
from follows.models import Follow
from moderation import selectors, services
from moderation.models import AuditLog, Block
from rooms import services as room_services
from rooms.models import Participant
from tests.factories import FollowFactory, UserFactory
from tests.moderation.conftest import join, live_room, make_moderator, on_stage

pytestmark = pytest.mark.django_db


def active(room, user):
    return Participant.objects.filter(room=room, user=user, left_at__isnull=True).first()


def test_block_cuts_follows_both_ways_and_prevents_new_ones():
    alice, bob = UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)
    FollowFactory(follower=bob, followee=alice)

    block, created = services.block_create(blocker=alice, blocked=bob)

    assert created and block.blocker == alice and block.blocked == bob
    assert not Follow.objects.filter(follower__in=[alice, bob], followee__in=[alice, bob]).exists()
    with pytest.raises(Forbidden):
        follow_services.follow_create(follower=bob, followee=alice)
    with pytest.raises(Forbidden):
        follow_services.follow_create(follower=alice, followee=bob)


def test_blocking_twice_changes_nothing_and_audits_once():
    alice, bob = UserFactory(), UserFactory()
    services.block_create(blocker=alice, blocked=bob)
    _, created = services.block_create(blocker=alice, blocked=bob)
    assert not created
    assert Block.objects.count() == 1
    assert AuditLog.objects.filter(action="block.create").count() == 1


def test_block_evicts_blocked_member_from_the_blockers_live_room_and_its_audio(
    django_capture_on_commit_callbacks, audio_calls, monkeypatch
):
    from rooms import realtime

    events = []
    publish = realtime.publish_room_event

    def record(room_id, event):
        events.append(event)
        return publish(room_id, event)

    monkeypatch.setattr(realtime, "publish_room_event", record)
    host, troll, bystander = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host)
    join(room, troll, bystander)
    troll_part = active(room, troll)
    events.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.block_create(blocker=host, blocked=troll)

    troll_part.refresh_from_db()
    assert troll_part.left_at is not None and troll_part.removed
    assert active(room, bystander) is not None
    room.refresh_from_db()
    assert room.listeners_count == 1
    # The eviction went through the room service, which told the audio layer to kick the token.
    assert (
        "participant_left",
        {"room_id": str(room.pk), "user_id": troll.pk, "audio_token": troll_part.audio_token},
    ) in audio_calls
    audit = AuditLog.objects.get(action="block.create")
    assert audit.data["evicted_from_rooms"] == [str(room.pk)]
    # Private: the room and the troll see an ordinary removal, never the word "block".
    assert {e["type"] for e in events} >= {"participant.left", "removed"}
    assert all(e.get("reason") == "removed" for e in events if "reason" in e)
    assert "block" not in str(events).lower()


def test_block_by_a_room_moderator_evicts_and_refuses_rejoining():
    host, comod, troll = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host)
    join(room, comod, troll)
    make_moderator(room, host, comod)

    services.block_create(blocker=comod, blocked=troll)

    assert active(room, troll) is None
    with pytest.raises(Forbidden):
        room_services.participant_join(room=room, user=troll)


def test_blocked_member_cannot_join_a_room_the_blocker_hosts():
    host, troll = UserFactory(), UserFactory()
    services.block_create(blocker=host, blocked=troll)
    room = live_room(host)
    with pytest.raises((Forbidden, NotFound)):
        room_services.participant_join(room=room, user=troll)
    assert active(room, troll) is None


def test_blocked_member_cannot_join_a_room_the_blocker_comoderates():
    host, comod, troll = UserFactory(), UserFactory(), UserFactory()
    services.block_create(blocker=comod, blocked=troll)
    room = live_room(host)
    join(room, comod)
    make_moderator(room, host, comod)

    assert selectors.blocked_by_room_moderators(room=room, user=troll)
    with pytest.raises(NotFound) as refused:
        room_services.participant_join(room=room, user=troll)
    # Like a room that does not exist: the blocked member is not told about the block.
    assert refused.value.code == "room_not_found"
    assert "block" not in refused.value.message.lower()


def test_block_by_an_ordinary_speaker_does_not_evict_from_someone_elses_room():
    host, speaker, critic = UserFactory(), UserFactory(), UserFactory()
    room = live_room(host)
    join(room, speaker, critic)
    on_stage(room, host, speaker)

    services.block_create(blocker=speaker, blocked=critic)

    assert active(room, critic) is not None
    assert not selectors.blocked_by_room_moderators(room=room, user=critic)
    # ...and the speaker sees the warning instead: the critic is in their blocked set.
    assert critic.pk in selectors.blocked_ids_for(user=speaker)


def test_block_never_evicts_the_rooms_host():
    host, comod = UserFactory(), UserFactory()
    room = live_room(host)
    join(room, comod)
    make_moderator(room, host, comod)

    services.block_create(blocker=comod, blocked=host)

    assert active(room, host) is not None


def test_block_warning_set_is_private_to_the_blocker():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    services.block_create(blocker=alice, blocked=bob)
    assert selectors.blocked_ids_for(user=alice) == {bob.pk}
    assert selectors.blocked_ids_for(user=bob) == set()
    assert selectors.blocked_ids_for(user=carol) == set()


def test_blocked_ids_for_runs_one_query_at_any_size(django_assert_num_queries):
    alice = UserFactory()
    for size in (1, 12):
        for _ in range(size):
            Block.objects.create(blocker=alice, blocked=UserFactory())
        with django_assert_num_queries(1):
            ids = selectors.blocked_ids_for(user=alice)
        assert len(ids) == Block.objects.filter(blocker=alice).count()


def test_blocked_by_room_moderators_runs_one_query_at_any_size(django_assert_num_queries):
    host, troll = UserFactory(), UserFactory()
    room = live_room(host)
    for size in (1, 6):
        mods = [UserFactory() for _ in range(size)]
        join(room, *mods)
        for mod in mods:
            make_moderator(room, host, mod)
        with django_assert_num_queries(1):
            assert not selectors.blocked_by_room_moderators(room=room, user=troll)


def test_room_ids_closed_to_hides_rooms_a_comoderator_blocked_you_from():
    host, comod, troll = UserFactory(), UserFactory(), UserFactory()
    room, other = live_room(host), live_room(UserFactory())
    join(room, comod)
    make_moderator(room, host, comod)
    services.block_create(blocker=comod, blocked=troll)

    closed = set(
        room.__class__.objects.filter(
            pk__in=selectors.room_ids_closed_to(user_id=troll.pk)
        ).values_list("pk", flat=True)
    )
    assert closed == {room.pk}
    assert other.pk not in closed


def test_unblock_lifts_the_block_but_does_not_restore_follows():
    alice, bob = UserFactory(), UserFactory()
    FollowFactory(follower=bob, followee=alice)
    services.block_create(blocker=alice, blocked=bob)

    assert services.block_delete(blocker=alice, blocked=bob) is True
    assert not Block.objects.exists()
    assert not Follow.objects.exists()
    assert services.block_delete(blocker=alice, blocked=bob) is False
    assert list(AuditLog.objects.values_list("action", flat=True).order_by("id")) == [
        "block.create",
        "block.delete",
    ]
    follow_services.follow_create(follower=bob, followee=alice)


def test_blocking_yourself_is_refused_and_changes_nothing():
    alice = UserFactory()
    with pytest.raises(InvalidInput) as refused:
        services.block_create(blocker=alice, blocked=alice)
    assert refused.value.code == "cannot_block_self"
    assert not Block.objects.exists() and not AuditLog.objects.exists()


def test_blocking_a_deactivated_member_is_not_found():
    alice, gone = UserFactory(), UserFactory(is_active=False)
    with pytest.raises(NotFound):
        services.block_create(blocker=alice, blocked=gone)
    assert not Block.objects.exists()
