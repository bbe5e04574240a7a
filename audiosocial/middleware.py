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


@sync_and_async_middleware
def reject_nul_in_path(get_response: Callable[[HttpRequest], Any]) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            return _refuse_nul(request) or await get_response(request)

    else:

        def middleware(request: HttpRequest) -> HttpResponse:
            return _refuse_nul(request) or get_response(request)

    return middleware
