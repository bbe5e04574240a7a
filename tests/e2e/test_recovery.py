"""The room page recovers by itself: after the web server restarts, and after Janus restarts."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import start_room, wait_live, wait_until_heard
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_room_page_recovers_from_server_and_janus_restarts(open_browser, live_site, janus_server):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Member")
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    path = start_room(a.page, "Still here")
    a.page.get_by_role("button", name="Unmute").click()
    b.page.goto(path)
    wait_live(b.page)
    wait_until_heard(b.page)

    # The web server goes away and comes back on the same port: both pages say they are
    # reconnecting, then carry on (new sockets, new snapshots, audio negotiated again).
    live_site.stop()
    for visitor in (a, b):
        expect(visitor.page.get_by_text("Connection lost. Reconnecting…")).to_be_visible()
    live_site.start()
    for visitor in (a, b):
        wait_live(visitor.page)
        expect(visitor.page.get_by_text("Connection lost. Reconnecting…")).to_be_hidden()
    wait_until_heard(b.page)

    # Janus crashes: the room keeps working and says audio is unavailable; when Janus is back
    # the server asks the pages to renegotiate and B hears A again, without a reload.
    janus_server.kill()
    expect(b.page.locator("[data-audio-banner]")).to_contain_text("unavailable", timeout=15_000)
    janus_server.start()
    expect(b.page.locator("[data-room-root]")).to_have_attribute("data-audio", "on", timeout=20_000)
    wait_until_heard(b.page, timeout=15)
