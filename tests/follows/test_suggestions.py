"""Suggestions: friends of friends ranked by how many of your follows follow them, plus the
members linked to you by an invitation; never yourself, your follows, blocks or sanctioned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from follows.selectors import suggestions_for
from moderation.models import Block, Sanction
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


def follow(a, *bs):
    for b in bs:
        FollowFactory(follower=a, followee=b)


@pytest.fixture
def graph():
    me = UserFactory(username="me")
    a, b, c = UserFactory(username="a"), UserFactory(username="b"), UserFactory(username="c")
    names = ["x", "y", "z", "w", "blocked", "blocker", "banned", "gone"]
    people = {name: UserFactory(username=name, is_active=name != "gone") for name in names}
    follow(me, a, b, c, people["w"])
    follow(a, people["x"], people["y"], people["z"], people["w"], me)
    follow(b, people["x"], people["y"], me)
    follow(c, people["x"])
    for name in ("blocked", "blocker", "banned", "gone"):
        follow(a, people[name])
        follow(b, people[name])
        follow(c, people[name])
    Block.objects.create(blocker=me, blocked=people["blocked"])
    Block.objects.create(blocker=people["blocker"], blocked=me)
    Sanction.objects.create(
        user=people["banned"],
        kind=Sanction.Kind.BAN,
        reason="spam",
        starts_at=timezone.now() - timedelta(hours=1),
    )
    return me, people


def test_friends_of_friends_ranked_by_how_many_of_your_follows_follow_them(graph):
    me, _ = graph

    suggestions = suggestions_for(user=me)

    assert [(s.user.username, s.reason, s.followed_by_count) for s in suggestions] == [
        ("x", "followed_by_people_you_follow", 3),
        ("y", "followed_by_people_you_follow", 2),
        ("z", "followed_by_people_you_follow", 1),
    ]


def test_nominator_and_nominees_come_first_unless_already_followed(graph):
    me, people = graph
    nominator = UserFactory(username="nominator")
    me.nominated_by = nominator
    me.save(update_fields=["nominated_by"])
    nominee = UserFactory(username="nominee", nominated_by=me)
    followed_nominee = UserFactory(username="followed-nominee", nominated_by=me)
    follow(me, followed_nominee)
    blocked_nominee = UserFactory(username="blocked-nominee", nominated_by=me)
    Block.objects.create(blocker=blocked_nominee, blocked=me)

    suggestions = suggestions_for(user=me)

    assert [(s.user.username, s.reason) for s in suggestions] == [
        ("nominator", "nominated_you"),
        ("nominee", "you_nominated"),
        ("x", "followed_by_people_you_follow"),
        ("y", "followed_by_people_you_follow"),
        ("z", "followed_by_people_you_follow"),
    ]
    assert nominee.pk in {s.user.pk for s in suggestions}


def test_invitation_links_count_the_people_you_follow_who_follow_them(graph):
    """Counted for them alone when the friends-of-friends ranking did not reach them."""
    me, _ = graph
    nominee = UserFactory(username="nominee", nominated_by=me)
    a, b = (UserFactory._meta.model.objects.get(username=name) for name in ("a", "b"))
    follow(a, nominee)
    follow(b, nominee)

    (only,) = suggestions_for(user=me, limit=1)  # the ranking keeps x (3) alone

    assert (only.user.username, only.reason, only.followed_by_count) == (
        "nominee",
        "you_nominated",
        2,
    )
    ranked = suggestions_for(user=me)
    assert [(s.user.username, s.followed_by_count) for s in ranked] == [
        ("nominee", 2),
        ("x", 3),
        ("y", 2),
        ("z", 1),
    ]


def test_limit_keeps_the_best_ranked(graph):
    me, _ = graph

    assert [s.user.username for s in suggestions_for(user=me, limit=2)] == ["x", "y"]


def test_a_member_who_follows_nobody_gets_only_invitation_links():
    me = UserFactory()
    nominee = UserFactory(nominated_by=me)
    UserFactory()  # unrelated

    assert [s.user for s in suggestions_for(user=me)] == [nominee]


@pytest.mark.parametrize("size", [1, 40])
def test_suggestions_take_two_queries_whatever_the_graph(django_assert_num_queries, size):
    me = UserFactory(nominated_by=UserFactory())
    UserFactory(nominated_by=me)
    friends = UserFactory.create_batch(size)
    targets = UserFactory.create_batch(size)
    for friend in friends:
        follow(me, friend)
        for target in targets[:5]:
            follow(friend, target)

    with django_assert_num_queries(2):
        suggestions = suggestions_for(user=me)

    assert len(suggestions) == 2 + min(size, 5)


def test_suggestions_api_returns_cards_with_reasons(graph):
    me, _ = graph
    client = APIClient()
    client.force_login(me)

    response = client.get("/api/suggestions/?limit=1")

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "user": {
                    "id": response.json()["results"][0]["user"]["id"],
                    "username": "x",
                    "display_name": "X",
                    "avatar_url": "",
                },
                "reason": "followed_by_people_you_follow",
                "followed_by_count": 3,
            }
        ]
    }
    assert client.get("/api/suggestions/?limit=0").json()["code"] == "invalid"
