"""Issue 9's "done when", in real browsers: a member reports someone from a live room; a new
moderator works the report in Django admin from the queue to a suspension; the suspended member's
page is cut at once, their audio stops, the room no longer lists them; the audit log tells it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from moderation.models import AuditLog, Report, Sanction
from moderation.permissions import ensure_moderators_group
from tests.e2e.pages import person, start_room, wait_live, wait_until_heard
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_a_moderator_suspends_a_reported_member_from_the_admin(open_browser):
    ann = UserFactory(username="ann", display_name="Ann Host")
    bob = UserFactory(username="bob", display_name="Bob Troll")
    cleo = UserFactory(username="cleo", display_name="Cleo")
    mod = UserFactory(username="mo", display_name="Mo Moderator", is_staff=True)
    mod.groups.add(ensure_moderators_group(apps))

    a = open_browser(ann, name="A")
    b = open_browser(bob, name="B")
    c = open_browser(cleo, name="C")
    path = start_room(a.page, "Open floor")
    a.page.get_by_role("button", name="Unmute").click()
    for visitor in (b, c):
        visitor.page.goto(path)
        wait_live(visitor.page)
    wait_until_heard(b.page)

    # Cleo reports Bob from the room.
    person(c.page, "audience", "Bob Troll").click()
    c.page.get_by_role("dialog").get_by_role("button", name="Report").click()
    dialog = c.page.get_by_role("dialog", name="Report Bob Troll")
    dialog.get_by_label("What is wrong?").select_option("harassment")
    dialog.get_by_label("What happened").fill("Spamming the chat of the room with insults.")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog).to_be_hidden()

    # The moderator finds it at the top of the queue and opens it.
    m = open_browser(mod, name="M")
    m.page.goto("/admin/")
    m.page.get_by_role("link", name="Reports").click()
    m.page.locator("#result_list tbody tr").first.locator("a").first.click()
    expect(m.page.get_by_role("heading", name="Moderator actions")).to_be_visible()
    expect(m.page.locator("body")).to_contain_text("Open floor")  # the evidence: the room

    m.page.get_by_role("button", name="Assign to me").click()
    expect(m.page.locator(".moderation-actions")).to_contain_text("assigned to")
    m.page.get_by_role("link", name="Resolve").click()
    m.page.get_by_label("Suspension", exact=True).check()
    m.page.get_by_label("Suspension days:").fill("3")
    m.page.get_by_label("Resolution note:").fill("Insults in a live room.")
    m.page.get_by_role("button", name="Resolve the report").click()

    # Bob is out at once: his page says so and plays nothing; the room lists him no more.
    expect(b.page.get_by_role("heading", name="You were signed out")).to_be_visible()
    expect(b.page.locator("[data-final-text]")).to_contain_text("suspended")
    expect(b.page.locator("[data-room-root]")).to_have_attribute("data-audio", "stopped")
    assert b.page.evaluate("window.audiosocialRoom.audio.pc") is None
    expect(person(a.page, "audience", "Bob Troll")).to_have_count(0)
    expect(person(c.page, "audience", "Bob Troll")).to_have_count(0)
    # And he cannot come back.
    b.page.goto(path)
    expect(b.page.locator("[data-room-root]")).to_have_count(0)

    report = Report.objects.get(reporter=cleo)
    assert report.status == Report.Status.RESOLVED and report.resolved_by == mod
    sanction = Sanction.objects.get(user=bob)
    assert sanction.kind == Sanction.Kind.SUSPENSION
    assert timedelta(days=2, hours=23) < sanction.ends_at - timezone.now() <= timedelta(days=3)
    story = list(
        AuditLog.objects.filter(target_user=bob).order_by("id").values_list("action", flat=True)
    )
    assert story == ["report.create", "report.assign", "sanction.apply", "report.resolve"]
