from django.urls import path

from accounts import views

# Unnamespaced names, like the other apps' pages (templates use {% url 'invitations' %}).
urlpatterns = [
    path("@<str:username>", views.profile_detail, name="profile"),
    path("settings/profile/", views.profile_edit, name="profile-edit"),
    path("settings/blocked/", views.settings_blocked, name="settings-blocked"),
    path("settings/blocked/unblock/", views.settings_unblock, name="settings-unblock"),
    path("invitations/", views.invitations_page, name="invitations"),
    path("invitations/<str:code>/revoke/", views.invitation_revoke, name="invitation-revoke"),
]
