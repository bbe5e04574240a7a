"""Each kind comes from its event, for the right member only, and only once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from moderation.models import Report
from notifications import services
from notifications.models import DisabledKind, MutedActor, Notification
from tests.factories import UserFactory
from tests.notifications.conftest import block, follow, invite, make_room, suspend

pytestmark = pytest.mark.django_db

K = Notification.Kind


def only(kind):
    rows = list(Notification.objects.filter(kind=kind))
    assert len(rows) == 1, rows
    return rows[0]


def run_hooks(captured):
    for callback in captured:
        callback()


# --- followed ---


def test_following_someone_notifies_them_once(django_capture_on_commit_callbacks):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    follow(alice, bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_followed(follower_id=alice.pk, followee_id=bob.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_followed(follower_id=alice.pk, followee_id=bob.pk)  # a duplicate task

    n = only(K.FOLLOWED)
    assert (n.recipient, n.actor, n.target_user) == (bob, alice, alice)
    assert Notification.objects.filter(recipient=alice).count() == 0


def test_an_unfollow_before_the_task_runs_means_no_notification():
    alice, bob = UserFactory(), UserFactory()
    assert services.followed_notify(follower_id=alice.pk, followee_id=bob.pk) == 0
    assert not Notification.objects.exists()


@pytest.mark.parametrize("reason", ["muted", "kind_off", "blocked", "suspended"])
def test_followed_is_skipped_for_muted_kind_off_blocked_or_suspended(reason):
    alice, bob = UserFactory(), UserFactory()
    follow(alice, bob)
    if reason == "muted":
        MutedActor.objects.create(user=bob, muted=alice)
    elif reason == "kind_off":
        DisabledKind.objects.create(user=bob, kind=K.FOLLOWED)
    elif reason == "blocked":
        block(bob, alice)
    else:
        suspend(bob)

    assert services.followed_notify(follower_id=alice.pk, followee_id=bob.pk) == 0
    assert not Notification.objects.exists()


# --- speaker invited / pinged ---


def test_speaker_invitation_notifies_the_invitee_each_time(django_capture_on_commit_callbacks):
    host, listener = UserFactory(), UserFactory()
    room = make_room(host)
    for _ in range(2):  # invited, declined, invited again: two events
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_speaker_invited(
                room_id=str(room.pk), user_id=listener.pk, by_id=host.pk
            )

    rows = Notification.objects.filter(kind=K.SPEAKER_INVITED)
    assert [(n.recipient, n.actor, n.room) for n in rows] == [(listener, host, room)] * 2


def test_a_retried_speaker_invitation_task_does_not_duplicate():
    host, listener = UserFactory(), UserFactory()
    room = make_room(host)
    args = {"room_id": str(room.pk), "user_id": listener.pk, "by_id": host.pk, "event_id": "e1"}
    assert services.speaker_invited_notify(**args) == 1
    assert services.speaker_invited_notify(**args) == 0
    assert Notification.objects.count() == 1


def test_ping_notifies_the_pinged_member_with_a_link_to_the_room(
    django_capture_on_commit_callbacks,
):
    host, friend = UserFactory(), UserFactory()
    room = make_room(host)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_pinged(room_id=str(room.pk), user_id=friend.pk, by_id=host.pk)

    n = only(K.PINGED)
    assert (n.recipient, n.actor, n.room) == (friend, host, room)


def test_ping_into_a_closed_room_the_member_may_not_see_is_dropped():
    host, outsider = UserFactory(), UserFactory()
    room = make_room(host, visibility="closed")
    args = {"room_id": str(room.pk), "user_id": outsider.pk, "by_id": host.pk, "event_id": "e"}
    assert services.pinged_notify(**args) == 0
    invite(room, outsider)
    assert services.pinged_notify(**args) == 1


def test_ping_into_an_ended_room_is_dropped():
    host, friend = UserFactory(), UserFactory()
    room = make_room(host, state="ended")
    assert (
        services.pinged_notify(room_id=str(room.pk), user_id=friend.pk, by_id=host.pk, event_id="e")
        == 0
    )


def test_ping_by_someone_the_member_muted_is_dropped():
    host, pinger, friend = UserFactory(), UserFactory(), UserFactory()
    room = make_room(host)
    MutedActor.objects.create(user=friend, muted=pinger)
    args = {"room_id": str(room.pk), "user_id": friend.pk, "by_id": pinger.pk, "event_id": "e"}
    assert services.pinged_notify(**args) == 0


# --- invitation accepted ---


def test_invitation_accepted_notifies_the_inviter(django_capture_on_commit_callbacks):
    inviter, newcomer = UserFactory(username="inviter"), UserFactory(username="newcomer")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_invitation_accepted(inviter_id=inviter.pk, new_member_id=newcomer.pk)
    services.invitation_accepted_notify(inviter_id=inviter.pk, new_member_id=newcomer.pk)

    n = only(K.INVITATION_ACCEPTED)
    assert (n.recipient, n.actor, n.target_user) == (inviter, newcomer, newcomer)


# --- report resolved ---


def make_report(reporter, status):
    return Report.objects.create(
        reporter=reporter,
        target_type=Report.TargetType.MEMBER,
        target_user=UserFactory(),
        category=Report.Category.SPAM,
        severity=Report.Severity.LOW,
        status=status,
        last_submitted_at=timezone.now(),
    )


@pytest.mark.parametrize("status", [Report.Status.RESOLVED, Report.Status.DISMISSED])
def test_the_reporter_hears_their_report_was_reviewed_without_details(
    status, django_capture_on_commit_callbacks
):
    reporter = UserFactory()
    report = make_report(reporter, status)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_report_resolved(report_id=report.pk)
    services.report_resolved_notify(report_id=report.pk)

    n = only(K.REPORT_RESOLVED)
    assert (n.recipient, n.actor, n.report_id) == (reporter, None, report.pk)
    assert n.data == {"status": status}
    assert n.target_user is None  # not even who was reported


def test_an_open_report_produces_no_notification():
    report = make_report(UserFactory(), Report.Status.OPEN)
    assert services.report_resolved_notify(report_id=report.pk) == 0
    assert services.report_resolved_notify(report_id=987654) == 0
