"""A NUL character in a URL path is a 404, on every engine.

Found by tests/fuzz/test_pages_fuzz.py on PostgreSQL: ``/@a%00b``, ``/api/users/a%00b/`` and
every other page that looks a username or code up answered 500 (DataError: PostgreSQL text
fields cannot contain NUL bytes).
"""

from __future__ import annotations

import pytest
from django.test import AsyncClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/@a%00b", "/@a%00b/followers/", "/invitations/a%00b/revoke/", "/rooms/%00/"]
)
def test_a_page_path_with_a_nul_is_a_404(client, path):
    client.force_login(UserFactory())
    assert client.get(path).status_code == 404
    assert client.post(path).status_code == 404


@pytest.mark.parametrize(
    "path", ["/api/users/a%00b/", "/api/users/a%00b/follow/", "/api/invitations/%00/"]
)
def test_an_api_path_with_a_nul_is_a_404_in_the_error_envelope(client, path):
    client.force_login(UserFactory())
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found.", "details": {}}


async def test_the_asgi_path_refuses_it_too():
    response = await AsyncClient().get("/api/users/a%00b/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
