"""``GET /api/hallway/``: the signed-in member's hallway (see ``rooms.hallway``).

Routed from ``follows/api_urls.py``; the cards' people use the follows app's user card shape.
"""

from __future__ import annotations

from urllib.parse import urlencode

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from follows.api import UserCardSerializer
from rooms import hallway
from rooms.models import Room


class HallwayCardSerializer(serializers.Serializer):
    section = serializers.ChoiceField(
        choices=list(hallway.SECTIONS),
        help_text=(
            "`following`: live, someone you follow hosts or speaks; `upcoming`: scheduled by "
            "someone you follow; `live`: other live public rooms."
        ),
    )
    id = serializers.UUIDField(source="room.pk")
    title = serializers.CharField(source="room.title")
    topic = serializers.CharField(source="room.topic")
    visibility = serializers.ChoiceField(source="room.visibility", choices=Room.Visibility.choices)
    state = serializers.ChoiceField(source="room.state", choices=Room.State.choices)
    host = UserCardSerializer(source="room.host")
    speakers_count = serializers.IntegerField(source="room.speakers_count")
    listeners_count = serializers.IntegerField(source="room.listeners_count")
    speakers = UserCardSerializer(
        many=True, help_text="Up to 3 people on stage, people you follow first."
    )
    followed_on_stage_count = serializers.IntegerField(
        help_text="How many people you follow are on stage (live rooms you follow into)."
    )
    followed_in_room = UserCardSerializer(
        many=True, help_text="Up to 5 people you follow who are in the room, stage first."
    )
    followed_in_room_count = serializers.IntegerField(
        help_text="How many people you follow are in the room."
    )
    started_at = serializers.DateTimeField(source="room.started_at", allow_null=True)
    scheduled_for = serializers.DateTimeField(source="room.scheduled_for", allow_null=True)


class HallwayOutputSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The next page, or null at the end.")
    next_cursor = serializers.CharField(allow_null=True)
    results = HallwayCardSerializer(many=True)


class HallwayInputSerializer(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
    limit = serializers.IntegerField(
        required=False, default=hallway.DEFAULT_LIMIT, min_value=1, max_value=hallway.MAX_LIMIT
    )


class HallwayApi(APIView):
    @extend_schema(
        operation_id="hallway_list",
        summary="Your hallway: live and upcoming rooms",
        description=(
            "Live rooms that people you follow host or speak in (most followed people on "
            "stage, then most listeners), then upcoming rooms they host (soonest first), then "
            "other live public rooms (most listeners). Only rooms you may see. Follow `next` "
            "for more; a bad cursor answers 400 `invalid_cursor`."
        ),
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, required=False),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, required=False, description="1-50, default 20."
            ),
        ],
        responses={200: HallwayOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = HallwayInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        limit = params.validated_data["limit"]
        page = hallway.hallway_for(
            user=request.user,
            cursor=params.validated_data.get("cursor") or None,
            limit=limit,
        )
        next_url = None
        if page.next_cursor:
            query = urlencode({"cursor": page.next_cursor, "limit": limit})
            next_url = request.build_absolute_uri(f"{request.path}?{query}")
        data = HallwayOutputSerializer(
            {"next": next_url, "next_cursor": page.next_cursor, "results": page.cards}
        ).data
        return Response(data)
