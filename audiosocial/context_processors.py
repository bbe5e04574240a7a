from django.conf import settings
from django.http import HttpRequest


def webrtc(request: HttpRequest) -> dict:
    """ICE servers (STUN/TURN) for the browsers' RTCPeerConnection; never Janus's own API."""
    return {"webrtc_ice_servers": settings.WEBRTC_ICE_SERVERS}
