"""REST for rooms: create, detail, edit, lifecycle, membership and the in-room actions.

Every view fetches the room through ``rooms.selectors.room_for_user`` (a room you may not see is
a 404) and then calls one service, which holds every rule. docs/api.md lists the paths.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import member_by_username
from audiosocial.pagination import CursorPagination
from rooms import selectors, services
from rooms.events import participant_payload
from rooms.models import Participant, Room

User = get_user_model()

# --- Output (documents the dicts that rooms.selectors / rooms.events build) ---------------------


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class UserOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField()


class ParticipantOutput(serializers.Serializer):
    user = UserOutput()
    role = serializers.ChoiceField(choices=Participant.Role.choices)
    muted = serializers.BooleanField(help_text="Not audible: self-muted or muted by a moderator.")
    self_muted = serializers.BooleanField()
    moderator_muted = serializers.BooleanField(help_text="Only a moderator can lift it.")
    joined_at = serializers.DateTimeField()
    hand_raised = serializers.BooleanField(required=False, help_text="Moderators only.")
    hand_raised_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Moderators only."
    )
    invited_to_speak = serializers.BooleanField(required=False, help_text="Moderators only.")


class CountsOutput(serializers.Serializer):
    speakers = serializers.IntegerField()
    listeners = serializers.IntegerField()


class ParticipantsOutput(serializers.Serializer):
    host = ParticipantOutput(many=True)
    moderators = ParticipantOutput(many=True)
    speakers = ParticipantOutput(many=True)
    listeners = ParticipantOutput(
        many=True,
        help_text=f"The first {selectors.DETAIL_LISTENERS}; the rest at .../listeners/.",
    )


class MeOutput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Participant.Role.choices, allow_null=True)
    participating = serializers.BooleanField()
    muted = serializers.BooleanField(allow_null=True)
    moderator_muted = serializers.BooleanField(allow_null=True)
    hand_raised = serializers.BooleanField()
    invited_to_speak = serializers.BooleanField()
    permissions = serializers.ListField(
        child=serializers.CharField(), help_text="Action names; see docs/rooms.md."
    )


class RoomOutput(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    topic = serializers.CharField()
    visibility = serializers.ChoiceField(choices=Room.Visibility.choices)
    state = serializers.ChoiceField(choices=Room.State.choices)
    host = UserOutput()
    scheduled_for = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()
    counts = CountsOutput()


class RoomDetailOutput(RoomOutput):
    cohosts = UserOutput(
        many=True, help_text="Co-hosts announced by the host (moderators when they join)."
    )
    participants = ParticipantsOutput()
    limits = CountsOutput()
    me = MeOutput()
    hands = ParticipantOutput(
        many=True, required=False, help_text="Moderators only: raised hands, oldest first."
    )


class InviteOutput(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    invited_by = serializers.CharField(source="invited_by.username")
    created_at = serializers.DateTimeField()


# --- Input ---------------------------------------------------------------------------------------


class RoomCreateInput(serializers.Serializer):
    title = serializers.CharField(max_length=Room._meta.get_field("title").max_length)
    topic = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(
        choices=Room.Visibility.choices, default=Room.Visibility.PUBLIC
    )
    scheduled_for = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Omit to go live now; a future time schedules the room.",
    )
    cohosts = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=Room.MAX_COHOSTS,
        required=False,
        default=list,
        help_text=f"Up to {Room.MAX_COHOSTS} usernames: moderators as soon as they join; their "
        "followers hear when the room goes live.",
    )


class RoomUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=Room._meta.get_field("title").max_length)
    topic = serializers.CharField(max_length=1000, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Room.Visibility.choices)
    scheduled_for = serializers.DateTimeField(help_text="Only while the room is scheduled.")
    cohosts = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=Room.MAX_COHOSTS,
        help_text=f"Replaces the announced co-hosts (up to {Room.MAX_COHOSTS} usernames; "
        "[] for none).",
    )


class UsernameInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)


# --- Helpers -------------------------------------------------------------------------------------

ROOM_ID = OpenApiParameter(
    "room_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The room's id."
)
USERNAME = OpenApiParameter(
    "username", OpenApiTypes.STR, OpenApiParameter.PATH, description="A member's username."
)
ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Invalid input."),
    403: OpenApiResponse(ErrorOutput, description="Not allowed (see the code)."),
    404: OpenApiResponse(ErrorOutput, description="No such room (or you cannot see it)."),
    409: OpenApiResponse(ErrorOutput, description="Not possible in the room's current state."),
}


def member(username: str) -> Any:
    return member_by_username(username=username)


def username_from(request: Request) -> Any:
    data = UsernameInput(data=request.data)
    data.is_valid(raise_exception=True)
    return member(data.validated_data["username"])


def detail_response(room: Room, user: Any, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(selectors.room_detail(room=room, user=user), status=status_code)


def participant_response(room: Room, participant: Participant, user: Any) -> Response:
    # The hand queue is for moderators and the participant concerned (docs/rooms.md).
    if participant.user_id == user.pk:
        with_hand = True
    else:
        actor = selectors.participant_for(room=room, user=user)
        with_hand = actor is not None and actor.is_moderator
    return Response(participant_payload(participant, with_hand=with_hand))


class RoomView(APIView):
    """Base: resolves ``room_id`` through the one access selector."""

    def room(self, request: Request, room_id: str) -> Room:
        return selectors.room_for_user(user=request.user, room_id=room_id)


# --- Rooms ---------------------------------------------------------------------------------------


class RoomCreateView(APIView):
    @extend_schema(
        summary="Create a room: live now, or scheduled",
        request=RoomCreateInput,
        responses={201: RoomDetailOutput, **ERRORS},
        tags=["rooms"],
    )
    def post(self, request: Request) -> Response:
        data = RoomCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        room = services.room_create(host=request.user, **data.validated_data)
        return detail_response(room, request.user, status.HTTP_201_CREATED)


class RoomDetailView(RoomView):
    @extend_schema(
        summary="A room with its participants, your role and your permissions",
        parameters=[ROOM_ID],
        responses={200: RoomDetailOutput, 404: ERRORS[404]},
        tags=["rooms"],
    )
    def get(self, request: Request, room_id: str) -> Response:
        return detail_response(self.room(request, room_id), request.user)

    @extend_schema(
        summary="Edit a room (host)",
        parameters=[ROOM_ID],
        request=RoomUpdateInput,
        responses={200: RoomDetailOutput, **ERRORS},
        tags=["rooms"],
    )
    def patch(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        data = RoomUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.room_update(room=room, by=request.user, **data.validated_data)
        return detail_response(room, request.user)


def _lifecycle_view(service_name: str, summary: str) -> type[RoomView]:
    service = getattr(services, service_name)

    class View(RoomView):
        @extend_schema(
            summary=summary,
            parameters=[ROOM_ID],
            request=None,
            responses={200: RoomDetailOutput, **ERRORS},
            tags=["rooms"],
        )
        def post(self, request: Request, room_id: str) -> Response:
            room = self.room(request, room_id)
            service(room=room, by=request.user)
            return detail_response(room, request.user)

    View.__name__ = View.__qualname__ = f"Room{service_name.split('_')[1].title()}View"
    return View


RoomStartView = _lifecycle_view("room_start", "Start a scheduled room now (host)")
RoomEndView = _lifecycle_view("room_end", "End a live room (host)")
RoomCancelView = _lifecycle_view("room_cancel", "Cancel a scheduled room (host)")


class RoomJoinView(RoomView):
    @extend_schema(
        summary="Join a live room (audio is negotiated on the WebSocket)",
        parameters=[ROOM_ID],
        request=None,
        responses={200: RoomDetailOutput, **ERRORS},
        tags=["rooms"],
    )
    def post(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        services.participant_join(room=room, user=request.user)
        return detail_response(room, request.user)


class RoomLeaveView(RoomView):
    @extend_schema(
        summary="Leave a room (nothing happens if you are not in it)",
        parameters=[ROOM_ID],
        request=None,
        responses={204: None, 404: ERRORS[404]},
        tags=["rooms"],
    )
    def post(self, request: Request, room_id: str) -> Response:
        services.participant_leave(room=self.room(request, room_id), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ListenerPagination(CursorPagination):
    ordering = ("joined_at", "pk")
    page_size = 50


class RoomListenersView(RoomView):
    pagination_class = ListenerPagination

    @extend_schema(
        summary="The room's audience, oldest first (paginated)",
        parameters=[ROOM_ID],
        responses={200: ParticipantOutput(many=True), 404: ERRORS[404]},
        tags=["rooms"],
    )
    def get(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(selectors.room_listeners(room=room), request, view=self)
        return paginator.get_paginated_response([participant_payload(p) for p in page])


# --- Your own hand, stage seat and microphone ---------------------------------------------------


class HandView(RoomView):
    @extend_schema(
        summary="Raise your hand (listeners)",
        parameters=[ROOM_ID],
        request=None,
        responses={200: ParticipantOutput, **ERRORS},
        tags=["rooms: audience"],
    )
    def post(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        participant = services.hand_raise(room=room, user=request.user)
        return participant_response(room, participant, request.user)

    @extend_schema(
        summary="Lower your hand",
        parameters=[ROOM_ID],
        request=None,
        responses={200: ParticipantOutput, **ERRORS},
        tags=["rooms: audience"],
    )
    def delete(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        participant = services.hand_lower(room=room, user=request.user)
        return participant_response(room, participant, request.user)


def _self_view(service_name: str, summary: str, tag: str) -> type[RoomView]:
    service = getattr(services, service_name)

    class View(RoomView):
        @extend_schema(
            summary=summary,
            parameters=[ROOM_ID],
            request=None,
            responses={200: ParticipantOutput, **ERRORS},
            tags=[tag],
        )
        def post(self, request: Request, room_id: str) -> Response:
            room = self.room(request, room_id)
            participant = service(room=room, user=request.user)
            return participant_response(room, participant, request.user)

    View.__name__ = View.__qualname__ = "".join(w.title() for w in service_name.split("_")) + "View"
    return View


SpeakerAcceptView = _self_view("speaker_accept", "Accept an invitation to speak", "rooms: audience")
SpeakerDeclineView = _self_view(
    "speaker_decline", "Decline an invitation to speak", "rooms: audience"
)
MicMuteView = _self_view("mic_mute", "Mute your microphone (stage)", "rooms: stage")
MicUnmuteView = _self_view(
    "mic_unmute",
    "Unmute your microphone (stage; refused while a moderator has muted you)",
    "rooms: stage",
)


# --- Acting on someone ---------------------------------------------------------------------------


def _target_view(
    service_name: str,
    summary: str,
    *,
    method: str = "post",
    from_body: bool = False,
    respond_with_participant: bool = True,
) -> type[RoomView]:
    """A view calling ``service(room=, by=, user=)``; the user comes from the path
    (``<username>``) or from the body (``{"username": ...}``)."""
    service = getattr(services, service_name)
    parameters = [ROOM_ID] if from_body else [ROOM_ID, USERNAME]
    success = ParticipantOutput if respond_with_participant else None
    success_status = 200 if respond_with_participant else 204

    def handler(self, request: Request, room_id: str, username: str | None = None) -> Response:
        room = self.room(request, room_id)
        user = username_from(request) if from_body else member(username or "")
        result = service(room=room, by=request.user, user=user)
        if respond_with_participant:
            return participant_response(room, result, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    handler = extend_schema(
        summary=summary,
        parameters=parameters,
        request=UsernameInput if from_body else None,
        responses={success_status: success, **ERRORS},
        tags=["rooms: moderation"],
    )(handler)
    name = "".join(w.title() for w in service_name.split("_")) + method.title() + "View"
    return type(name, (RoomView,), {method: handler})


SpeakerInviteView = _target_view(
    "speaker_invite", "Invite a listener to speak (moderators)", from_body=True
)
MoveToAudienceView = _target_view(
    "speaker_move_to_audience",
    "Move someone on stage back to the audience (moderators, or yourself)",
)
ParticipantMuteView = _target_view("participant_mute", "Mute someone on stage (moderators; sticky)")
ParticipantUnmuteView = _target_view("participant_unmute", "Lift a moderator mute (moderators)")
ParticipantRemoveView = _target_view(
    "participant_remove",
    "Remove someone from the room; they cannot rejoin (moderators)",
    respond_with_participant=False,
)
HostTransferView = _target_view(
    "host_transfer",
    "Hand the room over to another participant (host); you stay on as a moderator",
    from_body=True,
)


class HandLowerOtherView(RoomView):
    @extend_schema(
        summary="Lower someone's raised hand (moderators)",
        parameters=[ROOM_ID, USERNAME],
        request=None,
        responses={200: ParticipantOutput, **ERRORS},
        tags=["rooms: moderation"],
    )
    def delete(self, request: Request, room_id: str, username: str) -> Response:
        room = self.room(request, room_id)
        participant = services.hand_lower(room=room, user=member(username), by=request.user)
        return participant_response(room, participant, request.user)


class ModeratorView(RoomView):
    @extend_schema(
        summary="Make a participant a co-moderator (host)",
        parameters=[ROOM_ID, USERNAME],
        request=None,
        responses={200: ParticipantOutput, **ERRORS},
        tags=["rooms: moderation"],
    )
    def post(self, request: Request, room_id: str, username: str) -> Response:
        room = self.room(request, room_id)
        participant = services.moderator_add(room=room, by=request.user, user=member(username))
        return participant_response(room, participant, request.user)

    @extend_schema(
        summary="Revoke a co-moderator (host); they stay on stage as a speaker",
        parameters=[ROOM_ID, USERNAME],
        request=None,
        responses={200: ParticipantOutput, **ERRORS},
        tags=["rooms: moderation"],
    )
    def delete(self, request: Request, room_id: str, username: str) -> Response:
        room = self.room(request, room_id)
        participant = services.moderator_revoke(room=room, by=request.user, user=member(username))
        return participant_response(room, participant, request.user)


class RoomInviteView(RoomView):
    @extend_schema(
        summary="Invite a member into a closed room (host and moderators)",
        parameters=[ROOM_ID],
        request=UsernameInput,
        responses={201: InviteOutput, **ERRORS},
        tags=["rooms: moderation"],
    )
    def post(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        invite = services.room_invite(room=room, by=request.user, user=username_from(request))
        return Response(InviteOutput(invite).data, status=status.HTTP_201_CREATED)


class RoomPingView(RoomView):
    @extend_schema(
        summary="Ping a member into the room (any participant)",
        parameters=[ROOM_ID],
        request=UsernameInput,
        responses={204: None, 429: OpenApiResponse(ErrorOutput), **ERRORS},
        tags=["rooms: audience"],
    )
    def post(self, request: Request, room_id: str) -> Response:
        room = self.room(request, room_id)
        services.room_ping(room=room, by=request.user, user=username_from(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
