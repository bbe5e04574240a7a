"""The headless API (non-browser clients) enforces the same invitation gate as the web form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Invitation, User
from tests.factories import PASSWORD, InvitationFactory, UserFactory

SIGNUP = "/_allauth/app/v1/auth/signup"
LOGIN = "/_allauth/app/v1/auth/login"


def signup(api, **fields):
    body = {"username": "newbie", "email": "newbie@example.test", "password": PASSWORD}
    body.update(fields)
    return api.post(SIGNUP, body, format="json")


def error_codes(response) -> dict[str, str]:
    return {e.get("param", "__all__"): e["code"] for e in response.json()["errors"]}


def test_headless_signup_without_invitation_is_refused(api):
    response = signup(api)
    assert response.status_code == 400
    assert error_codes(response)["invitation"] == "invitation_required"
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize(
    ("make_code", "expected"),
    [
        (lambda inv: "not a code!", "invitation_malformed"),
        (lambda inv: "A" * 32, "invitation_unknown"),
        (lambda inv: inv.code, "invitation_expired"),
        (lambda inv: inv.code, "invitation_used"),
        (lambda inv: inv.code, "invitation_revoked"),
        (lambda inv: inv.code, "invitation_email_mismatch"),
    ],
    ids=["malformed", "unknown", "expired", "used", "revoked", "other-email"],
)
def test_headless_signup_refuses_each_bad_code_with_its_own_code(api, inviter, make_code, expected):
    invitation = InvitationFactory(created_by=inviter)
    if expected == "invitation_expired":
        invitation.expires_at = timezone.now() - timedelta(minutes=1)
    elif expected == "invitation_used":
        invitation.used_by = UserFactory()
        invitation.used_at = timezone.now()
    elif expected == "invitation_revoked":
        invitation.revoked_at = timezone.now()
    elif expected == "invitation_email_mismatch":
        invitation.email = "someone.else@example.test"
    invitation.save()

    response = signup(api, invitation=make_code(invitation))

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [e["code"] for e in errors if e.get("param") == "invitation"] == [expected]
    assert not User.objects.filter(username="newbie").exists()


def test_headless_signup_with_invitation_creates_member_and_session_token(
    api, invitation, notify_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signup(api, invitation=invitation.code)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    token = body["meta"]["session_token"]
    user = User.objects.get(username="newbie")
    assert user.nominated_by == invitation.created_by
    invitation.refresh_from_db()
    assert invitation.used_by == user and invitation.used_at is not None
    assert notify_calls == [{"inviter_id": invitation.created_by_id, "new_member_id": user.pk}]

    me = api.get("/api/me/", HTTP_X_SESSION_TOKEN=token)
    assert me.status_code == 200
    assert me.json()["username"] == "newbie"
    assert me.json()["nominated_by"] == "inviter"
    assert me.json()["email"] == "newbie@example.test"


def test_headless_signup_failure_does_not_consume_the_invitation(api, invitation):
    response = signup(api, invitation=invitation.code, password="short")

    assert response.status_code == 400
    assert "password" in error_codes(response)
    invitation.refresh_from_db()
    assert invitation.used_at is None
    assert signup(api, invitation=invitation.code).status_code == 200


def test_headless_signup_refuses_username_differing_only_in_case(api, invitation):
    UserFactory(username="Taken")
    response = signup(api, invitation=invitation.code, username="tAKEN")
    assert response.status_code == 400
    assert error_codes(response)["username"] == "username_taken"
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_full_non_browser_flow_invite_a_friend_who_signs_up(api, invitation, notify_calls):
    """Signs up with an invitation, gets a token, invites a friend, the friend signs up."""
    token = signup(api, invitation=invitation.code).json()["meta"]["session_token"]
    headers = {"HTTP_X_SESSION_TOKEN": token}

    listing = api.get("/api/invitations/", **headers).json()
    assert listing["quota"] == {"total": 2, "used": 0, "remaining": 2, "unlimited": False}

    created = api.post("/api/invitations/", {}, format="json", **headers)
    assert created.status_code == 201
    friend_code = created.json()["code"]
    assert created.json()["url"].endswith(f"/accounts/signup/?invite={friend_code}")

    friend = type(api)()
    response = friend.post(
        SIGNUP,
        {
            "username": "friend",
            "email": "friend@example.test",
            "password": PASSWORD,
            "invitation": friend_code,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    friend_token = response.json()["meta"]["session_token"]
    profile = friend.get("/api/users/FRIEND/", HTTP_X_SESSION_TOKEN=friend_token).json()
    assert profile["nominated_by"] == "newbie"

    listing = api.get("/api/invitations/", **headers).json()
    assert listing["quota"]["remaining"] == 1
    assert [m["username"] for m in listing["joined"]] == ["friend"]
    assert listing["invitations"][0]["status"] == "used"
    assert listing["invitations"][0]["used_by"] == "friend"


def test_headless_login_returns_a_token_that_authenticates_rest_calls(api):
    UserFactory(username="carol")
    response = api.post(LOGIN, {"username": "CAROL", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["meta"]["session_token"]
    assert api.get("/api/me/", HTTP_X_SESSION_TOKEN=token).json()["username"] == "carol"
    assert api.get("/api/me/").status_code == 401


def test_invitation_codes_are_long_random_and_unique(inviter):
    codes = {InvitationFactory(created_by=inviter).code for _ in range(50)}
    assert len(codes) == 50
    assert all(len(code) == 32 for code in codes)
    assert Invitation.objects.count() == 50
