"""Render the project's Janus configuration (deploy/janus/*.jcfg) into a runtime folder.

The templates are the only Janus configuration the project uses: ``manage.py runjanus`` renders
them from Django settings, and the test fixture renders the same files with free ports and random
secrets. Values are checked before they are written, because a quote or a newline in a secret
would silently change the meaning of a libconfig file.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "janus"
TEMPLATE_NAMES = (
    "janus.jcfg",
    "janus.transport.http.jcfg",
    "janus.plugin.audiobridge.jcfg",
    "janus.plugin.streaming.jcfg",
)
# Where distributions install Janus's plugins (Debian/Ubuntu multiarch first, then source builds).
LIB_DIR_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/janus",
    "/usr/lib/aarch64-linux-gnu/janus",
    "/usr/lib/janus",
    "/usr/local/lib/janus",
    "/opt/janus/lib/janus",
)
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9._~+/=:@-]+$")
_PORT_RANGE = re.compile(r"^(\d{1,5})-(\d{1,5})$")
_HOST_PORT = re.compile(r"^([A-Za-z0-9.-]+):(\d{1,5})$")


@dataclass(frozen=True)
class JanusConfig:
    """Everything the templates need; build it from settings or pass explicit values."""

    http_port: int
    admin_port: int
    api_secret: str
    admin_secret: str
    admin_key: str
    rtp_port_range: str = "20000-40000"
    http_ip: str = "127.0.0.1"
    admin_ip: str = "127.0.0.1"
    http_base_path: str = "/janus"
    admin_base_path: str = "/admin"
    lib_dir: str = ""
    debug_level: int = 4
    session_timeout: int = 20
    nat_1_1_mapping: str = ""
    stun_server: str = ""
    turn_server: str = ""
    turn_type: str = "udp"
    turn_user: str = ""
    turn_password: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Any | None = None, **overrides: Any) -> JanusConfig:
        if settings is None:
            from django.conf import settings as django_settings

            settings = django_settings
        http = _split_url(settings.JANUS_URL, "JANUS_URL")
        admin = _split_url(settings.JANUS_ADMIN_URL, "JANUS_ADMIN_URL")
        values: dict[str, Any] = {
            "http_ip": http[0],
            "http_port": http[1],
            "http_base_path": http[2],
            "admin_ip": admin[0],
            "admin_port": admin[1],
            "admin_base_path": admin[2],
            "api_secret": settings.JANUS_API_SECRET,
            "admin_secret": settings.JANUS_ADMIN_SECRET,
            "admin_key": settings.JANUS_ADMIN_KEY,
            "rtp_port_range": settings.JANUS_RTP_PORT_RANGE,
            "lib_dir": getattr(settings, "JANUS_LIB_DIR", "") or "",
            "nat_1_1_mapping": getattr(settings, "JANUS_NAT_1_1_MAPPING", ""),
            "stun_server": getattr(settings, "JANUS_STUN_SERVER", ""),
            "turn_server": getattr(settings, "JANUS_TURN_SERVER", ""),
            "turn_type": getattr(settings, "JANUS_TURN_TYPE", "udp"),
            "turn_user": getattr(settings, "JANUS_TURN_USER", ""),
            "turn_password": getattr(settings, "JANUS_TURN_PASSWORD", ""),
        }
        values.update(overrides)
        return cls(**values)

    def template_values(self, configs_folder: Path) -> dict[str, str]:
        for name in ("api_secret", "admin_secret", "admin_key"):
            value = getattr(self, name)
            if not value or not _SAFE_VALUE.match(value):
                raise ImproperlyConfigured(
                    f"The Janus {name} must be set and use only letters, digits and ._~+/=:@- "
                    "(generate one with: python -c 'import secrets; "
                    "print(secrets.token_urlsafe(32))')."
                )
        for name in ("http_ip", "admin_ip"):
            if not _is_loopback(getattr(self, name)):
                raise ImproperlyConfigured(
                    f"Janus's {name} must be a loopback address: its APIs are only for Django."
                )
        for name in ("http_port", "admin_port"):
            port = getattr(self, name)
            if not isinstance(port, int) or not 0 < port < 65536:
                raise ImproperlyConfigured(f"Janus {name} {port!r} is not a TCP port.")
        if self.http_port == self.admin_port:
            raise ImproperlyConfigured("The Janus API and Admin API need different ports.")
        match = _PORT_RANGE.match(self.rtp_port_range or "")
        if not match or not 1024 <= int(match[1]) < int(match[2]) <= 65535:
            raise ImproperlyConfigured(
                f"JANUS_RTP_PORT_RANGE {self.rtp_port_range!r} must look like 20000-40000."
            )
        for name in ("http_base_path", "admin_base_path"):
            if not re.match(r"^/[A-Za-z0-9_/-]*$", getattr(self, name)):
                raise ImproperlyConfigured(f"Janus {name} must be a simple URL path.")
        values = {
            "configs_folder": str(configs_folder),
            "lib_dir": self.lib_dir or find_lib_dir(),
            "debug_level": str(int(self.debug_level)),
            "session_timeout": str(int(self.session_timeout)),
            "api_secret": self.api_secret,
            "admin_secret": self.admin_secret,
            "admin_key": self.admin_key,
            "rtp_port_range": self.rtp_port_range,
            "http_ip": self.http_ip,
            "http_port": str(self.http_port),
            "http_base_path": self.http_base_path,
            "admin_ip": self.admin_ip,
            "admin_port": str(self.admin_port),
            "admin_base_path": self.admin_base_path,
            "nat_lines": self._nat_lines(),
        }
        values.update({k: str(v) for k, v in self.extra.items()})
        return values

    def _nat_lines(self) -> str:
        """Optional ``nat`` settings; every value is checked so none can break the file."""
        lines = []
        if self.nat_1_1_mapping:
            for address in self.nat_1_1_mapping.split(","):
                try:
                    ipaddress.ip_address(address.strip())
                except ValueError:
                    raise ImproperlyConfigured(
                        f"JANUS_NAT_1_1_MAPPING {self.nat_1_1_mapping!r} must be IP addresses."
                    ) from None
            lines.append(f'nat_1_1_mapping = "{self.nat_1_1_mapping.replace(" ", "")}"')
        for name, server in (("stun", self.stun_server), ("turn", self.turn_server)):
            if not server:
                continue
            match = _HOST_PORT.match(server)
            if not match:
                raise ImproperlyConfigured(
                    f"JANUS_{name.upper()}_SERVER {server!r} must look like host:port."
                )
            lines.append(f'{name}_server = "{match[1]}"')
            lines.append(f"{name}_port = {int(match[2])}")
        if self.turn_server:
            if self.turn_type not in {"udp", "tcp", "tls"}:
                raise ImproperlyConfigured("JANUS_TURN_TYPE must be udp, tcp or tls.")
            lines.append(f'turn_type = "{self.turn_type}"')
            for name, value in (("turn_user", self.turn_user), ("turn_pwd", self.turn_password)):
                if value:
                    if not _SAFE_VALUE.match(value):
                        raise ImproperlyConfigured(
                            f"The Janus {name} may use only letters, digits and ._~+/=:@-."
                        )
                    lines.append(f'{name} = "{value}"')
        return "\n\t".join(lines)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _split_url(url: str, name: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise ImproperlyConfigured(
            f"{name} must look like http://127.0.0.1:PORT/path, not {url!r}."
        )
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    if not _is_loopback(host):
        raise ImproperlyConfigured(
            f"{name} points at {parts.hostname}: the project's Janus listens on loopback only "
            "(run Janus on each node and reach it from Django on that node)."
        )
    return host, parts.port, parts.path.rstrip("/") or "/"


def find_lib_dir() -> str:
    """The folder holding Janus's plugins/, transports/, events/ and loggers/."""
    janus = shutil.which("janus")
    candidates = list(LIB_DIR_CANDIDATES)
    if janus:
        # A source build in PREFIX/bin/janus keeps its plugins in PREFIX/lib/janus.
        candidates.append(str(Path(janus).resolve().parent.parent / "lib" / "janus"))
    for candidate in candidates:
        if os.path.isfile(os.path.join(candidate, "plugins", "libjanus_audiobridge.so")):
            return candidate
    raise ImproperlyConfigured(
        "Janus's AudioBridge plugin (libjanus_audiobridge.so) was not found in "
        + ", ".join(candidates)
        + ". Install Janus 1.1.x (Debian/Ubuntu: apt-get install janus) or set JANUS_LIB_DIR."
    )


def render(config: JanusConfig, folder: Path | str) -> Path:
    """Write the rendered configuration files into ``folder``; returns the janus.jcfg path.

    The folder holds secrets, so it is created private (0700) and files are 0600.
    """
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    values = config.template_values(folder)
    for name in TEMPLATE_NAMES:
        text = Template((TEMPLATES_DIR / name).read_text()).substitute(values)
        target = folder / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
    return folder / "janus.jcfg"


def janus_command(folder: Path | str, *, janus_binary: str = "janus", log_file: str = "") -> list:
    """The command line that runs Janus with a rendered folder (foreground)."""
    folder = Path(folder)
    command = [janus_binary, "-F", str(folder), "-C", str(folder / "janus.jcfg")]
    if log_file:
        command += ["-L", log_file]
    return command
