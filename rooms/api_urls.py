"""REST routes for rooms (included under /api/). Room ids are matched as plain strings so that a
malformed id reaches the access selector and answers the JSON 404 envelope, not an HTML page."""

from django.urls import path

from rooms import api

R = "rooms/<str:room_id>/"
P = R + "participants/<str:username>/"

urlpatterns = [
    path("rooms/", api.RoomCreateView.as_view(), name="api-rooms"),
    path(R, api.RoomDetailView.as_view(), name="api-room"),
    path(R + "start/", api.RoomStartView.as_view(), name="api-room-start"),
    path(R + "end/", api.RoomEndView.as_view(), name="api-room-end"),
    path(R + "cancel/", api.RoomCancelView.as_view(), name="api-room-cancel"),
    path(R + "join/", api.RoomJoinView.as_view(), name="api-room-join"),
    path(R + "leave/", api.RoomLeaveView.as_view(), name="api-room-leave"),
    path(R + "listeners/", api.RoomListenersView.as_view(), name="api-room-listeners"),
    path(R + "hand/", api.HandView.as_view(), name="api-room-hand"),
    path(R + "mic/mute/", api.MicMuteView.as_view(), name="api-room-mic-mute"),
    path(R + "mic/unmute/", api.MicUnmuteView.as_view(), name="api-room-mic-unmute"),
    path(R + "speakers/invite/", api.SpeakerInviteView.as_view(), name="api-room-speaker-invite"),
    path(R + "speakers/accept/", api.SpeakerAcceptView.as_view(), name="api-room-speaker-accept"),
    path(
        R + "speakers/decline/", api.SpeakerDeclineView.as_view(), name="api-room-speaker-decline"
    ),
    path(
        R + "speakers/<str:username>/move-to-audience/",
        api.MoveToAudienceView.as_view(),
        name="api-room-move-to-audience",
    ),
    path(P + "hand/", api.HandLowerOtherView.as_view(), name="api-room-participant-hand"),
    path(P + "mute/", api.ParticipantMuteView.as_view(), name="api-room-participant-mute"),
    path(P + "unmute/", api.ParticipantUnmuteView.as_view(), name="api-room-participant-unmute"),
    path(P + "remove/", api.ParticipantRemoveView.as_view(), name="api-room-participant-remove"),
    path(R + "moderators/<str:username>/", api.ModeratorView.as_view(), name="api-room-moderator"),
    path(R + "host/", api.HostTransferView.as_view(), name="api-room-host"),
    path(R + "invites/", api.RoomInviteView.as_view(), name="api-room-invites"),
    path(R + "ping/", api.RoomPingView.as_view(), name="api-room-ping"),
]
