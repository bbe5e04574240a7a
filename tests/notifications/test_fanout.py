"""A room going live: who gets "went live" / "starting now", exactly once, in chunks."""

from __future__ import annotations

import pytest

from moderation.models import Sanction
from notifications import services
from notifications.models import DisabledKind, MutedActor, Notification, RoomReminder
from tests.factories import UserFactory
from tests.notifications.conftest import block, follow, invite, make_room, suspend

pytestmark = pytest.mark.django_db

K = Notification.Kind


@pytest.fixture(params=["sql_fast_path", "portable"])
def insert_path(request, monkeypatch, settings):
    """Both insert paths: PostgreSQL's INSERT ... SELECT ... ON CONFLICT and bulk_create."""
    on_postgres = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    if request.param == "sql_fast_path":
        request.getfixturevalue("require_postgres")
        assert on_postgres
    monkeypatch.setattr(services, "use_sql_fast_path", request.param == "sql_fast_path")
    return request.param


def recipients(kind=K.WENT_LIVE):
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def test_every_follower_of_the_host_gets_one_went_live_notification(insert_path):
    host = UserFactory(username="host")
    followers = [UserFactory(username=f"f{i}") for i in range(3)]
    stranger = UserFactory(username="stranger")
    for f in followers:
        follow(f, host)
    follow(host, stranger)  # the host following someone does not make them a follower
    room = make_room(host)

    created = services.room_live_fan_out(room_id=str(room.pk))

    assert created == 3
    assert recipients() == {"f0", "f1", "f2"}
    n = Notification.objects.get(recipient=followers[0])
    assert (n.actor_id, n.room_id, n.read_at) == (host.pk, room.pk, None)
    assert n.dedupe_key == f"went_live:{room.pk}"


def test_running_the_task_twice_creates_no_duplicates(insert_path):
    host = UserFactory()
    for _ in range(4):
        follow(UserFactory(), host)
    room = make_room(host)

    assert services.room_live_fan_out(room_id=str(room.pk)) == 4
    assert services.room_live_fan_out(room_id=str(room.pk)) == 0

    assert Notification.objects.count() == 4


def test_more_followers_than_one_chunk_are_written_in_several_chunks(
    insert_path, settings, monkeypatch
):
    settings.NOTIFICATIONS_FANOUT_CHUNK_SIZE = 3
    host = UserFactory()
    followers = [UserFactory() for _ in range(10)]
    for f in followers:
        follow(f, host)
    room = make_room(host)
    chunks = []
    real_insert = services._insert_chunk

    def spy(**kwargs):
        chunks.append(len(kwargs["recipient_ids"]))
        return real_insert(**kwargs)

    monkeypatch.setattr(services, "_insert_chunk", spy)

    assert services.room_live_fan_out(room_id=str(room.pk)) == 10

    assert chunks == [3, 3, 3, 1]
    assert set(Notification.objects.values_list("recipient_id", flat=True)) == {
        f.pk for f in followers
    }
    # A retry after a partial run finishes the job without doubles.
    Notification.objects.filter(recipient_id__in=[f.pk for f in followers[:5]]).delete()
    assert services.room_live_fan_out(room_id=str(room.pk)) == 5
    assert Notification.objects.count() == 10


def test_followers_only_room_reaches_all_followers(insert_path):
    host = UserFactory()
    f1, f2 = UserFactory(username="f1"), UserFactory(username="f2")
    follow(f1, host)
    follow(f2, host)
    room = make_room(host, visibility="followers")

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"f1", "f2"}


def test_closed_room_reaches_only_invited_followers(insert_path):
    host = UserFactory()
    invited, left_out = UserFactory(username="invited"), UserFactory(username="left_out")
    follow(invited, host)
    follow(left_out, host)
    room = make_room(host, visibility="closed")
    invite(room, invited)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"invited"}


def test_blocks_either_way_suspensions_bans_and_inactive_members_are_skipped(insert_path):
    host = UserFactory()
    names = ["ok", "blocked_by_host", "blocks_host", "suspended", "banned", "inactive"]
    users = {name: UserFactory(username=name) for name in names}
    for u in users.values():
        follow(u, host)
    block(host, users["blocked_by_host"])
    block(users["blocks_host"], host)
    suspend(users["suspended"])
    suspend(users["banned"], kind=Sanction.Kind.BAN)
    users["inactive"].is_active = False
    users["inactive"].save()
    room = make_room(host)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"ok"}


def test_lifted_or_expired_suspension_does_not_skip(insert_path):
    host = UserFactory()
    member = UserFactory(username="member")
    follow(member, host)
    sanction = suspend(member)
    sanction.lifted_at = sanction.starts_at
    sanction.save()
    room = make_room(host)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"member"}


