"""A newcomer joins through a member's invitation link, lands on the hallway and follows them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import start_room
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def test_newcomer_signs_up_through_an_invitation_link_and_lands_on_the_hallway(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    a = open_browser(ann, name="A")
    a.page.goto("/invitations/")
    a.page.get_by_role("button", name="Create invitation link").click()
    link = a.page.get_by_label("Signup link").first.input_value()
    assert "/accounts/signup/?invite=" in link

    guest = open_browser(None, name="guest")
    guest.page.goto(link)
    form = guest.page.locator(
        "form", has=guest.page.get_by_role("button", name="Create my account")
    )
    expect(form.get_by_label("Invitation code")).not_to_have_value("")
    form.get_by_label("Email").fill("cleo@example.test")
    form.get_by_label("Username").fill("cleo")
    form.get_by_label("Password", exact=True).fill(PASSWORD)
    form.get_by_label("Password (again)").fill(PASSWORD)
    form.get_by_role("button", name="Create my account").click()
    expect(guest.page.get_by_role("heading", name="Hallway")).to_be_visible()
    assert guest.page.url.rstrip("/") == guest.live_url.rstrip("/")

    # The newcomer's profile names who nominated them; they follow Ann from her profile...
    guest.page.goto("/@cleo")
    expect(guest.page.locator(".nominated-by")).to_have_text("@ann")
    guest.page.goto("/@ann")
    guest.page.get_by_role("button", name="Follow", exact=True).click()
    expect(guest.page.get_by_role("button", name="Following Ann Host: unfollow")).to_be_visible()

    # ...so Ann's room comes first in their hallway, as soon as it starts.
    guest.page.goto("/")
    start_room(a.page, "Welcome, Cleo")
    following = guest.page.locator("section", has_text="Live from people you follow")
    expect(following.get_by_role("link", name="Welcome, Cleo")).to_be_visible()
