"""The follow REST endpoints: status codes, error envelope, lists newest first with cursors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from follows.models import Follow
from moderation.models import Block
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _notifications_recorded(monkeypatch):
    # The hook's own behaviour is the notifications app's to test; here it only must not matter.
    monkeypatch.setattr("notifications.services.notify_followed", lambda **kwargs: None)


@pytest.fixture
def me():
    return UserFactory(username="Me")


@pytest.fixture
def api(me):
    client = APIClient()
    client.force_login(me)
    return client


def test_follow_answers_201_then_200_with_the_relationship(api, me):
    bob = UserFactory(username="Bob")
    FollowFactory(follower=bob, followee=me)

    first = api.post("/api/users/bob/follow/")
    again = api.post("/api/users/BOB/follow/")

    assert first.status_code == 201, first.json()
    assert again.status_code == 200
    assert first.json() == {
        "username": "Bob",
        "followed_by_you": True,
        "follows_you": True,
        "follower_count": 1,
        "following_count": 1,
    }
    assert Follow.objects.filter(follower=me, followee=bob).count() == 1


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/users/me/follow/", 400, "cannot_follow_self"),
        ("/api/users/nobody-here/follow/", 404, "user_not_found"),
    ],
)
def test_follow_refusals_use_the_error_envelope(api, path, status, code):
    response = api.post(path)

    assert response.status_code == status
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert "details" in body
    assert not Follow.objects.exists()


def test_following_someone_who_blocked_you_is_forbidden(api, me):
    bob = UserFactory(username="bob")
    Block.objects.create(blocker=bob, blocked=me)

    response = api.post("/api/users/bob/follow/")

    assert response.status_code == 403
    assert response.json()["code"] == "blocked"
    assert not Follow.objects.exists()


def test_unfollow_answers_200_and_removes_the_follow(api, me):
    bob = UserFactory(username="bob")
    FollowFactory(follower=me, followee=bob)

    response = api.delete("/api/users/Bob/follow/")

    assert response.status_code == 200
    assert response.json()["followed_by_you"] is False
    assert response.json()["follower_count"] == 0
    assert not Follow.objects.exists()


def test_unfollowing_someone_you_do_not_follow_is_a_clear_409(api):
    UserFactory(username="bob")

    response = api.delete("/api/users/bob/follow/")

    assert response.status_code == 409
    assert response.json()["code"] == "not_following"


def test_follow_endpoints_need_a_signed_in_member():
    UserFactory(username="bob")
    client = APIClient()

    response = client.post("/api/users/bob/follow/")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"
    assert not Follow.objects.exists()


def _followers_with_distinct_times(target, n: int) -> list:
    """``n`` followers of ``target``, the last one the newest."""
    users = [UserFactory() for _ in range(n)]
    start = timezone.now() - timedelta(days=1)
    for i, user in enumerate(users):
        follow = FollowFactory(follower=user, followee=target)
        Follow.objects.filter(pk=follow.pk).update(created_at=start + timedelta(minutes=i))
    return users


def test_followers_list_is_newest_first_and_walks_with_the_cursor(api):
    bob = UserFactory(username="bob")
    followers = _followers_with_distinct_times(bob, 25)
    expected = [u.username for u in reversed(followers)]

    seen: list[str] = []
    url = "/api/users/BOB/followers/?page_size=10"
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [item["user"]["username"] for item in body["results"]]
        url = body["next"]
        pages += 1

    assert pages == 3
    assert seen == expected


def test_lists_flag_whom_you_follow_and_who_follows_you(api, me):
    bob = UserFactory(username="bob")
    carol, dave = UserFactory(username="carol"), UserFactory(username="dave")
    FollowFactory(follower=bob, followee=carol)
    FollowFactory(follower=bob, followee=dave)
    FollowFactory(follower=me, followee=carol)
    FollowFactory(follower=dave, followee=me)

    body = api.get("/api/users/bob/following/").json()

    flags = {
        item["user"]["username"]: (item["followed_by_you"], item["follows_you"])
        for item in body["results"]
    }
    assert flags == {"carol": (True, False), "dave": (False, True)}
    assert set(body["results"][0]) == {"user", "followed_at", "followed_by_you", "follows_you"}


def test_lists_of_a_missing_member_are_404(api):
    for path in ("/api/users/ghost/followers/", "/api/users/ghost/following/"):
        response = api.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "user_not_found"


@pytest.mark.parametrize("size", [2, 30])
def test_followers_list_query_count_does_not_grow(api, me, django_assert_num_queries, size):
    bob = UserFactory(username="bob")
    for user in UserFactory.create_batch(size):
        FollowFactory(follower=user, followee=bob)
        FollowFactory(follower=me, followee=user)

    # member (the session comes from the cache), target lookup, page
    with django_assert_num_queries(3):
        response = api.get("/api/users/bob/followers/?page_size=50")

    assert len(response.json()["results"]) == size
