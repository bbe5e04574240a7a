from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture
def member():
    return UserFactory(username="member")


@pytest.fixture
def users():
    """Named members, created on first use."""

    class Users(dict):
        def __missing__(self, name):
            self[name] = UserFactory(username=name)
            return self[name]

    return Users()
