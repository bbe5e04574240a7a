"""`manage.py runjanus`: Janus with the project's configuration, in the foreground.

Renders deploy/janus/ with the values from settings into ``JANUS_RUNTIME_DIR`` and replaces this
process with ``janus -F DIR -C DIR/janus.jcfg`` (exec), so signals (Ctrl-C, SIGTERM from
`make run` or a supervisor) reach Janus itself.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from rooms.audio.config import JanusConfig, janus_command, render

MISSING_JANUS = (
    "The janus binary was not found on PATH. Install Janus 1.1.x with the AudioBridge plugin "
    "(Debian/Ubuntu: sudo apt-get install janus), or pass --janus /path/to/janus."
)


class Command(BaseCommand):
    help = "Render the project's Janus configuration and run Janus in the foreground."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            default=None,
            help="Where to render the configuration (default: settings.JANUS_RUNTIME_DIR).",
        )
        parser.add_argument("--janus", default="janus", help="The Janus binary (default: janus).")
        parser.add_argument(
            "--debug-level", type=int, default=4, help="Janus log level 0-7 (default 4)."
        )
        parser.add_argument(
            "--render-only",
            action="store_true",
            help="Render the configuration, print the command, and exit without starting Janus.",
        )

    def handle(self, *args, **options):
        folder = Path(options["dir"] or settings.JANUS_RUNTIME_DIR)
        try:
            config = JanusConfig.from_settings(debug_level=options["debug_level"])
            config_file = render(config, folder)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        binary = shutil.which(options["janus"])
        command = janus_command(folder, janus_binary=binary or options["janus"])
        if options["render_only"]:
            self.stdout.write(f"Rendered {config_file}")
            self.stdout.write(" ".join(command))
            return
        if binary is None:
            raise CommandError(MISSING_JANUS)
        self.stdout.write(
            f"Janus API {settings.JANUS_URL}, Admin API {settings.JANUS_ADMIN_URL} "
            f"(configuration in {folder})"
        )
        self.stdout.flush()
        os.execv(binary, command)  # noqa: S606 - the binary is resolved on PATH, args are ours
