"""A real Janus started from the project's own templates (deploy/janus/), shared by the run.

``janus_server`` (session) renders the same templates as ``manage.py runjanus`` with free ports and
random secrets, starts Janus, waits until ``info`` answers, and stops it at the end of the run.
``janus`` (per test) makes sure it is running and points Django's settings at it. Tests that need
a crash call ``janus_server.kill()`` and ``janus_server.start()`` (or ``restart()``).
Without the janus binary the tests skip locally and fail in CI (``need``). The fixtures are
registered in tests/conftest.py so the audio and browser tests share one Janus.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import need


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JanusServer:
    def __init__(self, folder: Path) -> None:
        from rooms.audio.config import JanusConfig, render

        self.folder = folder
        self.http_port = free_port()
        self.admin_port = free_port()
        while self.admin_port == self.http_port:
            self.admin_port = free_port()
        # A private slice of the media ports, so parallel runs on one machine do not collide.
        base = random.randrange(42000, 59000, 1000)
        self.config = JanusConfig(
            http_port=self.http_port,
            admin_port=self.admin_port,
            api_secret=secrets.token_urlsafe(24),
            admin_secret=secrets.token_urlsafe(24),
            admin_key=secrets.token_urlsafe(24),
            rtp_port_range=f"{base}-{base + 999}",
            debug_level=int(os.environ.get("JANUS_TEST_DEBUG_LEVEL", "4")),
        )
        render(self.config, folder)
        self.log_file = folder / "janus.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/janus"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}/admin"

    def apply(self, settings) -> None:
        settings.JANUS_URL = self.url
        settings.JANUS_ADMIN_URL = self.admin_url
        settings.JANUS_API_SECRET = self.config.api_secret
        settings.JANUS_ADMIN_SECRET = self.config.admin_secret
        settings.JANUS_ADMIN_KEY = self.config.admin_key
        settings.JANUS_RTP_PORT_RANGE = self.config.rtp_port_range
        settings.JANUS_TIMEOUT = 3.0

    def controller(self):
        from rooms.audio.controller import AudioBridgeController, JanusNode

        return AudioBridgeController(
            JanusNode(
                name="default",
                url=self.url,
                admin_url=self.admin_url,
                api_secret=self.config.api_secret,
                admin_secret=self.config.admin_secret,
                admin_key=self.config.admin_key,
                timeout=3.0,
            )
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> None:
        from rooms.audio.config import janus_command
        from rooms.audio.errors import JanusUnavailable

        if self.running:
            return
        command = janus_command(self.folder, log_file=str(self.log_file))
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        self.starts += 1
        deadline = time.monotonic() + timeout
        controller = self.controller()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Janus exited at start:\n{self.log_tail()}")
            try:
                controller.info()
                controller.list_rooms()
                return
            except JanusUnavailable:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"Janus did not answer in {timeout}s:\n{self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def kill(self) -> None:
        """Crash Janus (SIGKILL): every room, token and handle vanishes with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory):
    binary = shutil.which("janus")
    need("Janus", binary is not None, "install the Debian package 'janus' (1.1.x)")
    server = JanusServer(tmp_path_factory.mktemp("janus"))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def janus(janus_server, settings):
    """A running Janus, with Django's settings pointing at it for this test."""
    if not janus_server.running:
        janus_server.start()
    janus_server.apply(settings)
    return janus_server
