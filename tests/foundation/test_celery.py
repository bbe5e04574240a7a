"""A Celery task runs through a real worker on Redis (PostgreSQL + Redis pass)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from audiosocial.celery import ping

ROOT = Path(__file__).resolve().parents[2]


def test_task_runs_eagerly_by_default(settings):
    if settings.REDIS_URL:
        return  # the embedded-defaults behaviour is checked in the defaults pass
    assert ping.delay().get(timeout=5) == "pong"


def test_task_runs_through_real_worker_on_redis(require_redis, settings):
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="audiosocial.settings")
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
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        result = ping.apply_async(expires=60)
        assert result.get(timeout=60) == "pong"
        # A worker really ran it: the result came through the Redis backend, not eager mode.
        assert not settings.CELERY_TASK_ALWAYS_EAGER
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        time.sleep(0)
