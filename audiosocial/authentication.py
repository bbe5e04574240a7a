from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenAuthentication(XSessionTokenAuthentication):
    """allauth's ``X-Session-Token`` for non-browser clients, answering 401 (not 403) when absent.

    DRF answers 401 only when the first authentication class names a challenge; allauth's class
    names none, which made every anonymous API call a misleading 403.
    """

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Session realm="api", header="X-Session-Token"'


class SessionTokenScheme(OpenApiAuthenticationExtension):
    """Documents the session token in the OpenAPI schema (so clients and fuzzers can use it)."""

    target_class = "audiosocial.authentication.SessionTokenAuthentication"
    name = "sessionToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The session token from allauth's headless API (docs/api.md).",
        }
