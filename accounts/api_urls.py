from django.urls import path

from accounts import api

urlpatterns = [
    path("me/", api.MeView.as_view(), name="api-me"),
    path("users/<str:username>/", api.UserDetailView.as_view(), name="api-user"),
    path("invitations/", api.InvitationListView.as_view(), name="api-invitations"),
    path("invitations/<str:code>/", api.InvitationDetailView.as_view(), name="api-invitation"),
]
