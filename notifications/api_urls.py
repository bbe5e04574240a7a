from django.urls import path

from notifications import api

urlpatterns = [
    path("notifications/", api.NotificationListApi.as_view(), name="api-notifications"),
    path("notifications/read/", api.NotificationReadApi.as_view(), name="api-notifications-read"),
    path(
        "notifications/preferences/",
        api.PreferencesApi.as_view(),
        name="api-notifications-preferences",
    ),
    path("notifications/muted/", api.MutedListApi.as_view(), name="api-notifications-muted"),
    path(
        "users/<str:username>/mute-notifications/",
        api.MuteApi.as_view(),
        name="api-user-mute-notifications",
    ),
    path("rooms/<str:room_id>/remind/", api.RoomRemindApi.as_view(), name="api-room-remind"),
]
