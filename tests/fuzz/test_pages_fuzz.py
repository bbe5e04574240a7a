"""Every URL pattern of the project, with nonsense in its path, query and form: never a 500.

The patterns are read from Django's resolver (so a page added tomorrow is swept too). Each path
parameter is replaced by seeded real values and by junk: zero, negative and overlong numbers,
overlong and non-Latin text, an encoded NUL, broken UTF-8, dots, markup. Each URL is fetched
with junk query parameters and POSTed junk form data (with the CSRF check on and satisfied, as
for any same-site form), as a signed-in member; the admin's URLs as a staff member.
Everything found is listed at once.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.services import invitation_create
from rooms import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

JUNK_SEGMENTS = [
    "0",
    "-1",
    "9" * 25,
    "x" * 600,
    quote("ü🎉ß ʕ•ᴥ•ʔ"),
    "a%00b",
    "%ff%fe",
    "%2e%2e",
    quote("<script>"),
    "00000000-0000-0000-0000-000000000000",
]

# Values for query parameters and form fields (read by the project's pages or allauth's).
JUNK_VALUES = ["²", "9" * 40, "-1", "x" * 5000, "\x00", "//evil.example/", "🎉", ""]
QUERY_NAMES = ["before", "cursor", "partial", "invite", "next", "page", "limit", "q", "username"]
FORM_NAMES = [
    "title",
    "topic",
    "visibility",
    "scheduled_for",
    "display_name",
    "bio",
    "email",
    "username",
    "password",
    "password1",
    "password2",
    "login",
    "invitation",
    "reason",
    "kind",
    "details",
    "room",
    "user",
    "action",
    "remind",
    "next",
    "note",
    "days",
    "ids",
    "all",
]
# The CSRF check is on (as in production): the cookie and the form carry the same secret.
CSRF_SECRET = "fuzzcsrf" * 4

_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")


def _patterns(resolver=None, prefix: str = ""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def _fill(route: str, values: dict[str, str], default: str) -> str:
    """A concrete path for a route (``<str:x>``) or a regex (``(?P<x>...)``) pattern."""
    path = _PARAM.sub(lambda m: values.get(m.group("name"), default), route)
    path = _REGEX_GROUP.sub(lambda m: values.get(m.group("name"), default), path)
    path = path.replace("^", "").replace("$", "").replace("\\", "")
    return "/" + path


def _has_params(route: str) -> bool:
    return bool(_PARAM.search(route) or _REGEX_GROUP.search(route))


def _junk_form(value: str) -> dict:
    form: dict = {name: value for name in FORM_NAMES}
    form["csrfmiddlewaretoken"] = CSRF_SECRET
    form["avatar"] = SimpleUploadedFile("a.png", b"not an image", content_type="image/png")
    return form


@pytest.fixture
def world():
    member = UserFactory(username="pagefuzzer")
    other = UserFactory(username="pageother")
    staff = UserFactory(username="pagestaff", is_staff=True, is_superuser=True)
    live = services.room_create(host=member, title="Swept live")
    theirs = services.room_create(host=other, title="Their swept room")
    invitation = invitation_create(by=member)
    return {
        "member": member,
        "staff": staff,
        "valid": {
            "room_id": [str(live.pk), str(theirs.pk)],
            "username": [member.username, other.username],
            "code": [invitation.code],
            "object_id": [str(member.pk), str(live.pk)],
        },
    }


def _paths(route: str, valid: dict[str, list[str]]) -> list[str]:
    if not _has_params(route):
        return [_fill(route, {}, "")]
    names = [m.group("name") for m in _PARAM.finditer(route)]
    names += [m.group("name") for m in _REGEX_GROUP.finditer(route)]
    paths = []
    # Real values for every parameter, then junk in each parameter in turn.
    for index in range(max(len(valid.get(name, [])) for name in names) or 1):
        real = {n: valid[n][index % len(valid[n])] for n in names if valid.get(n)}
        paths.append(_fill(route, real, str(uuid.uuid4())))
        for junk in JUNK_SEGMENTS if index == 0 else []:
            for name in names:
                paths.append(_fill(route, {**real, name: junk}, junk))
    return list(dict.fromkeys(paths))


def _sweep(client: Client, routes: list[str], valid: dict[str, list[str]], relogin) -> list[str]:
    problems = []
    for route in routes:
        for n, path in enumerate(_paths(route, valid)):
            value = JUNK_VALUES[n % len(JUNK_VALUES)]
            query = {name: value for name in QUERY_NAMES}
            relogin()
            for method, call in (
                ("GET", lambda p=path, q=query: client.get(p, q)),
                (
                    "POST",
                    lambda p=path, v=value: client.post(
                        p, _junk_form(v), HTTP_X_CSRFTOKEN=CSRF_SECRET
                    ),
                ),
            ):
                try:
                    status = call().status_code
                except Exception as exc:  # noqa: BLE001 - raised by the view: a 500 in production
                    status = f"{type(exc).__name__}: {exc}"[:300]
                if not isinstance(status, int) or status >= 500:
                    problems.append(f"{method} {path[:160]} (value {value[:20]!r}) -> {status}")
    return problems


def _client() -> Client:
    client = Client(raise_request_exception=True, enforce_csrf_checks=True)
    client.cookies["csrftoken"] = CSRF_SECRET
    return client


def test_every_page_answers_junk_without_a_server_error(world):
    client = _client()
    routes = [r for r in _patterns() if not r.startswith(("admin/", "^static/", "^media/"))]
    routes = [r for r in routes if "logout" not in r]
    assert len(routes) > 50

    def relogin():
        client.force_login(world["member"])

    relogin()
    # The junk forms do pass the CSRF check (so the views behind it are reached).
    assert client.post("/notifications/read-all/", _junk_form("x")).status_code == 302
    problems = _sweep(client, routes, world["valid"], relogin)
    assert not problems, f"{len(problems)} server errors:\n" + "\n".join(problems)


def test_every_admin_page_answers_junk_without_a_server_error(world):
    client = _client()
    routes = [r for r in _patterns() if r.startswith("admin/") and "logout" not in r]

    def relogin():
        client.force_login(world["staff"])

    problems = _sweep(client, routes, world["valid"], relogin)
    assert not problems, f"{len(problems)} server errors:\n" + "\n".join(problems)
