"""What the room services tell the audio layer, after commit (owned by the audio work).

``rooms.services`` calls these through ``audiosocial.oncommit.run_on_commit`` whenever a change
affects who may be heard or who is in the AudioBridge. They must be quick for the caller and must
never raise into it: Janus being down is a state to report (``audio.unavailable``), not an error.
"""

from __future__ import annotations


def room_went_live(*, room_id: str) -> None:
    """Create the room's AudioBridge room (private, secret, allowed-token list)."""


def room_ended(*, room_id: str) -> None:
    """Destroy the AudioBridge room; everyone's media stops."""


def participant_left(*, room_id: str, user_id: int, audio_token: str) -> None:
    """Leave, removal, eviction (block/ban), closed socket: revoke the token and kick, now."""


def participant_changed(*, room_id: str, user_id: int) -> None:
    """Role or mute changed: make Janus's mute state match (only unmuted speakers are audible)."""
