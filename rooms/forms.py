"""The web forms for starting and editing a room (the rules stay in rooms.services)."""

from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.utils import timezone

from rooms.models import Room


class RoomDetailsForm(forms.Form):
    """What a host says about a room: on the start form and on the edit form."""

    title = forms.CharField(
        max_length=settings.ROOM_TITLE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "What's it about?"}),
    )
    topic = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Optional: a sentence or two for people deciding whether to join.",
    )
    visibility = forms.ChoiceField(
        choices=Room.Visibility.choices,
        initial=Room.Visibility.PUBLIC,
        widget=forms.RadioSelect,
        label="Who may join",
    )
    cohosts = forms.CharField(
        required=False,
        max_length=400,
        label="Co-hosts",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "@ana, @bo"}
        ),
        help_text=(
            f"Optional: up to {Room.MAX_COHOSTS} usernames, separated by commas. They moderate "
            "as soon as they join, and their followers hear when the room starts."
        ),
    )

    def clean_cohosts(self) -> list[str]:
        # Only the list's shape here; who may co-host is rooms.services' rule.
        raw = self.cleaned_data.get("cohosts") or ""
        return [
            name.strip().lstrip("@") for name in raw.replace(" ", ",").split(",") if name.strip()
        ]


class RoomEditForm(RoomDetailsForm):
    """The host edits a scheduled or live room (``rooms.services.room_update``)."""


class StartRoomForm(RoomDetailsForm):
    WHEN_NOW = "now"
    WHEN_LATER = "later"

    when = forms.ChoiceField(
        choices=[(WHEN_NOW, "Start now"), (WHEN_LATER, "Schedule for later")],
        initial=WHEN_NOW,
        widget=forms.RadioSelect,
        label="When",
    )
    scheduled_for = forms.DateTimeField(
        required=False,
        label="Date and time",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    # The browser fills this with its IANA zone (static/js/start-room.js), so "19:00" means
    # 19:00 where the host is, not on the server.
    tz = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("when") != self.WHEN_LATER:
            data["scheduled_for"] = None
            return data
        when = data.get("scheduled_for")
        if when is None:
            self.add_error("scheduled_for", "Choose when the room starts.")
            return data
        # The field read the wall-clock time in the server's zone; read it in the host's instead.
        wall = timezone.make_naive(when) if timezone.is_aware(when) else when
        data["scheduled_for"] = timezone.make_aware(wall, self._zone())
        return data

    def _zone(self) -> zoneinfo.ZoneInfo:
        name = (self.data.get("tz") or "").strip()
        try:
            return zoneinfo.ZoneInfo(name) if name else zoneinfo.ZoneInfo("UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")
