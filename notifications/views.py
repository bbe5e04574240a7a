"""Notification pages: the list, "mark all read", opening one (marks it read, then follows it),
the notification settings (which kinds you get, whom you muted) and the profile's mute toggle.

Reads go through ``notifications.selectors`` and writes through ``notifications.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from audiosocial.errors import ApplicationError, InvalidInput, NotFound
from notifications import selectors, services
from notifications.events import notification_payload
from notifications.models import Notification

PAGE_SIZE = 50
# Muted people per settings page ("Older" pages on).
SETTINGS_PAGE_SIZE = 50

UNMUTED = "You unmuted {name}: their notifications reach you again."

# One line under each kind's label (the label is the kind's own, ``Notification.Kind``).
KIND_EXPLANATIONS = {
    Notification.Kind.WENT_LIVE: "When someone you follow starts a room, or co-hosts one.",
    Notification.Kind.ROOM_REMINDER: (
        "Ten minutes before a scheduled room you asked to be reminded of."
    ),
    Notification.Kind.ROOM_STARTING: "When a room you asked to be reminded of goes live.",
    Notification.Kind.SPEAKER_INVITED: "When a moderator invites you up to a room's stage.",
    Notification.Kind.PINGED: (
        "When someone in a room pings you, or a host invites you into a closed room."
    ),
    Notification.Kind.FOLLOWED: "When someone starts following you.",
    Notification.Kind.INVITATION_ACCEPTED: "When someone joins with one of your invitations.",
    Notification.Kind.REPORT_RESOLVED: "When a moderator has reviewed a report you sent.",
}


def username_from(raw: str) -> str:
    """A username from a form or an address. PostgreSQL text cannot hold NUL, so such a name
    matches nobody: ``NotFound`` here rather than a database error (a 500) in the lookup."""
    if "\x00" in raw:
        raise NotFound("No member has that username.", code="user_not_found")
    return raw


def older_than(queryset: QuerySet, before: str) -> QuerySet:
    """The rows after the row ``before`` (an id) in ``(-created_at, -id)`` order: the "Older"
    link of a list page. A cursor that is not a row of ``queryset`` is ignored (first page)."""
    # isdecimal() and ASCII: "²".isdigit() is true, and int("²") raises.
    if before.isascii() and before.isdecimal():
        anchor = queryset.filter(pk=int(before)).values("created_at", "pk").first()
        if anchor:
            queryset = queryset.filter(created_at__lte=anchor["created_at"]).exclude(
                created_at=anchor["created_at"], pk__gte=anchor["pk"]
            )
    return queryset


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    queryset = older_than(
        selectors.notifications_for(user_id=request.user.pk), request.GET.get("before", "")
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


# --- settings: which kinds you get, whom you muted -------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def settings_notifications(request: HttpRequest) -> HttpResponse:
    """Checkboxes, one per kind, and below them the members you muted (newest first).

    The form names every kind it shows (hidden ``kinds``) and the ticked ones (``on``), so a
    save changes exactly the kinds on the page: a kind added since it was loaded stays as it is.
    """
    if request.method == "POST":
        shown = request.POST.getlist("kinds")
        ticked = request.POST.getlist("on")
        kinds = {kind: False for kind in shown} | {kind: True for kind in ticked}
        try:
            if not kinds:
                raise InvalidInput("Nothing to save: the form named no kind of notification.")
            services.preferences_update(user=request.user, kinds=kinds)
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return _settings_page(request, status=400)
        messages.success(request, "Your notification settings were saved.")
        return redirect("settings-notifications")
    return _settings_page(request)


def _settings_page(request: HttpRequest, *, status: int = 200) -> HttpResponse:
    off = selectors.disabled_kinds_for(user_id=request.user.pk)
    kinds = [
        {
            "value": kind.value,
            "label": kind.label,
            "explanation": KIND_EXPLANATIONS.get(kind, ""),
            "on": kind.value not in off,
        }
        for kind in Notification.Kind
    ]
    before = request.GET.get("before", "")
    # Deactivated members are left out: they cause nothing, and have no profile to link to.
    muted = selectors.muted_for(user_id=request.user.pk)
    rows = list(older_than(muted, before)[: SETTINGS_PAGE_SIZE + 1])
    return render(
        request,
        "settings/notifications.html",
        {
            "kinds": kinds,
            "muted": rows[:SETTINGS_PAGE_SIZE],
            "older": rows[SETTINGS_PAGE_SIZE - 1].pk if len(rows) > SETTINGS_PAGE_SIZE else None,
            "before": before if before.isascii() and before.isdecimal() else "",
        },
        status=status,
    )


@login_required
@require_POST
def settings_unmute(request: HttpRequest) -> HttpResponse:
    """ "Unmute" beside a person in the settings list: back to the same page of the list."""
    try:
        username = username_from(request.POST.get("username", ""))
        member = services.actor_unmute(user=request.user, username=username)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, UNMUTED.format(name=member.name))
    target = reverse("settings-notifications")
    before = request.POST.get("before", "")
    if before.isascii() and before.isdecimal():
        target += f"?before={before}"
    return HttpResponseRedirect(target + "#muted")


@login_required
@require_POST
def mute_toggle(request: HttpRequest, username: str) -> HttpResponse:
    """The profile's "Mute notifications" / "Unmute notifications" button (``action=unmute``)."""
    unmute = request.POST.get("action") == "unmute"
    try:
        username = username_from(username)
        if unmute:
            member = services.actor_unmute(user=request.user, username=username)
        else:
            member = services.actor_mute(user=request.user, username=username)
    except NotFound:
        raise Http404("No member has that username.") from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("profile", username=username)
    if unmute:
        messages.success(request, UNMUTED.format(name=member.name))
    else:
        messages.success(
            request,
            f"You muted {member.name}: nothing they do notifies you now. They are not told.",
        )
    return redirect("profile", username=member.username)
