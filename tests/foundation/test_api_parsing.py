"""A JSON body with a lone UTF-16 surrogate escape is a 400 ``malformed``, not a 500.

Found by probing after the fuzzers: PATCH /api/notifications/preferences/ with
``{"kinds": {"\\ud800": true}}`` (a dictionary key no field validates) answered 500, because the
error naming the key could not be encoded as UTF-8.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(UserFactory())
    return client


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/api/notifications/preferences/", '{"kinds": {"\\ud800": true}}'),
        ("post", "/api/rooms/", '{"title": "ok", "\\udfff": 1}'),
        ("post", "/api/notifications/read/", '{"ids": [1], "x": ["\\ud83d"]}'),
    ],
)
def test_a_lone_surrogate_escape_is_malformed(api, method, path, body):
    response = getattr(api, method)(path, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    assert "Unicode" in response.json()["message"]


def test_a_surrogate_pair_spelled_as_escapes_is_text(api):
    response = api.post(
        "/api/rooms/", '{"title": "Claps \\ud83d\\udc4f"}', content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["title"] == "Claps 👏"
