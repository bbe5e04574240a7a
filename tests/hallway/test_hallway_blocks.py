"""The block warning on hallway cards: a member someone blocked is on the stage of a room they
see, so the card says so instead of the room being silently hidden (issue 9, Spaces' approach).
Only the viewer's own blocks count: blocks are private."""

from __future__ import annotations

import pytest
from django.test import Client

from moderation import services as moderation
from rooms.hallway import hallway_for
from rooms.hallway_api import page_payload
from tests.factories import ParticipantFactory
from tests.hallway.helpers import follow, live_room, scheduled_room

pytestmark = pytest.mark.django_db


def _card(member, room):
    (card,) = [c for c in hallway_for(user=member).cards if c.room.pk == room.pk]
    return card


def _page(member) -> str:
    client = Client()
    client.force_login(member)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_card_warns_about_a_blocked_speaker(member, users):
    room = live_room(users["host"], speakers=[users["kind"], users["rude"]], audience=4)
    moderation.block_create(blocker=member, blocked=users["rude"])

    card = _card(member, room)

    assert [p.username for p in card.blocked_on_stage] == ["rude"]
    body = page_payload(hallway_for(user=member), next_url=None)
    (result,) = body["results"]
    assert [p["username"] for p in result["blocked_on_stage"]] == ["rude"]
    html = _page(member)
    assert "data-blocked-warning" in html
    assert 'role="note"' in html
    assert "Someone you blocked is speaking: Rude" in html


def test_every_blocked_member_on_stage_is_named_in_stage_order(member, users):
    room = live_room(users["host"], speakers=[users["a"], users["b"], users["c"]], audience=2)
    ParticipantFactory(room=room, user=users["mod"], role="moderator")
    for name in ("c", "a", "mod"):
        moderation.block_create(blocker=member, blocked=users[name])

    card = _card(member, room)

    # A moderator before speakers; speakers by arrival.
    assert [p.username for p in card.blocked_on_stage] == ["mod", "a", "c"]
    assert "Someone you blocked is speaking: Mod, A, C" in _page(member)


def test_no_warning_for_a_blocked_listener(member, users):
    room = live_room(users["host"], speakers=[users["kind"]], listeners=[users["rude"]])
    moderation.block_create(blocker=member, blocked=users["rude"])

    assert _card(member, room).blocked_on_stage == []
    assert "data-blocked-warning" not in _page(member)


def test_no_warning_for_someone_elses_block(member, users):
    room = live_room(users["host"], speakers=[users["rude"], users["touchy"]], audience=3)
    # A third member's block, and a speaker's block of the viewer: neither is the viewer's.
    moderation.block_create(blocker=users["other"], blocked=users["rude"])
    moderation.block_create(blocker=users["touchy"], blocked=member)

    card = _card(member, room)
    assert card.blocked_on_stage == []
    assert "data-blocked-warning" not in _page(member)
    # The blocker sees their own warning; the viewer's blocker sees nothing about the viewer.
    assert [p.username for p in _card(users["other"], room).blocked_on_stage] == ["rude"]
    assert _card(users["touchy"], room).blocked_on_stage == []


def test_no_warning_after_unblocking(member, users):
    room = live_room(users["host"], speakers=[users["rude"]], audience=1)
    moderation.block_create(blocker=member, blocked=users["rude"])
    assert [p.username for p in _card(member, room).blocked_on_stage] == ["rude"]

    moderation.block_delete(blocker=member, blocked=users["rude"])

    assert _card(member, room).blocked_on_stage == []
    assert "data-blocked-warning" not in _page(member)


def test_no_warning_once_the_blocked_member_leaves_the_stage(member, users):
    room = live_room(users["host"], speakers=[users["rude"]], audience=1)
    moderation.block_create(blocker=member, blocked=users["rude"])
    room.participants.filter(user=users["rude"]).update(role="listener")

    assert _card(member, room).blocked_on_stage == []


def test_cards_without_a_blocked_member_on_stage_carry_an_empty_list(member, users):
    follow(member, users["host"])
    live_room(users["host"], speakers=[users["kind"]], audience=1)
    scheduled_room(users["host"], in_hours=2)
    moderation.block_create(blocker=member, blocked=users["rude"])

    cards = hallway_for(user=member).cards

    assert [c.section for c in cards] == ["following", "upcoming"]
    assert all(c.blocked_on_stage == [] for c in cards)


def test_a_blocked_speaker_far_down_a_full_stage_is_still_named(member, users):
    """Only the first seats are ranked for the previews; a blocked seat comes whatever its rank."""
    follow(member, users["s0"])
    speakers = [users[f"s{i}"] for i in range(10)] + [users["rude"]]
    room = live_room(users["host"], speakers=speakers, audience=2)
    moderation.block_create(blocker=member, blocked=users["rude"])

    card = _card(member, room)

    assert [p.username for p in card.blocked_on_stage] == ["rude"]
    assert [p.username for p in card.speakers] == ["s0", "host", "s1"]
    assert [p.username for p in card.followed_in_room] == ["s0"]
