"""Hosts deciding who is in the room: removing a member (their page says so, their audio stops,
they cannot rejoin) and letting a member into a closed room."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import person, start_room, wait_live, wait_until_heard
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_removed_member_loses_audio_and_cannot_rejoin(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Member")
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    path = start_room(a.page, "Open mic")
    a.page.get_by_role("button", name="Unmute").click()
    b.page.goto(path)
    wait_live(b.page)
    wait_until_heard(b.page)

    person(a.page, "audience", "Bob Member").click()
    a.page.get_by_role("dialog").get_by_role("button", name="Remove from room").click()
    confirm = a.page.get_by_role("dialog", name="Remove Bob Member?")
    confirm.get_by_role("button", name="Remove").click()

    expect(b.page.get_by_role("heading", name="You were removed from this room")).to_be_visible()
    expect(b.page.locator("[data-room-root]")).to_have_attribute("data-audio", "stopped")
    # Nothing plays any more: the stream is detached and the peer connection closed.
    assert b.page.evaluate("document.querySelector('[data-room-audio]').srcObject") is None
    assert b.page.evaluate("window.audiosocialRoom.audio.pc") is None
    expect(person(a.page, "audience", "Bob Member")).to_have_count(0)

    # Coming back by the same address is refused.
    b.page.goto(path)
    expect(b.page.get_by_role("heading", name="You were removed from this room")).to_be_visible()
    expect(b.page.locator("[data-room-root]")).to_have_count(0)


def test_host_lets_a_member_into_a_closed_room_from_the_page(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    cleo = UserFactory(username="cleo", display_name="Cleo")
    a = open_browser(ann, name="A")
    c = open_browser(cleo, name="C")
    a.page.goto("/rooms/new/")
    a.page.get_by_label("Title").fill("Members of the board")
    a.page.get_by_label("Invited members only").check()
    a.page.get_by_role("button", name="Start the room").click()
    wait_live(a.page)
    path = urlparse(a.page.url).path
    c.page.goto(path)
    expect(c.page.get_by_role("heading", name="This room isn't available")).to_be_visible()
    c.page.get_by_role("link", name="Back to the hallway").click()

    a.page.get_by_role("button", name="Invite people").click()
    dialog = a.page.get_by_role("dialog", name="Invite people")
    dialog.get_by_label("Username").fill("nobody")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog.get_by_role("alert")).to_have_text("No member has the username “nobody”.")
    dialog.get_by_label("Username").fill("@cleo")
    dialog.get_by_role("button", name="Send invitation").click()
    expect(dialog).to_be_hidden()

    # Cleo's bell rings at once, on the page she is on; the room now lets her in.
    expect(c.page.locator("[data-bell-count]")).to_have_text("1")
    c.page.goto(path)
    wait_live(c.page)
    expect(person(a.page, "audience", "Cleo")).to_be_visible()
