"""Notification pages: the list, "mark all read", and opening one (marks it read, then follows it).

Reads go through ``notifications.selectors`` and writes through ``notifications.services``.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from audiosocial.errors import ApplicationError
from notifications import selectors, services
from notifications.events import notification_payload

PAGE_SIZE = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    queryset = selectors.notifications_for(user_id=request.user.pk)
    before = request.GET.get("before", "")
    # isdecimal() and ASCII: "²".isdigit() is true, and int("²") raises.
    if before.isascii() and before.isdecimal():
        anchor = queryset.filter(pk=int(before)).values("created_at", "pk").first()
        if anchor:
            queryset = queryset.filter(created_at__lte=anchor["created_at"]).exclude(
                created_at=anchor["created_at"], pk__gte=anchor["pk"]
            )
    rows = list(queryset[: PAGE_SIZE + 1])
    items = [notification_payload(n) for n in rows[:PAGE_SIZE]]
    return render(
        request,
        "notifications/list.html",
        {
            "items": items,
            "older": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
            "unread": selectors.unread_count(user_id=request.user.pk),
        },
    )


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_read(user=request.user, everything=True)
    return redirect("notifications")


@login_required
@require_POST
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (a room, a profile)."""
    try:
        services.notifications_mark_read(user=request.user, ids=[notification_id])
    except ApplicationError:
        pass
    target = request.POST.get("next", "")
    # Only paths of this site; and a URL, never handed to redirect() (which would take
    # "hallway" or "123" for a view name and fail with NoReverseMatch).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("notifications")
