"""REST endpoints of moderation (docs/api.md and docs/moderation.md).

``/api/users/<username>/block/`` (POST block, DELETE unblock), ``/api/blocks/`` (GET your blocks,
cursor pages, newest first), ``/api/reports/`` (POST a report; throttled by the ``report`` scope).
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from accounts.selectors import member_by_username
from audiosocial.errors import NotFound
from moderation import selectors, services
from moderation.models import REPORT_TEXT_MAX_LENGTH, Block, Report


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


# --- Output shapes -----------------------------------------------------------------------------


class BlockedMemberSerializer(serializers.Serializer):
    """A member as lists and cards show them (the same shape as ``rooms.events.user_payload``)."""

    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()

    def get_display_name(self, user) -> str:
        return user.display_name or user.username

    def get_avatar_url(self, user) -> str:
        return user.avatar.url if user.avatar else ""


class BlockOutputSerializer(serializers.Serializer):
    user = BlockedMemberSerializer(source="blocked")
    blocked_at = serializers.DateTimeField(source="created_at")


class ReportOutputSerializer(serializers.Serializer):
    """What the reporter sees of their report: never the moderators' work on it."""

    category = serializers.ChoiceField(choices=Report.Category.choices)
    target_type = serializers.ChoiceField(choices=Report.TargetType.choices)
    username = serializers.SerializerMethodField()
    room = serializers.UUIDField(source="target_room_id", allow_null=True)
    status = serializers.ChoiceField(choices=Report.Status.choices)
    submissions = serializers.IntegerField(
        help_text="How many of your reports of this target were merged into this one."
    )
    merged = serializers.BooleanField(
        help_text="This submission was merged into your recent report of the same target."
    )
    created_at = serializers.DateTimeField()

    def get_username(self, report) -> str | None:
        return report.target_user.username if report.target_user_id else None


# --- Input shapes ------------------------------------------------------------------------------


class ReportInputSerializer(serializers.Serializer):
    category = serializers.ChoiceField(choices=Report.Category.choices)
    text = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REPORT_TEXT_MAX_LENGTH
    )
    username = serializers.CharField(
        required=False, max_length=150, help_text="The member you report."
    )
    room = serializers.UUIDField(
        required=False,
        help_text="The room you report (or the room where the member did it): the room's "
        "state at this moment is kept as evidence.",
    )

    def validate(self, attrs):
        if not attrs.get("username") and not attrs.get("room"):
            raise serializers.ValidationError(
                {"non_field_errors": ["Say which member (username) or room you are reporting."]}
            )
        return attrs


# --- Views -------------------------------------------------------------------------------------

_ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Bad input; `code` says which."),
    401: OpenApiResponse(ErrorSerializer, description="Not signed in."),
    404: OpenApiResponse(ErrorSerializer, description="No such member."),
}


class BlockApi(APIView):
    """Block or unblock a member. Blocks are private: the blocked member is never told."""

    @extend_schema(
        operation_id="user_block",
        request=None,
        responses={
            201: BlockOutputSerializer,
            200: OpenApiResponse(BlockOutputSerializer, description="Already blocked."),
            **_ERRORS,
        },
    )
    def post(self, request: Request, username: str) -> Response:
        blocked = member_by_username(username=username)
        block, created = services.block_create(blocker=request.user, blocked=blocked)
        return Response(
            BlockOutputSerializer(block).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="user_unblock",
        request=None,
        responses={204: OpenApiResponse(description="Not blocked (any more)."), **_ERRORS},
    )
    def delete(self, request: Request, username: str) -> Response:
        blocked = member_by_username(username=username)
        services.block_delete(blocker=request.user, blocked=blocked)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BlockListApi(ListAPIView):
    """The members you blocked, newest first."""

    serializer_class = BlockOutputSerializer

    def get_queryset(self) -> QuerySet[Block]:
        return selectors.blocks_made_by(user=self.request.user)

    @extend_schema(operation_id="blocks_list")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ReportApi(APIView):
    """Report a member, a room, or a member in a room.

    A report of the same target within a few minutes of your last one is merged into it.
    """

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "report"

    @extend_schema(
        operation_id="report_create",
        request=ReportInputSerializer,
        responses={
            201: ReportOutputSerializer,
            200: OpenApiResponse(ReportOutputSerializer, description="Merged into a recent one."),
            **_ERRORS,
            429: OpenApiResponse(ErrorSerializer, description="Too many reports."),
        },
    )
    def post(self, request: Request) -> Response:
        data = ReportInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target_user = None
        if data.validated_data.get("username"):
            target_user = member_by_username(username=data.validated_data["username"])
        target_room = None
        if data.validated_data.get("room"):
            target_room = _room(data.validated_data["room"])
        report, merged = services.report_create(
            reporter=request.user,
            category=data.validated_data["category"],
            text=data.validated_data["text"],
            target_user=target_user,
            target_room=target_room,
        )
        report.merged = merged
        return Response(
            ReportOutputSerializer(report).data,
            status=status.HTTP_200_OK if merged else status.HTTP_201_CREATED,
        )


def _room(room_id):
    from rooms.models import Room

    room = Room.objects.select_related("host").filter(pk=room_id).first()
    if room is None:
        raise NotFound("This room does not exist or you cannot see it.", code="room_not_found")
    return room
