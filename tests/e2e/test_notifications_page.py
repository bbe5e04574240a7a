"""The notifications page: an item that arrives live is opened like any other, which reads it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from notifications.models import Notification
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_notification_that_arrived_live_is_marked_read_when_opened(open_browser):
    ann = UserFactory(username="ann", display_name="Ann")
    bob = UserFactory(username="bob", display_name="Bob Follower")
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    a.page.goto("/notifications/")
    expect(a.page.locator("[data-empty]")).to_be_visible()
    # The bell's socket is open before anything happens, so the notice comes live.
    expect(a.page.locator("[data-bell]")).to_be_visible()
    a.page.wait_for_timeout(500)

    b.page.goto("/@ann")
    b.page.get_by_role("button", name="Follow", exact=True).click()

    live = a.page.locator("[data-notification-list] li.unread").first
    expect(live).to_contain_text("Bob Follower followed you")
    expect(a.page.locator("[data-bell-count]")).to_have_text("1")
    notification = Notification.objects.get(recipient=ann)
    assert notification.read_at is None

    live.get_by_role("button", name="Bob Follower followed you").click()

    a.page.wait_for_url("**/@bob")
    notification.refresh_from_db()
    assert notification.read_at is not None
    expect(a.page.locator("[data-bell-count]")).to_be_hidden()
