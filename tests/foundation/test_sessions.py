"""A session cookie or token Django never issued is no session: no query, no 500.

Found by probing the sockets after the fuzzers, on PostgreSQL: ``X-Session-Token: \\x00abc…``, a
``sessionid`` cookie of NULs, or ``?session_token=%00…`` answered 500 on every page, API call and
WebSocket handshake (DataError: text fields cannot contain NUL).
"""

from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from audiosocial.asgi import application
from audiosocial.sessions import SessionStore

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
