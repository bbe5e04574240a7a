"""Web pages for rooms: the hallway (home), a room, starting a room, a calendar file.

Every read goes through ``rooms.selectors`` / ``rooms.hallway`` and every write through
``rooms.services``: these views only translate between HTTP and those functions, so a rule is never
written twice (docs/web.md).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from datetime import UTC, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.views.decorators.http import require_POST

from audiosocial.errors import ApplicationError, InvalidInput, NotFound
from follows.selectors import followee_ids
from moderation.models import REPORT_TEXT_MAX_LENGTH, Report
from moderation.selectors import blocked_ids_for
from rooms import selectors
from rooms.forms import RoomEditForm, StartRoomForm
from rooms.hallway import SECTION_FOLLOWING, SECTION_LIVE, SECTION_UPCOMING, hallway_for
from rooms.models import Room

HALLWAY_PAGE_SIZE = 30
FOLLOWEES_IN_PAGE = 5000


def _hallway_context(request: HttpRequest) -> dict[str, Any]:
    cursor = request.GET.get("cursor") or None
    try:
        page = hallway_for(user=request.user, cursor=cursor, limit=HALLWAY_PAGE_SIZE)
    except InvalidInput:
        # A stale or mangled "more rooms" link: start again from the top.
        cursor = None
        page = hallway_for(user=request.user, limit=HALLWAY_PAGE_SIZE)
    sections: dict[str, list] = {SECTION_FOLLOWING: [], SECTION_UPCOMING: [], SECTION_LIVE: []}
    for card in page.cards:
        sections[card.section].append(card)
    return {
        "following": sections[SECTION_FOLLOWING],
        "upcoming": sections[SECTION_UPCOMING],
        "live": sections[SECTION_LIVE],
        "next_cursor": page.next_cursor,
        "paged": cursor is not None,
    }


def hallway(request: HttpRequest) -> HttpResponse:
    """Home: the landing page for visitors, the hallway for members.

    ``?partial=1`` returns only the room sections, which static/js/hallway.js fetches to keep the
    counts and the list live without a second rendering of the cards in JavaScript. Every open
    hallway asks for it every few seconds, and rendering the cards costs about as much as
    reading them: the answer carries an ``ETag`` made from what the cards show, and a poll
    whose cards have not changed gets ``304 Not Modified`` without rendering anything (the
    browser's cache hands hallway.js the copy it has).
    """
    if not request.user.is_authenticated:
        return render(request, "landing.html")
    context = _hallway_context(request)
    if not request.GET.get("partial"):
        return render(request, "rooms/hallway.html", context)
    etag = _hallway_etag(request, context)
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = render(request, "rooms/_hallway_sections.html", context)
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


_PARTIAL_TEMPLATES = ("rooms/_hallway_sections.html", "rooms/_room_card.html")


@functools.cache
def _partial_templates_version() -> str:
    """The partial's templates and template tags as deployed: a new version of either makes
    new tags for unchanged cards."""
    from rooms.templatetags import web

    sources = [get_template(name).template.source for name in _PARTIAL_TEMPLATES]
    sources.append(inspect.getsource(web))
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


def _hallway_etag(request: HttpRequest, context: dict[str, Any]) -> str:
    """A tag for everything the partial shows: the cards' full records (rooms, hosts, people,
    counts, warnings), the page's links, and the member's time zone and language (dates)."""
    parts = (
        _partial_templates_version(),
        request.user.pk,
        timezone.get_current_timezone_name(),
        translation.get_language(),
        context["following"],
        context["upcoming"],
        context["live"],
        context["next_cursor"],
        context["paged"],
    )
    digest = hashlib.sha256("\0".join(repr(part) for part in parts).encode()).hexdigest()
    return f'"{digest[:32]}"'


@login_required
def room_new(request: HttpRequest) -> HttpResponse:
    from rooms import services

    form = StartRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            room = services.room_create(
                host=request.user,
                title=data["title"],
                topic=data["topic"],
                visibility=data["visibility"],
                scheduled_for=data["scheduled_for"],
                cohosts=data["cohosts"],
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            return redirect("room-detail", room_id=room.pk)
    return render(
        request,
        "rooms/new.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _form_error(form: forms.Form, exc: ApplicationError) -> None:
    # The service names the problem by code; put the sentence beside the field it is about.
    field = next(
        (f for f in ("schedule", "title", "topic", "visibility", "cohost") if f in exc.code), None
    )
    field = {"schedule": "scheduled_for", "cohost": "cohosts"}.get(field, field)
    form.add_error(field if field in form.fields else None, exc.message)


def _edit_initial(room: Room) -> dict[str, Any]:
    return {
        "title": room.title,
        "topic": room.topic,
        "visibility": room.visibility,
        "cohosts": ", ".join(u.username for u in selectors.cohosts_of(room=room)),
    }


@login_required
def room_edit(request: HttpRequest, room_id: Any) -> HttpResponse:
    """The host edits a scheduled or live room's title, topic, visibility and co-hosts.

    The live room page opens the same form in a dialog and sends it through the REST API
    (``PATCH /api/rooms/<id>/``) so the page keeps its socket and audio; this page is the
    form's own address (the scheduled page links here, and it works without JavaScript).
    """
    from rooms import services

    room = _room_or_error_page(request, room_id)
    if isinstance(room, HttpResponse):
        return room
    if room.host_id != request.user.pk:
        return render(
            request,
            "rooms/unavailable.html",
            {"message": "Only the room's host can edit it.", "code": "not_host"},
            status=403,
        )
    form = RoomEditForm(request.POST or None, initial=_edit_initial(room))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.room_update(
                room=room,
                by=request.user,
                title=data["title"],
                topic=data["topic"],
                visibility=data["visibility"],
                cohosts=data["cohosts"],
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Room updated.")
            return redirect("room-detail", room_id=room.pk)
    return render(
        request,
        "rooms/edit.html",
        {"room": room, "form": form},
        status=400 if form.errors else 200,
    )


def _room_or_error_page(request: HttpRequest, room_id: Any) -> Room | HttpResponse:
    try:
        return selectors.room_for_user(user=request.user, room_id=room_id)
    except NotFound as exc:
        return render(
            request,
            "rooms/unavailable.html",
            {"message": exc.message, "code": exc.code},
            status=404,
        )


@login_required
def room_detail(request: HttpRequest, room_id: Any) -> HttpResponse:
    room = _room_or_error_page(request, room_id)
    if isinstance(room, HttpResponse):
        return room
    if room.state == Room.State.LIVE:
        detail = selectors.room_detail(room=room, user=request.user)
        return render(
            request,
            "rooms/room.html",
            {
                "room": room,
                "detail": detail,
                # Filled in by room.js from the live state when the host opens it.
                "edit_form": RoomEditForm(auto_id="edit-%s"),
                "client_config": {
                    "room": str(room.pk),
                    "me": {
                        "id": request.user.pk,
                        "username": request.user.username,
                    },
                    "detail": detail,
                    # The audience lists people you follow first.
                    "followees": list(
                        followee_ids(user_id=request.user.pk).values_list("followee_id", flat=True)[
                            :FOLLOWEES_IN_PAGE
                        ]
                    ),
                    # The member's own blocks (never anyone else's): the stage warns when one of
                    # them is on it (docs/moderation.md, "Blocks").
                    "blocked": sorted(blocked_ids_for(user=request.user)),
                    "reactions": list(settings.ROOM_REACTIONS),
                    "report_categories": [
                        {"value": value, "label": label} for value, label in Report.Category.choices
                    ],
                    "report_text_max": REPORT_TEXT_MAX_LENGTH,
                    "edit_url": reverse("room-edit", args=[room.pk]),
                    "hallway_url": reverse("hallway"),
                },
            },
        )
    if room.state == Room.State.SCHEDULED:
        return render(
            request,
            "rooms/scheduled.html",
            {
                "room": room,
                "is_host": room.host_id == request.user.pk,
                "reminded": _has_reminder(room=room, user=request.user),
                "cohosts": selectors.cohosts_of(room=room),
            },
        )
    return render(request, "rooms/ended.html", {"room": room})


def _has_reminder(*, room: Room, user: Any) -> bool:
    from notifications.selectors import has_reminder

    return has_reminder(user_id=user.pk, room_id=room.pk)


def _lifecycle(request: HttpRequest, room_id: Any, action: str) -> HttpResponse:
    from rooms import services

    room = _room_or_error_page(request, room_id)
    if isinstance(room, HttpResponse):
        return room
    try:
        getattr(services, f"room_{action}")(room=room, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("room-detail", room_id=room.pk)


@login_required
@require_POST
def room_start(request: HttpRequest, room_id: Any) -> HttpResponse:
    return _lifecycle(request, room_id, "start")


@login_required
@require_POST
def room_cancel(request: HttpRequest, room_id: Any) -> HttpResponse:
    return _lifecycle(request, room_id, "cancel")


@login_required
@require_POST
def room_remind(request: HttpRequest, room_id: Any) -> HttpResponse:
    """Toggle "remind me" for a scheduled room (notifications owns the reminder)."""
    from notifications import services as notification_services

    room = _room_or_error_page(request, room_id)
    if isinstance(room, HttpResponse):
        return room
    try:
        if request.POST.get("remind") == "off":
            notification_services.room_reminder_clear(user=request.user, room_id=room.pk)
            messages.success(request, "Reminder removed.")
        else:
            notification_services.room_reminder_set(user=request.user, room_id=room.pk)
            messages.success(request, "We'll remind you before it starts.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("room-detail", room_id=room.pk)


def _ics_text(value: str) -> str:
    # RFC 5545 §3.3.11: backslash, semicolon, comma and newlines are escaped in TEXT values.
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def _ics_fold(line: str) -> str:
    # Lines longer than 75 octets are folded with CRLF + one space (RFC 5545 §3.1), never inside
    # a UTF-8 sequence.
    out, current = [], b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not out else 74):
            out.append(current.decode("utf-8"))
            current = b""
        current += encoded
    out.append(current.decode("utf-8"))
    return "\r\n ".join(out)


@login_required
def room_calendar(request: HttpRequest, room_id: Any) -> HttpResponse:
    """An iCalendar file for a scheduled room, for the member's own calendar."""
    room = _room_or_error_page(request, room_id)
    if isinstance(room, HttpResponse):
        return room
    if room.scheduled_for is None:
        return render(
            request,
            "rooms/unavailable.html",
            {"message": "This room has no scheduled time.", "code": "not_scheduled"},
            status=404,
        )
    start = room.scheduled_for.astimezone(UTC)
    end = start + timedelta(hours=1)
    url = request.build_absolute_uri(reverse("room-detail", args=[room.pk]))
    stamp = (room.updated_at or room.created_at).astimezone(UTC)
    description = f"{room.topic}\n\n{url}" if room.topic else url
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//audiosocial//rooms//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:room-{room.pk}@{request.get_host().split(':')[0]}",
        f"DTSTAMP:{stamp.strftime('%Y%m%dT%H%M%SZ')}",
        f"DTSTART:{start.strftime('%Y%m%dT%H%M%SZ')}",
        f"DTEND:{end.strftime('%Y%m%dT%H%M%SZ')}",
        f"SUMMARY:{_ics_text(room.title)}",
        f"DESCRIPTION:{_ics_text(description)}",
        f"URL:{url}",
        "STATUS:CANCELLED" if room.state == Room.State.CANCELLED else "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    body = "\r\n".join(_ics_fold(line) for line in lines) + "\r\n"
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="room-{room.pk}.ics"'
    return response
