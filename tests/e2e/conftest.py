"""Browser tests: the real ASGI application served by daphne, driven by Debian's Chromium.

- ``live_site`` starts ``daphne audiosocial.asgi:application`` in a subprocess on a free port of
  127.0.0.1, on the test database, with a real Janus (``janus_server`` from tests/audio), and stops
  it after the test, before pytest-django empties the tables. A separate process is what runs in
  production and keeps Playwright's event loop away from Django's.
- The database is shared with that process: PostgreSQL as is; SQLite through a test database *file*
  (an in-memory database cannot be shared with another process). When browser tests are collected
  the session's SQLite test database is therefore a file in a temporary folder (see
  ``pytest_configure``); without browser tests nothing changes.
- ``browser`` launches /usr/bin/chromium headless with fake media devices: a fake microphone that
  beeps, and no permission prompt. Playwright runs per test and is stopped afterwards, because its
  sync API marks an asyncio loop as running in the main thread while it is alive, which would break
  later async tests and Django's async-safety checks.
- Screenshots go to ``test-artifacts/`` at the repository root (git-ignored; see README.md).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import need
from tests.janus import JanusServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
SERVER_START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_env() -> dict[str, str]:
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": db["NAME"]}
    if connection.vendor != "postgresql":
        raise RuntimeError(f"no browser-test support for {connection.vendor}")
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    return {"DATABASE_URL": f"postgres://{auth}@{host}:{port}/{quote(db['NAME'], safe='')}"}


class LiveServer:
    """daphne serving the project in a subprocess; ``restart()`` simulates a server restart."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        # Kept across restarts: the pages reconnect to the same address.
        self.port = free_port()
        self.env = env
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "audiosocial.asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"daphne did not answer in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    # Remembered on the test so that fixtures can tell, at teardown, whether it failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def live_site(request, transactional_db, janus_server, settings, tmp_path):  # noqa: F811
    """The site at ``live_site.url``, on this test's database, with a real Janus."""
    janus: JanusServer = janus_server
    if not janus.running:
        janus.start()
    janus.apply(settings)
    # The server gets its own settings, and keeps Django's async-safety checks (the browser
    # fixture relaxes them for the test process only).
    skip = ("DATABASE_URL", "SQLITE_PATH", "JANUS_", "PYTEST", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {key: value for key, value in os.environ.items() if not key.startswith(skip)}
    env.update(_database_env())
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "audiosocial.settings",
            "DEBUG": "1",  # staticfiles served by Django (rooms/urls.py); development secrets
            "SECRET_KEY": settings.SECRET_KEY,  # sessions made by the tests stay valid
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "JANUS_URL": janus.url,
            "JANUS_ADMIN_URL": janus.admin_url,
            "JANUS_API_SECRET": janus.config.api_secret,
            "JANUS_ADMIN_SECRET": janus.config.admin_secret,
            "JANUS_ADMIN_KEY": janus.config.admin_key,
            "JANUS_RTP_PORT_RANGE": janus.config.rtp_port_range,
            # No Celery worker runs beside the browser tests: tasks run inside daphne.
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    server = LiveServer(env, tmp_path / "daphne.log")
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        # Shown under "Captured stdout teardown": what the server said while the test failed.
        print(f"--- daphne log ({server.log_file}) ---\n{server.log_tail(200)}")


@pytest.fixture
def chromium_args() -> list[str]:
    """Chromium's command line; a test module overrides this fixture to change the fake devices
    (e.g. a microphone playing a file, tests/e2e/test_talking.py)."""
    return list(CHROMIUM_ARGS)


@pytest.fixture
def browser(require_chromium, monkeypatch, chromium_args):
    """A headless Chromium (fake microphone, no prompts), closed after the test."""
    from playwright.sync_api import sync_playwright

    # While Playwright's sync API is alive the main thread looks like it runs an event loop;
    # the test's own database calls (factories, assertions) are still plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=require_chromium, headless=True, args=chromium_args
        )
    except Exception as exc:  # noqa: BLE001 - reported as a missing part
        playwright.stop()
        need("Chromium", False, f"Playwright could not launch {require_chromium}: {exc}")
    yield chromium
    chromium.close()
    playwright.stop()


class Visitor:
    """One person's browser context; collects the page's JavaScript errors."""

    def __init__(self, context, page, name: str, live_url: str) -> None:
        self.live_url = live_url
        self.context = context
        self.page = page
        self.name = name
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"{name}: {error}"))


@pytest.fixture
def open_browser(browser, live_site):
    """``open_browser(user=None, width=1280, height=800)`` → a ``Visitor`` signed in as ``user``.

    Signing in sets a session cookie made by Django's test client: the login form is tested once
    (signup), the other tests start where they need to be.
    """
    from django.conf import settings as django_settings
    from django.test import Client

    visitors: list[Visitor] = []

    def open_(user=None, *, width: int = 1280, height: int = 800, name: str = "") -> Visitor:
        context = browser.new_context(
            base_url=live_site.url,
            viewport={"width": width, "height": height},
            permissions=["microphone"],
        )
        context.set_default_timeout(10_000)
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": django_settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                        "url": live_site.url,
                    }
                ]
            )
        visitor = Visitor(
            context, context.new_page(), name or getattr(user, "username", "guest"), live_site.url
        )
        visitors.append(visitor)
        return visitor

    yield open_
    errors = [error for visitor in visitors for error in visitor.errors]
    for visitor in visitors:
        visitor.context.close()
    assert not errors, "JavaScript errors in the pages:\n" + "\n".join(errors)


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
