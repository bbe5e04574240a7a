from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import path

from rooms import views

urlpatterns = [
    path("", views.hallway, name="hallway"),
    path("rooms/new/", views.room_new, name="room-new"),
    path("rooms/<uuid:room_id>/", views.room_detail, name="room-detail"),
    path("rooms/<uuid:room_id>/edit/", views.room_edit, name="room-edit"),
    path("rooms/<uuid:room_id>/start/", views.room_start, name="room-start"),
    path("rooms/<uuid:room_id>/cancel/", views.room_cancel, name="room-cancel"),
    path("rooms/<uuid:room_id>/remind/", views.room_remind, name="room-remind"),
    path("rooms/<uuid:room_id>/calendar.ics", views.room_calendar, name="room-calendar"),
]

# daphne does not serve static files: with DEBUG on (``make run``, the browser tests' server)
# Django's staticfiles view does; production puts a web server or CDN in front (docs/web.md).
urlpatterns += staticfiles_urlpatterns()
