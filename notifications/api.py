"""REST: your notifications, marking them read, preferences, muting a person, "remind me".

Routes (notifications/api_urls.py, under /api/; documented in docs/api.md):
``notifications/`` GET · ``notifications/read/`` POST · ``notifications/preferences/`` GET, PATCH ·
``notifications/muted/`` GET · ``users/<username>/mute-notifications/`` POST, DELETE ·
``rooms/<id>/remind/`` GET, POST, DELETE.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audiosocial.pagination import CursorPagination
from notifications import selectors, services
from notifications.events import notification_payload
from notifications.models import Notification
from rooms.selectors import room_for_user

KINDS = Notification.Kind

# --- Output -----------------------------------------------------------------------------------


class PersonOutput(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()

    def get_display_name(self, user: Any) -> str:
        return user.display_name or user.username

    def get_avatar_url(self, user: Any) -> str | None:
        return user.avatar.url if user.avatar else None


class RoomRefOutput(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()


class NotificationOutput(serializers.Serializer):
    """Rendered by ``notifications.events.notification_payload``: the socket sends this shape."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=KINDS.choices)
    text = serializers.CharField(help_text="A sentence to show as is.")
    url = serializers.CharField(
        allow_null=True,
        help_text="What to open: the room (/rooms/<id>/) or the person's profile (/@username).",
    )
    actor = PersonOutput(allow_null=True, help_text="Who caused it (null: nobody to name).")
    room = RoomRefOutput(allow_null=True)
    target_user = PersonOutput(allow_null=True)
    report_id = serializers.IntegerField(allow_null=True)
    data = serializers.DictField(help_text="Kind-specific extras, e.g. scheduled_for.")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance: Notification) -> dict[str, Any]:
        return notification_payload(instance)


