"""Session-wide test setup.

Real parts, really used: PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set, a real Janus
started from deploy/janus/ (see tests/audio/conftest.py), Chromium for browser tests. With
REQUIRE_SERVICES=1 (as in CI) a test that needs a missing part fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_REQUIRED = {p.strip().lower() for p in os.environ.get("REQUIRE_SERVICES", "").split(",")}
_ALL_PARTS = {"janus", "chromium", "postgresql", "redis"}
# REQUIRE_SERVICES=1 (or "all") requires every part; a comma list names some, e.g. CI's first
# pass runs on the embedded defaults and requires only "janus,chromium".
REQUIRED_PARTS = _ALL_PARTS if _REQUIRED & {"1", "true", "yes", "all"} else _REQUIRED & _ALL_PARTS


def need(part: str, available: bool, why: str) -> None:
    """Skip (developer machine) or fail (CI) when a real component is missing."""
    if available:
        return
    message = f"{part} is required for this test but is not available: {why}"
    if part.lower() in REQUIRED_PARTS:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture
def require_postgres(settings):
    need(
        "PostgreSQL",
        settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
        "set DATABASE_URL=postgres://...",
    )


@pytest.fixture
def require_redis(settings):
    need("Redis", bool(settings.REDIS_URL), "set REDIS_URL=redis://...")


@pytest.fixture
def require_chromium():
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    need("Chromium", os.path.exists(path) or bool(shutil.which(path)), f"no browser at {path}")
    return path


@pytest.fixture(autouse=True)
def _isolated_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield


def pytest_configure(config):
    from django.conf import settings

    database = settings.DATABASES["default"]
    # Connections opened by database_sync_to_async threads must not outlive a test, or the test
    # database cannot be dropped at the end of the run.
    database["CONN_MAX_AGE"] = 0
    if database["ENGINE"] == "django.db.backends.sqlite3" and not database.get("TEST", {}).get(
        "NAME"
    ):
        # A file, not SQLite's in-memory database: the browser tests' daphne subprocess must see
        # the same rows, and every run should behave alike whichever tests it collects. tmpfs when
        # there is one: the suite commits often and needs no durability.
        base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        folder = tempfile.mkdtemp(prefix="audiosocial-test-", dir=base)
        database.setdefault("TEST", {})["NAME"] = str(Path(folder) / "test.sqlite3")
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When every real part is required (CI's second pass), no test may skip at all."""
    outcome = yield
    report = outcome.get_result()
    if REQUIRED_PARTS == _ALL_PARTS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.longrepr = f"skipped while REQUIRE_SERVICES requires every part: {reason}"


# The real Janus, one per run, shared by the audio and browser tests (defined after ``need``,
# which tests/janus.py imports from here).
from tests.janus import janus, janus_server  # noqa: E402, F401
