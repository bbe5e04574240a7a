"""REST: your profile, members' profiles, your invitations."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, services
from accounts.models import Invitation, User
from accounts.throttling import InvitationThrottle, ProfileLookupThrottle

# --- Output -----------------------------------------------------------------------------------


def avatar_url(request: HttpRequest, user: User) -> str | None:
    if not user.avatar:
        return None
    return request.build_absolute_uri(user.avatar.url)


class ProfileOutput(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    bio = serializers.CharField()
    avatar_url = serializers.SerializerMethodField()
    joined = serializers.DateTimeField(source="date_joined")
    nominated_by = serializers.SerializerMethodField(
        help_text="Username of the member whose invitation this member accepted."
    )
    follower_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    follows_you = serializers.BooleanField(help_text="This member follows you.")
    followed_by_you = serializers.BooleanField(help_text="You follow this member.")
    blocked_by_you = serializers.BooleanField(help_text="You block this member.")
    can_follow = serializers.SerializerMethodField(
        help_text="Whether to offer a follow button: false on your own profile and when a block "
        "stands between you (either way; the reason is not given)."
    )
    is_you = serializers.SerializerMethodField()
    # CharField, not EmailField: an account made without an address has "", which is not an
    # "email" in the schema's sense, and the schema must describe what is really sent.
    email = serializers.CharField(
        required=False,
        help_text="Present only on your own profile: nobody else sees it. May be empty.",
    )

    def get_avatar_url(self, obj: User) -> str | None:
        return avatar_url(self.context["request"], obj)

    def get_nominated_by(self, obj: User) -> str | None:
        return obj.nominated_by.username if obj.nominated_by_id else None

    def get_can_follow(self, obj: User) -> bool:
        return not (
            obj.pk == self.context["request"].user.pk or obj.blocked_by_you or obj.blocks_you
        )

    def get_is_you(self, obj: User) -> bool:
        return obj.pk == self.context["request"].user.pk

    def to_representation(self, instance: User) -> dict:
        data = super().to_representation(instance)
        # Email addresses never leave the server for anyone but their owner.
        if instance.pk != self.context["request"].user.pk:
            data.pop("email", None)
        return data


class InvitationOutput(serializers.Serializer):
    code = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The signup link to send.")
    email = serializers.CharField(
        help_text="The only address that may use it; empty: anyone with the link, once."
    )
    status = serializers.ChoiceField(choices=Invitation.Status.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_by = serializers.SerializerMethodField()
    used_at = serializers.DateTimeField(allow_null=True)

    def get_url(self, obj: Invitation) -> str:
        return signup_url(self.context["request"], obj.code)

    def get_used_by(self, obj: Invitation) -> str | None:
        return obj.used_by.username if obj.used_by_id else None


class QuotaOutput(serializers.Serializer):
    total = serializers.IntegerField(allow_null=True, help_text="null: unlimited (staff).")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True)
    unlimited = serializers.BooleanField()


class NomineeOutput(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()
    joined = serializers.DateTimeField(source="date_joined")


class InvitationsOutput(serializers.Serializer):
    quota = QuotaOutput()
    invitations = InvitationOutput(many=True)
    joined = NomineeOutput(many=True, help_text="Members who signed up with your invitations.")


def signup_url(request: HttpRequest, code: str) -> str:
    return request.build_absolute_uri(f"{reverse('account_signup')}?invite={code}")


# --- Input ------------------------------------------------------------------------------------


class ProfileUpdateInput(serializers.Serializer):
    display_name = serializers.CharField(
        required=False, allow_blank=True, max_length=User._meta.get_field("display_name").max_length
    )
    bio = serializers.CharField(
        required=False, allow_blank=True, max_length=User._meta.get_field("bio").max_length
    )
    avatar = serializers.FileField(
        required=False,
        allow_null=True,
        help_text="JPEG, PNG, GIF or WebP as multipart/form-data; null or empty removes it.",
    )


class InvitationCreateInput(serializers.Serializer):
    email = serializers.EmailField(
        required=False, allow_blank=True, help_text="Only this address may use the invitation."
    )


# --- Views ------------------------------------------------------------------------------------


class MemberAPIView(APIView):
    """Members only: anonymous requests get 401 (audiosocial.authentication names the challenge)."""


def _own_profile(request: Request) -> dict:
    profile = selectors.profile_get(viewer=request.user, username=request.user.username)
    return ProfileOutput(profile, context={"request": request}).data


class MeView(MemberAPIView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="me_retrieve", responses=ProfileOutput, summary="Your profile (with email)"
    )
    def get(self, request: Request) -> Response:
        return Response(_own_profile(request))

    @extend_schema(
        operation_id="me_partial_update",
        request=ProfileUpdateInput,
        responses={200: ProfileOutput},
        summary="Edit your display name, bio or avatar",
    )
    def patch(self, request: Request) -> Response:
        data = ProfileUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.profile_update(user=request.user, by=request.user, **data.validated_data)
        return Response(_own_profile(request))


class UserDetailView(MemberAPIView):
    throttle_classes = [ProfileLookupThrottle]

    @extend_schema(
        operation_id="users_retrieve",
        responses={200: ProfileOutput},
        summary="A member's profile (username looked up case-insensitively)",
    )
    def get(self, request: Request, username: str) -> Response:
        profile = selectors.profile_get(viewer=request.user, username=username)
        return Response(ProfileOutput(profile, context={"request": request}).data)


class InvitationListView(MemberAPIView):
    def get_throttles(self):
        # Creating is what a spammer would repeat; reading your own list is not limited.
        return [InvitationThrottle()] if self.request.method == "POST" else []

    @extend_schema(
        operation_id="invitations_list",
        responses=InvitationsOutput,
        summary="Your invitations, your remaining quota and who joined through you",
    )
    def get(self, request: Request) -> Response:
        user = request.user
        payload = {
            "quota": selectors.invitation_quota(user=user),
            "invitations": selectors.invitations_of(user=user),
            "joined": selectors.nominees_of(user=user),
        }
        return Response(InvitationsOutput(payload, context={"request": request}).data)

    @extend_schema(
        operation_id="invitations_create",
        request=InvitationCreateInput,
        responses={201: InvitationOutput},
        summary="Create an invitation from your quota",
    )
    def post(self, request: Request) -> Response:
        data = InvitationCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            by=request.user, email=data.validated_data.get("email", "")
        )
        return Response(
            InvitationOutput(invitation, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class InvitationDetailView(MemberAPIView):
    throttle_classes = [InvitationThrottle]

    @extend_schema(
        operation_id="invitations_destroy",
        responses={204: OpenApiResponse(description="Revoked (or already revoked).")},
        summary="Revoke one of your unused invitations",
    )
    def delete(self, request: Request, code: str) -> Response:
        invitation = selectors.invitation_get_own(user=request.user, code=code)
        services.invitation_revoke(invitation=invitation, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
