"""The settings pages (notification kinds, muted people, blocked members) and the profile's
"Mute notifications" toggle: server-rendered, members only, every change a POST through the
owning service."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from moderation.models import AuditLog, Block
from notifications.models import DisabledKind, MutedActor, Notification
from notifications.views import KIND_EXPLANATIONS
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

KINDS = Notification.Kind
PAGES = ["/settings/notifications/", "/settings/blocked/", "/settings/profile/"]
ACTIONS = ["/settings/notifications/unmute/", "/settings/blocked/unblock/"]


@pytest.fixture
def member(client):
    user = UserFactory(username="member", display_name="Member")
    client.force_login(user)
    return user


def mute(user, muted, *, minutes_ago=0):
    return MutedActor.objects.create(
        user=user, muted=muted, created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )


def block(blocker, blocked, *, minutes_ago=0):
    row = Block.objects.create(blocker=blocker, blocked=blocked)
    # auto_now_add: the time is set after the insert, for "newest first".
    Block.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return row


def disabled(user):
    return set(DisabledKind.objects.filter(user=user).values_list("kind", flat=True))


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_each_settings_page_renders_for_a_member(client, member, url):
    html = page(client, url)
    # The sub-navigation links the three pages, the current one marked.
    for other in PAGES:
        assert f'href="{other}"' in html
    assert f'href="{url}" aria-current="page"' in html


@pytest.mark.parametrize("url", PAGES)
def test_each_settings_page_sends_a_visitor_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_visitors_change_nothing(client):
    ann = UserFactory(username="ann")
    owner = UserFactory()
    mute(owner, ann)
    block(owner, ann)
    for url in [*ACTIONS, "/@ann/mute-notifications/"]:
        response = client.post(url, {"username": "ann"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post("/settings/notifications/", {"kinds": ["followed"]})
    assert response["Location"].startswith("/accounts/login/")
    assert MutedActor.objects.count() == 1 and Block.objects.count() == 1
    assert not DisabledKind.objects.exists()


@pytest.mark.parametrize("url", [*ACTIONS, "/@ann/mute-notifications/"])
def test_changes_are_post_only(client, member, url):
    UserFactory(username="ann")
    assert client.get(url).status_code == 405


def test_the_blocked_list_is_read_only(client, member):
    block(member, UserFactory(username="ann"))
    assert client.post("/settings/blocked/", {"username": "ann"}).status_code == 405
    assert Block.objects.count() == 1


def test_changes_need_the_csrf_token(member):
    ann = UserFactory(username="ann")
    mute(member, ann)
    block(member, ann)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(member)
    posts = [
        ("/settings/notifications/", {"kinds": ["followed"]}),
        ("/settings/notifications/unmute/", {"username": "ann"}),
        ("/settings/blocked/unblock/", {"username": "ann"}),
        ("/@ann/mute-notifications/", {"action": "unmute"}),
    ]
    for url, data in posts:
        assert strict.post(url, data).status_code == 403
    assert MutedActor.objects.count() == 1 and Block.objects.count() == 1
    assert not DisabledKind.objects.exists()


def test_the_top_bar_links_to_settings(client, member):
    html = page(client, "/notifications/")
    assert 'href="/settings/profile/" data-nav-settings' in html
    # Marked current on every settings page.
    for url in PAGES:
        assert 'aria-current="page" data-nav-settings' in page(client, url)


# --- notification kinds ------------------------------------------------------------------------


def test_every_kind_is_a_checkbox_with_its_label_and_explanation(client, member):
    DisabledKind.objects.create(user=member, kind=KINDS.PINGED)
    html = page(client, "/settings/notifications/")
    for kind in KINDS:
        assert f'name="on" value="{kind.value}"' in html
        assert f'<label for="kind-{kind.value}">{kind.label}</label>' in html
        assert KIND_EXPLANATIONS[kind].replace("'", "&#x27;") in html
    assert 'value="pinged" id="kind-pinged" aria-describedby="kind-pinged-help">' in html
    assert 'value="followed" id="kind-followed" aria-describedby="kind-followed-help" checked>' in (
        html
    )


def test_saving_changes_exactly_the_kinds_submitted(client, member):
    DisabledKind.objects.create(user=member, kind=KINDS.FOLLOWED)
    DisabledKind.objects.create(user=member, kind=KINDS.PINGED)
    # The form names went_live (unticked: off) and followed (ticked: on); pinged is not named.
    response = client.post(
        "/settings/notifications/",
        {"kinds": [KINDS.WENT_LIVE, KINDS.FOLLOWED], "on": [KINDS.FOLLOWED]},
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/notifications/"
    assert disabled(member) == {KINDS.WENT_LIVE, KINDS.PINGED}
    follow_up = client.get(response["Location"])
    assert "Your notification settings were saved." in messages_of(follow_up)


def test_saving_the_whole_form_twice_is_harmless(client, member):
    everything = {"kinds": list(KINDS.values), "on": [KINDS.FOLLOWED, KINDS.PINGED]}
    client.post("/settings/notifications/", everything)
    client.post("/settings/notifications/", everything)
    assert disabled(member) == set(KINDS.values) - {KINDS.FOLLOWED, KINDS.PINGED}
    # All ticked: all on again.
    client.post("/settings/notifications/", {"kinds": list(KINDS.values), "on": KINDS.values})
    assert disabled(member) == set()


def test_an_unknown_kind_is_explained_and_nothing_changes(client, member):
    response = client.post(
        "/settings/notifications/", {"kinds": [KINDS.FOLLOWED, "gossip"], "on": ["gossip"]}
    )
    assert response.status_code == 400
    assert "Unknown notification kind: gossip." in messages_of(response)
    assert "Unknown notification kind: gossip." in response.content.decode()
    assert disabled(member) == set()


def test_an_empty_form_is_explained(client, member):
    response = client.post("/settings/notifications/", {})
    assert response.status_code == 400
    assert "Nothing to save: the form named no kind of notification." in messages_of(response)


def test_saving_never_touches_another_members_kinds(client, member):
    other = UserFactory()
    DisabledKind.objects.create(user=other, kind=KINDS.FOLLOWED)
    client.post("/settings/notifications/", {"kinds": list(KINDS.values), "on": KINDS.values})
    assert disabled(other) == {KINDS.FOLLOWED}


# --- muted people ------------------------------------------------------------------------------


def test_muted_people_newest_first_with_avatar_and_profile_link(client, member):
    mute(member, UserFactory(username="older", display_name="Olive Older"), minutes_ago=10)
    mute(member, UserFactory(username="newer", display_name="Ned Newer"), minutes_ago=1)
    html = page(client, "/settings/notifications/")
    assert html.index('data-muted="newer"') < html.index('data-muted="older"')
    assert '<a href="/@newer">Ned Newer</a>' in html
    assert '<span class="avatar" aria-hidden="true">NN</span>' in html
    assert 'aria-label="Unmute Olive Older">Unmute</button>' in html
    assert "You haven't muted anyone." not in html


def test_no_muted_people_says_so(client, member):
    assert "You haven't muted anyone." in page(client, "/settings/notifications/")


def test_another_members_mutes_never_show(client, member):
    other = UserFactory()
    mute(other, UserFactory(username="secret", display_name="Secret Sam"))
    html = page(client, "/settings/notifications/")
    assert "secret" not in html.lower()
    assert "You haven't muted anyone." in html


def test_unmute_from_settings_goes_through_the_service_and_is_idempotent(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    mute(member, ann)
    response = client.post("/settings/notifications/unmute/", {"username": "Ann"})
    assert response.status_code == 302
    assert response["Location"] == "/settings/notifications/#muted"
    assert not MutedActor.objects.exists()
    follow_up = client.get(response["Location"])
    assert "You unmuted Ann: their notifications reach you again." in messages_of(follow_up)
    again = client.post("/settings/notifications/unmute/", {"username": "ann"}, follow=True)
    assert again.status_code == 200
    assert not MutedActor.objects.exists()


def test_unmute_keeps_your_place_in_the_list(client, member):
    ann = UserFactory(username="ann")
    row = mute(member, ann)
    response = client.post(
        "/settings/notifications/unmute/", {"username": "ann", "before": str(row.pk + 1)}
    )
    assert response["Location"] == f"/settings/notifications/?before={row.pk + 1}#muted"
    # A cursor that is not a number is dropped, never echoed into the address.
    response = client.post(
        "/settings/notifications/unmute/", {"username": "ann", "before": "1//evil.example"}
    )
    assert response["Location"] == "/settings/notifications/#muted"


def test_unmuting_an_unknown_member_is_explained(client, member):
    other = UserFactory()
    mute(other, UserFactory(username="ann"))
    response = client.post("/settings/notifications/unmute/", {"username": "nobody"}, follow=True)
    assert response.status_code == 200
    assert "No member has the username “nobody”." in messages_of(response)
    assert MutedActor.objects.count() == 1


def test_unmute_touches_only_your_own_mute(client, member):
    ann = UserFactory(username="ann")
    other = UserFactory()
    mute(other, ann)
    client.post("/settings/notifications/unmute/", {"username": "ann"})
    assert MutedActor.objects.filter(user=other, muted=ann).exists()


def test_long_mute_lists_page_with_an_older_link(client, member):
    people = [UserFactory() for _ in range(53)]
    rows = [mute(member, person, minutes_ago=i) for i, person in enumerate(people)]
    first = page(client, "/settings/notifications/")
    assert first.count("data-muted=") == 50
    cursor = rows[49].pk
    assert f'href="?before={cursor}#muted"' in first
    second = page(client, f"/settings/notifications/?before={cursor}")
    shown = [p.username for p in people if f'data-muted="{p.username}"' in second]
    assert shown == [p.username for p in people[50:]]
    assert 'href="?before=' not in second  # the last page: no "Older"
    assert "Back to the most recent" in second
    assert f'name="before" value="{cursor}"' in second


@pytest.mark.parametrize("before", ["abc", "²", "9" * 30, "-1"])
def test_a_bad_cursor_is_the_first_page(client, member, before):
    mute(member, UserFactory(username="ann"))
    assert 'data-muted="ann"' in page(client, f"/settings/notifications/?before={before}")


@pytest.mark.parametrize("rows", [1, 60])
def test_the_notification_settings_page_costs_the_same_queries_at_any_length(
    client, member, rows, django_assert_num_queries
):
    for i in range(rows):
        mute(member, UserFactory(), minutes_ago=i)
    DisabledKind.objects.create(user=member, kind=KINDS.FOLLOWED)
    # The member, their kinds switched off, one page of muted people, the bell's count.
    with django_assert_num_queries(4):
        page(client, "/settings/notifications/")
    cursor = MutedActor.objects.order_by("-created_at")[0].pk
    # An "Older" page also reads where its cursor stands.
    with django_assert_num_queries(5):
        page(client, f"/settings/notifications/?before={cursor}")


# --- blocked members ---------------------------------------------------------------------------


def test_blocked_members_newest_first_and_says_they_are_not_told(client, member):
    block(member, UserFactory(username="older", display_name="Olive Older"), minutes_ago=10)
    block(member, UserFactory(username="newer", display_name="Ned Newer"), minutes_ago=1)
    html = page(client, "/settings/blocked/")
    assert html.index('data-blocked="newer"') < html.index('data-blocked="older"')
    assert '<a href="/@older">Olive Older</a>' in html
    assert '<span class="avatar" aria-hidden="true">OO</span>' in html
    assert 'aria-label="Unblock Ned Newer">Unblock</button>' in html
    assert "Blocked members are not told." in html


def test_no_blocked_members_says_so(client, member):
    assert "You haven't blocked anyone." in page(client, "/settings/blocked/")


def test_another_members_blocks_never_show(client, member):
    block(UserFactory(), UserFactory(username="secret"))
    block(UserFactory(username="blocker"), member)  # nor who blocked you
    html = page(client, "/settings/blocked/")
    assert "secret" not in html and "blocker" not in html
    assert "You haven't blocked anyone." in html


def test_unblock_goes_through_the_service_and_is_idempotent(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    block(member, ann)
    response = client.post("/settings/blocked/unblock/", {"username": "ann"})
    assert response.status_code == 302
    assert response["Location"] == "/settings/blocked/"
    assert not Block.objects.exists()
    # The service's audit row: the unblock went through moderation.services.block_delete.
    assert AuditLog.objects.filter(actor=member, target_user=ann).count() == 1
    assert "You unblocked Ann." in messages_of(client.get(response["Location"]))
    again = client.post("/settings/blocked/unblock/", {"username": "ann"}, follow=True)
    assert again.status_code == 200
    assert "Ann was not blocked." in messages_of(again)
    assert AuditLog.objects.filter(actor=member, target_user=ann).count() == 1


def test_unblocking_an_unknown_member_or_yourself_is_explained(client, member):
    response = client.post("/settings/blocked/unblock/", {"username": "nobody"}, follow=True)
    assert "No member has the username “nobody”." in messages_of(response)
    response = client.post("/settings/blocked/unblock/", {"username": "member"}, follow=True)
    assert response.status_code == 200
    assert "You cannot block or unblock yourself." in messages_of(response)


def test_unblock_touches_only_your_own_block(client, member):
    ann = UserFactory(username="ann")
    other = UserFactory()
    block(other, ann)
    client.post("/settings/blocked/unblock/", {"username": "ann"})
    assert Block.objects.filter(blocker=other, blocked=ann).exists()


def test_long_block_lists_page_with_an_older_link(client, member):
    people = [UserFactory() for _ in range(52)]
    rows = [block(member, person, minutes_ago=i) for i, person in enumerate(people)]
    first = page(client, "/settings/blocked/")
    assert first.count("data-blocked=") == 50
    assert f'href="?before={rows[49].pk}"' in first
    second = page(client, f"/settings/blocked/?before={rows[49].pk}")
    assert [p.username for p in people if f'data-blocked="{p.username}"' in second] == [
        p.username for p in people[50:]
    ]
    response = client.post(
        "/settings/blocked/unblock/", {"username": people[51].username, "before": rows[49].pk}
    )
    assert response["Location"] == f"/settings/blocked/?before={rows[49].pk}"


@pytest.mark.parametrize("rows", [1, 60])
def test_the_blocked_page_costs_the_same_queries_at_any_length(
    client, member, rows, django_assert_num_queries
):
    for i in range(rows):
        block(member, UserFactory(), minutes_ago=i)
    # The member, one page of blocks with the blocked members, the bell's count.
    with django_assert_num_queries(3):
        page(client, "/settings/blocked/")


# --- the profile's toggle ----------------------------------------------------------------------


def test_mute_toggle_on_someone_elses_profile(client, member):
    ann = UserFactory(username="ann", display_name="Ann")
    html = page(client, "/@ann")
    assert 'action="/@ann/mute-notifications/"' in html
    assert ">Mute notifications</button>" in html
    response = client.post("/@ann/mute-notifications/")
    assert response.status_code == 302 and response["Location"] == "/@ann"
    assert MutedActor.objects.filter(user=member, muted=ann).exists()
    follow_up = client.get("/@ann")
    assert "You muted Ann: nothing they do notifies you now. They are not told." in messages_of(
        follow_up
    )
    html = follow_up.content.decode()
    assert '<input type="hidden" name="action" value="unmute">' in html
    assert ">Unmute notifications</button>" in html
    # Twice is harmless.
    client.post("/@ann/mute-notifications/")
    assert MutedActor.objects.filter(user=member, muted=ann).count() == 1
    client.post("/@ann/mute-notifications/", {"action": "unmute"})
    assert not MutedActor.objects.exists()
    assert ">Mute notifications</button>" in page(client, "/@ann")
    client.post("/@ann/mute-notifications/", {"action": "unmute"})
    assert not MutedActor.objects.exists()


def test_the_toggle_shows_only_your_own_mute(client, member):
    ann = UserFactory(username="ann")
    mute(UserFactory(), ann)  # someone else muted her
    assert ">Mute notifications</button>" in page(client, "/@ann")
    mute(ann, member)  # she muted you: you are not told
    assert ">Unmute notifications</button>" not in page(client, "/@ann")


def test_no_toggle_on_your_own_profile(client, member):
    html = page(client, "/@member")
    assert "mute-notifications" not in html


def test_muting_yourself_or_an_unknown_member(client, member):
    response = client.post("/@member/mute-notifications/", follow=True)
    assert response.status_code == 200
    assert "You cannot mute your own notifications." in messages_of(response)
    assert not MutedActor.objects.exists()
    assert client.post("/@nobody/mute-notifications/").status_code == 404
    assert client.post("/@nobody/mute-notifications/", {"action": "unmute"}).status_code == 404


def test_a_muted_member_causes_no_notification(client, member):
    """The toggle is the real mute: the fan-out's eligibility leaves the member out."""
    from notifications.selectors import eligible_recipients

    ann = UserFactory(username="ann")
    client.post("/@ann/mute-notifications/")
    eligible = eligible_recipients(candidates=[member.pk], kind=KINDS.FOLLOWED, actor_id=ann.pk)
    assert not eligible.exists()
    client.post("/@ann/mute-notifications/", {"action": "unmute"})
    assert eligible.exists()


def test_a_nul_in_a_username_is_an_unknown_member_not_a_500(client, member):
    # PostgreSQL text cannot hold NUL: the lookup must not reach the database with one.
    block(member, UserFactory(username="ann"))
    response = client.post("/settings/blocked/unblock/", {"username": "a\x00nn"}, follow=True)
    assert "No member has that username." in messages_of(response)
    response = client.post("/settings/notifications/unmute/", {"username": "a\x00nn"}, follow=True)
    assert "No member has that username." in messages_of(response)
    assert client.post("/@a%00nn/mute-notifications/").status_code == 404
    assert Block.objects.count() == 1


def test_the_notifications_page_links_to_its_settings(client, member):
    assert 'href="/settings/notifications/">Notification settings</a>' in page(
        client, "/notifications/"
    )


def test_the_profile_knows_your_mute_within_its_one_query(member, django_assert_num_queries):
    from accounts.selectors import profile_get

    ann = UserFactory(username="ann")
    bob = UserFactory(username="bob")
    mute(member, ann)
    mute(bob, member)
    with django_assert_num_queries(1):
        assert profile_get(viewer=member, username="ann").muted_by_you is True
    with django_assert_num_queries(1):
        assert profile_get(viewer=member, username="bob").muted_by_you is False
