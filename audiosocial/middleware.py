"""Request guards that belong to no single app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import sync_and_async_middleware


def _refuse_nul(request: HttpRequest) -> HttpResponse | None:
    """A NUL character in the path (``/@a%00b``) names nothing here, and PostgreSQL refuses it in
    any text comparison (DataError, a 500) wherever a view looks a path segment up: usernames,
    invitation codes. Stop it before any view does."""
    if "\x00" not in request.path:
        return None
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "not_found", "message": "Not found.", "details": {}}, status=404
        )
    raise Http404("No such page.")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse_forms_to_allauth(request: HttpRequest) -> HttpResponse | None:
    """allauth's headless API reads JSON from ``request.body``; a form-encoded body is first read
    as ``request.POST`` by the CSRF check (looking for its token), after which the body cannot be
    read: RawPostDataException, a 500. Say what it takes, in allauth's error shape."""
    if not request.path.startswith("/_allauth/") or request.content_type not in FORM_TYPES:
        return None
    message = "Send the request body as JSON (Content-Type: application/json)."
    return JsonResponse(
        {"status": 415, "errors": [{"message": message, "code": "unsupported_media_type"}]},
        status=415,
    )


def _refuse(request: HttpRequest) -> HttpResponse | None:
    return _refuse_nul(request) or _refuse_forms_to_allauth(request)


@sync_and_async_middleware
def reject_unusable_requests(get_response: Callable[[HttpRequest], Any]) -> Callable:
    """Before sessions and the CSRF check: requests no view here can serve, refused clearly."""
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return _refuse(request) or await get_response(request)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return _refuse(request) or get_response(request)

    return middleware
