"""The hallway's statements are compiled once and shared: every call binds its own member, its
own "now", its own cursor and room ids, and a statement that cannot be shared still answers
right through the ORM."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from moderation.models import Block, Sanction
from rooms import hallway
from rooms.hallway import hallway_for
from rooms.hallway_api import HallwayOutputSerializer, page_payload
from tests.hallway.helpers import follow, live_room, scheduled_room

pytestmark = pytest.mark.django_db


def _hosts(page):
    return [card.room.host.username for card in page.cards]


@pytest.fixture
def count_compiles(monkeypatch):
    """Counts statements compiled from here on (the process-wide cache starts empty)."""
    monkeypatch.setattr(hallway, "_statements", {})
    compiled = []
    real = hallway._compile

    def counting(connection, build):
        compiled.append(build)
        return real(connection, build)

    monkeypatch.setattr(hallway, "_compile", counting)
    return compiled


def test_members_share_the_statements_but_each_sees_their_own_hallway(users, count_compiles):
    ann, bob = users["ann"], users["bob"]
    follow(ann, users["h1"])
    follow(bob, users["h2"])
    live_room(users["h1"], audience=1)
    live_room(users["h2"], audience=2)
    scheduled_room(users["h1"], in_hours=1)

    first = hallway_for(user=ann)
    compiled = len(count_compiles)
    second = hallway_for(user=bob)

    assert [(c.section, c.room.host.username) for c in first.cards] == [
        ("following", "h1"),
        ("upcoming", "h1"),
        ("live", "h2"),
    ]
    assert [(c.section, c.room.host.username) for c in second.cards] == [
        ("following", "h2"),
        ("live", "h1"),
    ]
    assert len(count_compiles) == compiled  # nothing compiled for the second member
    assert hallway._statements and None not in hallway._statements.values()


def test_later_pages_bind_their_own_cursor(member, users, count_compiles):
    for i in range(6):
        live_room(users[f"h{i}"], audience=10 * i)

    seen, cursor = [], None
    for _ in range(3):
        page = hallway_for(user=member, cursor=cursor, limit=2)
        seen += _hosts(page)
        cursor = page.next_cursor
    compiled = len(count_compiles)
    again = hallway_for(user=member, cursor=hallway_for(user=member, limit=4).next_cursor, limit=2)

    assert seen == ["h5", "h4", "h3", "h2", "h1", "h0"]
    assert _hosts(again) == ["h1", "h0"]
    assert len(count_compiles) == compiled + 1  # only the first page of four was new


def test_a_ban_after_the_statements_were_compiled_applies_at_once(member, users):
    live_room(users["host"], audience=3)
    assert _hosts(hallway_for(user=member)) == ["host"]

    Sanction.objects.create(
        user=users["host"], kind=Sanction.Kind.BAN, reason="abuse", starts_at=timezone.now()
    )

    assert _hosts(hallway_for(user=member)) == []


def test_each_call_reads_sanctions_at_its_own_time(member, users):
    live_room(users["host"], audience=3)
    start = timezone.now()
    Sanction.objects.create(
        user=users["host"],
        kind=Sanction.Kind.SUSPENSION,
        reason="cool down",
        starts_at=start + timedelta(hours=1),
        ends_at=start + timedelta(hours=2),
    )

    with freeze_time(start):
        before = _hosts(hallway_for(user=member))
    with freeze_time(start + timedelta(minutes=90)):
        during = _hosts(hallway_for(user=member))
    with freeze_time(start + timedelta(hours=3)):
        after = _hosts(hallway_for(user=member))

    assert (before, during, after) == (["host"], [], ["host"])


def test_a_statement_that_cannot_be_shared_runs_through_the_orm(
    member, users, monkeypatch, django_assert_num_queries
):
    follow(member, users["h1"])
    live_room(users["h1"], speakers=[users["s1"]], audience=4)
    live_room(users["h2"], audience=9)
    scheduled_room(users["h1"], in_hours=2)
    shared = hallway_for(user=member)
    monkeypatch.setattr(hallway, "_compile", lambda connection, build: None)
    monkeypatch.setattr(hallway, "_statements", {})

    with django_assert_num_queries(3):
        direct = hallway_for(user=member)

    assert page_payload(direct, next_url=None) == page_payload(shared, next_url=None)
    assert set(hallway._statements.values()) == {None}


def test_the_api_body_is_what_the_documented_serializer_writes(member, users):
    follow(member, users["h1"], users["s1"])
    type(users["s1"]).objects.filter(pk=users["s1"].pk).update(avatar="avatars/2026/11/s1.png")
    live_room(users["h1"], speakers=[users["s1"], users["s2"]], audience=12, topic="jazz")
    live_room(users["h2"], speakers=[users["rude"]], audience=3, visibility="public")
    Block.objects.create(blocker=member, blocked=users["rude"])
    scheduled_room(users["h1"], in_hours=5)

    page = hallway_for(user=member, limit=3)
    assert [len(card.blocked_on_stage) for card in page.cards] == [0, 0, 1]
    body = page_payload(page, next_url="http://testserver/api/hallway/?cursor=x")

    documented = HallwayOutputSerializer(
        {
            "next": "http://testserver/api/hallway/?cursor=x",
            "next_cursor": page.next_cursor,
            "results": page.cards,
        }
    ).data
    assert body == documented
    assert body["results"][0]["speakers"][1]["avatar_url"].endswith(".png")
