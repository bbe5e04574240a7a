"""Server-rendered room pages: hallway, start a room, a room in each state, the calendar file."""

from __future__ import annotations

from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rooms import services
from rooms.models import Participant, Room
from tests.factories import FollowFactory, ParticipantFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(client):
    user = UserFactory(username="member", display_name="Member")
    client.force_login(user)
    return user


def live_room(host, **kwargs) -> Room:
    room = RoomFactory(host=host, speakers_count=1, **kwargs)
    ParticipantFactory(room=room, user=host, role=Participant.Role.HOST)
    return room


def test_visitors_get_the_landing_page_not_the_hallway(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"I have an invitation" in response.content
    assert b"data-hallway" not in response.content


def test_hallway_shows_followed_rooms_first_with_their_people(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    FollowFactory(follower=member, followee=ann)
    live_room(ann, title="Followed talk", listeners_count=3)
    live_room(UserFactory(), title="Stranger talk")
    page = client.get("/").content.decode()
    assert page.index("Live from people you follow") < page.index("Followed talk")
    assert page.index("Followed talk") < page.index("Other live rooms") < page.index("Stranger")
    assert "3 listeners" in page
    assert "Ann is here" in page


def test_hallway_page_costs_the_same_queries_for_one_room_or_many(client, member):
    hosts = [UserFactory() for _ in range(8)]
    for host in hosts[:4]:
        FollowFactory(follower=member, followee=host)
    live_room(hosts[0])
    with CaptureQueriesContext(connection) as one:
        assert client.get("/").status_code == 200
    for host in hosts[1:]:
        room = live_room(host)
        ParticipantFactory(room=room, user=UserFactory(), role=Participant.Role.SPEAKER)
    RoomFactory(host=hosts[1], state="scheduled", scheduled_for=timezone.now() + timedelta(1))
    with CaptureQueriesContext(connection) as many:
        response = client.get("/")
    assert response.content.count(b"data-room-card=") == 9
    assert len(many) == len(one)


def test_hallway_partial_is_only_the_sections_for_live_refresh(client, member):
    live_room(UserFactory(), title="Partial talk")
    response = client.get("/?partial=1")
    assert b"Partial talk" in response.content
    assert b"<html" not in response.content


def test_a_hallway_poll_whose_cards_did_not_change_is_not_modified(client, member):
    room = live_room(UserFactory(), title="Quiet talk")
    first = client.get("/?partial=1")
    etag = first["ETag"]
    assert first.status_code == 200 and b"Quiet talk" in first.content
    assert first["Cache-Control"] == "private, no-cache"

    again = client.get("/?partial=1", HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)

    # Anything a card shows changes the tag: here, one more listener.
    services.participant_join(room=room, user=UserFactory())
    changed = client.get("/?partial=1", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert b"1 listener" in changed.content


def test_hallway_poll_tags_are_per_member_time_zone_and_page(client, member, settings):
    live_room(UserFactory(), title="Shared talk")
    mine = client.get("/?partial=1")["ETag"]
    other = UserFactory()
    client.force_login(other)
    theirs = client.get("/?partial=1")

    assert theirs["ETag"] != mine  # the same cards, another member: never each other's copy
    assert client.get("/?partial=1", HTTP_IF_NONE_MATCH=mine).status_code == 200
    settings.TIME_ZONE = "Asia/Tokyo"  # dates on cards are shown in the member's zone
    assert client.get("/?partial=1")["ETag"] != theirs["ETag"]


def test_start_room_now_opens_it_with_the_host_on_stage(client, member):
    response = client.post(
        "/rooms/new/", {"title": "Coffee", "topic": "", "visibility": "public", "when": "now"}
    )
    room = Room.objects.get(title="Coffee")
    assert response.status_code == 302
    assert response["Location"] == f"/rooms/{room.pk}/"
    assert room.state == Room.State.LIVE
    assert room.participants.get().role == Participant.Role.HOST


def test_start_room_later_reads_the_time_in_the_hosts_time_zone(client, member):
    local = (timezone.now() + timedelta(days=2)).astimezone(ZoneInfo("Asia/Tokyo"))
    response = client.post(
        "/rooms/new/",
        {
            "title": "Later",
            "visibility": "followers",
            "when": "later",
            "scheduled_for": local.strftime("%Y-%m-%dT%H:%M"),
            "tz": "Asia/Tokyo",
        },
    )
    room = Room.objects.get(title="Later")
    assert response.status_code == 302
    assert room.state == Room.State.SCHEDULED
    assert room.visibility == Room.Visibility.FOLLOWERS
    assert abs((room.scheduled_for - local).total_seconds()) < 60


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "visibility": "public", "when": "now"}, "This field is required."),
        ({"title": "x", "visibility": "secret", "when": "now"}, "Select a valid choice."),
        ({"title": "x", "visibility": "public", "when": "later"}, "Choose when the room starts."),
        (
            {
                "title": "x",
                "visibility": "public",
                "when": "later",
                "scheduled_for": "2001-01-01T10:00",
            },
            "The start time must be in the future.",
        ),
    ],
)
def test_start_room_explains_bad_input_with_a_400(client, member, data, message):
    response = client.post("/rooms/new/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Room.objects.exists()


def test_a_second_live_room_is_refused_with_the_services_words(client, member):
    live_room(member)
    response = client.post("/rooms/new/", {"title": "Two", "visibility": "public", "when": "now"})
    assert response.status_code == 400
    assert b"form-errors" in response.content
    assert Room.objects.filter(state="live").count() == 1


def test_live_room_page_carries_the_client_config(client, member):
    ann = UserFactory(username="ann")
    FollowFactory(follower=member, followee=ann)
    room = live_room(ann, title="Configured")
    response = client.get(f"/rooms/{room.pk}/")
    config = response.context["client_config"]
    assert config["room"] == str(room.pk)
    assert config["me"]["id"] == member.pk
    assert config["followees"] == [ann.pk]
    assert config["detail"]["participants"]["host"][0]["user"]["username"] == "ann"
    assert b'id="room-config"' in response.content


def test_room_page_hands_over_the_members_own_blocks_only(client, member):
    """The stage's block warning is drawn from the member's own blocks; nobody else's blocks,
    least of all blocks of this member, reach the page."""
    from moderation.services import block_create

    ann, bob, cleo = (UserFactory(username=name) for name in ("ann", "bob", "cleo"))
    room = live_room(ann, title="Blocks")
    block_create(blocker=member, blocked=bob)
    block_create(blocker=member, blocked=cleo)
    block_create(blocker=cleo, blocked=member)  # cleo's block of this member: private to cleo
    block_create(blocker=ann, blocked=bob)
    config = client.get(f"/rooms/{room.pk}/").context["client_config"]
    assert config["blocked"] == sorted([bob.pk, cleo.pk])
    categories = [choice["value"] for choice in config["report_categories"]]
    assert "harassment" in categories and "other" in categories


def test_hidden_and_missing_rooms_are_the_same_404(client, member):
    closed = live_room(UserFactory(), visibility="closed")
    for path in (f"/rooms/{closed.pk}/", "/rooms/00000000-0000-0000-0000-000000000000/"):
        response = client.get(path)
        assert response.status_code == 404
        assert b"This room isn" in response.content


def test_a_removed_member_is_told_they_cannot_rejoin(client, member):
    room = live_room(UserFactory())
    ParticipantFactory(room=room, user=member, removed=True, left_at=timezone.now())
    response = client.get(f"/rooms/{room.pk}/")
    assert response.status_code == 404
    assert b"You were removed from this room" in response.content


def test_ended_room_page_says_it_ended(client, member):
    room = RoomFactory(state="ended", ended_at=timezone.now())
    response = client.get(f"/rooms/{room.pk}/")
    assert b"This room has ended." in response.content
    assert b"data-room-root" not in response.content


def scheduled(host, **kwargs) -> Room:
    return services.room_create(
        host=host,
        title=kwargs.pop("title", "Planned; with, commas"),
        topic=kwargs.pop("topic", "Line one\nline two"),
        scheduled_for=timezone.now() + timedelta(days=1),
        **kwargs,
    )


def test_remind_me_sets_and_clears_a_reminder(client, member):
    from notifications.models import RoomReminder

    room = scheduled(UserFactory())
    page = client.get(f"/rooms/{room.pk}/")
    assert b"Remind me" in page.content
    client.post(f"/rooms/{room.pk}/remind/")
    assert RoomReminder.objects.filter(room=room, user=member).exists()
    assert b"Reminder set" in client.get(f"/rooms/{room.pk}/").content
    client.post(f"/rooms/{room.pk}/remind/", {"remind": "off"})
    assert not RoomReminder.objects.filter(room=room, user=member).exists()


def test_host_starts_a_scheduled_room_from_its_page(client, member):
    room = scheduled(member)
    page = client.get(f"/rooms/{room.pk}/")
    assert b"Start now" in page.content and b"Remind me" not in page.content
    response = client.post(f"/rooms/{room.pk}/start/")
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.state == Room.State.LIVE


def test_only_the_host_can_start_or_cancel(client, member):
    room = scheduled(UserFactory())
    client.post(f"/rooms/{room.pk}/start/")
    client.post(f"/rooms/{room.pk}/cancel/")
    room.refresh_from_db()
    assert room.state == Room.State.SCHEDULED


def test_calendar_file_is_a_valid_icalendar_event(client, member):
    room = scheduled(UserFactory(), title="Planned; with, commas " + "long " * 15)
    response = client.get(f"/rooms/{room.pk}/calendar.ics")
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    unfolded = body.replace("\r\n ", "")
    start = room.scheduled_for.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    assert f"DTSTART:{start}\r\n" in unfolded
    assert "SUMMARY:Planned\\; with\\, commas long" in unfolded
    assert "DESCRIPTION:Line one\\nline two\\n\\nhttp://testserver/rooms/" in unfolded
    assert f"UID:room-{room.pk}@testserver" in unfolded


def test_calendar_file_follows_the_room_visibility(client, member):
    room = scheduled(UserFactory(), visibility="closed")
    assert client.get(f"/rooms/{room.pk}/calendar.ics").status_code == 404


def test_hallway_pages_through_many_rooms_and_survives_a_bad_cursor(client, member):
    from rooms import views

    for n in range(views.HALLWAY_PAGE_SIZE + 2):
        live_room(UserFactory(), title=f"Busy room {n}")
    first = client.get("/")
    assert first.content.count(b"data-room-card=") == views.HALLWAY_PAGE_SIZE
    cursor = first.context["next_cursor"]
    assert cursor
    second = client.get("/", {"cursor": cursor})
    assert second.content.count(b"data-room-card=") == 2
    assert b"Back to the top of the hallway" in second.content
    assert client.get("/", {"cursor": "garbage"}).status_code == 200


def test_room_page_hands_the_configured_ice_servers_to_the_browser(client, member, settings):
    turn = {"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}
    settings.WEBRTC_ICE_SERVERS = [turn]
    room = live_room(member)
    response = client.get(f"/rooms/{room.pk}/")
    assert response.status_code == 200
    assert b'<script id="webrtc-ice-servers" type="application/json">' in response.content
    assert b"turn:turn.example.org:3478" in response.content
    # Only ICE helpers reach the page: nothing that could address Janus.
    assert settings.JANUS_URL.encode() not in response.content


def test_start_room_form_announces_co_hosts_and_the_scheduled_page_names_them(client, member):
    ana = UserFactory(username="ana", display_name="Ana Lytic")
    bo = UserFactory(username="bo", display_name="Bo")
    form = client.get("/rooms/new/")
    assert b'name="cohosts"' in form.content
    response = client.post(
        "/rooms/new/",
        {
            "title": "Panel",
            "visibility": "public",
            "when": "later",
            "scheduled_for": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "tz": "UTC",
            "cohosts": "@ana, bo",
        },
    )
    room = Room.objects.get(title="Panel")
    assert response.status_code == 302
    assert room.cohost_ids == [ana.pk, bo.pk]
    page = client.get(f"/rooms/{room.pk}/").content.decode()
    assert "Ana Lytic</a> and <a" in page and 'href="/@bo" data-cohost' in page


def test_start_room_form_explains_a_co_host_refusal_beside_the_field(client, member):
    response = client.post(
        "/rooms/new/",
        {"title": "Panel", "visibility": "public", "when": "now", "cohosts": "nobody"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "No member is called nobody." in body
    assert 'id="id_cohosts_errors"' in body
    assert not Room.objects.exists()


def test_host_edits_a_live_room_from_its_page(client, member):
    room = services.room_create(host=member, title="Before", topic="Old topic")
    page = client.get(f"/rooms/{room.pk}/").content.decode()
    assert 'data-action="edit-room" data-requires="edit"' in page
    assert f'action="/rooms/{room.pk}/edit/" data-edit-form' in page

    form = client.get(f"/rooms/{room.pk}/edit/")
    assert form.status_code == 200
    assert 'value="Before"' in form.content.decode()

    response = client.post(
        f"/rooms/{room.pk}/edit/",
        {"title": "After", "topic": "New topic", "visibility": "followers", "cohosts": ""},
    )
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.pk}/"
    room.refresh_from_db()
    assert (room.title, room.topic, room.visibility) == ("After", "New topic", "followers")
    assert room.state == Room.State.LIVE


def test_host_edits_a_scheduled_room_from_its_page(client, member):
    room = scheduled(member, title="Planned")
    assert (
        f'href="/rooms/{room.pk}/edit/" data-edit-room'.encode()
        in client.get(f"/rooms/{room.pk}/").content
    )
    client.post(
        f"/rooms/{room.pk}/edit/",
        {"title": "Replanned", "topic": "", "visibility": "closed", "cohosts": ""},
    )
    room.refresh_from_db()
    assert (room.title, room.visibility, room.state) == ("Replanned", "closed", "scheduled")


def test_only_the_host_may_edit_and_bad_input_is_explained(client, member):
    other = scheduled(UserFactory(), title="Theirs")
    response = client.post(
        f"/rooms/{other.pk}/edit/", {"title": "Mine now", "visibility": "public"}
    )
    assert response.status_code == 403
    assert b"data-edit-room" not in client.get(f"/rooms/{other.pk}/").content
    other.refresh_from_db()
    assert other.title == "Theirs"

    mine = scheduled(member, title="Mine")
    empty = client.post(f"/rooms/{mine.pk}/edit/", {"title": "", "visibility": "public"})
    assert empty.status_code == 400 and b"This field is required." in empty.content
    services.room_cancel(room=mine, by=member)
    over = client.post(f"/rooms/{mine.pk}/edit/", {"title": "Again", "visibility": "public"})
    assert over.status_code == 400
    assert b"This room is over; it cannot be edited." in over.content
    mine.refresh_from_db()
    assert mine.title == "Mine"
