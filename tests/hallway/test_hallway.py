"""The hallway: followed live rooms first, then followed hosts' scheduled rooms, then other live
public rooms; never a room the member may not see; keyset pages; a constant query count."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.models import Block, Sanction
from rooms.hallway import hallway_for
from rooms.models import RoomInvite
from tests.factories import ParticipantFactory
from tests.hallway.helpers import follow, live_room, scheduled_room

pytestmark = pytest.mark.django_db


@pytest.fixture
def hallway(member, users):
    """A member who follows three hosts (and a speaker and a listener), among many rooms."""
    u = users
    follow(member, u["h1"], u["h2"], u["h3"], u["h11"], u["s1"], u["fan"])
    rooms = {
        # Followed people on stage: h1 + s1.
        "r1": live_room(
            u["h1"], speakers=[u["s1"], u["x"]], listeners=[u["fan"], u["y"]], audience=47
        ),
        # Followers-only room of a followed host: visible.
        "r2": live_room(u["h2"], speakers=[u["z"]], audience=300, visibility="followers"),
        # Closed room of a followed host, not invited: never shown.
        "r3": live_room(u["h3"], audience=900, visibility="closed"),
        # Unfollowed host, but a followed speaker on stage.
        "r4": live_room(u["h4"], speakers=[u["s1b"], u["s1"]], audience=10),
        # Closed room of a followed host, invited: shown.
        "r11": live_room(u["h11"], audience=5, visibility="closed"),
        # Other public rooms.
        "r5": live_room(u["h5"], audience=500),
        "r5b": live_room(u["h5b"], audience=20),
        # Invisible: followers-only of an unfollowed host, blocks both ways, a banned host,
        # a room the member was removed from, an ended room of a followed host.
        "r6": live_room(u["h6"], audience=800, visibility="followers"),
        "r7": live_room(u["blocker"], audience=700),
        "r8": live_room(u["blocked"], audience=600),
        "r9": live_room(u["banned"], audience=650),
        "r10": live_room(u["h10"], audience=640),
        "ended": live_room(u["h12"], audience=999),
        # Scheduled.
        "s1": scheduled_room(u["h1"], in_hours=24),
        "s2": scheduled_room(u["h2"], in_hours=2, visibility="followers"),
        "s3": scheduled_room(u["h3"], in_hours=1, visibility="closed"),
        "s4": scheduled_room(u["h5"], in_hours=1),
    }
    RoomInvite.objects.create(room=rooms["r11"], user=member, invited_by=u["h11"])
    Block.objects.create(blocker=u["blocker"], blocked=member)
    Block.objects.create(blocker=member, blocked=u["blocked"])
    Sanction.objects.create(
        user=u["banned"],
        kind=Sanction.Kind.BAN,
        reason="abuse",
        starts_at=timezone.now() - timedelta(days=1),
    )
    ParticipantFactory(room=rooms["r10"], user=member, removed=True, left_at=timezone.now())
    follow(member, u["h12"])
    rooms["ended"].state = "ended"
    rooms["ended"].ended_at = timezone.now()
    rooms["ended"].save()
    return rooms


def _titles(page, rooms):
    names = {room.pk: name for name, room in rooms.items()}
    return [(card.section, names[card.room.pk]) for card in page.cards]


def test_followed_live_rooms_then_upcoming_then_other_public(member, hallway):
    page = hallway_for(user=member)

    assert _titles(page, hallway) == [
        ("following", "r1"),
        ("following", "r2"),
        ("following", "r4"),
        ("following", "r11"),
        ("upcoming", "s2"),
        ("upcoming", "s1"),
        ("live", "r5"),
        ("live", "r5b"),
    ]
    assert page.next_cursor is None


def test_cards_carry_counters_previews_and_followed_people(member, hallway, users):
    cards = {card.room.pk: card for card in hallway_for(user=member).cards}

    r1 = cards[hallway["r1"].pk]
    assert (r1.room.speakers_count, r1.room.listeners_count) == (3, 49)
    assert r1.followed_on_stage_count == 2
    assert [u.username for u in r1.speakers] == ["h1", "s1", "x"]
    assert [u.username for u in r1.followed_in_room] == ["h1", "s1", "fan"]
    assert r1.followed_in_room_count == 3
    assert r1.room.host.username == "h1"

    r4 = cards[hallway["r4"].pk]
    assert r4.followed_on_stage_count == 1
    assert [u.username for u in r4.speakers] == ["s1", "h4", "s1b"]
    assert [u.username for u in r4.followed_in_room] == ["s1"]

    r5 = cards[hallway["r5"].pk]
    assert (r5.followed_on_stage_count, r5.followed_in_room_count) == (0, 0)
    assert [u.username for u in r5.speakers] == ["h5"]

    s2 = cards[hallway["s2"].pk]
    assert s2.speakers == [] and s2.room.scheduled_for is not None


def test_speaker_previews_stop_at_three_and_put_followed_speakers_first(member, users):
    stage = [users[f"sp{i}"] for i in range(8)]
    follow(member, stage[6], stage[7])
    room = live_room(users["host"], speakers=stage)

    (card,) = hallway_for(user=member).cards

    assert card.room.pk == room.pk
    assert [u.username for u in card.speakers] == ["sp6", "sp7", "host"]


def test_followed_people_in_room_are_capped_but_counted(member, users):
    crowd = [users[f"fan{i}"] for i in range(8)]
    follow(member, *crowd)
    live_room(users["host"], listeners=crowd)

    (card,) = hallway_for(user=member).cards

    # Followed listeners alone do not lift a room into the first section (hosts or speakers do).
    assert card.section == "live"
    assert card.followed_on_stage_count == 0
    assert len(card.followed_in_room) == 5
    assert card.followed_in_room_count == 8


def test_a_blocked_speaker_does_not_hide_a_public_room_but_a_blocking_host_does(member, users):
    live_room(users["host"], speakers=[users["rude"]], audience=3)
    Block.objects.create(blocker=member, blocked=users["rude"])
    live_room(users["hostile"], audience=4)
    Block.objects.create(blocker=users["hostile"], blocked=member)

    names = [card.room.host.username for card in hallway_for(user=member).cards]

    assert names == ["host"]


def test_pages_walk_the_whole_hallway_without_gaps_or_repeats(member, hallway):
    expected = [card.room.pk for card in hallway_for(user=member, limit=50).cards]

    seen, cursor, pages = [], None, 0
    while True:
        page = hallway_for(user=member, cursor=cursor, limit=3)
        seen += [card.room.pk for card in page.cards]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert pages == 3
    assert seen == expected


def test_scheduled_rooms_long_past_their_time_drop_out(member, users, settings):
    follow(member, users["late"])
    settings.ROOM_SCHEDULE_EXPIRY_HOURS = 6
    scheduled_room(users["late"], in_hours=-7)
    soon = scheduled_room(users["late"], in_hours=-1)

    assert [card.room.pk for card in hallway_for(user=member).cards] == [soon.pk]


def test_rooms_of_a_deactivated_host_drop_out(member, users):
    follow(member, users["gone"])
    live_room(users["gone"], audience=5)
    scheduled_room(users["gone"], in_hours=2)
    live_room(users["here"], audience=1)
    type(users["gone"]).objects.filter(pk=users["gone"].pk).update(is_active=False)

    assert [card.room.host.username for card in hallway_for(user=member).cards] == ["here"]


def test_pages_step_over_a_deactivated_host_without_gaps_or_repeats(member, users):
    for name, audience in (("a", 30), ("b", 20), ("c", 10)):
        live_room(users[name], audience=audience)
    type(users["b"]).objects.filter(pk=users["b"].pk).update(is_active=False)

    seen, cursor = [], None
    for _ in range(5):
        page = hallway_for(user=member, cursor=cursor, limit=1)
        seen += [card.room.host.username for card in page.cards]
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == ["a", "c"]
