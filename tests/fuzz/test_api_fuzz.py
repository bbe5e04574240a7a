"""Schemathesis against the REST API, in process: bad or forbidden input never gets a 500.

The OpenAPI schema is generated in process by drf-spectacular (the same document as
``/api/schema/``) and every operation is called through Django's WSGI handler, once as a
signed-in member (``X-Session-Token`` from allauth's headless login) with a live room they host,
a scheduled room, another member's live room and another member, and once anonymously.

Path parameters are a mix of generated values and the seeded rooms and members, so the fuzzer
reaches the services' rules, not only the 404 of a random id. Bounded for CI (two passes on two
cores): few examples per operation, derandomized, no shrinking.
"""

from __future__ import annotations

import os
import uuid
import zlib
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from rooms import services
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

MEMBER = "fuzzer"
OTHER = "fuzz_other"
LISTENER = "fuzz_listener"  # in MEMBER's live room
LIVE_ROOM = uuid.UUID("00000000-0000-4000-8000-00000000f001")  # hosted by MEMBER
SCHEDULED_ROOM = uuid.UUID("00000000-0000-4000-8000-00000000f002")  # hosted by MEMBER
OTHER_ROOM = uuid.UUID("00000000-0000-4000-8000-00000000f003")  # hosted by OTHER

# Seeded values a generated path parameter is swapped for (most of the time).
POOLS: dict[str, list[str]] = {
    "room_id": [str(LIVE_ROOM), str(SCHEDULED_ROOM), str(OTHER_ROOM)],
    "username": [MEMBER, OTHER, LISTENER, "nobody-here"],
}

# CI keeps it small; FUZZ_EXAMPLES=200 FUZZ_COVERAGE=1 digs deeper (minutes) when hunting.
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
COVERAGE_PHASE = os.environ.get("FUZZ_COVERAGE", "") == "1"

PROJECT_APPS = {"accounts", "follows", "rooms", "moderation", "notifications", "sessions"}

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261121,
        "generation": {
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "mode": "all",
        },
        "phases": {"coverage": {"enabled": COVERAGE_PHASE}, "stateful": {"enabled": False}},
    }
)


def _raw_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_raw_schema(), config=CONFIG)
schema.app = WSGIHandler()

FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.hook
def map_path_parameters(context, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    for name, pool in POOLS.items():
        if path_parameters and name in path_parameters:
            # Deterministic, and driven by the generated value: one in four stays as generated.
            pick = zlib.crc32(repr(path_parameters[name]).encode()) % (len(pool) + 1)
            if pick < len(pool):
                path_parameters[name] = pool[pick]
    return path_parameters


@pytest.fixture
def in_process_requests(settings):
    """Like Django's test client, keep the test transaction's connection across requests: a plain
    WSGI call closes it at the end of each request. (Use Django's client before this fixture: it
    reconnects the handlers after each of its requests.)"""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def seeded() -> dict[str, Any]:
    member = UserFactory(username=MEMBER)
    other = UserFactory(username=OTHER)
    live = services.room_create(host=member, title="Fuzzed live room")
    _rekey(live, LIVE_ROOM)
    scheduled = services.room_create(
        host=member,
        title="Fuzzed later",
        scheduled_for=_in_hours(3),
    )
    _rekey(scheduled, SCHEDULED_ROOM)
    theirs = services.room_create(host=other, title="Their room")
    _rekey(theirs, OTHER_ROOM)
    services.participant_join(room=live, user=UserFactory(username=LISTENER))
    return {"member": member, "other": other}


def _in_hours(hours: int):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() + timedelta(hours=hours)


def _rekey(room, new_id: uuid.UUID) -> None:
    """Fixed room ids, so that path parameters can name them (ids are random otherwise)."""
    from rooms.models import Participant, Room

    # Foreign keys are checked at commit (deferred), and the test transaction never commits.
    Room.objects.filter(pk=room.pk).update(id=new_id)
    Participant.objects.filter(room_id=room.pk).update(room_id=new_id)
    room.pk = new_id


@pytest.fixture
def session_token(seeded, client) -> str:
    response = client.post(
        "/_allauth/app/v1/auth/login",
        {"username": MEMBER, "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["session_token"]


def _fingerprint() -> tuple:
    """Row count and latest change of every table of ours, in one query: a refused request must
    leave them as they were."""
    from django.apps import apps
    from django.db import connection

    parts = []
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or model._meta.proxy:
            continue
        table = connection.ops.quote_name(model._meta.db_table)
        parts.append(f"(SELECT COUNT(*) FROM {table})")  # noqa: S608 - our own table names
        if "updated_at" in {f.name for f in model._meta.concrete_fields}:
            parts.append(f"(SELECT MAX(updated_at) FROM {table})")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        return tuple(cursor.fetchone())


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_as_member_never_answers_a_server_error(case, session_token, in_process_requests):
    before = _fingerprint()
    response = case.call(headers={"X-Session-Token": session_token})
    case.validate_response(
        response,
        checks=[not_a_server_error, response_schema_conformance],
        headers={"X-Session-Token": session_token},
    )
    if 400 <= response.status_code < 500:
        body = response.json()
        assert set(body) == {"code", "message", "details"}, body
        assert body["code"] and body["message"], body
        assert _fingerprint() == before, (
            f"{case.method} {case.formatted_path} answered {response.status_code} but changed rows"
        )


@schema.parametrize()
@FUZZ_SETTINGS
def test_api_anonymously_is_refused_without_a_server_error(case, seeded, in_process_requests):
    before = _fingerprint()
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code in (401, 403, 404, 405), (
        f"{case.method} {case.formatted_path} answered {response.status_code} anonymously"
    )
    assert response.json()["code"], response.json()
    assert _fingerprint() == before
