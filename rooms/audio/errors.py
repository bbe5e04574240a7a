"""The audio layer's errors: one for "Janus cannot be reached", one for "Janus said no"."""

from __future__ import annotations

from audiosocial.errors import ServiceUnavailable

# AudioBridge error codes (janus_audiobridge.c, 1.1.x).
ERR_NO_SUCH_ROOM = 485
ERR_ROOM_EXISTS = 486
ERR_NOT_JOINED = 487
ERR_UNAUTHORIZED = 489
ERR_ID_EXISTS = 490
ERR_ALREADY_JOINED = 491
ERR_NO_SUCH_USER = 492
ERR_MISSING_ELEMENT = 483
# Janus core error codes (janus.h / apierror.h).
ERR_CORE_UNAUTHORIZED = 403
ERR_CORE_SESSION_NOT_FOUND = 458
ERR_CORE_HANDLE_NOT_FOUND = 459


class JanusUnavailable(ServiceUnavailable):
    """Janus did not answer (refused, timed out, restarted under us, or answered garbage).

    Rendered to clients as ``audio_unavailable`` (HTTP 503 / WebSocket ``error``): rooms, hands and
    reactions keep working; only audio is missing until Janus is back.
    """

    default_code = "audio_unavailable"
    default_message = (
        "Audio is unavailable right now: the audio server cannot be reached. "
        "The room keeps working; audio comes back by itself."
    )


class JanusRequestError(Exception):
    """Janus answered, and refused the request (wrong key or secret, no such room, ...)."""

    def __init__(self, code: int, reason: str, *, request: str = "") -> None:
        self.code = code
        self.reason = reason
        self.request = request
        super().__init__(f"Janus refused {request or 'the request'}: {reason} (code {code})")

    @property
    def no_such_room(self) -> bool:
        return self.code == ERR_NO_SUCH_ROOM

    @property
    def no_such_user(self) -> bool:
        return self.code == ERR_NO_SUCH_USER

    @property
    def unauthorized(self) -> bool:
        return self.code in (ERR_UNAUTHORIZED, ERR_CORE_UNAUTHORIZED)

    @property
    def session_gone(self) -> bool:
        return self.code in (ERR_CORE_SESSION_NOT_FOUND, ERR_CORE_HANDLE_NOT_FOUND)
