from django.urls import path

from moderation import api

urlpatterns = [
    path("users/<str:username>/block/", api.BlockApi.as_view(), name="api-user-block"),
    path("blocks/", api.BlockListApi.as_view(), name="api-blocks"),
    path("reports/", api.ReportApi.as_view(), name="api-reports"),
]
