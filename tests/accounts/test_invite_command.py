"""`manage.py invite` prints a signup link that works."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Invitation, User
from tests.factories import PASSWORD, UserFactory


def run(**options) -> str:
    out = StringIO()
    call_command("invite", stdout=out, **options)
    return out.getvalue()


def test_invite_prints_a_working_signup_link(client, db, settings):
    settings.SITE_URL = "https://audio.example.org"
    UserFactory(username="admin", is_staff=True)
    output = run(inviter="admin")
    link = output.strip().splitlines()[-1]
    invitation = Invitation.objects.get()
    assert link == f"https://audio.example.org/accounts/signup/?invite={invitation.code}"

    path = link.removeprefix("https://audio.example.org")
    assert "account/signup.html" in [t.name for t in client.get(path).templates]
    response = client.post(
        "/accounts/signup/",
        {
            "username": "first",
            "email": "first@example.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "invitation": invitation.code,
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="first").nominated_by.username == "admin"


def test_invite_with_email_restriction(db):
    UserFactory(username="ann")
    output = run(inviter="ANN", email="pal@example.test")
    assert "for pal@example.test" in output
    assert Invitation.objects.get().email == "pal@example.test"


def test_invite_unknown_inviter_fails_clearly(db):
    with pytest.raises(CommandError, match="No member is called 'ghost'"):
        run(inviter="ghost")


def test_invite_respects_quota(db, settings):
    settings.INVITATIONS_PER_MEMBER = 1
    UserFactory(username="bob")
    run(inviter="bob")
    with pytest.raises(CommandError, match="no invitations left"):
        run(inviter="bob")


def test_devsetup_prints_an_invitation_for_admin(db):
    out = StringIO()
    call_command("devsetup", stdout=out)
    assert "/accounts/signup/?invite=" in out.getvalue()
    assert Invitation.objects.filter(created_by__username="admin").count() == 1
