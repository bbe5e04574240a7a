"""The settings pages in a browser: from the top bar to the notification settings on a 360 px
phone, a kind switched off by keyboard, a muted person unmuted, a member muted from a profile
and a blocked one unblocked; the database follows each step."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from moderation.models import Block
from moderation.services import block_create
from notifications.models import DisabledKind, MutedActor, Notification
from notifications.services import actor_mute
from tests.e2e.pages import tab_to
from tests.e2e.test_keyboard_and_phone import PHONE, fits_width
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def top_bar_fits(page) -> bool:
    """Every entry of the top bar is on screen, and nothing scrolls sideways."""
    return fits_width(page) and page.evaluate(
        """() => [...document.querySelectorAll('.topbar a, .topbar button')]
            .every((el) => el.getBoundingClientRect().right <= innerWidth)"""
    )


def test_settings_by_keyboard_and_clicks_on_a_phone(open_browser, artifacts):
    mia = UserFactory(username="mia", display_name="Mia")
    ann = UserFactory(username="ann", display_name="Ann Muted")
    bob = UserFactory(username="bob", display_name="Bob Blocked")
    actor_mute(user=mia, username="ann")
    block_create(blocker=mia, blocked=bob)
    # The widest top bar a member can have: a two-digit unread count beside the bell.
    for n in range(12):
        Notification.objects.create(
            recipient=mia, kind="followed", actor=UserFactory(), dedupe_key=f"followed:{n}"
        )
    m = open_browser(mia, name="M", **PHONE)

    m.page.goto("/")
    expect(m.page.locator("[data-bell-count]")).to_have_text("12")
    assert top_bar_fits(m.page)

    # The top bar's Settings entry, then the settings sub-navigation, keyboard only.
    settings_link = m.page.get_by_role("link", name="(settings)")
    tab_to(m.page, settings_link)
    m.page.keyboard.press("Enter")
    m.page.wait_for_url("**/settings/profile/")
    tab = m.page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Notifications"
    )
    tab_to(m.page, tab)
    m.page.keyboard.press("Enter")
    m.page.wait_for_url("**/settings/notifications/")
    assert top_bar_fits(m.page)

    # Switch "Someone followed you" off with Space, save with Enter.
    followed = m.page.get_by_role("checkbox", name="Someone followed you")
    expect(followed).to_be_checked()
    tab_to(m.page, followed)
    m.page.keyboard.press("Space")
    expect(followed).not_to_be_checked()
    save = m.page.get_by_role("button", name="Save notification settings")
    tab_to(m.page, save)
    m.page.keyboard.press("Enter")
    expect(m.page.locator(".messages")).to_contain_text("Your notification settings were saved")
    expect(m.page.get_by_role("checkbox", name="Someone followed you")).not_to_be_checked()
    assert set(DisabledKind.objects.filter(user=mia).values_list("kind", flat=True)) == {"followed"}

    # Unmute Ann from the list of muted people.
    muted = m.page.locator("[data-muted-list]")
    expect(muted.get_by_role("link", name="Ann Muted")).to_be_visible()
    m.page.screenshot(path=str(artifacts / "settings-notifications-360.png"), full_page=True)
    muted.get_by_role("button", name="Unmute Ann Muted").click()
    expect(m.page.locator(".messages")).to_contain_text("You unmuted Ann Muted")
    expect(muted.locator("[data-empty]")).to_have_text("You haven't muted anyone.")
    assert not MutedActor.objects.filter(user=mia).exists()

    # Mute her again from her profile: the button turns into "Unmute notifications".
    m.page.goto("/@ann")
    m.page.get_by_role("button", name="Mute notifications").click()
    expect(m.page.get_by_role("button", name="Unmute notifications")).to_be_visible()
    assert MutedActor.objects.filter(user=mia, muted=ann).exists()

    # The blocked members' page: Bob, newest first, and Unblock.
    m.page.get_by_role("link", name="(settings)").click()
    m.page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Blocked members"
    ).click()
    m.page.wait_for_url("**/settings/blocked/")
    expect(m.page.locator("main")).to_contain_text("not told")
    assert top_bar_fits(m.page)
    m.page.get_by_role("button", name="Unblock Bob Blocked").click()
    expect(m.page.locator(".messages")).to_contain_text("You unblocked Bob Blocked")
    expect(m.page.locator("[data-blocked-list] [data-empty]")).to_be_visible()
    assert not Block.objects.filter(blocker=mia).exists()
