"""A block, either way, hides the follow button on both members' profiles (web and API)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.selectors import profile_get
from moderation.models import Block
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    blocker = UserFactory(username="blocker", display_name="Blocker")
    blocked = UserFactory(username="blocked", display_name="Blocked")
    Block.objects.create(blocker=blocker, blocked=blocked)
    return blocker, blocked


def page(viewer, username) -> str:
    client = Client()
    client.force_login(viewer)
    response = client.get(f"/@{username}")
    assert response.status_code == 200
    return response.content.decode()


def api_profile(viewer, username) -> dict:
    client = APIClient()
    client.force_authenticate(viewer)
    return client.get(f"/api/users/{username}/").json()


def test_the_blocker_sees_unblock_and_no_follow_button(pair):
    blocker, blocked = pair
    html = page(blocker, "blocked")
    assert 'action="/@blocked/follow/"' not in html
    assert ">Unblock</button>" in html


def test_the_blocked_member_sees_no_follow_button_on_the_blockers_profile(pair):
    blocker, blocked = pair
    html = page(blocked, "blocker")
    assert 'action="/@blocker/follow/"' not in html
    # Still free to block them too, or to report them.
    assert ">Block</button>" in html and "Report" in html


def test_anyone_else_still_sees_the_follow_button(pair):
    bystander = UserFactory()
    for username in ("blocker", "blocked"):
        assert f'action="/@{username}/follow/"' in page(bystander, username)


def test_the_api_says_whether_to_offer_following(pair):
    blocker, blocked = pair
    bystander = UserFactory()
    assert api_profile(blocker, "blocked")["can_follow"] is False
    assert api_profile(blocker, "blocked")["blocked_by_you"] is True
    assert api_profile(blocked, "blocker")["can_follow"] is False
    # The blocked member is not told who blocked whom.
    assert api_profile(blocked, "blocker")["blocked_by_you"] is False
    assert "blocks_you" not in api_profile(blocked, "blocker")
    assert api_profile(bystander, "blocker")["can_follow"] is True
    assert api_profile(blocker, "blocker")["can_follow"] is False  # yourself


@pytest.mark.parametrize("blocks", [0, 12])
def test_the_profile_stays_one_query(blocks, django_assert_num_queries):
    viewer = UserFactory()
    UserFactory(username="member")
    for _ in range(blocks):
        Block.objects.create(blocker=viewer, blocked=UserFactory())
        Block.objects.create(blocker=UserFactory(), blocked=viewer)
    with django_assert_num_queries(1):
        profile = profile_get(viewer=viewer, username="member")
        assert (profile.blocked_by_you, profile.blocks_you) == (False, False)
