"""A host removes a member: the member's page says so, their audio stops, and they cannot rejoin."""

from __future__ import annotations

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
