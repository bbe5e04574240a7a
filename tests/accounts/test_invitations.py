"""Invitation services and API: quota, expiry, revocation, who sees codes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from accounts.models import Invitation, User
from accounts.selectors import invitation_get_usable, invitation_quota
from accounts.services import invitation_create, invitation_redeem, invitation_revoke
from audiosocial.errors import Conflict, Forbidden, InvalidInput
from tests.factories import InvitationFactory, UserFactory


def new_user(username="newbie", email="newbie@example.test") -> User:
    user = User(username=username, email=email)
    user.set_unusable_password()
    return user


# --- Quota ----------------------------------------------------------------------------------


def test_member_quota_is_the_setting_plus_staff_grants(inviter, settings):
    settings.INVITATIONS_PER_MEMBER = 2
    invitation_create(by=inviter)
    invitation_create(by=inviter)
    with pytest.raises(Forbidden) as refused:
        invitation_create(by=inviter)
    assert refused.value.code == "no_invitations_left"
    assert Invitation.objects.filter(created_by=inviter).count() == 2

    inviter.extra_invitations = 1
    inviter.save()
    invitation_create(by=inviter)
    quota = invitation_quota(user=inviter)
    assert (quota.total, quota.used, quota.remaining) == (3, 3, 0)


def test_staff_have_no_quota(db, settings):
    settings.INVITATIONS_PER_MEMBER = 0
    staff = UserFactory(is_staff=True)
    for _ in range(5):
        invitation_create(by=staff)
    quota = invitation_quota(user=staff)
    assert quota.unlimited and quota.remaining is None and quota.used == 5


def test_revoked_and_expired_invitations_give_their_slot_back(inviter, settings):
    settings.INVITATIONS_PER_MEMBER = 2
    first = invitation_create(by=inviter)
    second = invitation_create(by=inviter)
    assert invitation_quota(user=inviter).remaining == 0

    invitation_revoke(invitation=first, by=inviter)
    assert invitation_quota(user=inviter).remaining == 1

    with freeze_time(timezone.now() + settings.INVITATION_TTL + timedelta(seconds=1)):
        assert invitation_quota(user=inviter).remaining == 2
        invitation_create(by=inviter)
    assert second.pk


def test_used_invitations_keep_using_the_quota(inviter, settings):
    settings.INVITATIONS_PER_MEMBER = 1
    invitation = invitation_create(by=inviter)
    invitation_redeem(code=invitation.code, user=new_user())
    with freeze_time(timezone.now() + timedelta(days=365)):
        assert invitation_quota(user=inviter).remaining == 0


def test_banned_member_cannot_invite_and_their_pending_invitations_stop_working(inviter):
    from moderation.models import Sanction

    pending = invitation_create(by=inviter)
    Sanction.objects.create(
        user=inviter, kind=Sanction.Kind.BAN, reason="spam", starts_at=timezone.now()
    )
    with pytest.raises(Forbidden) as refused:
        invitation_create(by=inviter)
    assert refused.value.code == "invitations_restricted"
    with pytest.raises(InvalidInput) as refused_code:
        invitation_get_usable(code=pending.code)
    assert refused_code.value.code == "invitation_revoked"


# --- Expiry ---------------------------------------------------------------------------------


def test_invitation_expires_after_the_configured_ttl(inviter, settings):
    settings.INVITATION_TTL = timedelta(days=3)
    with freeze_time("2030-01-01 12:00:00"):
        invitation = invitation_create(by=inviter)
    with freeze_time("2030-01-04 11:59:59"):
        assert invitation_get_usable(code=invitation.code) == invitation
    with freeze_time("2030-01-04 12:00:01"):
        with pytest.raises(InvalidInput) as refused:
            invitation_get_usable(code=invitation.code)
        assert refused.value.code == "invitation_expired"
        assert "expired on" in refused.value.message
        with pytest.raises(InvalidInput):
            invitation_redeem(code=invitation.code, user=new_user())
    assert not User.objects.filter(username="newbie").exists()


# --- Redemption -----------------------------------------------------------------------------


def test_redeem_creates_the_member_once(invitation):
    invitation_redeem(code=invitation.code, user=new_user())
    user = User.objects.get(username="newbie")
    assert user.nominated_by == invitation.created_by
    with pytest.raises(InvalidInput) as refused:
        invitation_redeem(code=invitation.code, user=new_user("second", "second@example.test"))
    assert refused.value.code == "invitation_used"
    assert not User.objects.filter(username="second").exists()


def test_redeem_that_fails_to_save_the_user_leaves_the_code_usable(invitation):
    UserFactory(username="taken")
    with pytest.raises(Exception):  # noqa: B017 - the database refuses the duplicate
        invitation_redeem(code=invitation.code, user=new_user("TAKEN"))
    invitation.refresh_from_db()
    assert invitation.used_at is None
    invitation_redeem(code=invitation.code, user=new_user())


def test_invitation_of_deactivated_inviter_no_longer_works(invitation):
    invitation.created_by.is_active = False
    invitation.created_by.save()
    with pytest.raises(InvalidInput) as refused:
        invitation_get_usable(code=invitation.code)
    assert refused.value.code == "invitation_revoked"


# --- Revocation -----------------------------------------------------------------------------


def test_only_the_creator_or_staff_may_revoke(invitation):
    with pytest.raises(Forbidden):
        invitation_revoke(invitation=invitation, by=UserFactory())
    invitation_revoke(invitation=invitation, by=UserFactory(is_staff=True))
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    with pytest.raises(InvalidInput) as refused:
        invitation_get_usable(code=invitation.code)
    assert refused.value.code == "invitation_revoked"


def test_used_invitation_cannot_be_revoked(invitation):
    invitation_redeem(code=invitation.code, user=new_user())
    with pytest.raises(Conflict):
        invitation_revoke(invitation=invitation, by=invitation.created_by)


# --- API ------------------------------------------------------------------------------------


def test_invitations_api_lists_own_invitations_quota_and_who_joined(member_api, settings):
    settings.INVITATIONS_PER_MEMBER = 3
    me = member_api.user
    used = InvitationFactory(created_by=me)
    invitation_redeem(code=used.code, user=new_user())
    pending = InvitationFactory(created_by=me, email="x@example.test")
    InvitationFactory()  # someone else's

    body = member_api.get("/api/invitations/").json()
    assert body["quota"] == {"total": 3, "used": 2, "remaining": 1, "unlimited": False}
    assert [i["code"] for i in body["invitations"]] == [pending.code, used.code]
    assert body["invitations"][0]["email"] == "x@example.test"
    assert body["invitations"][0]["status"] == "pending"
    assert body["invitations"][1]["used_by"] == "newbie"
    assert [m["username"] for m in body["joined"]] == ["newbie"]


def test_invitations_api_create_with_email_and_refuse_without_quota(member_api, settings):
    settings.INVITATIONS_PER_MEMBER = 1
    response = member_api.post("/api/invitations/", {"email": "Pal@Example.test"}, format="json")
    assert response.status_code == 201
    assert response.json()["email"] == "pal@example.test"
    assert response.json()["url"] == (
        f"http://testserver/accounts/signup/?invite={response.json()['code']}"
    )

    refused = member_api.post("/api/invitations/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "no_invitations_left"
    assert Invitation.objects.filter(created_by=member_api.user).count() == 1


def test_invitations_api_rejects_bad_email(member_api):
    response = member_api.post("/api/invitations/", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["details"]
    assert not Invitation.objects.exists()


def test_invitations_api_revoke(member_api):
    mine = InvitationFactory(created_by=member_api.user)
    assert member_api.delete(f"/api/invitations/{mine.code}/").status_code == 204
    mine.refresh_from_db()
    assert mine.revoked_at is not None
    # Revoking again changes nothing and is not an error.
    assert member_api.delete(f"/api/invitations/{mine.code}/").status_code == 204


def test_invitations_api_cannot_touch_or_see_others_codes(member_api):
    theirs = InvitationFactory()
    response = member_api.delete(f"/api/invitations/{theirs.code}/")
    assert response.status_code == 404
    assert response.json()["code"] == "invitation_not_found"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert theirs.code not in member_api.get("/api/invitations/").content.decode()
    profile = member_api.get(f"/api/users/{theirs.created_by.username}/")
    assert theirs.code not in profile.content.decode()
    assert member_api.delete("/api/invitations/garbage!/").status_code == 404


def test_invitations_api_revoking_used_invitation_is_409(member_api):
    mine = InvitationFactory(created_by=member_api.user)
    invitation_redeem(code=mine.code, user=new_user())
    response = member_api.delete(f"/api/invitations/{mine.code}/")
    assert response.status_code == 409
    assert response.json()["code"] == "invitation_used"


def test_invitations_api_requires_sign_in(api):
    assert api.get("/api/invitations/").status_code == 401
    assert api.post("/api/invitations/", {}, format="json").status_code == 401


# --- Web page -------------------------------------------------------------------------------


def test_invitations_page_creates_copies_and_revokes(client, inviter):
    client.force_login(inviter)
    page = client.get("/invitations/")
    assert page.status_code == 200
    assert 'data-remaining="2"' in page.content.decode()

    created = client.post("/invitations/", {"email": ""})
    assert created.status_code == 302
    invitation = Invitation.objects.get(created_by=inviter)
    html = client.get("/invitations/").content.decode()
    assert f"/accounts/signup/?invite={invitation.code}" in html
    assert "data-copy" in html and 'data-remaining="1"' in html

    revoked = client.post(f"/invitations/{invitation.code}/revoke/")
    assert revoked.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_invitations_page_shows_quota_error(client, inviter, settings):
    settings.INVITATIONS_PER_MEMBER = 0
    client.force_login(inviter)
    response = client.post("/invitations/", {"email": ""})
    assert response.status_code == 200
    assert "You have no invitations left" in response.content.decode()
    assert not Invitation.objects.exists()


def test_invitations_page_cannot_revoke_someone_elses(client, inviter):
    theirs = InvitationFactory()
    client.force_login(inviter)
    assert client.post(f"/invitations/{theirs.code}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


@pytest.mark.parametrize("count", [1, 12])
def test_invitations_list_query_count_does_not_grow(member_api, count, settings):
    settings.INVITATIONS_PER_MEMBER = 100
    me = member_api.user
    for n in range(count):
        used = InvitationFactory(created_by=me)
        invitation_redeem(code=used.code, user=new_user(f"joined{n}", f"j{n}@example.test"))
        InvitationFactory(created_by=me)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        body = member_api.get("/api/invitations/").json()
    assert len(body["invitations"]) == 2 * count and len(body["joined"]) == count
    # quota count + invitations with their users + members who joined
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_open_invitation_and_addressless_profile_match_the_api_schema(member_api):
    # Found by tests/fuzz: "" was sent where the schema promised format "email".
    from drf_spectacular.generators import SchemaGenerator
    from jsonschema import FormatChecker, validate

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    invitation = member_api.post("/api/invitations/", {}, format="json").json()
    assert invitation["email"] == ""
    validate(
        invitation["email"],
        components["InvitationOutput"]["properties"]["email"],
        format_checker=FormatChecker(),
    )
    User.objects.filter(pk=member_api.user.pk).update(email="")
    me = member_api.get("/api/me/").json()
    assert me["email"] == ""
    validate(
        me["email"],
        components["ProfileOutput"]["properties"]["email"],
        format_checker=FormatChecker(),
    )
