"""Notification pages, the bell, and the follow/block/report actions on a profile."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from follows.models import Follow
from moderation.models import Block, Report
from notifications.models import Notification
from tests.factories import FollowFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    user = UserFactory(username="member", display_name="Member")
    client.force_login(user)
    return user


def notify(recipient, *, kind="followed", actor=None, room=None, minutes_ago=0, read=False):
    actor = actor or UserFactory()
    return Notification.objects.create(
        recipient=recipient,
        kind=kind,
        actor=actor,
        room=room,
        dedupe_key=f"{kind}:{actor.pk}:{room.pk if room else ''}",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )


def test_bell_shows_the_unread_count_on_every_page(client, member):
    notify(member)
    notify(member, read=True)
    page = client.get("/").content.decode()
    assert "data-bell-count >1</span>" in page
    assert "1 unread" in page


def test_notification_list_is_newest_first_and_marks_unread(client, member):
    ann = UserFactory(display_name="Ann")
    room = RoomFactory(title="Ann's room", host=ann)
    notify(member, kind="went_live", actor=ann, room=room, minutes_ago=1)
    notify(member, actor=UserFactory(display_name="Zed"), minutes_ago=5, read=True)
    page = client.get("/notifications/").content.decode()
    assert page.index("Ann started a room: Ann&#x27;s room") < page.index("Zed followed you")
    assert page.count('class="unread"') == 1


def test_opening_a_went_live_notification_marks_it_read_and_opens_the_room(client, member):
    room = RoomFactory()
    notification = notify(member, kind="went_live", actor=room.host, room=room)
    response = client.post(
        f"/notifications/{notification.pk}/open/", {"next": f"/rooms/{room.pk}/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.pk}/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_notification_never_redirects_off_site(client, member):
    notification = notify(member)
    response = client.post(
        f"/notifications/{notification.pk}/open/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/notifications/"


def test_someone_elses_notification_is_not_marked(client, member):
    other = notify(UserFactory())
    client.post(f"/notifications/{other.pk}/open/", {"next": "/"})
    other.refresh_from_db()
    assert other.read_at is None


def test_mark_all_read(client, member):
    notify(member)
    notify(member, kind="went_live", room=RoomFactory())
    client.post("/notifications/read-all/")
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()


def test_notification_pages_need_a_member(client):
    assert client.get("/notifications/").status_code == 302


def test_follow_and_unfollow_from_a_profile(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    page = client.get("/@ann").content.decode()
    assert 'aria-pressed="false">Follow</button>' in page
    client.post("/@ann/follow/")
    assert Follow.objects.filter(follower=member, followee=ann).exists()
    assert "Following Ann: unfollow" in client.get("/@ann").content.decode()
    client.post("/@ann/follow/", {"action": "unfollow"})
    assert not Follow.objects.filter(follower=member, followee=ann).exists()


def test_own_profile_has_no_follow_button(client, member):
    page = client.get("/@member").content.decode()
    assert "data-profile-actions" not in page


def test_block_hides_follow_and_cuts_follows_both_ways(client, member):
    ann = UserFactory(username="ann")
    FollowFactory(follower=member, followee=ann)
    FollowFactory(follower=ann, followee=member)
    client.post("/@ann/block/")
    assert Block.objects.filter(blocker=member, blocked=ann).exists()
    assert not Follow.objects.exists()
    page = client.get("/@ann").content.decode()
    assert "Unblock" in page and ">Follow</button>" not in page
    client.post("/@ann/block/", {"action": "unblock"})
    assert not Block.objects.exists()


def test_report_a_member(client, member):
    ann = UserFactory(username="ann")
    assert client.get("/@ann/report/").status_code == 200
    response = client.post("/@ann/report/", {"category": "spam", "text": "Links everywhere"})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.reporter_id == member.pk and report.target_user_id == ann.pk
    assert client.post("/@ann/report/", {"category": "nonsense"}).status_code == 400


def test_followers_and_following_lists(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    bob = UserFactory(username="bob", display_name="Bob")
    FollowFactory(follower=bob, followee=ann)
    FollowFactory(follower=member, followee=bob)
    followers = client.get("/@ann/followers/").content.decode()
    assert "Bob" in followers and "You follow" in followers
    assert "Ann" in client.get("/@bob/following/").content.decode()
    assert client.get("/@nobody/followers/").status_code == 404