def test_members_who_muted_the_host_or_turned_the_kind_off_are_skipped(insert_path):
    host = UserFactory()
    other = UserFactory()
    muter, kind_off, ok, muted_other = (
        UserFactory(username=n) for n in ("muter", "kind_off", "ok", "muted_other")
    )
    for u in (muter, kind_off, ok, muted_other):
        follow(u, host)
    MutedActor.objects.create(user=muter, muted=host)
    MutedActor.objects.create(user=muted_other, muted=other)  # muting someone else is no matter
    DisabledKind.objects.create(user=kind_off, kind=K.WENT_LIVE)
    DisabledKind.objects.create(user=ok, kind=K.FOLLOWED)  # another kind off is no matter
    room = make_room(host)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"ok", "muted_other"}


def test_reminder_requesters_get_room_starting_even_without_following(insert_path):
    host = UserFactory()
    fan = UserFactory(username="fan")  # follows and asked to be reminded: one notice only
    curious = UserFactory(username="curious")  # does not follow, asked to be reminded
    plain = UserFactory(username="plain")  # follows only
    follow(fan, host)
    follow(plain, host)
    room = make_room(host)
    RoomReminder.objects.create(user=fan, room=room)
    RoomReminder.objects.create(user=curious, room=room)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients(K.ROOM_STARTING) == {"fan", "curious"}
    assert recipients(K.WENT_LIVE) == {"plain"}
    assert Notification.objects.filter(recipient=fan).count() == 1


def test_reminder_requesters_who_may_not_see_the_room_get_nothing(insert_path):
    host = UserFactory()
    outsider = UserFactory(username="outsider")
    room = make_room(host, visibility="closed")
    RoomReminder.objects.create(user=outsider, room=room)

    services.room_live_fan_out(room_id=str(room.pk))

    assert Notification.objects.count() == 0


def test_a_room_that_ended_before_the_task_ran_announces_nothing():
    host = UserFactory()
    follow(UserFactory(), host)
    room = make_room(host, state="ended")

    assert services.room_live_fan_out(room_id=str(room.pk)) == 0
    assert Notification.objects.count() == 0


def test_the_hook_enqueues_the_fan_out_only_after_commit(django_capture_on_commit_callbacks):
    host = UserFactory()
    follow(UserFactory(), host)
    room = make_room(host)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.notify_room_live(room_id=str(room.pk))
    assert Notification.objects.count() == 0  # nothing before commit

    for callback in callbacks:
        callback()
    assert Notification.objects.count() == 1


def test_fan_out_query_count_does_not_grow_with_the_audience(
    django_assert_num_queries, settings, insert_path
):
    settings.NOTIFICATIONS_FANOUT_CHUNK_SIZE = 1000

    def run(n):
        host = UserFactory()
        for _ in range(n):
            follow(UserFactory(), host)
        room = make_room(host)
        return room

    small, large = run(2), run(20)
    # Queries: room, starting audience, live audience, then per chunk the insert (+ on the
    # portable path the read-back), with savepoints in the test transaction.
    with django_assert_num_queries(7 if insert_path == "portable" else 6):
        services.room_live_fan_out(room_id=str(small.pk))
    with django_assert_num_queries(7 if insert_path == "portable" else 6):
        services.room_live_fan_out(room_id=str(large.pk))


def test_starting_a_scheduled_room_through_the_rooms_service_notifies_after_commit(
    django_capture_on_commit_callbacks,
):
    from datetime import timedelta

    from django.utils import timezone

    from rooms.services import room_create, room_start

    host = UserFactory(username="host")
    fan, curious = UserFactory(username="fan"), UserFactory(username="curious")
    follow(fan, host)
    room = room_create(
        host=host, title="Planned", scheduled_for=timezone.now() + timedelta(hours=1)
    )
    RoomReminder.objects.create(user=curious, room=room)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        room_start(room=room, by=host)
        # The service returns with nothing written: the fan-out waits for the commit.
        assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):  # the hook's own delay_on_commit
        for callback in callbacks:
            callback()

    assert recipients(K.WENT_LIVE) == {"fan"}
    assert recipients(K.ROOM_STARTING) == {"curious"}


def test_members_with_an_open_socket_are_written_first_in_chunks_of_their_own(
    insert_path, settings, monkeypatch
):
    from notifications import presence

    settings.NOTIFICATIONS_FANOUT_CHUNK_SIZE = 3
    host = UserFactory()
    followers = [UserFactory() for _ in range(8)]
    for f in followers:
        follow(f, host)
    online = {followers[2].pk, followers[6].pk}
    for user_id in online:
        presence.socket_opened(user_id)
    room = make_room(host)
    chunks = []
    real_insert = services._insert_chunk

    def spy(**kwargs):
        chunks.append(set(kwargs["recipient_ids"]))
        return real_insert(**kwargs)

    monkeypatch.setattr(services, "_insert_chunk", spy)

    services.room_live_fan_out(room_id=str(room.pk))

    assert chunks[0] == online
    assert [len(c) for c in chunks] == [2, 3, 3]
    assert Notification.objects.count() == 8


