"""A 400's message names the field at fault, also inside lists and objects.

Found while fixing a fuzzer finding: ``{"ids": [2**70]}`` answered "Some fields are not valid.
Ensure this value is less than or equal to 9223372036854775807." without saying which field.
"""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from audiosocial.errors import exception_handler
from tests.factories import UserFactory


@pytest.mark.parametrize(
    ("detail", "named"),
    [
        ({"title": ["Too long."]}, "title: Too long."),
        ({"ids": {0: ["Too big."]}}, "ids[0]: Too big."),
        ({"kinds": {"went_live": ["Must be a valid boolean."]}}, "kinds.went_live: Must be"),
        ({"items": [{}, {"name": ["Required."]}]}, "items[1].name: Required."),
        ({"non_field_errors": ["Send 'ids' or 'all'."]}, "not valid. Send 'ids' or 'all'."),
        (["Nope."], "not valid. Nope."),
    ],
)
def test_the_message_names_where_the_problem_is(detail, named):
    response = exception_handler(ValidationError(detail), {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert named in response.data["message"]


@pytest.mark.django_db
def test_an_api_400_inside_a_list_names_the_list():
    client = APIClient()
    client.force_authenticate(UserFactory())
    response = client.post("/api/notifications/read/", {"ids": [1, 2**70]}, format="json")
    assert response.status_code == 400
    assert "ids[1]: Ensure this value is less than or equal to" in response.json()["message"]
