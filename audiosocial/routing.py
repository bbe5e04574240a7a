from django.urls import path

from notifications.consumers import NotificationConsumer
from rooms.consumers import RoomConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/rooms/<uuid:room_id>/", RoomConsumer.as_asgi()),
]
