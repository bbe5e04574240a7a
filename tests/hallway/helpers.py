"""Rooms for hallway tests, built the way the room services leave them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tests.factories import FollowFactory, ParticipantFactory, RoomFactory


def live_room(host, *, speakers=(), listeners=(), audience=0, visibility="public", **fields):
    """A live room with its host and speakers on stage; counters as the room services keep
    them (the stage includes the host), plus ``audience`` listeners counted but not created."""
    room = RoomFactory(
        host=host,
        state="live",
        visibility=visibility,
        speakers_count=1 + len(speakers),
        listeners_count=len(listeners) + audience,
        **fields,
    )
    ParticipantFactory(room=room, user=host, role="host")
    for user in speakers:
        ParticipantFactory(room=room, user=user, role="speaker")
    for user in listeners:
        ParticipantFactory(room=room, user=user, role="listener")
    return room


def scheduled_room(host, *, in_hours: float, visibility="public", **fields):
    return RoomFactory(
        host=host,
        state="scheduled",
        visibility=visibility,
        started_at=None,
        scheduled_for=timezone.now() + timedelta(hours=in_hours),
        **fields,
    )


def follow(a, *bs):
    for b in bs:
        FollowFactory(follower=a, followee=b)
