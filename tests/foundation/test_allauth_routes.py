"""allauth's headless API: a clear 4xx in allauth's error shape, not a 500.

Found by tests/fuzz/test_pages_fuzz.py: GET /_allauth/browser/v1/account/phone as a member
raised NotImplementedError (the project keeps no phone numbers).
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CSRF = "fuzzcsrf" * 4
PHONE_PATHS = ["account/phone", "auth/phone/verify", "auth/phone/verify/resend"]


@pytest.mark.parametrize("client_kind", ["browser", "app"])
@pytest.mark.parametrize("path", PHONE_PATHS)
def test_phone_endpoints_answer_a_404_a_person_understands(client, client_kind, path):
    client.force_login(UserFactory())
    url = f"/_allauth/{client_kind}/v1/{path}"
    for response in (
        client.get(url),
        client.post(url, {"phone": "+15555550100"}, content_type="application/json"),
    ):
        assert response.status_code == 404
        assert response.json()["errors"][0]["message"] == "Phone numbers are not used on this site."


@pytest.mark.parametrize("client_kind", ["browser", "app"])
@pytest.mark.parametrize("multipart", [False, True])
def test_a_form_body_to_the_headless_api_is_a_415_not_a_500(client_kind, multipart):
    # Found by tests/fuzz/test_pages_fuzz.py with the CSRF check on: the check read the form as
    # request.POST, then allauth could not read request.body (RawPostDataException).
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    form = {"username": "x", "password": "y", "csrfmiddlewaretoken": CSRF}
    if multipart:
        form["file"] = SimpleUploadedFile("a.txt", b"x")
    response = client.post(f"/_allauth/{client_kind}/v1/auth/login", form, HTTP_X_CSRFTOKEN=CSRF)
    assert response.status_code == 415
    assert "JSON" in response.json()["errors"][0]["message"]


def test_json_to_the_headless_api_still_works_with_the_csrf_check_on():
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF
    response = client.post(
        "/_allauth/browser/v1/auth/login",
        {"username": "x", "password": "y"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=CSRF,
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "username_password_mismatch"