class MarkReadOutput(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are now read.")
    unread_count = serializers.IntegerField()


class PreferencesOutput(serializers.Serializer):
    kinds = serializers.DictField(
        child=serializers.BooleanField(), help_text="Every kind, true when switched on."
    )


class MutedOutput(serializers.Serializer):
    user = PersonOutput(source="muted")
    muted_at = serializers.DateTimeField(source="created_at")


class MuteOutput(serializers.Serializer):
    username = serializers.CharField()
    muted = serializers.BooleanField()


class ReminderOutput(serializers.Serializer):
    room = serializers.UUIDField()
    remind = serializers.BooleanField(help_text="You asked to be reminded of this room.")


# --- Input ------------------------------------------------------------------------------------


class MarkReadInput(serializers.Serializer):
    ids = serializers.ListField(
        # Bounded by the id column (bigint): a larger number is a 400, not a database overflow.
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        max_length=500,
        help_text="Notification ids to mark read (others' ids are ignored).",
    )
    all = serializers.BooleanField(required=False, help_text="true: mark every notification read.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("all") and "ids" in attrs:
            raise serializers.ValidationError("Send either 'ids' or 'all', not both.")
        if not attrs.get("all") and "ids" not in attrs:
            raise serializers.ValidationError("Send 'ids' (a list) or 'all': true.")
        return attrs


class PreferencesInput(serializers.Serializer):
    kinds = serializers.DictField(
        child=serializers.BooleanField(),
        help_text="Kinds to switch on (true) or off (false); kinds not named are unchanged.",
    )

    def validate_kinds(self, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(KINDS.values))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown kind(s): {', '.join(unknown)}. Known: {', '.join(KINDS.values)}."
            )
        return value


# --- Views ------------------------------------------------------------------------------------


class NotificationPagination(CursorPagination):
    # Rows of one fan-out share a timestamp: the id breaks ties so pages never repeat or skip.
    ordering = ("-created_at", "-id")

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread_count"] = self.unread_count
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        result = super().get_paginated_response_schema(schema)
        result["properties"]["unread_count"] = {"type": "integer", "example": 3}
        result.setdefault("required", []).append("unread_count")
        return result


class NotificationListApi(ListAPIView):
    """Your notifications, newest first (cursor pages), with your unread count."""

    serializer_class = NotificationOutput
    pagination_class = NotificationPagination

    def get_queryset(self):
        return selectors.notifications_for(user_id=self.request.user.pk)

    def paginate_queryset(self, queryset):
        self.paginator.unread_count = selectors.unread_count(user_id=self.request.user.pk)
        return super().paginate_queryset(queryset)

    @extend_schema(operation_id="notifications_list", summary="Your notifications")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationReadApi(APIView):
    @extend_schema(
        operation_id="notifications_read",
        summary="Mark notifications read",
        request=MarkReadInput,
        responses={200: MarkReadOutput},
        description=(
            'Body `{"ids": [1, 2]}` (up to 500; ids that are not yours are ignored) or '
            '`{"all": true}`. Your open notification sockets receive the new `unread_count`.'
        ),
    )
    def post(self, request: Request) -> Response:
        body = MarkReadInput(data=request.data)
        body.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(
            user=request.user,
            ids=body.validated_data.get("ids"),
            everything=bool(body.validated_data.get("all")),
        )
        unread = selectors.unread_count(user_id=request.user.pk)
        return Response(MarkReadOutput({"marked": marked, "unread_count": unread}).data)


def _preferences(user_id: int) -> dict[str, Any]:
    off = selectors.disabled_kinds_for(user_id=user_id)
    return {"kinds": {kind: kind not in off for kind in KINDS.values}}


class PreferencesApi(APIView):
    @extend_schema(
        operation_id="notifications_preferences_retrieve",
        summary="Which kinds of notification you get",
        responses={200: PreferencesOutput},
    )
    def get(self, request: Request) -> Response:
        return Response(PreferencesOutput(_preferences(request.user.pk)).data)

    @extend_schema(
        operation_id="notifications_preferences_update",
        summary="Switch kinds of notification on or off",
        request=PreferencesInput,
        responses={200: PreferencesOutput},
    )
    def patch(self, request: Request) -> Response:
        body = PreferencesInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.preferences_update(user=request.user, kinds=body.validated_data["kinds"])
        return Response(PreferencesOutput(_preferences(request.user.pk)).data)


class MutedListApi(ListAPIView):
    """The members whose notifications you muted, most recent first (cursor pages)."""

    serializer_class = MutedOutput

    def get_queryset(self):
        return selectors.muted_for(user_id=self.request.user.pk)

    @extend_schema(operation_id="notifications_muted_list", summary="Members you muted")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class MuteApi(APIView):
    @extend_schema(
        operation_id="users_mute_notifications_create",
        summary="Mute a member's notifications",
        request=None,
        responses={200: MuteOutput},
        description=(
            "You get no notification caused by this member any more (they are not told). "
            "Idempotent. Refused: yourself (400 `self_mute`), a missing member (404 "
            "`user_not_found`)."
        ),
    )
    def post(self, request: Request, username: str) -> Response:
        target = services.actor_mute(user=request.user, username=username)
        return Response(MuteOutput({"username": target.username, "muted": True}).data)

    @extend_schema(
        operation_id="users_mute_notifications_destroy",
        summary="Unmute a member's notifications",
        request=None,
        responses={200: MuteOutput},
    )
    def delete(self, request: Request, username: str) -> Response:
        target = services.actor_unmute(user=request.user, username=username)
        return Response(MuteOutput({"username": target.username, "muted": False}).data)


class RoomRemindApi(APIView):
    @extend_schema(
        operation_id="rooms_remind_retrieve",
        summary="Whether you asked to be reminded of a room",
        responses={200: ReminderOutput},
    )
    def get(self, request: Request, room_id: Any) -> Response:
        room = room_for_user(user=request.user, room_id=room_id)
        remind = selectors.has_reminder(user_id=request.user.pk, room_id=room.pk)
        return Response(ReminderOutput({"room": room.pk, "remind": remind}).data)

    @extend_schema(
        operation_id="rooms_remind_create",
        summary="Remind me of a scheduled room",
        request=None,
        responses={201: ReminderOutput},
        description=(
            "A `room_reminder` notification 10 minutes before the scheduled start and a "
            "`room_starting` one when it goes live. Idempotent. Refused: a room you may not see "
            "(404 `room_not_found`), a room not scheduled (409 `room_not_scheduled`), your own "
            "room (409 `own_room`)."
        ),
    )
    def post(self, request: Request, room_id: Any) -> Response:
        reminder = services.room_reminder_set(user=request.user, room_id=room_id)
        return Response(
            ReminderOutput({"room": reminder.room_id, "remind": True}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(
        operation_id="rooms_remind_destroy",
        summary="Cancel a reminder",
        request=None,
        responses={204: None},
    )
    def delete(self, request: Request, room_id: Any) -> Response:
        services.room_reminder_clear(user=request.user, room_id=room_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
