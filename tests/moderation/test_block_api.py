"""``/api/users/<username>/block/`` and ``/api/blocks/``."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from moderation.models import Block
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


@pytest.fixture
def client(alice):
    api = APIClient()
    api.force_authenticate(alice)
    return api


def test_block_then_unblock_over_rest(client, alice):
    bob = UserFactory(username="bob")

    created = client.post("/api/users/Bob/block/")
    assert created.status_code == 201
    assert created.json()["user"]["username"] == "bob"
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()

    again = client.post("/api/users/bob/block/")
    assert again.status_code == 200

    gone = client.delete("/api/users/bob/block/")
    assert gone.status_code == 204
    assert not Block.objects.exists()
    assert client.delete("/api/users/bob/block/").status_code == 204


def test_blocking_yourself_is_a_clear_400(client):
    response = client.post("/api/users/alice/block/")
    assert response.status_code == 400
    assert response.json()["code"] == "cannot_block_self"
    assert not Block.objects.exists()


def test_blocking_a_missing_member_is_a_clear_404(client):
    response = client.post("/api/users/nobody-here/block/")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "user_not_found" and "nobody-here" in body["message"]


def test_blocking_needs_a_signed_in_member():
    UserFactory(username="bob")
    response = APIClient().post("/api/users/bob/block/")
    assert response.status_code in (401, 403)
    assert not Block.objects.exists()


def test_blocks_list_shows_only_your_own_blocks_newest_first(client, alice):
    bob, carol, dave = UserFactory(username="bob"), UserFactory(username="carol"), UserFactory()
    client.post("/api/users/bob/block/")
    client.post("/api/users/carol/block/")
    Block.objects.create(blocker=dave, blocked=alice)

    response = client.get("/api/blocks/")

    assert response.status_code == 200
    names = [item["user"]["username"] for item in response.json()["results"]]
    assert names == ["carol", "bob"]
    assert bob.pk and carol.pk


def test_blocks_list_query_count_is_constant(client, alice, django_assert_num_queries):
    for size in (2, 15):
        for _ in range(size):
            Block.objects.create(blocker=alice, blocked=UserFactory())
        with django_assert_num_queries(1):
            response = client.get("/api/blocks/")
        assert len(response.json()["results"]) == min(20, Block.objects.count())


def test_a_deactivated_member_leaves_the_block_list_everywhere_and_the_block_stays(client, alice):
    """Unblocking them by name would be a 404 (they cannot be acted on by name), so neither the
    API nor the settings page lists them; the block is kept for if the account comes back."""
    from django.test import Client

    UserFactory(username="bob")
    gone = UserFactory(username="vanished_member")
    client.post("/api/users/vanished_member/block/")
    client.post("/api/users/bob/block/")
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    page = Client()
    page.force_login(alice)

    listed = [item["user"]["username"] for item in client.get("/api/blocks/").json()["results"]]
    html = page.get("/settings/blocked/").content.decode()

    assert listed == ["bob"]
    assert "bob" in html and "vanished_member" not in html
    assert client.delete("/api/users/vanished_member/block/").status_code == 404
    assert Block.objects.filter(blocker=alice, blocked=gone).exists()

    gone.is_active = True
    gone.save(update_fields=["is_active"])
    listed = [item["user"]["username"] for item in client.get("/api/blocks/").json()["results"]]
    assert listed == ["bob", "vanished_member"]
