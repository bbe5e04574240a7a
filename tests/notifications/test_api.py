"""REST: the list (cursor pages, newest first, unread count), mark read, preferences, mute,
"remind me"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications import services
from notifications.models import DisabledKind, MutedActor, Notification, RoomReminder
from tests.factories import UserFactory
from tests.notifications.conftest import block, follow, make_room

pytestmark = pytest.mark.django_db

K = Notification.Kind


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def add_notifications(recipient, count, *, same_time=False, actor=None):
    base = timezone.now()
    rows = []
    for i in range(count):
        actor_i = actor or UserFactory()
        rows.append(
            Notification.objects.create(
                recipient=recipient,
                kind=K.FOLLOWED,
                actor=actor_i,
                target_user=actor_i,
                dedupe_key=f"followed:{actor_i.pk}:{i}",
                created_at=base if same_time else base - timedelta(minutes=count - i),
            )
        )
    return rows


def all_pages(client, url):
    ids, pages = [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        ids += [n["id"] for n in body["results"]]
        url = body["next"]
        pages += 1
    return ids, pages


@pytest.mark.parametrize("same_time", [False, True])
def test_list_is_newest_first_in_cursor_pages_without_repeats(same_time):
    me = UserFactory()
    rows = add_notifications(me, 5, same_time=same_time)
    add_notifications(UserFactory(), 3)  # someone else's

    ids, pages = all_pages(api(me), "/api/notifications/?page_size=2")

    assert pages == 3
    assert ids == [n.pk for n in sorted(rows, key=lambda n: (n.created_at, n.pk), reverse=True)]


def test_list_item_shape_and_unread_count():
    me = UserFactory()
    follower = UserFactory(username="zoe", display_name="Zoë")
    add_notifications(me, 1, actor=follower)
    read = add_notifications(me, 1)[0]
    read.read_at = timezone.now()
    read.save()

    body = api(me).get("/api/notifications/").json()

    assert body["unread_count"] == 1
    item = body["results"][1]
    assert item["kind"] == "followed"
    assert item["actor"] == {"username": "zoe", "display_name": "Zoë", "avatar_url": None}
    assert item["url"] == "/@zoe"
    assert item["text"] == "Zoë followed you"
    assert item["read_at"] is None
    assert body["results"][0]["read_at"] is not None


def test_room_notification_links_to_the_room():
    host = UserFactory()
    me = UserFactory()
    follow(me, host)
    room = make_room(host, title="Late show")
    services.room_live_fan_out(room_id=str(room.pk))

    item = api(me).get("/api/notifications/").json()["results"][0]

    assert item["room"] == {"id": str(room.pk), "title": "Late show"}
    assert item["url"] == f"/rooms/{room.pk}/"


def test_notifications_from_someone_blocked_later_are_hidden():
    me, pest = UserFactory(), UserFactory()
    add_notifications(me, 1, actor=pest)
    add_notifications(me, 1)
    block(me, pest)

    body = api(me).get("/api/notifications/").json()

    assert len(body["results"]) == 1 and body["unread_count"] == 1


def test_list_query_count_does_not_grow_with_the_page(django_assert_num_queries):
    me = UserFactory()
    add_notifications(me, 2)
    client = api(me)
    with django_assert_num_queries(2):  # unread count, page
        client.get("/api/notifications/")
    add_notifications(me, 18)
    with django_assert_num_queries(2):
        assert len(client.get("/api/notifications/").json()["results"]) == 20


def test_anonymous_gets_a_401_envelope():
    response = api().get("/api/notifications/")
    assert response.status_code in (401, 403)
    assert set(response.json()) == {"code", "message", "details"}


def test_mark_some_read_ignores_other_peoples_ids():
    me, other = UserFactory(), UserFactory()
    mine = add_notifications(me, 3)
    theirs = add_notifications(other, 1)

    response = api(me).post(
        "/api/notifications/read/", {"ids": [mine[0].pk, theirs[0].pk]}, format="json"
    )

    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread_count": 2}
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None
    assert Notification.objects.get(pk=mine[0].pk).read_at is not None


def test_mark_all_read():
    me = UserFactory()
    add_notifications(me, 3)
    response = api(me).post("/api/notifications/read/", {"all": True}, format="json")
    assert response.json() == {"marked": 3, "unread_count": 0}
    assert api(me).get("/api/notifications/").json()["unread_count"] == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"all": False}, {"ids": [1], "all": True}, {"ids": "1"}, {"ids": [-1]}, {"ids": ["x"]}],
)
def test_mark_read_bad_input_is_a_400_with_nothing_changed(body):
    me = UserFactory()
    add_notifications(me, 1)
    response = api(me).post("/api/notifications/read/", body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_preferences_switch_kinds_off_and_on():
    me = UserFactory()
    client = api(me)
    kinds = client.get("/api/notifications/preferences/").json()["kinds"]
    assert kinds == {k: True for k in K.values}

    response = client.patch(
        "/api/notifications/preferences/", {"kinds": {"went_live": False}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["kinds"]["went_live"] is False
    assert DisabledKind.objects.filter(user=me, kind="went_live").exists()

    client.patch("/api/notifications/preferences/", {"kinds": {"went_live": True}}, format="json")
    assert not DisabledKind.objects.filter(user=me).exists()


def test_preferences_refuse_unknown_kinds():
    response = api(UserFactory()).patch(
        "/api/notifications/preferences/", {"kinds": {"spam": False}}, format="json"
    )
    assert response.status_code == 400
    assert "spam" in response.json()["message"]


def test_mute_a_member_then_their_follow_does_not_notify():
    me, noisy = UserFactory(), UserFactory(username="Noisy")
    client = api(me)

    response = client.post("/api/users/noisy/mute-notifications/")
    assert response.status_code == 200
    assert response.json() == {"username": "Noisy", "muted": True}
    assert client.post("/api/users/noisy/mute-notifications/").status_code == 200  # idempotent
    muted = client.get("/api/notifications/muted/").json()["results"]
    assert [m["user"]["username"] for m in muted] == ["Noisy"]

    follow(noisy, me)
    assert services.followed_notify(follower_id=noisy.pk, followee_id=me.pk) == 0

    assert client.delete("/api/users/noisy/mute-notifications/").json()["muted"] is False
    assert not MutedActor.objects.exists()
    assert services.followed_notify(follower_id=noisy.pk, followee_id=me.pk) == 1


def test_mute_refuses_yourself_and_missing_members():
    me = UserFactory(username="me")
    response = api(me).post("/api/users/me/mute-notifications/")
    assert (response.status_code, response.json()["code"]) == (400, "self_mute")
    response = api(me).post("/api/users/ghost/mute-notifications/")
    assert (response.status_code, response.json()["code"]) == (404, "user_not_found")


def test_remind_me_on_a_scheduled_room():
    room = make_room(UserFactory(), state="scheduled", scheduled_for=timezone.now() + timedelta(1))
    me = UserFactory()
    client = api(me)
    url = f"/api/rooms/{room.pk}/remind/"

    assert client.get(url).json() == {"room": str(room.pk), "remind": False}
    response = client.post(url)
    assert response.status_code == 201
    assert response.json() == {"room": str(room.pk), "remind": True}
    assert client.post(url).status_code == 201  # idempotent
    assert RoomReminder.objects.filter(user=me, room=room).count() == 1
    assert client.get(url).json()["remind"] is True

    assert client.delete(url).status_code == 204
    assert not RoomReminder.objects.exists()


def test_remind_me_refusals():
    host = UserFactory()
    later = timezone.now() + timedelta(days=1)
    live = make_room(host)
    hidden = make_room(UserFactory(), state="scheduled", scheduled_for=later, visibility="closed")
    own = make_room(host, state="scheduled", scheduled_for=later)
    me = UserFactory()

    cases = [
        (api(me), live, 409, "room_not_scheduled"),
        (api(me), hidden, 404, "room_not_found"),
        (api(host), own, 409, "own_room"),
    ]
    for client, room, status, code in cases:
        response = client.post(f"/api/rooms/{room.pk}/remind/")
        assert (response.status_code, response.json()["code"]) == (status, code)
    response = api(me).post("/api/rooms/00000000-0000-0000-0000-000000000000/remind/")
    assert response.status_code == 404
    assert not RoomReminder.objects.exists()


def test_remind_me_with_a_malformed_room_id_is_a_json_404():
    response = api(UserFactory()).post("/api/rooms/not-a-uuid/remind/")
    assert (response.status_code, response.json()["code"]) == (404, "room_not_found")


def test_mark_read_with_an_id_beyond_the_id_column_is_a_400_not_a_500():
    # Found by tests/fuzz: 2**70 overflowed SQLite's INTEGER (PostgreSQL: bigint out of range).
    me = UserFactory()
    add_notifications(me, 1)
    response = api(me).post("/api/notifications/read/", {"ids": [2**70]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "ids" in response.json()["details"]
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_a_deactivated_member_leaves_the_muted_list_everywhere_and_the_mute_stays():
    """Unmuting them by name would be a 404, so neither the API nor the settings page lists
    them; the mute is kept for if the account comes back."""
    from django.test import Client

    me, kept = UserFactory(), UserFactory(username="kept_member")
    gone = UserFactory(username="vanished_member")
    client = api(me)
    client.post("/api/users/vanished_member/mute-notifications/")
    client.post("/api/users/kept_member/mute-notifications/")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    page = Client()
    page.force_login(me)

    muted = client.get("/api/notifications/muted/").json()["results"]
    html = page.get("/settings/notifications/").content.decode()

    assert [m["user"]["username"] for m in muted] == ["kept_member"]
    assert "kept_member" in html and "vanished_member" not in html
    assert MutedActor.objects.filter(user=me, muted=gone).exists()
    assert kept.is_active
