"""A session cookie or token Django never issued is no session: no query, no 500.

Found by probing the sockets after the fuzzers, on PostgreSQL: ``X-Session-Token: \\x00abc…``, a
``sessionid`` cookie of NULs, or ``?session_token=%00…`` answered 500 on every page, API call and
WebSocket handshake (DataError: text fields cannot contain NUL).
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audiosocial.asgi import application
from audiosocial.sessions import SessionStore, sessions_delete
from moderation.services import user_sessions_end
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

FORGED = ["\x00" * 40, "\x00abcdefghij", "ABCDEFGHIJKLMNOP", "a" * 41, "abc def ghij", "é" * 10]


@pytest.mark.parametrize("key", FORGED)
def test_a_key_django_never_issues_names_no_session(key, django_assert_num_queries):
    assert SessionStore(key).session_key is None
    assert SessionStore(key).load() == {}
    with django_assert_num_queries(0):
        assert SessionStore().exists(key) is False


def test_an_issued_key_still_works():
    store = SessionStore()
    store["x"] = 1
    store.create()
    assert SessionStore().exists(store.session_key)
    assert SessionStore(store.session_key).load() == {"x": 1}


@pytest.mark.parametrize("key", FORGED[:2])
def test_forged_tokens_and_cookies_answer_as_signed_out(key):
    client = Client()
    assert client.get("/api/me/", HTTP_X_SESSION_TOKEN=key).status_code == 401
    # allauth's answer for a token that names no session.
    assert client.get("/_allauth/app/v1/auth/session", HTTP_X_SESSION_TOKEN=key).status_code == 410
    client.cookies["sessionid"] = key
    assert client.get("/notifications/").status_code == 302  # to sign in


async def test_a_forged_token_on_a_socket_is_4401():
    communicator = WebsocketCommunicator(
        application,
        "/ws/notifications/?session_token=%00abcdefghij",
        headers=[(b"origin", b"http://127.0.0.1:8000")],
    )
    connected, code = await communicator.connect()
    assert (connected, code) == (False, 4401)


# --- Cached sessions: no query per request, and ended sessions end in the cache too ---------

HEADLESS_LOGIN = "/_allauth/app/v1/auth/login"
HEADLESS_SESSION = "/_allauth/app/v1/auth/session"


def _cached(key: str) -> bool:
    return caches[settings.SESSION_CACHE_ALIAS].get(SessionStore.cache_key_prefix + key) is not None


def _headless_token(username: str) -> str:
    response = Client().post(
        HEADLESS_LOGIN,
        {"username": username, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200
    return response.json()["meta"]["session_token"]


def test_a_forged_key_is_not_loaded_at_all(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert SessionStore("\x00abcdefghij").load() == {}


def test_a_saved_session_is_read_from_the_cache_without_a_query(django_assert_num_queries):
    store = SessionStore()
    store["x"] = 1
    store.create()

    with django_assert_num_queries(0):
        assert SessionStore(store.session_key).load() == {"x": 1}
        assert SessionStore().exists(store.session_key)


def _session_queries(captured) -> list[str]:
    table = Session._meta.db_table
    return [q["sql"] for q in captured if table in q["sql"]]


def test_a_signed_in_request_reads_its_session_from_the_cache():
    member = UserFactory()
    client = Client()
    client.force_login(member)

    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/api/me/")

    assert response.status_code == 200
    assert response.json()["username"] == member.username
    assert _session_queries(ctx.captured_queries) == []


def test_a_headless_session_token_works_from_the_cache_and_ends_at_logout():
    member = UserFactory(username="appuser")
    token = _headless_token("appuser")
    assert _cached(token)

    with CaptureQueriesContext(connection) as ctx:
        response = Client().get("/api/me/", HTTP_X_SESSION_TOKEN=token)
    assert response.status_code == 200
    assert response.json()["username"] == member.username
    assert _session_queries(ctx.captured_queries) == []

    assert Client().delete(HEADLESS_SESSION, HTTP_X_SESSION_TOKEN=token).status_code == 401
    assert not _cached(token)
    assert Client().get("/api/me/", HTTP_X_SESSION_TOKEN=token).status_code == 401


def test_ending_a_members_sessions_drops_their_cached_copies():
    """A sanction ends the member's sessions in a task that deletes rows: without the cache
    entries going too, the cookie and the token would go on working from the cache."""
    member, other = UserFactory(username="gone"), UserFactory()
    browser, bystander = Client(), Client()
    browser.force_login(member)
    bystander.force_login(other)
    token = _headless_token("gone")
    cookie = browser.cookies["sessionid"].value
    assert _cached(cookie) and _cached(token)

    assert user_sessions_end(user_id=member.pk) == 2

    assert not _cached(cookie) and not _cached(token)
    assert browser.get("/api/me/").status_code in (401, 403)
    assert Client().get("/api/me/", HTTP_X_SESSION_TOKEN=token).status_code == 401
    assert bystander.get("/api/me/").status_code == 200


def test_sessions_are_dropped_from_the_cache_only_once_their_rows_are_gone_for_good():
    """Dropped before the commit, a request in between could cache the row again."""
    member = UserFactory()
    client = Client()
    client.force_login(member)
    key = client.cookies["sessionid"].value

    with transaction.atomic():  # this module's tests really commit
        assert sessions_delete(session_keys=[key]) == 1
        assert _cached(key)

    assert not _cached(key)
    assert not SessionStore().exists(key)
    assert client.get("/api/me/").status_code in (401, 403)
