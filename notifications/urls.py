from django.urls import path

from notifications import views

urlpatterns = [
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read-all/", views.notification_read_all, name="notifications-read-all"),
    path(
        "notifications/<int:notification_id>/open/",
        views.notification_open,
        name="notification-open",
    ),
    path("settings/notifications/", views.settings_notifications, name="settings-notifications"),
    path("settings/notifications/unmute/", views.settings_unmute, name="settings-unmute"),
    path("@<str:username>/mute-notifications/", views.mute_toggle, name="mute-notifications"),
]
