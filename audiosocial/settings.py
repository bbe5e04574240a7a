"""audiosocial settings: everything comes from the environment, with embedded defaults.

Nothing set gives a working development site (SQLite, in-memory channel layer, eager Celery,
local-memory cache). ``DATABASE_URL`` selects PostgreSQL; ``REDIS_URL`` selects the Redis channel
layer, the Celery broker and the shared cache. See docs/configuration.md.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# A development secret is generated once by `make run` into .env.local (ignored); tests use a
# fixed one. With DEBUG off a missing or insecure key refuses to start.
_INSECURE_PREFIX = "django-insecure-"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = _INSECURE_PREFIX + "development-only-never-in-production"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
if not DEBUG and (
    SECRET_KEY.startswith(_INSECURE_PREFIX) or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is insecure: use at least 50 random characters (not 'django-insecure-...')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "allauth",
    "allauth.account",
    "allauth.headless",
    "audiosocial",
    "accounts",
    "follows",
    "rooms",
    "moderation",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "audiosocial.middleware.reject_unusable_requests",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "audiosocial.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "audiosocial.context_processors.webrtc",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "audiosocial.asgi.application"

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # A short busy timeout lets concurrent writers (daphne threads, Celery eager tasks)
            # wait instead of failing with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, cache, Celery ----------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 1000)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}],
                "prefix": os.environ.get("CHANNELS_PREFIX", "audiosocial"),
            },
        }
    }
    CACHES = {
        "default": {
            # Django's, with one client per process (audiosocial/cache.py).
            "BACKEND": "audiosocial.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_PREFIX", "audiosocial"),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True

CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Periodic work (Celery beat). Each entry names a task owned by one app.
CELERY_BEAT_SCHEDULE = {
    "rooms-housekeeping": {"task": "rooms.housekeeping", "schedule": 60.0},
    "rooms-audio-reconcile": {"task": "rooms.audio_reconcile", "schedule": 15.0},
    "rooms-presence-sweep": {"task": "rooms.presence_sweep", "schedule": 30.0},
    "rooms-expire-speaker-invites": {"task": "rooms.expire_speaker_invites", "schedule": 15.0},
    "moderation-expire-sanctions": {"task": "moderation.expire_sanctions", "schedule": 60.0},
    "notifications-reminders": {"task": "notifications.send_reminders", "schedule": 60.0},
}
# Without Redis there is no worker and no beat: the web process can run the schedule itself
# (audiosocial/periodic.py; ``make run`` turns this on). One process only.
PERIODIC_TASKS_IN_PROCESS = env_bool("PERIODIC_TASKS_IN_PROCESS", False)

# --- Janus ----------------------------------------------------------------------------------
JANUS_URL = os.environ.get("JANUS_URL", "http://127.0.0.1:8088/janus")
JANUS_ADMIN_URL = os.environ.get("JANUS_ADMIN_URL", "http://127.0.0.1:7088/admin")
JANUS_API_SECRET = os.environ.get("JANUS_API_SECRET", "dev-janus-api-secret" if DEBUG else "")
JANUS_ADMIN_SECRET = os.environ.get("JANUS_ADMIN_SECRET", "dev-janus-admin-secret" if DEBUG else "")
JANUS_ADMIN_KEY = os.environ.get("JANUS_ADMIN_KEY", "dev-janus-admin-key" if DEBUG else "")
JANUS_RTP_PORT_RANGE = os.environ.get("JANUS_RTP_PORT_RANGE", "20000-40000")
JANUS_RUNTIME_DIR = Path(os.environ.get("JANUS_RUNTIME_DIR", str(BASE_DIR / "var" / "janus")))
JANUS_TIMEOUT = float(os.environ.get("JANUS_TIMEOUT", "5"))
# Reaching clients across NATs: the public address of a 1:1-NATed host (cloud VMs), and the
# STUN/TURN servers Janus uses to gather its own candidates.
JANUS_NAT_1_1_MAPPING = os.environ.get("JANUS_NAT_1_1_MAPPING", "")
JANUS_STUN_SERVER = os.environ.get("JANUS_STUN_SERVER", "")  # host:port
JANUS_TURN_SERVER = os.environ.get("JANUS_TURN_SERVER", "")  # host:port
JANUS_TURN_TYPE = os.environ.get("JANUS_TURN_TYPE", "udp")
JANUS_TURN_USER = os.environ.get("JANUS_TURN_USER", "")
JANUS_TURN_PASSWORD = os.environ.get("JANUS_TURN_PASSWORD", "")
# ICE servers handed to browsers (RTCPeerConnection's iceServers), as JSON, e.g.
# [{"urls": "turn:turn.example.org:3478", "username": "u", "credential": "p"}].
try:
    WEBRTC_ICE_SERVERS = json.loads(os.environ.get("WEBRTC_ICE_SERVERS", "") or "[]")
except ValueError as exc:
    raise ImproperlyConfigured(f"WEBRTC_ICE_SERVERS is not valid JSON: {exc}") from None
if not isinstance(WEBRTC_ICE_SERVERS, list) or not all(
    isinstance(server, dict) and "urls" in server for server in WEBRTC_ICE_SERVERS
):
    raise ImproperlyConfigured(
        'WEBRTC_ICE_SERVERS must be a JSON list of objects with "urls" (RTCIceServer).'
    )
if not DEBUG:
    for _name in ("JANUS_API_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ADMIN_KEY"):
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} must be set when DEBUG is off.")

# --- Auth ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# Django's and allauth's backends, refusing suspended and banned members (docs/moderation.md).
AUTHENTICATION_BACKENDS = [
    "moderation.backends.RestrictedAwareModelBackend",
    "moderation.backends.RestrictedAwareAllauthBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PRESERVE_USERNAME_CASING = True
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
# Signup is by invitation only: the adapter opens signup for a valid invitation and redeems it
# atomically; the form class adds the `invitation` field to the web form and the headless input.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.InvitationSignupForm"
HEADLESS_ONLY = False
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.sessions.SessionTokenStrategy"  # noqa: S105 - a class path
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "audiosocial <noreply@localhost>")

# --- REST --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "audiosocial.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "audiosocial.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "audiosocial.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "audiosocial.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_RATES": {
        "profile_lookup": os.environ.get("THROTTLE_PROFILE_LOOKUP", "120/min"),
        "invitation": os.environ.get("THROTTLE_INVITATION", "30/hour"),
        "report": os.environ.get("THROTTLE_REPORT", "20/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "audiosocial API",
    "DESCRIPTION": "Live audio rooms: members, follows, rooms, moderation, notifications.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- Product limits (per deployment) --------------------------------------------------------
INVITATIONS_PER_MEMBER = env_int("INVITATIONS_PER_MEMBER", 2)
INVITATION_TTL = timedelta(days=env_int("INVITATION_TTL_DAYS", 14))
# Wrong invitation codes accepted per client IP per hour before code checks are refused.
INVITATION_CODE_FAILURES_PER_HOUR = env_int("INVITATION_CODE_FAILURES_PER_HOUR", 20)
# Absolute base of links printed outside a request (`manage.py invite`).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ROOM_MAX_SPEAKERS = env_int("ROOM_MAX_SPEAKERS", 13)
ROOM_MAX_LISTENERS = env_int("ROOM_MAX_LISTENERS", 5000)
ROOM_TITLE_MAX_LENGTH = 120
ROOM_IDLE_END_MINUTES = env_int("ROOM_IDLE_END_MINUTES", 15)
ROOM_SCHEDULE_EXPIRY_HOURS = env_int("ROOM_SCHEDULE_EXPIRY_HOURS", 6)
ROOM_DISCONNECT_GRACE_SECONDS = float(os.environ.get("ROOM_DISCONNECT_GRACE_SECONDS", "10"))
# An invitation to speak not answered within this many seconds lapses (rooms.services).
ROOM_SPEAKER_INVITE_TTL_SECONDS = env_int("ROOM_SPEAKER_INVITE_TTL_SECONDS", 120)
ROOM_REACTIONS = env_list("ROOM_REACTIONS", ["👏", "😂", "❤️", "🔥", "💯", "🙌", "🤔", "👎"])
# Live room delivery (rooms/realtime.py, docs/protocol.md).
ROOM_REACTION_RATE = env_int("ROOM_REACTION_RATE", 5)
ROOM_REACTION_WINDOW_SECONDS = float(os.environ.get("ROOM_REACTION_WINDOW_SECONDS", "0.2"))
ROOM_AUDIENCE_WINDOW_SECONDS = float(os.environ.get("ROOM_AUDIENCE_WINDOW_SECONDS", "0.25"))
# From this many listeners on, the audience window widens: each update is one frame per member.
ROOM_AUDIENCE_LARGE_ROOM = env_int("ROOM_AUDIENCE_LARGE_ROOM", 1000)
ROOM_AUDIENCE_LARGE_WINDOW_SECONDS = float(
    os.environ.get("ROOM_AUDIENCE_LARGE_WINDOW_SECONDS", "1.0")
)
ROOM_AUDIENCE_DELTA_MAX = env_int("ROOM_AUDIENCE_DELTA_MAX", 20)
ROOM_HEARTBEAT_SECONDS = float(os.environ.get("ROOM_HEARTBEAT_SECONDS", "15"))
ROOM_PRESENCE_STALE_SECONDS = float(os.environ.get("ROOM_PRESENCE_STALE_SECONDS", "45"))
AVATAR_MAX_BYTES = env_int("AVATAR_MAX_BYTES", 2 * 1024 * 1024)
FOLLOWS_PER_HOUR = env_int("FOLLOWS_PER_HOUR", 200)
# Notification fan-out writes rows in chunks of this many recipients, one transaction each.
NOTIFICATIONS_FANOUT_CHUNK_SIZE = env_int("NOTIFICATIONS_FANOUT_CHUNK_SIZE", 5000)

# --- i18n / static / media ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- Security (production) ------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Cached database sessions (no query per signed-in request; the row stays the record) that
# refuse keys Django never issues (a NUL in a cookie or token was a 500). The cache is the default
# one: shared with REDIS_URL, per process without it (audiosocial/sessions.py).
SESSION_ENGINE = "audiosocial.sessions"
CSRF_COOKIE_HTTPONLY = False  # the room page's JavaScript reads it for API calls
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a one-way commitment for the whole domain: the
        # operator opts in with SECURE_HSTS_PRELOAD=1, so its absence is not a warning here.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "janus_client": {"level": "WARNING"},
        "aioice": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}
