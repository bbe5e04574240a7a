"""Concurrent redemption on PostgreSQL: two signups racing for one code make one account."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Invitation, User
from audiosocial.errors import ApplicationError
from tests.factories import PASSWORD, InvitationFactory, UserFactory

pytestmark = pytest.mark.postgres


def run_concurrently(*calls):
    """Run each call in its own thread (own database connection), starting together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def slow_check(monkeypatch):
    """Hold each redemption between its validity check and its writes, so that without the
    row lock both racers would see the invitation unused and both would create an account."""
    real = services.invitation_check_usable

    def check_then_pause(**kwargs):
        real(**kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(services, "invitation_check_usable", check_then_pause)


def new_user(name: str) -> User:
    user = User(username=name, email=f"{name}@example.test")
    user.set_unusable_password()
    return user


@pytest.mark.django_db(transaction=True)
def test_two_redemptions_racing_for_one_code_create_exactly_one_account(
    require_postgres, slow_check
):
    invitation = InvitationFactory(created_by=UserFactory(username="host"))

    results = run_concurrently(
        lambda: services.invitation_redeem(code=invitation.code, user=new_user("racer1")),
        lambda: services.invitation_redeem(code=invitation.code, user=new_user("racer2")),
    )

    winners = [r for r in results if isinstance(r, Invitation)]
    losers = [r for r in results if isinstance(r, ApplicationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code == "invitation_used"
    assert User.objects.filter(username__startswith="racer").count() == 1
    invitation.refresh_from_db()
    assert invitation.used_by.username.startswith("racer")


@pytest.mark.django_db(transaction=True)
def test_two_headless_signups_racing_for_one_code_create_exactly_one_account(
    require_postgres, slow_check
):
    invitation = InvitationFactory(created_by=UserFactory(username="host"))

    def signup(name):
        def call():
            response = APIClient().post(
                "/_allauth/app/v1/auth/signup",
                {
                    "username": name,
                    "email": f"{name}@example.test",
                    "password": PASSWORD,
                    "invitation": invitation.code,
                },
                format="json",
            )
            return response.status_code, response.json()

        return call

    results = run_concurrently(signup("webracer1"), signup("webracer2"))

    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 400], results
    loser = next(body for status, body in results if status == 400)
    assert [e["code"] for e in loser["errors"]] == ["invitation_used"]
    assert User.objects.filter(username__startswith="webracer").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_invitation_creation_cannot_exceed_the_quota(
    require_postgres, monkeypatch, settings
):
    settings.INVITATIONS_PER_MEMBER = 1
    member = UserFactory(username="quick")
    real = services.invitation_quota

    def quota_then_pause(**kwargs):
        quota = real(**kwargs)
        time.sleep(0.3)
        return quota

    monkeypatch.setattr(services, "invitation_quota", quota_then_pause)

    results = run_concurrently(
        lambda: services.invitation_create(by=member),
        lambda: services.invitation_create(by=member),
    )

    assert sum(isinstance(r, Invitation) for r in results) == 1, results
    assert [r.code for r in results if isinstance(r, ApplicationError)] == ["no_invitations_left"]
    assert Invitation.objects.filter(created_by=member).count() == 1
