"""Profiles: members only, case-insensitive, who nominated whom, email only for its owner."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.selectors import profile_get
from tests.factories import FollowFactory, UserFactory


def image_bytes(fmt="PNG", size=(64, 64), exif=False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x010E] = "home: 51.5N 0.1W"  # ImageDescription, standing in for GPS tags
        kwargs["exif"] = data.tobytes()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


@pytest.fixture
def alice(db):
    nominator = UserFactory(username="nominator")
    return UserFactory(username="Alice", nominated_by=nominator, bio="Hi there")


# --- Access ---------------------------------------------------------------------------------


def test_profile_api_requires_sign_in(api, alice):
    for url in ("/api/users/alice/", "/api/me/"):
        response = api.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_profile_page_redirects_anonymous_to_login(client, alice):
    response = client.get("/@Alice")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_profile_api_looks_up_usernames_case_insensitively(member_api, alice):
    response = member_api.get("/api/users/ALICE/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "Alice"
    assert body["nominated_by"] == "nominator"
    assert body["bio"] == "Hi there"
    assert body["is_you"] is False


def test_profile_api_unknown_user_is_404_envelope(member_api):
    response = member_api.get("/api/users/nobody/")
    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


def test_profile_page_canonicalises_case_and_shows_nominator(client, alice):
    client.force_login(UserFactory(username="viewer"))
    redirect = client.get("/@alice")
    assert redirect.status_code == 302 and redirect["Location"] == "/@Alice"
    page = client.get("/@Alice")
    html = page.content.decode()
    assert page.status_code == 200
    assert "@Alice" in html
    assert 'href="/@nominator"' in html
    assert client.get("/@nobody").status_code == 404


# --- Email privacy --------------------------------------------------------------------------


def test_email_is_never_shown_to_other_members(member_api, client, alice):
    body = member_api.get("/api/users/alice/").json()
    assert "email" not in body
    assert alice.email not in str(body)
    client.force_login(member_api.user)
    assert alice.email not in client.get("/@Alice").content.decode()


def test_email_is_shown_to_its_owner(client, alice):
    client.force_login(alice)
    assert client.get("/api/me/").json()["email"] == alice.email
    assert client.get("/api/users/alice/").json()["email"] == alice.email
    assert alice.email in client.get("/@Alice").content.decode()


# --- Follow counts --------------------------------------------------------------------------


def test_profile_counts_follows_and_says_who_follows_you(member_api, alice):
    viewer = member_api.user
    FollowFactory(follower=alice, followee=viewer)
    FollowFactory(follower=viewer, followee=alice)
    for _ in range(3):
        FollowFactory(followee=alice)
    body = member_api.get("/api/users/alice/").json()
    assert body["follower_count"] == 4
    assert body["following_count"] == 1
    assert body["follows_you"] is True
    assert body["followed_by_you"] is True

    other = UserFactory()
    body = member_api.get(f"/api/users/{other.username}/").json()
    assert (body["follower_count"], body["following_count"], body["follows_you"]) == (0, 0, False)


@pytest.mark.parametrize("followers", [1, 25])
def test_profile_is_one_query_whatever_the_follower_count(
    alice, followers, django_assert_num_queries
):
    viewer = UserFactory()
    for _ in range(followers):
        FollowFactory(followee=alice)
    with django_assert_num_queries(1):
        profile = profile_get(viewer=viewer, username="alice")
        assert profile.follower_count == followers
        assert profile.nominated_by.username == "nominator"


# --- Editing --------------------------------------------------------------------------------


def test_patch_me_edits_display_name_and_bio(member_api):
    response = member_api.patch(
        "/api/me/", {"display_name": "  Vee  ", "bio": "Podcaster"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Vee"
    member_api.user.refresh_from_db()
    assert (member_api.user.display_name, member_api.user.bio) == ("Vee", "Podcaster")


def test_patch_me_rejects_too_long_bio_and_changes_nothing(member_api):
    response = member_api.patch("/api/me/", {"bio": "x" * 501}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "bio" in response.json()["details"]
    member_api.user.refresh_from_db()
    assert member_api.user.bio == ""


def test_avatar_upload_is_reencoded_without_metadata(member_api):
    original = image_bytes("JPEG", exif=True)
    with Image.open(io.BytesIO(original)) as check:
        assert check.getexif()[0x010F] == "SecretCam"
    upload = SimpleUploadedFile("me.jpg", original, "image/jpeg")
    response = member_api.patch("/api/me/", {"avatar": upload}, format="multipart")
    assert response.status_code == 200, response.content
    url = response.json()["avatar_url"]
    assert url.startswith("http://testserver/media/avatars/")
    member_api.user.refresh_from_db()
    assert "viewer" not in member_api.user.avatar.name  # random names, not usernames
    with member_api.user.avatar.open("rb") as stored, Image.open(stored) as image:
        assert image.size == (64, 64)
        assert not image.getexif()


def test_avatar_too_large_is_refused(member_api, settings):
    settings.AVATAR_MAX_BYTES = 1000
    big = SimpleUploadedFile("big.png", image_bytes(size=(400, 400)) + b"\0" * 2000, "image/png")
    response = member_api.patch("/api/me/", {"avatar": big}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "avatar_too_large"
    member_api.user.refresh_from_db()
    assert not member_api.user.avatar


@pytest.mark.parametrize(
    "payload",
    [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"GIF89a-but-not-really", b"%PDF-1.4"],
)
def test_non_image_avatar_is_refused(member_api, payload):
    upload = SimpleUploadedFile("x.png", payload, "image/png")
    response = member_api.patch("/api/me/", {"avatar": upload}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "avatar_not_image"


def test_avatar_can_be_removed(member_api):
    upload = SimpleUploadedFile("me.png", image_bytes(), "image/png")
    member_api.patch("/api/me/", {"avatar": upload}, format="multipart")
    response = member_api.patch("/api/me/", {"avatar": None}, format="json")
    assert response.status_code == 200
    assert response.json()["avatar_url"] is None


def test_profile_edit_page_saves_and_reports_bad_avatar(client, alice):
    client.force_login(alice)
    assert client.get("/settings/profile/").status_code == 200
    response = client.post(
        "/settings/profile/",
        {
            "display_name": "Alice A.",
            "bio": "New bio",
            "avatar": SimpleUploadedFile("a.txt", b"hello", "text/plain"),
        },
    )
    assert response.status_code == 200
    assert "avatar" in response.context["form"].errors
    alice.refresh_from_db()
    assert alice.bio == "Hi there"  # nothing changed

    response = client.post("/settings/profile/", {"display_name": "Alice A.", "bio": "New bio"})
    assert response.status_code == 302 and response["Location"] == "/@Alice"
    alice.refresh_from_db()
    assert (alice.display_name, alice.bio) == ("Alice A.", "New bio")


def test_profile_edit_page_requires_sign_in(client, db):
    assert client.get("/settings/profile/").status_code == 302


def test_a_failed_save_leaves_no_avatar_file_behind(alice, settings, monkeypatch):
    """Fault injected: the row write fails after the file was written; the file goes too."""
    from pathlib import Path

    from django.db import DatabaseError

    from accounts import services
    from accounts.models import User

    def failing_save(self, *args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(User, "save", failing_save)
    upload = SimpleUploadedFile("me.png", image_bytes(), "image/png")
    with pytest.raises(DatabaseError):
        services.profile_update(user=alice, by=alice, avatar=upload)
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert stored == []
