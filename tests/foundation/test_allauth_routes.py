"""allauth's headless phone endpoints: a clear 404 in allauth's error shape, not a 500.

Found by tests/fuzz/test_pages_fuzz.py: GET /_allauth/browser/v1/account/phone as a member
raised NotImplementedError (the project keeps no phone numbers).
"""

from __future__ import annotations

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

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
