"""Blocks inside a room, in the browser (docs/moderation.md, "Blocks"): a member who blocked
someone on the stage is warned instead of being kept out; blocking, unblocking and reporting from
a person's menu; the blocked member, an ordinary listener's block, stays in the room."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from moderation.models import Block, Report
from moderation.services import block_create
from tests.e2e.pages import person, wait_live
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_blocked_member_on_stage_is_a_warning_not_a_wall(open_browser, artifacts):
    ann = UserFactory(username="ann", display_name="Ann Host")
    dan = UserFactory(username="dan", display_name="Dan Cohost")
    cleo = UserFactory(username="cleo", display_name="Cleo Listener")
    block_create(blocker=cleo, blocked=dan)

    a = open_browser(ann, name="A")
    c = open_browser(cleo, name="C")
    d = open_browser(dan, name="D")
    a.page.goto("/rooms/new/")
    a.page.get_by_label("Title").fill("Night shift")
    a.page.get_by_label("Co-hosts").fill("dan")
    a.page.get_by_role("button", name="Start the room").click()
    wait_live(a.page)
    path = urlparse(a.page.url).path

    # Cleo arrives first: nobody she blocked is on stage, so no warning.
    c.page.goto(path)
    wait_live(c.page)
    warning = c.page.locator("[data-blocked-warning]")
    expect(warning).to_be_hidden()

    # Dan, an announced co-host, arrives on the stage: Cleo's page says so, live, and marks him.
    d.page.goto(path)
    wait_live(d.page)
    expect(warning).to_be_visible()
    expect(warning).to_have_text(re.compile(r"Someone you blocked is on stage: Dan Cohost\."))
    dan_on_stage = person(c.page, "stage", "Dan Cohost")
    expect(dan_on_stage).to_have_attribute("aria-label", re.compile("you blocked them"))
    expect(dan_on_stage.locator("[data-blocked]")).to_have_text("Blocked")
    c.page.screenshot(path=str(artifacts / "room-block-warning.png"), full_page=True)
    # Her hallway (another tab) shows the room with the same warning on its card.
    hallway = c.context.new_page()
    hallway.goto("/")
    hallway.screenshot(path=str(artifacts / "hallway-block-warning.png"), full_page=True)
    card = hallway.locator("[data-room-card]", has_text="Night shift")
    expect(card.locator("[data-blocked-warning]")).to_have_text(
        "Someone you blocked is speaking: Dan Cohost"
    )
    hallway.close()
    # Nobody else is told: not the host, not Dan.
    expect(a.page.locator("[data-blocked-warning]")).to_be_hidden()
    expect(d.page.locator("[data-blocked-warning]")).to_be_hidden()
    expect(person(a.page, "stage", "Dan Cohost").locator("[data-blocked]")).to_have_count(0)

    # Unblocking from his menu takes the warning away.
    dan_on_stage.click()
    c.page.get_by_role("dialog").get_by_role("button", name="Unblock").click()
    expect(warning).to_be_hidden()
    assert not Block.objects.filter(blocker=cleo, blocked=dan).exists()

    # Blocking again from the room: confirmed, stored, warned; Dan stays (Cleo is a listener).
    person(c.page, "stage", "Dan Cohost").click()
    c.page.get_by_role("dialog").get_by_role("button", name="Block").click()
    confirm = c.page.get_by_role("dialog", name="Block Dan Cohost?")
    expect(confirm).to_contain_text("If they speak here, you see a warning.")
    confirm.get_by_role("button", name="Block").click()
    expect(warning).to_be_visible()
    assert Block.objects.filter(blocker=cleo, blocked=dan).exists()
    expect(person(a.page, "stage", "Dan Cohost")).to_be_visible()
    expect(d.page.locator("[data-room-root]")).to_have_attribute("data-state", "live")

    # Reporting Dan from the room: a category is required, then the room's state is evidence.
    person(c.page, "stage", "Dan Cohost").click()
    c.page.get_by_role("dialog").get_by_role("button", name="Report").click()
    report = c.page.get_by_role("dialog", name="Report Dan Cohost")
    report.get_by_role("button", name="Send report").click()
    expect(report.get_by_role("alert")).to_have_text("Choose what is wrong.")
    report.get_by_label("What is wrong?").select_option("harassment")
    report.get_by_label("What happened").fill("Shouting over everyone.")
    report.get_by_role("button", name="Send report").click()
    expect(report).to_be_hidden()
    saved = Report.objects.get(reporter=cleo)
    assert saved.target_user == dan
    assert saved.category == "harassment"
    assert saved.text == "Shouting over everyone."
    assert str(saved.target_room_id) in path
    [evidence] = saved.evidence
    assert evidence["room"]["title"] == "Night shift"
    assert {seat["username"] for seat in evidence["stage"]} == {"ann", "dan"}


def test_blocking_the_host_from_the_room_leaves_it(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    cleo = UserFactory(username="cleo", display_name="Cleo Listener")
    a = open_browser(ann, name="A")
    c = open_browser(cleo, name="C")
    a.page.goto("/rooms/new/")
    a.page.get_by_label("Title").fill("Morning")
    a.page.get_by_role("button", name="Start the room").click()
    wait_live(a.page)
    c.page.goto(urlparse(a.page.url).path)
    wait_live(c.page)

    person(c.page, "stage", "Ann Host").click()
    c.page.get_by_role("dialog").get_by_role("button", name="Block").click()
    confirm = c.page.get_by_role("dialog", name="Block Ann Host?")
    expect(confirm).to_contain_text("leave this room")
    confirm.get_by_role("button", name="Block").click()
    c.page.wait_for_url("**/")
    expect(c.page.locator("[data-room-root]")).to_have_count(0)
    assert Block.objects.filter(blocker=cleo, blocked=ann).exists()
    expect(person(a.page, "audience", "Cleo Listener")).to_have_count(0)


def test_a_listener_on_a_phone_reports_the_room_from_the_more_tray(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    cleo = UserFactory(username="cleo", display_name="Cleo Listener")
    a = open_browser(ann, name="A")
    c = open_browser(cleo, name="C", width=360, height=740)
    a.page.goto("/rooms/new/")
    a.page.get_by_label("Title").fill("Evening")
    a.page.get_by_role("button", name="Start the room").click()
    wait_live(a.page)
    c.page.goto(urlparse(a.page.url).path)
    wait_live(c.page)

    # A listener has nothing else in the tray, but reporting the room is always there.
    c.page.get_by_role("button", name="More", exact=True).click()
    c.page.get_by_role("button", name="Report room").click()
    dialog = c.page.get_by_role("dialog", name="Report this room")
    dialog.get_by_label("What is wrong?").select_option("spam")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog).to_be_hidden()
    saved = Report.objects.get(reporter=cleo)
    assert saved.target_type == Report.TargetType.ROOM
    assert saved.target_user is None
    assert saved.evidence[0]["room"]["title"] == "Evening"
