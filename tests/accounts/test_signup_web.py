"""The browser signup: closed without an invitation; the link or a typed code opens it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.forms import SESSION_KEY
from accounts.models import User
from accounts.selectors import INVITATION_ERRORS
from tests.factories import PASSWORD, InvitationFactory, UserFactory

SIGNUP = "/accounts/signup/"


def form_data(**fields):
    data = {
        "username": "newbie",
        "email": "newbie@example.test",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(fields)
    return data


def make_bad(invitation, kind: str) -> str:
    """Turn a fresh invitation into one refused for ``kind``; return the code to try."""
    if kind == "malformed":
        return "not-a-code"
    if kind == "unknown":
        return "B" * 32
    if kind == "expired":
        invitation.expires_at = timezone.now() - timedelta(seconds=1)
    elif kind == "used":
        invitation.used_by = UserFactory()
        invitation.used_at = timezone.now()
    elif kind == "revoked":
        invitation.revoked_at = timezone.now()
    elif kind == "email_mismatch":
        invitation.email = "someone.else@example.test"
    invitation.save()
    return invitation.code


BAD_KINDS = ["malformed", "unknown", "expired", "used", "revoked", "email_mismatch"]


def test_signup_page_without_invitation_says_invitation_only(client, db):
    response = client.get(SIGNUP)
    assert response.status_code == 200
    assert "account/signup_closed.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert "Signing up needs an invitation" in html
    assert "ask a member to send you an invitation link" in html
    assert 'name="invite"' in html  # a code can be typed in here
    assert 'name="password1"' not in html


def test_signup_link_opens_the_form_with_the_code_filled_in(client, invitation):
    response = client.get(SIGNUP, {"invite": invitation.code})
    assert response.status_code == 200
    assert "account/signup.html" in [t.name for t in response.templates]
    assert f'value="{invitation.code}"' in response.content.decode()
    # Remembered: coming back to the bare signup page still shows the form.
    assert client.session[SESSION_KEY] == invitation.code
    again = client.get(SIGNUP)
    assert "account/signup.html" in [t.name for t in again.templates]


def test_signup_through_the_link_creates_member_nominated_by_inviter(
    client, invitation, notify_calls, django_capture_on_commit_callbacks
):
    client.get(SIGNUP, {"invite": invitation.code})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, form_data(invitation=invitation.code))

    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="newbie")
    assert user.nominated_by == invitation.created_by
    invitation.refresh_from_db()
    assert invitation.used_by == user
    assert notify_calls == [{"inviter_id": invitation.created_by_id, "new_member_id": user.pk}]
    assert SESSION_KEY not in client.session
    # Signed in, and the profile shows who nominated them.
    profile = client.get("/@newbie").content.decode()
    assert 'href="/@inviter"' in profile and "Nominated by" in profile


def test_signup_with_a_typed_code_and_no_link(client, invitation):
    # A pasted full link is understood as well as the bare code.
    pasted = f"http://127.0.0.1:8000/accounts/signup/?invite={invitation.code}"
    response = client.post(SIGNUP, form_data(invitation=f"  {pasted} "))
    assert response.status_code == 302
    assert User.objects.get(username="newbie").nominated_by == invitation.created_by


def test_signup_post_without_code_is_refused_with_its_message(client, db):
    response = client.post(SIGNUP, form_data())
    assert response.status_code == 200
    assert response.context["form"].errors["invitation"] == [
        INVITATION_ERRORS["invitation_required"]
    ]
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_typed_bad_code_is_refused_with_its_own_message(client, inviter, kind):
    code = make_bad(InvitationFactory(created_by=inviter), kind)
    response = client.post(SIGNUP, form_data(invitation=code))

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["invitation"]
    assert [e.code for e in errors] == [f"invitation_{kind}"]
    assert not User.objects.filter(username="newbie").exists()
    assert errors[0].message in response.content.decode().replace("&#x27;", "'")


@pytest.mark.parametrize("kind", [k for k in BAD_KINDS if k != "email_mismatch"])
def test_bad_code_in_the_link_shows_why_on_the_closed_page(client, inviter, kind):
    code = make_bad(InvitationFactory(created_by=inviter), kind)
    response = client.get(SIGNUP, {"invite": code})

    assert "account/signup_closed.html" in [t.name for t in response.templates]
    assert f'data-code="invitation_{kind}"' in response.content.decode()
    assert SESSION_KEY not in client.session


def test_each_refusal_has_a_distinct_message():
    messages = list(INVITATION_ERRORS.values())
    assert len(set(messages)) == len(messages)


def test_email_restricted_invitation_admits_its_address(client, inviter):
    invitation = InvitationFactory(created_by=inviter, email="friend@example.test")
    response = client.post(
        SIGNUP, form_data(invitation=invitation.code, email="Friend@Example.test")
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").nominated_by == inviter


def test_remembered_code_used_meanwhile_closes_signup_with_reason(client, invitation):
    client.get(SIGNUP, {"invite": invitation.code})
    invitation.used_by = UserFactory()
    invitation.used_at = timezone.now()
    invitation.save()

    response = client.get(SIGNUP)
    assert "account/signup_closed.html" in [t.name for t in response.templates]
    assert 'data-code="invitation_used"' in response.content.decode()


def test_failed_signup_does_not_consume_the_invitation(client, invitation):
    response = client.post(SIGNUP, form_data(invitation=invitation.code, password2="different"))
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    invitation.refresh_from_db()
    assert invitation.used_at is None and invitation.used_by is None

    assert client.post(SIGNUP, form_data(invitation=invitation.code)).status_code == 302


def test_username_differing_only_in_case_is_refused(client, invitation):
    UserFactory(username="Alice")
    response = client.post(SIGNUP, form_data(invitation=invitation.code, username="aLICE"))
    assert response.status_code == 200
    assert "username" in response.context["form"].errors
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_code_taken_between_check_and_save_reshows_the_form(client, invitation, monkeypatch):
    """The race seen from the loser's side: valid when checked, used when redeemed."""
    from accounts import forms

    real = forms.invitation_get_usable

    def check_then_lose_race(**kwargs):
        found = real(**kwargs)
        found.__class__.objects.filter(pk=found.pk).update(
            used_by=UserFactory(), used_at=timezone.now()
        )
        return found

    monkeypatch.setattr(forms, "invitation_get_usable", check_then_lose_race)
    response = client.post(SIGNUP, form_data(invitation=invitation.code))

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["invitation"]] == [
        "invitation_used"
    ]
    assert not User.objects.filter(username="newbie").exists()


def test_login_page_renders_and_signs_in_case_insensitively(client, db):
    UserFactory(username="dora")
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert 'name="login"' in page.content.decode()
    response = client.post("/accounts/login/", {"login": "DORA", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/api/me/").json()["username"] == "dora"
