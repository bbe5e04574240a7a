from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import InvitationFactory, UserFactory


@pytest.fixture
def notify_calls(monkeypatch):
    """Records calls of the notifications hook (it is a no-op until that app fills it in)."""
    calls: list[dict] = []
    monkeypatch.setattr(
        "notifications.services.notify_invitation_accepted",
        lambda **kwargs: calls.append(kwargs),
    )
    return calls


@pytest.fixture
def inviter(db):
    return UserFactory(username="inviter")


@pytest.fixture
def invitation(inviter):
    return InvitationFactory(created_by=inviter)


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def member_api(db):
    member = UserFactory(username="viewer")
    client = APIClient()
    client.force_authenticate(member)
    client.user = member
    return client
