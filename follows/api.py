"""REST endpoints of the follow graph (docs/api.md, "Follows").

``/api/users/<username>/follow/`` (POST, DELETE), ``/followers/``, ``/following/`` (GET, cursor
pages, newest first) and ``/api/suggestions/`` (GET). Usernames match case-insensitively.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import member_by_username
from follows import selectors, services

# --- Output shapes -----------------------------------------------------------------------------


class UserCardSerializer(serializers.Serializer):
    """A member as lists and cards show them (the same shape as ``rooms.events.user_payload``)."""

    id = serializers.IntegerField(source="pk")
    username = serializers.CharField()
    display_name = serializers.SerializerMethodField()
    avatar_url = serializers.SerializerMethodField()

    def get_display_name(self, user) -> str:
        return user.display_name or user.username

    def get_avatar_url(self, user) -> str:
        return user.avatar.url if user.avatar else ""


class RelationshipOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    followed_by_you = serializers.BooleanField()
    follows_you = serializers.BooleanField()
    follower_count = serializers.IntegerField()
    following_count = serializers.IntegerField()


class _FollowItemSerializer(serializers.Serializer):
    followed_at = serializers.DateTimeField(source="created_at")
    followed_by_you = serializers.BooleanField(help_text="You follow this member.")
    follows_you = serializers.BooleanField(help_text="This member follows you.")


class FollowerItemSerializer(_FollowItemSerializer):
    user = UserCardSerializer(source="follower")


class FollowingItemSerializer(_FollowItemSerializer):
    user = UserCardSerializer(source="followee")


class SuggestionOutputSerializer(serializers.Serializer):
    user = UserCardSerializer()
    reason = serializers.ChoiceField(
        choices=[
            selectors.REASON_NOMINATED_YOU,
            selectors.REASON_YOU_NOMINATED,
            selectors.REASON_FOLLOWED_BY,
        ]
    )
    followed_by_count = serializers.IntegerField(
        help_text="How many of the people you follow follow this member."
    )


class SuggestionsOutputSerializer(serializers.Serializer):
    results = SuggestionOutputSerializer(many=True)


class SuggestionsInputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=selectors.SUGGESTIONS_MAX
    )


class MemberSearchItemSerializer(serializers.Serializer):
    user = UserCardSerializer(source="*")
    followed_by_you = serializers.BooleanField(help_text="You follow this member.")
    follows_you = serializers.BooleanField(help_text="This member follows you.")
    follower_count = serializers.IntegerField()


class MemberSearchOutputSerializer(serializers.Serializer):
    query = serializers.CharField(help_text="The search as used (trimmed, without a leading @).")
    results = MemberSearchItemSerializer(many=True)


class MemberSearchInputSerializer(serializers.Serializer):
    q = serializers.CharField(
        allow_blank=True,
        max_length=200,
        help_text="Part of a username or display name (the first 50 characters count).",
    )
    limit = serializers.IntegerField(
        required=False, default=20, min_value=1, max_value=selectors.SEARCH_MAX
    )


# --- Views -------------------------------------------------------------------------------------


def _relationship_response(*, viewer, user, status_code: int) -> Response:
    relationship = selectors.relationship_for(viewer=viewer, user=user)
    data = RelationshipOutputSerializer(
        {
            "username": user.username,
            "followed_by_you": relationship.followed_by_you,
            "follows_you": relationship.follows_you,
            "follower_count": relationship.follower_count,
            "following_count": relationship.following_count,
        }
    ).data
    return Response(data, status=status_code)


class FollowApi(APIView):
    @extend_schema(
        operation_id="users_follow_create",
        request=None,
        responses={201: RelationshipOutputSerializer, 200: RelationshipOutputSerializer},
        summary="Follow a member",
        description=(
            "201 when the follow is new, 200 when you already followed them (nothing changes). "
            "Refused: yourself (400 `cannot_follow_self`), a missing member (404 "
            "`user_not_found`), a block either way (403 `blocked`)."
        ),
    )
    def post(self, request: Request, username: str) -> Response:
        followee = member_by_username(username=username)
        _, created = services.follow_create(follower=request.user, followee=followee)
        return _relationship_response(
            viewer=request.user,
            user=followee,
            status_code=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="users_follow_destroy",
        request=None,
        responses={200: RelationshipOutputSerializer},
        summary="Unfollow a member",
        description="Refused with 409 `not_following` when you did not follow them.",
    )
    def delete(self, request: Request, username: str) -> Response:
        followee = member_by_username(username=username)
        services.follow_delete(follower=request.user, followee=followee)
        return _relationship_response(
            viewer=request.user, user=followee, status_code=status.HTTP_200_OK
        )


class FollowersApi(ListAPIView):
    """The member's followers, newest follow first (cursor pages)."""

    serializer_class = FollowerItemSerializer

    def get_queryset(self):
        user = member_by_username(username=self.kwargs["username"])
        return selectors.followers_of(user=user, viewer=self.request.user)

    @extend_schema(operation_id="users_followers_list", summary="A member's followers")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class FollowingApi(ListAPIView):
    """The members this member follows, newest follow first (cursor pages)."""

    serializer_class = FollowingItemSerializer

    def get_queryset(self):
        user = member_by_username(username=self.kwargs["username"])
        return selectors.following_of(user=user, viewer=self.request.user)

    @extend_schema(operation_id="users_following_list", summary="Whom a member follows")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class SuggestionsApi(APIView):
    @extend_schema(
        operation_id="suggestions_list",
        summary="People you may want to follow",
        parameters=[
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="1-50, default 20.", required=False
            )
        ],
        responses={200: SuggestionsOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = SuggestionsInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        suggestions = selectors.suggestions_for(
            user=request.user, limit=params.validated_data["limit"]
        )
        return Response(SuggestionsOutputSerializer({"results": suggestions}).data)


class MemberSearchApi(APIView):
    @extend_schema(
        operation_id="users_search",
        summary="Find members by username or display name",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="What to look for.", required=True),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="1-30, default 20.", required=False
            ),
        ],
        responses={200: MemberSearchOutputSerializer},
    )
    def get(self, request: Request) -> Response:
        params = MemberSearchInputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = selectors.member_search_query(params.validated_data["q"])
        members = selectors.member_search(
            viewer=request.user, query=query, limit=params.validated_data["limit"]
        )
        return Response(MemberSearchOutputSerializer({"query": query, "results": members}).data)
