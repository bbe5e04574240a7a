"""``GET /api/hallway/``: the signed-in member's hallway (see ``rooms.hallway``).

Routed from ``follows/api_urls.py``; the cards' people use the follows app's user card shape.

The response is built as plain dicts by ``page_payload``: the serializers below describe it to
the OpenAPI schema (and tests hold the two to the same shape), but running a DRF serializer
over a page of cards cost more than the whole hallway query (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any
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

# Times written exactly as the documented ``DateTimeField`` writes them.
_TIME = serializers.DateTimeField()


def _when(value: Any) -> str | None:
    return None if value is None else _TIME.to_representation(value)


def _person(person: hallway.HallwayPerson) -> dict[str, Any]:
    return {
        "id": person.id,
        "username": person.username,
        "display_name": person.display_name or person.username,
        "avatar_url": person.avatar_url,
    }


def page_payload(page: hallway.HallwayPage, *, next_url: str | None) -> dict[str, Any]:
    """The response body for ``page``: the shape ``HallwayOutputSerializer`` documents."""
    people: dict[int, dict[str, Any]] = {}

    def person(p: hallway.HallwayPerson) -> dict[str, Any]:
        found = people.get(p.id)
        if found is None:
            found = people[p.id] = _person(p)
        return found

    results = []
    for card in page.cards:
        room = card.room
        results.append(
            {
                "section": card.section,
                "id": str(room.id),
                "title": room.title,
                "topic": room.topic,
                "visibility": room.visibility,
                "state": room.state,
                "host": person(room.host),
                "speakers_count": room.speakers_count,
                "listeners_count": room.listeners_count,
                "speakers": [person(p) for p in card.speakers],
                "followed_on_stage_count": card.followed_on_stage_count,
                "followed_in_room": [person(p) for p in card.followed_in_room],
                "followed_in_room_count": card.followed_in_room_count,
                "blocked_on_stage": [person(p) for p in card.blocked_on_stage],
                "started_at": _when(room.started_at),
                "scheduled_for": _when(room.scheduled_for),
            }
        )
    return {"next": next_url, "next_cursor": page.next_cursor, "results": results}


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
    blocked_on_stage = UserCardSerializer(
        many=True,
        help_text=(
            "People you blocked who are on stage now (host, moderators, speakers), in stage "
            "order: show a warning on the card. Only your own blocks; empty otherwise."
        ),
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
        return Response(page_payload(page, next_url=next_url))
