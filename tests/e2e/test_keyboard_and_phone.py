"""The room works from the keyboard alone, and the hallway and the room fit a 360 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.pages import person, start_room, tab_to, wait_live
from tests.factories import FollowFactory, UserFactory

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def fits_width(page) -> bool:
    """Nothing scrolls sideways, and every visible control (the bar is fixed) is on screen."""
    return page.evaluate(
        """() => document.documentElement.scrollWidth <= innerWidth
        && [...document.querySelectorAll('.controls button')]
            .filter((b) => b.offsetParent !== null)
            .every((b) => b.getBoundingClientRect().right <= innerWidth)"""
    )


def test_room_controls_by_keyboard_on_a_360px_phone(open_browser, artifacts):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Member")
    FollowFactory(follower=bob, followee=ann)
    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B", **PHONE)
    start_room(a.page, "Keyboard club", topic="Everything without a mouse, on a small screen")

    # The hallway on a phone: legible, nothing wider than the screen.
    b.page.goto("/")
    link = b.page.locator("[data-hallway]").get_by_role("link", name="Keyboard club")
    expect(link).to_be_visible()
    assert fits_width(b.page)
    b.page.screenshot(path=str(artifacts / "hallway-360.png"), full_page=True)

    # B enters the room and raises a hand with the keyboard only.
    tab_to(b.page, link)
    b.page.keyboard.press("Enter")
    wait_live(b.page)
    raise_hand = b.page.get_by_role("button", name="Raise hand")
    tab_to(b.page, raise_hand)
    b.page.keyboard.press("Enter")
    expect(b.page.get_by_role("button", name="Lower hand")).to_have_attribute(
        "aria-pressed", "true"
    )

    # A invites B from the hand queue with the keyboard.
    invite = a.page.get_by_role("button", name="Invite Bob Member to speak")
    tab_to(a.page, invite)
    a.page.keyboard.press("Enter")

    # The invitation takes B's focus; Enter accepts, then Space unmutes.
    join = b.page.get_by_role("button", name="Join the stage")
    expect(join).to_be_focused()
    b.page.keyboard.press("Enter")
    expect(person(b.page, "stage", "Bob Member")).to_be_visible()
    unmute = b.page.get_by_role("button", name="Unmute")
    tab_to(b.page, unmute)
    b.page.keyboard.press("Space")
    expect(b.page.get_by_role("button", name="Mute", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    # On a phone the reactions fold into a tray: open it, react, close it with Escape.
    tray_toggle = b.page.get_by_role("button", name="React", exact=True)
    tab_to(b.page, tray_toggle)
    b.page.keyboard.press("Enter")
    expect(tray_toggle).to_have_attribute("aria-expanded", "true")
    expect(b.page.get_by_role("button", name="React 👏")).to_be_focused()
    b.page.keyboard.press("Enter")
    expect(a.page.locator('.float-emoji[data-emoji="👏"]')).to_be_attached()
    b.page.keyboard.press("Escape")
    expect(tray_toggle).to_be_focused()
    expect(tray_toggle).to_have_attribute("aria-expanded", "false")

    assert fits_width(b.page)
    b.page.screenshot(path=str(artifacts / "room-360.png"), full_page=True)

    # A opens B's options from the stage: Escape closes them and gives focus back; Enter acts.
    bob_on_stage = person(a.page, "stage", "Bob Member")
    tab_to(a.page, bob_on_stage)
    a.page.keyboard.press("Enter")
    dialog = a.page.get_by_role("dialog", name="Bob Member")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Move to audience")).to_be_focused()
    a.page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(bob_on_stage).to_be_focused()
    a.page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Move to audience")).to_be_focused()
    a.page.keyboard.press("Enter")
    expect(person(b.page, "audience", "Bob Member")).to_be_visible()

    # B leaves quietly with the keyboard and is back in the hallway.
    leave = b.page.get_by_role("button", name="Leave quietly")
    tab_to(b.page, leave, backwards=True)
    b.page.keyboard.press("Enter")
    expect(b.page.get_by_role("heading", name="Hallway")).to_be_visible()
    expect(person(a.page, "audience", "Bob Member")).to_have_count(0)
