"""One family of domain errors, rendered identically by the REST API and the WebSockets.

Services raise ``ApplicationError`` subclasses with a stable ``code``; the DRF exception handler
below renders ``{"code", "message", "details"}`` with the error's HTTP status, and consumers send
the same fields as an ``error`` message.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A refusal a person can understand. Subclasses fix the status; ``code`` is stable."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    default_code: str = "invalid"
    default_message: str = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.details = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_message = "The request is not valid."


class NotAuthenticated(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    default_code = "not_authenticated"
    default_message = "Sign in to continue."


class Forbidden(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "forbidden"
    default_message = "You are not allowed to do that."


class NotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_message = "Not found."


class Conflict(ApplicationError):
    """The request is well formed but the current state does not allow it."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_message = "That is not possible in the current state."


class RateLimited(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "rate_limited"
    default_message = "Too many requests; slow down and try again shortly."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "unavailable"
    default_message = "A service this needs is unavailable; try again shortly."


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "forbidden",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "rate_limited",
    drf_exceptions.ParseError: "malformed",
    drf_exceptions.ValidationError: "invalid",
}

_DRF_MESSAGES = {
    "invalid": "Some fields are not valid.",
    "malformed": "The request body could not be parsed.",
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render every error in the ``{"code", "message", "details"}`` envelope."""
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, drf_exceptions.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        message = _DRF_MESSAGES["invalid"]
        # Name the first problem so a person reading only the message knows what to fix.
        first = _first_message(details)
        if first:
            message = f"{message} {first}"
    else:
        details = {}
        message = str(getattr(exc, "detail", "")) or _DRF_MESSAGES.get(code, "Error.")
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            details = {"retry_after_seconds": int(exc.wait)}
    response.data = {"code": code, "message": message, "details": details}
    return response


def _first_message(details: Any, path: str = "") -> str | None:
    """The first problem, named by where it is: ``title``, ``ids[0]``, ``kinds.went_live``."""
    if isinstance(details, dict):
        for key, value in details.items():
            if key == "non_field_errors":
                where = path
            elif isinstance(key, int):  # a list item's errors (ListField, DictField of lists)
                where = f"{path}[{key}]"
            else:
                where = f"{path}.{key}" if path else str(key)
            found = _first_message(value, where)
            if found:
                return found
        return None
    if isinstance(details, list):
        for index, item in enumerate(details):
            # Items of ``many=True`` serializers are dicts (empty for the valid ones).
            where = f"{path}[{index}]" if isinstance(item, (dict, list)) else path
            found = _first_message(item, where)
            if found:
                return found
        return None
    if details:
        return f"{path}: {details}" if path else str(details)
    return None
