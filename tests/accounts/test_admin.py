"""Admin: members with profile, inviter and invitations; invitation search and revocation."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import InvitationFactory, UserFactory


@pytest.fixture
def staff_client(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    return client


def test_user_admin_shows_invited_by_chain_and_invitations(staff_client):
    founder = UserFactory(username="founder")
    middle = UserFactory(username="middle", nominated_by=founder)
    leaf = UserFactory(username="leaf", nominated_by=middle)
    pending = InvitationFactory(created_by=leaf)

    html = staff_client.get(f"/admin/accounts/user/{leaf.pk}/change/").content.decode()
    assert f'<a href="/admin/accounts/user/{middle.pk}/change/">middle</a>' in html
    assert f'<a href="/admin/accounts/user/{founder.pk}/change/">founder</a>' in html
    assert html.index(">middle</a>") < html.index(">founder</a>")
    assert pending.code in html  # staff see codes
    assert "display_name" in html and "extra_invitations" in html

    root_page = staff_client.get(f"/admin/accounts/user/{founder.pk}/change/")
    assert "a founding member" in root_page.content.decode()


def test_user_admin_lists_and_searches(staff_client):
    UserFactory(username="findme", display_name="Find Me")
    response = staff_client.get("/admin/accounts/user/", {"q": "Find"})
    assert response.status_code == 200
    assert "findme" in response.content.decode()


def test_user_admin_can_grant_extra_invitations(staff_client):
    member = UserFactory(username="granted", display_name="G")
    data = {
        "username": "granted",
        "display_name": "G",
        "email": member.email,
        "bio": "",
        "extra_invitations": 5,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": member.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": member.date_joined.strftime("%H:%M:%S"),
        "invitations_sent-TOTAL_FORMS": 0,
        "invitations_sent-INITIAL_FORMS": 0,
    }
    response = staff_client.post(f"/admin/accounts/user/{member.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    member.refresh_from_db()
    assert member.extra_invitations == 5
    page = staff_client.get(f"/admin/accounts/user/{member.pk}/change/").content.decode()
    assert "7 of 7" in page  # 2 by default + 5 granted, none used


def test_invitation_admin_search_and_revoke_action(staff_client):
    keep = InvitationFactory(email="keep@example.test")
    target = InvitationFactory(email="spam@example.test")
    used = InvitationFactory(used_by=UserFactory(), used_at=timezone.now())

    found = staff_client.get("/admin/accounts/invitation/", {"q": "spam@"}).content.decode()
    assert "spam@example.test" in found and "keep@example.test" not in found

    response = staff_client.post(
        "/admin/accounts/invitation/",
        {"action": "revoke_selected", "_selected_action": [target.pk, used.pk]},
        follow=True,
    )
    assert response.status_code == 200
    target.refresh_from_db()
    used.refresh_from_db()
    keep.refresh_from_db()
    assert target.revoked_at is not None
    assert used.revoked_at is None  # used ones are left alone
    assert keep.revoked_at is None
    assert "Revoked 1 invitation" in response.content.decode()


def test_invitation_admin_is_staff_only(client, db):
    client.force_login(UserFactory())
    assert client.get("/admin/accounts/invitation/").status_code == 302


def test_user_admin_add_page_creates_member(staff_client):
    assert staff_client.get("/admin/accounts/user/add/").status_code == 200
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "added",
            "email": "added@example.test",
            "password1": "a long passphrase 123",
            "password2": "a long passphrase 123",
            "usable_password": "true",
            "invitations_sent-TOTAL_FORMS": 0,
            "invitations_sent-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    duplicate = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "username": "ADDED",
            "password1": "a long passphrase 123",
            "password2": "a long passphrase 123",
            "usable_password": "true",
            "invitations_sent-TOTAL_FORMS": 0,
            "invitations_sent-INITIAL_FORMS": 0,
        },
    )
    assert duplicate.status_code == 200
    assert "username" in duplicate.context["adminform"].form.errors
