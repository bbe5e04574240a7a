"""Finding people by name: the selector, `GET /api/users/?q=`, and the /people/ page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from follows.models import Follow
from follows.selectors import member_search
from moderation.models import Block, Sanction
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    me = UserFactory(username="me", display_name="Me")
    made = {
        "ann": UserFactory(username="ann", display_name="Ann Lee"),
        "annie": UserFactory(username="annie", display_name="Annie"),
        "joanna": UserFactory(username="joanna", display_name="Jo"),
        "zed": UserFactory(username="zed", display_name="Anna Zed"),
        "bob": UserFactory(username="bob", display_name="Bob"),
        "blocked": UserFactory(username="annblocked", display_name="Ann Blocked"),
        "blocker": UserFactory(username="annblocker", display_name="Ann Blocker"),
        "banned": UserFactory(username="annbanned", display_name="Ann Banned"),
        "gone": UserFactory(username="anngone", display_name="Ann Gone", is_active=False),
    }
    Block.objects.create(blocker=me, blocked=made["blocked"])
    Block.objects.create(blocker=made["blocker"], blocked=me)
    Sanction.objects.create(
        user=made["banned"], kind=Sanction.Kind.BAN, reason="Spam", starts_at=timezone.now()
    )
    # "annie" is followed by more people than "joanna" and "zed": ties break on popularity.
    for n in range(3):
        FollowFactory(follower=UserFactory(username=f"fan{n}"), followee=made["annie"])
    FollowFactory(follower=me, followee=made["zed"])
    FollowFactory(follower=made["joanna"], followee=me)
    return me, made


def names(found):
    return [user.username for user in found]


def test_best_matches_first_then_the_most_followed(people):
    me, _ = people
    # exact username, then usernames starting with it (most followed first), then display names
    # starting with it, then anything containing it.
    assert names(member_search(viewer=me, query="ann")) == ["ann", "annie", "zed", "joanna"]


def test_never_yourself_blocks_either_way_deactivated_or_sanctioned(people):
    me, _ = people
    found = names(member_search(viewer=me, query="ann"))
    assert not {"me", "annblocked", "annblocker", "annbanned", "anngone"} & set(found)
    assert names(member_search(viewer=me, query="me")) == []


def test_flags_say_who_you_follow_and_who_follows_you(people):
    me, _ = people
    by_name = {user.username: user for user in member_search(viewer=me, query="ann")}
    assert by_name["zed"].followed_by_you and not by_name["zed"].follows_you
    assert by_name["joanna"].follows_you and not by_name["joanna"].followed_by_you
    assert by_name["annie"].follower_count == 3


def test_a_query_is_trimmed_an_at_sign_dropped_and_wildcards_are_literal(people):
    me, _ = people
    assert names(member_search(viewer=me, query="  @BOB ")) == ["bob"]
    assert member_search(viewer=me, query="") == []
    assert member_search(viewer=me, query="%") == []
    assert member_search(viewer=me, query="_") == []


def test_one_query_whatever_the_number_of_matches(people, django_assert_num_queries):
    me, _ = people
    with django_assert_num_queries(1):
        member_search(viewer=me, query="a")
    for n in range(25):
        UserFactory(username=f"alex{n}")
    with django_assert_num_queries(1):
        assert len(member_search(viewer=me, query="a", limit=30)) == 30


def test_api_search(people):
    me, _ = people
    client = APIClient()
    client.force_authenticate(me)
    body = client.get("/api/users/", {"q": "@Ann", "limit": 2}).json()
    assert body["query"] == "Ann"
    assert [r["user"]["username"] for r in body["results"]] == ["ann", "annie"]
    assert body["results"][1] == {
        "user": {
            "id": people[1]["annie"].pk,
            "username": "annie",
            "display_name": "Annie",
            "avatar_url": "",
        },
        "followed_by_you": False,
        "follows_you": False,
        "follower_count": 3,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "q"), ({"q": "a", "limit": 0}, "limit"), ({"q": "a", "limit": "x"}, "limit")],
)
def test_api_search_bad_input_is_a_400_naming_the_field(people, params, field):
    client = APIClient()
    client.force_authenticate(people[0])
    response = client.get("/api/users/", params)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_api_search_needs_a_signed_in_member():
    assert APIClient().get("/api/users/", {"q": "a"}).status_code == 401


def test_people_page_searches_and_follows_without_leaving_it(client, people):
    me, made = people
    client.force_login(me)
    page = client.get("/people/", {"q": "ann"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index('data-person-row="ann"') < html.index('data-person-row="annie"')
    assert "annblocked" not in html
    # Follow from the results: back to the same search, now following.
    response = client.post("/@annie/follow/", {"next": "/people/?q=ann"})
    assert response.status_code == 302 and response["Location"] == "/people/?q=ann"
    assert Follow.objects.filter(follower=me, followee=made["annie"]).exists()
    assert "Following Annie: unfollow" in client.get("/people/", {"q": "ann"}).content.decode()


def test_follow_never_sends_you_off_site(client, people):
    me, _ = people
    client.force_login(me)
    for target in ("https://elsewhere.example/", "//elsewhere.example/", "people", "²"):
        response = client.post("/@bob/follow/", {"next": target, "action": "unfollow"})
        assert response.status_code == 302 and response["Location"] == "/@bob", target


def test_people_page_without_a_search_suggests_people(client, people):
    me, made = people
    # joanna follows me; someone I follow (zed) follows bob: bob is suggested.
    FollowFactory(follower=made["zed"], followee=made["bob"])
    client.force_login(me)
    html = client.get("/people/").content.decode()
    assert 'data-person-row="bob"' in html
    assert "Followed by 1 person you follow" in html


def test_people_page_needs_sign_in(client):
    response = client.get("/people/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_old_suspension_does_not_hide_a_member(people):
    me, made = people
    Sanction.objects.create(
        user=made["bob"],
        kind=Sanction.Kind.SUSPENSION,
        reason="Old",
        starts_at=timezone.now() - timedelta(days=10),
        ends_at=timezone.now() - timedelta(days=3),
    )
    assert names(member_search(viewer=me, query="bob")) == ["bob"]


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["ali", "Smith"])
def test_search_is_answered_by_the_trigram_indexes_on_postgresql(require_postgres, query):
    """The indexes are built on the very expressions ``icontains`` writes (``UPPER(col::text)``);
    a query the planner could not match to them would read every member."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    viewer = UserFactory()
    UserFactory(username="alice", display_name="Alice Smith")

    with CaptureQueriesContext(connection) as captured:
        found = member_search(viewer=viewer, query=query)
    assert [u.username for u in found] == ["alice"]

    with transaction.atomic(), connection.cursor() as cursor:
        # A handful of test rows would be read whole anyway. With plain scans off, the only
        # way left to the members is a bitmap scan on an index the query's conditions match.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
        cursor.execute("EXPLAIN " + captured.captured_queries[-1]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "accounts_user_username_trgm" in plan
    assert "accounts_user_display_name_trgm" in plan
