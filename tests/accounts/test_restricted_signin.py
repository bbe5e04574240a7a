"""A suspended or banned member who signs in is told why, on the web form and in the headless
API, but only once the password is right (a wrong one stays the usual "incorrect")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from moderation.models import Sanction
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HEADLESS_LOGIN = "/_allauth/app/v1/auth/login"
UNTIL = datetime(2031, 3, 4, 17, 30, tzinfo=UTC)


def sanction(user, kind, *, ends_at=None, lifted=False):
    return Sanction.objects.create(
        user=user,
        kind=kind,
        reason="test",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=ends_at,
        lifted_at=timezone.now() if lifted else None,
    )


def web_login(login, password=PASSWORD):
    client = Client()
    response = client.post("/accounts/login/", {"login": login, "password": password})
    return response, "_auth_user_id" in client.session


def headless_login(username, password=PASSWORD):
    return Client().post(
        HEADLESS_LOGIN,
        {"username": username, "password": password},
        content_type="application/json",
    )


@pytest.fixture
def suspended():
    user = UserFactory(username="sus")
    sanction(user, Sanction.Kind.SUSPENSION, ends_at=UNTIL)
    return user


@pytest.fixture
def banned():
    user = UserFactory(username="gone")
    sanction(user, Sanction.Kind.BAN)
    return user


def test_the_web_form_tells_a_suspended_member_until_when(suspended):
    response, signed_in = web_login("sus")
    assert not signed_in
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your account is suspended until 4 March 2031, 17:30 UTC." in page
    assert "not correct" not in page


def test_the_web_form_tells_a_banned_member_by_username_or_email(banned):
    for login in ("gone", banned.email):
        response, signed_in = web_login(login)
        assert not signed_in
        assert "This account has been banned." in response.content.decode()


def test_a_wrong_password_never_reveals_the_sanction(suspended, banned):
    for login in ("sus", "gone"):
        response, signed_in = web_login(login, password="not the password")
        page = response.content.decode()
        assert not signed_in
        assert "suspended" not in page and "banned" not in page
        refused = headless_login(login, password="not the password")
        assert refused.status_code == 400
        body = refused.content.decode()
        assert "suspended" not in body and "banned" not in body


def test_the_headless_api_answers_400_with_the_reason(suspended, banned):
    refused = headless_login("sus")
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert {"code": "account_suspended"}.items() <= errors[0].items()
    assert errors[0]["message"] == "Your account is suspended until 4 March 2031, 17:30 UTC."
    assert "session_token" not in refused.content.decode()

    refused = headless_login("gone")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "account_banned"
    assert refused.json()["errors"][0]["message"] == "This account has been banned."


def test_a_ban_outweighs_a_suspension_and_a_lifted_sanction_counts_for_nothing():
    both = UserFactory(username="both")
    sanction(both, Sanction.Kind.SUSPENSION, ends_at=UNTIL)
    sanction(both, Sanction.Kind.BAN)
    assert headless_login("both").json()["errors"][0]["code"] == "account_banned"

    forgiven = UserFactory(username="forgiven")
    sanction(forgiven, Sanction.Kind.BAN, lifted=True)
    sanction(forgiven, Sanction.Kind.SUSPENSION, ends_at=timezone.now() - timedelta(minutes=1))
    assert headless_login("forgiven").status_code == 200
    assert web_login("forgiven")[1]
