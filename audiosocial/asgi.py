"""ASGI entry point: daphne serves HTTP and WebSocket from ``audiosocial.asgi:application``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "audiosocial.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from audiosocial.consumers import NoSuchSocket  # noqa: E402
from audiosocial.periodic import PeriodicTasksMiddleware  # noqa: E402
from audiosocial.routing import websocket_urlpatterns  # noqa: E402
from audiosocial.wsauth import websocket_stack  # noqa: E402

# Last: a path no route matches (``/ws/rooms/not-a-uuid/``) closes with 4404 instead of raising
# "No route found" in the server, which a browser sees as an opaque failed handshake.
routes = [*websocket_urlpatterns, re_path(r"", NoSuchSocket.as_asgi())]

application = PeriodicTasksMiddleware(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": websocket_stack(URLRouter(routes)),
        }
    )
)
