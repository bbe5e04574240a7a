"""Each kind comes from the other apps' real services, after their transaction commits."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from accounts.services import invitation_redeem
from follows.services import follow_create
from moderation import services as moderation
from moderation.permissions import ensure_moderators_group
from notifications.models import Notification
from rooms import services as rooms
from tests.factories import InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db


def kinds_of(user):
    return list(Notification.objects.filter(recipient=user).values_list("kind", "actor_id"))


def test_follow_create_notifies_the_followee(django_capture_on_commit_callbacks):
    ada, bob = UserFactory(), UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        follow_create(follower=ada, followee=bob)
    assert kinds_of(bob) == [("followed", ada.pk)]
    assert kinds_of(ada) == []


def test_signing_up_with_an_invitation_notifies_the_inviter(django_capture_on_commit_callbacks):
    invitation = InvitationFactory()
    newcomer = get_user_model()(username="newcomer", email="newcomer@example.test")
    newcomer.set_password("a long enough password 42")
    with django_capture_on_commit_callbacks(execute=True):
        invitation_redeem(code=invitation.code, user=newcomer)
    assert kinds_of(invitation.created_by) == [("invitation_accepted", newcomer.pk)]


def test_speaker_invitation_ping_and_room_invite_notify_the_target(
    django_capture_on_commit_callbacks,
):
    host, listener, friend, guest = (UserFactory() for _ in range(4))
    with django_capture_on_commit_callbacks(execute=True):
        room = rooms.room_create(host=host, title="Open mic")
        rooms.participant_join(room=room, user=listener)
    with django_capture_on_commit_callbacks(execute=True):
        rooms.speaker_invite(room=room, by=host, user=listener)
    with django_capture_on_commit_callbacks(execute=True):
        rooms.room_ping(room=room, by=listener, user=friend)
    with django_capture_on_commit_callbacks(execute=True):
        rooms.room_invite(room=room, by=host, user=guest)

    assert kinds_of(listener) == [("speaker_invited", host.pk)]
    assert kinds_of(friend) == [("pinged", listener.pk)]
    assert kinds_of(guest) == [("pinged", host.pk)]
    assert kinds_of(host) == []


@pytest.mark.parametrize("outcome", ["resolve", "dismiss"])
def test_closing_a_report_notifies_the_reporter(outcome, django_capture_on_commit_callbacks):
    reporter, target = UserFactory(), UserFactory()
    moderator = UserFactory(is_staff=True)
    moderator.groups.add(ensure_moderators_group(apps))
    report, _ = moderation.report_create(reporter=reporter, category="spam", target_user=target)
    with django_capture_on_commit_callbacks(execute=True):
        if outcome == "resolve":
            moderation.report_resolve(report=report, by=moderator, note="Handled.")
        else:
            moderation.report_dismiss(report=report, by=moderator)

    n = Notification.objects.get(recipient=reporter)
    assert (n.kind, n.actor_id, n.report_id) == ("report_resolved", None, report.pk)
    assert not Notification.objects.filter(recipient=target).exists()
