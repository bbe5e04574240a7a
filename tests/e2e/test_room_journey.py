"""The whole life of a room, as its host (browser A) and a member (browser B) live it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import person, start_room, wait_live, wait_until_heard, wait_until_silent
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.browser


def test_host_runs_a_room_that_a_member_finds_hears_speaks_in_and_reacts_to(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Member")
    FollowFactory(follower=bob, followee=ann)
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")

    # B waits in the hallway; A starts a room; it appears in B's hallway without a reload.
    b.page.goto("/")
    expect(b.page.get_by_role("heading", name="Hallway")).to_be_visible()
    start_room(a.page, "Morning coffee", topic="Beans and brewing")
    card = b.page.locator("[data-hallway] [data-room-card]", has_text="Morning coffee")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Ann Host")
    expect(card).to_contain_text("0 listeners")
    expect(b.page.locator("[data-bell-count]")).to_have_text("1")  # "Ann Host started a room"

    # B joins with one click and listens: no microphone, A muted so far.
    card.get_by_role("link", name="Morning coffee").click()
    wait_live(b.page)
    expect(person(b.page, "stage", "Ann Host")).to_be_visible()
    expect(person(a.page, "audience", "Bob Member")).to_be_visible()
    assert b.page.evaluate("window.audiosocialRoom.audio.micStream") is None
    wait_until_silent(b.page)

    # A unmutes: B hears A's (fake) microphone; A mutes: silence again.
    a.page.get_by_role("button", name="Unmute").click()
    expect(a.page.get_by_role("button", name="Mute", exact=True)).to_be_visible()
    wait_until_heard(b.page)
    a.page.get_by_role("button", name="Mute", exact=True).click()
    wait_until_silent(b.page)

    # B raises a hand; A sees the queue and invites B; B accepts (now the microphone is asked for).
    b.page.get_by_role("button", name="Raise hand").click()
    queue = a.page.locator("[data-hand-queue]")
    expect(queue).to_contain_text("Bob Member")
    queue.get_by_role("button", name="Invite Bob Member to speak").click()
    b.page.get_by_role("button", name="Join the stage").click()
    expect(person(b.page, "stage", "Bob Member")).to_be_visible()
    expect(person(a.page, "stage", "Bob Member")).to_be_visible()
    expect(queue).not_to_contain_text("Bob Member")
    b.page.get_by_role("button", name="Unmute").click()
    wait_until_heard(a.page)

    # A moves B back to the audience: B is no longer heard.
    person(a.page, "stage", "Bob Member").click()
    a.page.get_by_role("dialog").get_by_role("button", name="Move to audience").click()
    expect(person(b.page, "audience", "Bob Member")).to_be_visible()
    wait_until_silent(a.page)
    expect(b.page.get_by_role("button", name="Raise hand")).to_be_visible()

    # B reacts: the emoji floats up on A's screen within a second.
    started = time.monotonic()
    b.page.get_by_role("button", name="React 🔥").click()
    expect(a.page.locator('.float-emoji[data-emoji="🔥"]')).to_be_attached(timeout=1000)
    assert time.monotonic() - started < 1.0

    # A ends the room: both pages say so, and the hallway no longer lists it.
    a.page.get_by_role("button", name="End room").click()
    a.page.get_by_role("dialog").get_by_role("button", name="End room").click()
    for visitor in (a, b):
        expect(visitor.page.get_by_role("heading", name="This room has ended")).to_be_visible()
        expect(visitor.page.locator("[data-room-root]")).to_have_attribute("data-audio", "stopped")
    b.page.get_by_role("link", name="Back to the hallway").click()
    expect(b.page.get_by_role("heading", name="Hallway")).to_be_visible()
    expect(b.page.locator("[data-hallway]")).not_to_contain_text("Morning coffee")
