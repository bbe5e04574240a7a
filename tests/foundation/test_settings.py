"""Settings select the embedded defaults or the real services from the environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from audiosocial.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": app.conf.broker_url,
}))
"""

_CLEARED = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS")


def run_probe(env: dict[str, str], code: str = PROBE) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    base["DJANGO_SETTINGS_MODULE"] = "audiosocial.settings"
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )


def test_defaults_select_embedded_parts():
    result = run_probe({})
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["engine"] == "django.db.backends.sqlite3"
    assert probe["layer"] == "channels.layers.InMemoryChannelLayer"
    assert probe["cache"].endswith("LocMemCache")
    assert probe["eager"] is True


def test_urls_select_postgres_and_redis():
    result = run_probe(
        {
            "DATABASE_URL": "postgres://app@127.0.0.1:5432/somedb",
            "REDIS_URL": "redis://127.0.0.1:6379/3",
        }
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["engine"] == "django.db.backends.postgresql"
    assert probe["db_name"] == "somedb"
    assert probe["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert probe["cache"] == "audiosocial.cache.RedisCache"
    assert probe["eager"] is False
    assert probe["broker"] == "redis://127.0.0.1:6379/3"


def test_production_refuses_missing_secret_key():
    result = run_probe({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_insecure_secret_key():
    result = run_probe({"DEBUG": "0", "SECRET_KEY": "django-insecure-" + "x" * 60})
    assert result.returncode != 0
    assert "SECRET_KEY is insecure" in result.stderr


def test_production_refuses_missing_janus_secrets():
    result = run_probe({"DEBUG": "0", "SECRET_KEY": "k" * 20 + "Q9z!" * 10})
    assert result.returncode != 0
    assert "JANUS_API_SECRET must be set" in result.stderr


def test_check_deploy_passes_in_production_configuration():
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "a8Fk2#Lq9!zX0pWm7@Rt4$Yv6^Bn1&Cs3*Dh5(Ej8)Gk0_Hl2+Jm",
        "ALLOWED_HOSTS": "audio.example.org",
        "JANUS_API_SECRET": "s1",
        "JANUS_ADMIN_SECRET": "s2",
        "JANUS_ADMIN_KEY": "s3",
    }
    base = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    base.update(env)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
