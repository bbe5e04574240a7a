"""The Janus controller against a real Janus started from the project's templates."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from janus_client import JanusSession

from audiosocial.errors import ServiceUnavailable
from rooms.audio.config import TEMPLATES_DIR, JanusConfig, render
from rooms.audio.controller import AudioBridgeController, JanusNode, new_janus_room_id
from rooms.audio.errors import JanusRequestError, JanusUnavailable
from rooms.audio.plugin import AudioBridgePlugin, janus_errors
from tests.audio.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def closed_node() -> JanusNode:
    port = free_port()  # bound then released: nothing listens there
    return JanusNode(
        name="default",
        url=f"http://127.0.0.1:{port}/janus",
        admin_url=f"http://127.0.0.1:{port}/admin",
        api_secret="x",
        admin_secret="x",
        admin_key="x",
        timeout=2.0,
    )


def listening_addresses(port: int) -> set[str]:
    """Local addresses of TCP listeners on ``port``, read from the kernel (IPv4 and IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def test_info_answers_with_only_the_audiobridge_streaming_and_http(janus):
    info = janus.controller().info()
    assert info["version_string"].startswith("1.1.")
    assert set(info["plugins"]) == {"janus.plugin.audiobridge", "janus.plugin.streaming"}
    assert set(info["transports"]) == {"janus.transport.http"}
    assert info.get("events", {}) == {}


def test_room_is_created_with_a_secret_and_destroyed(janus):
    controller = janus.controller()
    room = new_janus_room_id()
    controller.create_room(room, secret="room-secret", allowed=["token-a"])
    try:
        assert controller.room_exists(room)
        listed = {r["room"]: r for r in controller.list_rooms()}
        assert listed[room]["sampling_rate"] == 48000
        # Without the room's secret nobody can destroy it or change its allowed list.
        with pytest.raises(JanusRequestError) as refused:
            controller.destroy_room(room, secret="wrong")
        assert refused.value.unauthorized
        with pytest.raises(JanusRequestError):
            controller.allowed_add(room, secret="wrong", tokens=["intruder"])
        assert controller.room_exists(room)
    finally:
        assert controller.destroy_room(room, secret="room-secret") is True
    assert not controller.room_exists(room)
    assert controller.destroy_room(room, secret="room-secret") is False


def test_creating_a_room_without_the_admin_key_is_refused(janus):
    controller = janus.controller()
    room = new_janus_room_id()
    with pytest.raises(JanusRequestError) as missing:
        controller.create_room(room, secret="s", admin_key=None)
    assert "admin_key" in missing.value.reason
    with pytest.raises(JanusRequestError) as wrong:
        controller.create_room(room, secret="s", admin_key="not-the-key")
    assert wrong.value.unauthorized
    assert not controller.room_exists(room)


def test_admin_api_refuses_a_wrong_admin_secret(janus):
    node = janus.controller().node
    intruder = AudioBridgeController(
        JanusNode(**{**node.__dict__, "admin_secret": "guess"}),
    )
    with pytest.raises(JanusRequestError) as refused:
        intruder.room_exists(1)
    assert refused.value.code == 403


async def test_janus_api_refuses_a_session_without_the_api_secret(janus):
    anonymous = JanusSession(base_url=janus.url)
    with pytest.raises(JanusUnavailable):
        async with janus_errors(janus.url):
            await anonymous.create()


async def test_audiobridge_handle_attaches_through_janus_client(janus):
    session = JanusSession(base_url=janus.url, api_secret=janus.config.api_secret)
    plugin = AudioBridgePlugin()
    try:
        async with janus_errors(janus.url):
            await plugin.attach(session)
            data, jsep = await plugin.request({"request": "exists", "room": 424242})
        assert data == {"audiobridge": "success", "room": 424242, "exists": False}
        assert jsep is None
    finally:
        await plugin.destroy()
        await session.destroy()
        await plugin.pc.close()


def test_controller_raises_janus_unavailable_when_janus_is_down():
    controller = AudioBridgeController(closed_node())
    for call in (
        controller.info,
        lambda: controller.create_room(1, secret="s"),
        lambda: controller.room_exists(1),
        lambda: controller.destroy_room(1, secret="s"),
    ):
        with pytest.raises(JanusUnavailable) as down:
            call()
        assert isinstance(down.value, ServiceUnavailable)
        assert down.value.code == "audio_unavailable"
        assert down.value.status_code == 503
        assert "audio" in down.value.message.lower()


async def test_participant_path_raises_janus_unavailable_when_janus_is_down():
    node = closed_node()
    session = JanusSession(base_url=node.url, api_secret="x")
    with pytest.raises(JanusUnavailable) as down:
        async with janus_errors(node.url):
            await session.create()
    assert down.value.code == "audio_unavailable"


def test_running_janus_listens_on_loopback_only(janus):
    for port in (janus.http_port, janus.admin_port):
        addresses = listening_addresses(port)
        # 0100007F is 127.0.0.1 in /proc's little-endian hex; anything else would be exposed.
        assert addresses == {"0100007F"}, (port, addresses)


def test_running_janus_has_no_demo_rooms_or_mountpoints(janus):
    controller = janus.controller()
    assert not controller.room_exists(1234)
    streaming = controller._admin(
        {
            "janus": "message_plugin",
            "plugin": "janus.plugin.streaming",
            "request": {"request": "list", "admin_key": janus.config.admin_key},
        }
    )
    assert streaming["response"]["list"] == []


def test_rendered_configuration_is_loopback_only_with_secrets_and_no_demo(tmp_path, settings):
    settings.JANUS_API_SECRET = "api-secret-1"
    settings.JANUS_ADMIN_SECRET = "admin-secret-2"
    settings.JANUS_ADMIN_KEY = "admin-key-3"
    settings.JANUS_RTP_PORT_RANGE = "30000-30999"
    render(JanusConfig.from_settings(), tmp_path)
    core = (tmp_path / "janus.jcfg").read_text()
    http = (tmp_path / "janus.transport.http.jcfg").read_text()
    bridge = (tmp_path / "janus.plugin.audiobridge.jcfg").read_text()
    streaming = (tmp_path / "janus.plugin.streaming.jcfg").read_text()
    assert 'api_secret = "api-secret-1"' in core
    assert 'admin_secret = "admin-secret-2"' in core
    assert 'rtp_port_range = "30000-30999"' in core
    assert "janusoverlord" not in core
    assert re.search(r'disable = "[^"]*libjanus_videoroom\.so', core)
    assert re.search(r'disable = "[^"]*libjanus_websockets\.so', core)
    assert 'ip = "127.0.0.1"' in http and 'admin_ip = "127.0.0.1"' in http
    assert "port = 8088" in http and "admin_port = 7088" in http
    assert "0.0.0.0" not in http  # noqa: S104
    for plugin in (bridge, streaming):
        assert 'admin_key = "admin-key-3"' in plugin
    assert "lock_rtp_forward = true" in bridge and "lock_play_file = true" in bridge
    # No demo room ("room-1234") or mountpoint sections: only the general block.
    for text in (bridge, streaming):
        sections = re.findall(r"^([A-Za-z0-9_-]+)\s*:\s*\{", text, re.MULTILINE)
        assert sections == ["general"]
    assert "${" not in core + http + bridge + streaming
    assert oct(os.stat(tmp_path / "janus.jcfg").st_mode & 0o777) == "0o600"


def test_rendering_refuses_exposed_addresses_and_unsafe_secrets(tmp_path, settings):
    settings.JANUS_URL = "http://0.0.0.0:8088/janus"
    with pytest.raises(ImproperlyConfigured, match="loopback"):
        JanusConfig.from_settings()
    settings.JANUS_URL = "http://127.0.0.1:8088/janus"
    settings.JANUS_API_SECRET = 'oops" ; admin_http = true'
    with pytest.raises(ImproperlyConfigured, match="api_secret"):
        render(JanusConfig.from_settings(), tmp_path)
    settings.JANUS_API_SECRET = ""
    with pytest.raises(ImproperlyConfigured):
        render(JanusConfig.from_settings(), tmp_path)


def test_nat_and_turn_settings_are_rendered_and_checked(tmp_path, settings):
    render(JanusConfig.from_settings(), tmp_path)
    assert "nat_1_1_mapping" not in (tmp_path / "janus.jcfg").read_text()
    settings.JANUS_NAT_1_1_MAPPING = "203.0.113.7"
    settings.JANUS_STUN_SERVER = "stun.example.org:3478"
    settings.JANUS_TURN_SERVER = "turn.example.org:3478"
    settings.JANUS_TURN_USER = "relay"
    settings.JANUS_TURN_PASSWORD = "relay-secret"
    render(JanusConfig.from_settings(), tmp_path)
    core = (tmp_path / "janus.jcfg").read_text()
    nat = core.split("nat: {", 1)[1].split("}", 1)[0]
    for line in (
        'nat_1_1_mapping = "203.0.113.7"',
        'stun_server = "stun.example.org"',
        "stun_port = 3478",
        'turn_server = "turn.example.org"',
        'turn_type = "udp"',
        'turn_user = "relay"',
        'turn_pwd = "relay-secret"',
    ):
        assert line in nat
    settings.JANUS_NAT_1_1_MAPPING = '1.2.3.4" ; admin_http = true'
    with pytest.raises(ImproperlyConfigured, match="JANUS_NAT_1_1_MAPPING"):
        render(JanusConfig.from_settings(), tmp_path)
    settings.JANUS_NAT_1_1_MAPPING = ""
    settings.JANUS_TURN_SERVER = "turn.example.org"
    with pytest.raises(ImproperlyConfigured, match="host:port"):
        render(JanusConfig.from_settings(), tmp_path)


def test_templates_cover_every_file_janus_loads():
    names = sorted(p.name for p in TEMPLATES_DIR.glob("*.jcfg"))
    assert names == [
        "janus.jcfg",
        "janus.plugin.audiobridge.jcfg",
        "janus.plugin.streaming.jcfg",
        "janus.transport.http.jcfg",
    ]


def test_runjanus_renders_the_settings_into_the_runtime_dir(tmp_path, settings, capsys):
    settings.JANUS_API_SECRET = "rendered-api-secret"
    call_command("runjanus", render_only=True, dir=str(tmp_path))
    assert 'api_secret = "rendered-api-secret"' in (tmp_path / "janus.jcfg").read_text()
    out = capsys.readouterr().out
    assert f"-F {tmp_path} -C {tmp_path}/janus.jcfg" in out


def test_runjanus_without_the_binary_says_what_to_install(tmp_path):
    with pytest.raises(CommandError, match="apt-get install janus"):
        call_command("runjanus", janus="/nonexistent/janus", dir=str(tmp_path))


def test_runjanus_runs_janus_in_the_foreground_and_stops_on_sigterm(janus_server, tmp_path):
    http_port, admin_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "audiosocial.settings",
        "JANUS_URL": f"http://127.0.0.1:{http_port}/janus",
        "JANUS_ADMIN_URL": f"http://127.0.0.1:{admin_port}/admin",
        "JANUS_API_SECRET": "fg-api",
        "JANUS_ADMIN_SECRET": "fg-admin",
        "JANUS_ADMIN_KEY": "fg-key",
        "JANUS_RTP_PORT_RANGE": "41000-41499",
        # Janus must accept the rendered nat section, not only the defaults.
        "JANUS_NAT_1_1_MAPPING": "203.0.113.7",
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runjanus", "--dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    controller = AudioBridgeController(
        JanusNode(
            name="default",
            url=env["JANUS_URL"],
            admin_url=env["JANUS_ADMIN_URL"],
            api_secret="fg-api",
            admin_secret="fg-admin",
            admin_key="fg-key",
            timeout=2.0,
        )
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                assert controller.info()["server-name"] == "audiosocial"
                break
            except JanusUnavailable:
                assert process.poll() is None, "runjanus exited early"
                assert time.monotonic() < deadline, "Janus did not answer"
                time.sleep(0.1)
        # exec: the process we started *is* Janus, so the signal reaches it directly.
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) is not None
        with pytest.raises(JanusUnavailable):
            controller.info()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_nothing_sent_to_browsers_can_address_janus(settings):
    """Browsers get SDP only: no Janus address, port or secret in any static file or template."""
    needles = {
        "/janus",
        "/admin/janus",
        ":8088",
        ":7088",
        "apisecret",
        "admin_secret",
        settings.JANUS_API_SECRET,
        settings.JANUS_ADMIN_SECRET,
        settings.JANUS_ADMIN_KEY,
    }
    offenders = []
    for folder in ("static", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".js", ".html", ".css", ".json", ".txt"}:
                text = path.read_text(errors="replace")
                offenders += [f"{path}: {n}" for n in needles if n and n in text]
    assert offenders == []
