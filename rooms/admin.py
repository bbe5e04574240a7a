"""Admin for rooms: live participants inline, filters by state and visibility, and "End room now"
(through the moderation service, which checks the permission and writes the audit log).

State, counters and audio placement are read-only here: they change only through the services.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audiosocial.errors import ApplicationError
from rooms.models import Participant, Room, RoomInvite

END_REASON = "Ended from the admin (End room now)."


class LiveParticipantInline(admin.TabularInline):
    model = Participant
    extra = 0
    can_delete = False
    verbose_name_plural = "Participants in the room now"
    fields = (
        "user",
        "role",
        "hand_raised_at",
        "self_muted",
        "moderator_muted",
        "joined_at",
        "last_seen_at",
    )
    readonly_fields = fields
    ordering = ("role", "joined_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Participant]:
        return super().get_queryset(request).filter(left_at__isnull=True).select_related("user")

    def has_add_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False


class RoomInviteInline(admin.TabularInline):
    model = RoomInvite
    extra = 0
    can_delete = False
    fk_name = "room"
    fields = ("user", "invited_by", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Room | None = None) -> bool:
        return False


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "host",
        "state",
        "visibility",
        "speakers_count",
        "listeners_count",
        "scheduled_for",
        "started_at",
        "ended_at",
    )
    list_filter = ("state", "visibility")
    search_fields = ("title", "host__username", "=id")
    list_select_related = ("host",)
    ordering = ("-created_at",)
    date_hierarchy = "created_at"
    fields = (
        "id",
        "title",
        "topic",
        "host",
        "visibility",
        "state",
        "scheduled_for",
        "started_at",
        "ended_at",
        "end_reason",
        "speakers_count",
        "listeners_count",
        "janus_node",
        "janus_room",
        "audio_available",
        "created_at",
        "updated_at",
    )
    # Every change goes through the services (events, audio, counters), so nothing is typed in.
    readonly_fields = fields
    inlines = (LiveParticipantInline, RoomInviteInline)
    actions = ("end_room_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rooms are created by members (rooms.services.room_create), never typed in here.
        return False

    @admin.action(description="End room now", permissions=("change",))
    def end_room_now(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        from moderation.services import live_room_end

        ended = 0
        for room in queryset.select_related("host"):
            if room.state != Room.State.LIVE:
                self.message_user(
                    request, f"“{room}” is {room.state}, not live: left as it is.", messages.WARNING
                )
                continue
            try:
                live_room_end(room=room, by=request.user, reason=END_REASON)
            except ApplicationError as exc:
                self.message_user(request, f"“{room}”: {exc.message}", messages.ERROR)
                continue
            ended += 1
        if ended:
            self.message_user(request, f"Ended {ended} room(s).", messages.SUCCESS)


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "role", "joined_at", "left_at", "removed", "moderator_muted")
    list_filter = ("role", "removed", ("left_at", admin.EmptyFieldListFilter))
    search_fields = ("user__username", "room__title", "=room__id")
    list_select_related = ("user", "room")
    raw_id_fields = ("room", "user")
    ordering = ("-joined_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Participant | None = None):
        return [f.name for f in Participant._meta.fields if f.name != "audio_token"]

    def get_exclude(self, request: HttpRequest, obj: Participant | None = None):
        # Audio tokens are credentials for the AudioBridge: never shown.
        return ("audio_token",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Participant | None = None) -> bool:
        return False


@admin.register(RoomInvite)
class RoomInviteAdmin(admin.ModelAdmin):
    list_display = ("user", "room", "invited_by", "created_at")
    search_fields = ("user__username", "room__title")
    list_select_related = ("user", "room", "invited_by")
    raw_id_fields = ("room", "user", "invited_by")
