"""The host edits a live room from its page; everyone's page follows without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import start_room, wait_live
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_host_edits_the_live_room_and_the_audience_sees_it(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Member")
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    path = start_room(a.page, "First title", topic="First topic")
    b.page.goto(path)
    wait_live(b.page)
    expect(b.page.get_by_role("button", name="Edit room")).to_be_hidden()

    a.page.get_by_role("button", name="Edit room").click()
    dialog = a.page.get_by_role("dialog", name="Edit the room")
    expect(dialog.get_by_label("Title")).to_have_value("First title")
    dialog.get_by_label("Title").fill("")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog.locator("[data-edit-error]")).to_be_visible()
    dialog.get_by_label("Title").fill("Second title")
    dialog.get_by_label("Topic").fill("Second topic")
    dialog.get_by_label("Followers of the host").check()
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()

    for page in (a.page, b.page):
        expect(page.locator("[data-room-title]")).to_have_text("Second title")
        expect(page.locator("[data-room-topic]")).to_have_text("Second topic")
        expect(page.locator("[data-visibility-pill]")).to_have_text("Followers of the host")
    assert b.page.locator("[data-room-root]").get_attribute("data-state") == "live"
