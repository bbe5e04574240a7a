"""Rate limits allauth does not have: profile lookups, invitation use and wrong-code guessing.

Counters live in the default cache, which is Redis (shared by every process) when ``REDIS_URL``
is set; the local-memory cache of a development run limits one process only.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class ScopeThrottle(ScopedRateThrottle):
    """A scoped throttle whose rate is read per request, so settings changes apply at once."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        # Scope comes from the view (``throttle_scope``) or, for web pages, from the class.
        self.scope = getattr(view, self.scope_attr, None) or getattr(self, "fixed_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super(ScopedRateThrottle, self).allow_request(request, view)


class ProfileLookupThrottle(ScopeThrottle):
    fixed_scope = "profile_lookup"


class InvitationThrottle(ScopeThrottle):
    fixed_scope = "invitation"


def page_throttled(request: HttpRequest, throttle_class: type[ScopeThrottle]) -> float | None:
    """For web pages: ``None`` when allowed, else seconds to wait."""
    throttle = throttle_class()
    if throttle.allow_request(request, None):
        return None
    return throttle.wait() or 1.0


# --- Wrong invitation codes per client IP ----------------------------------------------------

_WINDOW_SECONDS = 3600


def _client_ip(request: HttpRequest) -> str:
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter(request).get_client_ip(request)
    except Exception:  # noqa: BLE001 - no IP at all: share one bucket rather than not limit
        return "unknown"


def _failures_key(request: HttpRequest) -> str:
    window = int(time.time() // _WINDOW_SECONDS)
    return f"accounts:invite-failures:{_client_ip(request)}:{window}"


def invitation_failures_exceeded(request: HttpRequest) -> bool:
    limit = settings.INVITATION_CODE_FAILURES_PER_HOUR
    return (cache.get(_failures_key(request)) or 0) >= limit


def invitation_failure_record(request: HttpRequest) -> None:
    key = _failures_key(request)
    # add() then incr() is atomic on Redis and good enough on local memory.
    cache.add(key, 0, timeout=_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=_WINDOW_SECONDS)
