"""Notification hooks that the other apps' services call.

Each hook is cheap for its caller: it only schedules work after commit (a Celery task that takes
ids). The notifications issue fills in the bodies; the signatures are the contract.
"""

from __future__ import annotations


def notify_followed(*, follower_id: int, followee_id: int) -> None:
    """``follower`` started following ``followee``."""


def notify_room_live(*, room_id: str) -> None:
    """A room went live: fan out to the host's (and announced co-hosts') followers."""


def notify_speaker_invited(*, room_id: str, user_id: int, by_id: int) -> None:
    """``by`` invited ``user`` (in the room) to speak."""


def notify_pinged(*, room_id: str, user_id: int, by_id: int) -> None:
    """``by`` pinged ``user`` into a room."""


def notify_invitation_accepted(*, inviter_id: int, new_member_id: int) -> None:
    """Someone signed up with ``inviter``'s invitation."""


def notify_report_resolved(*, report_id: int) -> None:
    """A report was resolved or dismissed: tell the reporter (no sanction details)."""
