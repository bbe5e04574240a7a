"""Enumeration limits: profile lookups, invitation use, wrong-code guessing, signups, logins."""

from __future__ import annotations

from accounts.models import Invitation, User
from tests.factories import PASSWORD, InvitationFactory, UserFactory


def set_rate(settings, scope: str, rate: str) -> None:
    rest = dict(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], scope: rate}
    settings.REST_FRAMEWORK = rest


def test_profile_lookups_are_throttled(member_api, settings):
    set_rate(settings, "profile_lookup", "3/min")
    target = UserFactory()
    statuses = [member_api.get(f"/api/users/{target.username}/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = member_api.get("/api/users/anyone-else/")
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["details"]["retry_after_seconds"] > 0


def test_profile_pages_share_the_lookup_limit(client, settings, db):
    set_rate(settings, "profile_lookup", "2/min")
    viewer = UserFactory()
    target = UserFactory()
    client.force_login(viewer)
    statuses = [client.get(f"/@{target.username}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_invitation_creation_is_throttled(member_api, settings):
    set_rate(settings, "invitation", "2/hour")
    member_api.user.is_staff = True  # no quota in the way
    member_api.user.save()
    statuses = [member_api.post("/api/invitations/", {}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert Invitation.objects.count() == 2
    assert member_api.get("/api/invitations/").status_code == 200  # reading is not limited


def test_wrong_invitation_codes_are_limited_per_ip_even_before_a_right_one(
    client, settings, invitation
):
    settings.INVITATION_CODE_FAILURES_PER_HOUR = 3
    for n in range(3):
        response = client.post(
            "/accounts/signup/", {"username": f"guess{n}", "invitation": f"{n}" * 32}
        )
        codes = [e.code for e in response.context["form"].errors.as_data()["invitation"]]
        assert codes == ["invitation_unknown"]

    # The right code is no longer even checked from this address...
    response = client.post(
        "/accounts/signup/",
        {
            "username": "lucky",
            "email": "lucky@example.test",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "invitation": invitation.code,
        },
    )
    codes = [e.code for e in response.context["form"].errors.as_data()["invitation"]]
    assert codes == ["too_many_invitation_attempts"]
    assert not User.objects.filter(username="lucky").exists()
    # ...nor through a link, nor through the headless API.
    link = client.get("/accounts/signup/", {"invite": invitation.code})
    assert 'data-code="too_many_invitation_attempts"' in link.content.decode()
    headless = client.post(
        "/_allauth/app/v1/auth/signup",
        {
            "username": "lucky",
            "email": "l@example.test",
            "password": PASSWORD,
            "invitation": invitation.code,
        },
        content_type="application/json",
    )
    assert headless.status_code == 400
    assert headless.json()["errors"][0]["code"] == "too_many_invitation_attempts"

    # Another address is unaffected.
    other = client.get("/accounts/signup/", {"invite": invitation.code}, REMOTE_ADDR="10.0.0.9")
    assert "account/signup.html" in [t.name for t in other.templates]


def test_wrong_codes_in_links_count_too(client, settings, db):
    settings.INVITATION_CODE_FAILURES_PER_HOUR = 2
    for _ in range(2):
        client.get("/accounts/signup/", {"invite": "C" * 32})
    response = client.get("/accounts/signup/", {"invite": "D" * 32})
    assert 'data-code="too_many_invitation_attempts"' in response.content.decode()


def test_signup_attempts_are_rate_limited_by_allauth(client, settings, db):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "3/m/ip"}
    statuses = [
        client.post("/accounts/signup/", {"username": f"x{n}"}).status_code for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_failed_logins_are_rate_limited_by_allauth(client, settings, db):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed": "3/m/ip"}
    UserFactory(username="erin")

    def login(password):
        response = client.post(
            "/_allauth/app/v1/auth/login",
            {"username": "erin", "password": password},
            content_type="application/json",
        )
        return [e["code"] for e in response.json().get("errors", [])]

    failures = [login("wrong password") for _ in range(4)]
    assert failures[:3] == [["username_password_mismatch"]] * 3
    assert failures[3] == ["too_many_login_attempts"]
    # Even the right password waits now.
    assert login(PASSWORD) == ["too_many_login_attempts"]


def test_login_attempts_are_rate_limited_by_allauth(client, settings, db):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    statuses = [
        client.post("/accounts/login/", {"login": "x", "password": "y"}).status_code
        for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_profile_urls_use_usernames_not_ids(member_api):
    target = UserFactory()
    body = member_api.get(f"/api/users/{target.username}/").json()
    assert "id" not in body and "pk" not in body
    assert member_api.get(f"/api/users/{target.pk}/").status_code == 404
    inv = InvitationFactory(created_by=member_api.user)
    listed = member_api.get("/api/invitations/").json()["invitations"][0]
    assert "id" not in listed and listed["code"] == inv.code
