from django.urls import path

from follows import api
from rooms.hallway_api import HallwayApi

# Sub-paths of /api/users/<username>/ only: the profile itself belongs to accounts/api_urls.py.
urlpatterns = [
    path("users/<str:username>/follow/", api.FollowApi.as_view(), name="api-user-follow"),
    path("users/<str:username>/followers/", api.FollowersApi.as_view(), name="api-user-followers"),
    path("users/<str:username>/following/", api.FollowingApi.as_view(), name="api-user-following"),
    path("suggestions/", api.SuggestionsApi.as_view(), name="api-suggestions"),
    path("users/", api.MemberSearchApi.as_view(), name="api-users-search"),
    path("hallway/", HallwayApi.as_view(), name="api-hallway"),
]
