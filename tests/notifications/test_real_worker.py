"""The live fan-out through a real Celery worker on Redis, against PostgreSQL (second CI pass)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from audiosocial.celery import app as celery_app
from notifications import services
from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.conftest import follow, make_room

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def test_room_live_fan_out_runs_on_a_real_worker(require_postgres, require_redis, settings):
    celery_app.conf.task_always_eager = False
    host = UserFactory()
    for _ in range(30):
        follow(UserFactory(), host)
    room = make_room(host)
    db = settings.DATABASES["default"]
    # The worker must write into this test's database, not the configured one.
    database_url = (
        f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{connection.settings_dict['NAME']}"
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "audiosocial",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"notify-test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=dict(
            os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="audiosocial.settings"
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        services.notify_room_live(room_id=str(room.pk))  # autocommit: enqueued at once
        deadline = time.monotonic() + 60
        while Notification.objects.count() < 30 and time.monotonic() < deadline:
            assert worker.poll() is None, worker.stderr.read().decode()
            time.sleep(0.2)
        assert Notification.objects.filter(kind="went_live", room=room).count() == 30
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
