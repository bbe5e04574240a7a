"""The hallway keeps itself live by polling its sections; an unchanged poll costs the server no
rendering: Chromium revalidates with the tag it was given (the server then answers 304, which
tests/web/test_room_pages.py checks; the page itself sees the browser's copy as a 200)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.browser


def poll(page):
    """What hallway.js does every few seconds, now (it also runs on a notification)."""
    with page.expect_response(lambda r: "partial=1" in r.url) as answer:
        page.evaluate("window.dispatchEvent(new Event('audiosocial:notification'))")
    response = answer.value
    return response, response.request.all_headers()


def test_an_unchanged_hallway_poll_is_not_modified_and_a_change_still_shows(open_browser):
    host = UserFactory(username="hana", display_name="Hana Host")
    member = UserFactory(username="milo", display_name="Milo")
    FollowFactory(follower=member, followee=host)
    room = services.room_create(host=host, title="Slow morning", topic="", visibility="public")
    b = open_browser(member, name="B")
    b.page.goto("/")
    card = b.page.locator("[data-hallway] [data-room-card]", has_text="Slow morning")
    expect(card).to_contain_text("0 listeners")

    first, _ = poll(b.page)
    tag = first.headers["etag"]
    second, sent = poll(b.page)

    assert sent.get("if-none-match") == tag
    assert second.status == 200 and second.headers["etag"] == tag  # the copy it revalidated
    expect(card).to_contain_text("0 listeners")

    services.participant_join(room=room, user=UserFactory())
    third, sent = poll(b.page)

    assert sent.get("if-none-match") == tag
    assert third.status == 200 and third.headers["etag"] != tag
    expect(card).to_contain_text("1 listener")