def test_rows_are_written_even_when_presence_and_the_channel_layer_fail(
    monkeypatch, django_capture_on_commit_callbacks
):
    from notifications import presence

    host = UserFactory()
    followers = [UserFactory() for _ in range(3)]
    for f in followers:
        follow(f, host)
    presence.socket_opened(followers[0].pk)
    room = make_room(host)

    def broken(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(presence, "online_user_ids", broken)
    monkeypatch.setattr(services, "group_send_many", broken)

    attempts = []
    real_push = services.push_created

    def push(**kwargs):
        attempts.append(kwargs["rows"])
        return real_push(**kwargs)

    monkeypatch.setattr(services, "push_created", push)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.room_live_fan_out(room_id=str(room.pk)) == 3
    assert Notification.objects.count() == 3
    assert len(attempts) == 1  # the push was attempted, failed, and was logged, not raised


def with_cohosts(room, *cohosts):
    room.cohost_ids = [c.pk for c in cohosts]
    room.save(update_fields=["cohost_ids"])
    return room


def test_followers_of_announced_co_hosts_hear_it_from_the_co_host_each_once(insert_path):
    host, ana, bo = UserFactory(username="host"), UserFactory(username="ana"), UserFactory()
    fan_of_host, fan_of_ana, fan_of_both, fan_of_all = (
        UserFactory(username=n) for n in ("fan_of_host", "fan_of_ana", "fan_of_both", "fan_of_all")
    )
    follow(fan_of_host, host)
    follow(fan_of_ana, ana)
    follow(fan_of_both, ana)
    follow(fan_of_both, bo)
    for followee in (host, ana, bo):
        follow(fan_of_all, followee)
    follow(host, ana)  # the host following a co-host is not told about their own room
    room = with_cohosts(make_room(host, title="Panel"), ana, bo)

    created = services.room_live_fan_out(room_id=str(room.pk))

    assert created == 4
    assert recipients() == {"fan_of_host", "fan_of_ana", "fan_of_both", "fan_of_all"}
    by_host = Notification.objects.get(recipient=fan_of_all)
    assert (by_host.actor_id, by_host.data) == (host.pk, {})
    via_ana = Notification.objects.get(recipient=fan_of_ana)
    assert via_ana.actor_id == ana.pk
    assert via_ana.data == {"cohost": True, "host": "host"}
    assert via_ana.dedupe_key == f"went_live:{room.pk}"
    assert Notification.objects.get(recipient=fan_of_both).actor_id == ana.pk  # the first co-host

    from notifications.events import notification_payload

    assert notification_payload(via_ana)["text"] == f"{ana.name} is co-hosting a room: Panel"
    assert notification_payload(by_host)["text"] == f"{host.name} started a room: Panel"
    assert services.room_live_fan_out(room_id=str(room.pk)) == 0


def test_co_host_followers_are_filtered_like_everyone_else(insert_path):
    host, ana = UserFactory(username="host"), UserFactory(username="ana")
    names = ["ok", "muted_ana", "muted_host", "blocked_by_ana", "blocked_by_host", "reminded"]
    users = {name: UserFactory(username=name) for name in names}
    for u in users.values():
        follow(u, ana)
    MutedActor.objects.create(user=users["muted_ana"], muted=ana)
    MutedActor.objects.create(user=users["muted_host"], muted=host)
    block(ana, users["blocked_by_ana"])
    block(host, users["blocked_by_host"])
    room = with_cohosts(make_room(host), ana)
    RoomReminder.objects.create(user=users["reminded"], room=room)

    services.room_live_fan_out(room_id=str(room.pk))

    assert recipients() == {"ok"}
    assert recipients(K.ROOM_STARTING) == {"reminded"}


def test_a_co_host_who_may_no_longer_co_host_announces_nothing(insert_path):
    host = UserFactory()
    blocked, suspended, gone = UserFactory(), UserFactory(), UserFactory(is_active=False)
    for cohost in (blocked, suspended, gone):
        follow(UserFactory(), cohost)
    block(host, blocked)
    suspend(suspended)
    room = with_cohosts(make_room(host), blocked, suspended, gone)

    assert services.room_live_fan_out(room_id=str(room.pk)) == 0


def test_fan_out_with_co_hosts_costs_the_same_queries_for_any_audience(
    django_assert_num_queries, settings, insert_path
):
    settings.NOTIFICATIONS_FANOUT_CHUNK_SIZE = 1000

    def run(n):
        host, ana = UserFactory(), UserFactory()
        for _ in range(n):
            follow(UserFactory(), host)
            follow(UserFactory(), ana)
        return with_cohosts(make_room(host), ana)

    small, large = run(2), run(20)
    # The plain count (see above) + the co-hosts' row, their audience, and one more chunk
    # (insert, + read-back on the portable path, in a savepoint).
    expected = 13 if insert_path == "portable" else 11
    with django_assert_num_queries(expected):
        services.room_live_fan_out(room_id=str(small.pk))
    with django_assert_num_queries(expected):
        services.room_live_fan_out(room_id=str(large.pk))
