"""The set-based audience used by fan-out agrees with the rooms access rule member by member."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from moderation.models import Sanction
from notifications.models import Notification
from notifications.selectors import eligible_recipients
from rooms.models import Participant
from rooms.selectors import can_see_room
from tests.factories import UserFactory
from tests.notifications.conftest import block, follow, invite, make_room, suspend

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("visibility", ["public", "followers", "closed"])
def test_fan_out_audience_equals_the_rooms_visibility_rule(visibility):
    host = UserFactory(username="host")
    room = make_room(host, visibility=visibility)
    people = {
        name: UserFactory(username=name)
        for name in [
            "stranger",
            "follower",
            "invited",
            "inside",
            "follower_blocked_by_host",
            "follower_blocking_host",
            "follower_suspended",
            "follower_banned",
            "invited_removed",
            "inactive_follower",
            "comod",
            "follower_blocked_by_comod",
            "inside_blocked_by_comod",
        ]
    }
    for name in people:
        if name.startswith(("follower", "inactive")):
            follow(people[name], host)
    invite(room, people["invited"])
    invite(room, people["invited_removed"])
    Participant.objects.create(room=room, user=people["inside"])
    Participant.objects.create(
        room=room, user=people["invited_removed"], removed=True, left_at=timezone.now()
    )
    Participant.objects.create(room=room, user=people["comod"], role=Participant.Role.MODERATOR)
    Participant.objects.create(room=room, user=people["inside_blocked_by_comod"])
    block(people["comod"], people["follower_blocked_by_comod"])
    block(people["comod"], people["inside_blocked_by_comod"])
    block(host, people["follower_blocked_by_host"])
    block(people["follower_blocking_host"], host)
    suspend(people["follower_suspended"])
    suspend(people["follower_banned"], kind=Sanction.Kind.BAN)
    people["inactive_follower"].is_active = False
    people["inactive_follower"].save()

    everyone = get_user_model().objects.all()
    set_based = set(
        eligible_recipients(
            candidates=everyone.values("id"),
            kind=Notification.Kind.WENT_LIVE,
            actor_id=None,
            room=room,
        ).values_list("username", flat=True)
    )
    one_by_one = {u.username for u in everyone if can_see_room(user=u, room=room)}

    assert set_based == one_by_one
    inside = {"inside", "comod", "inside_blocked_by_comod"}
    expected = {
        "public": {"host", "stranger", "follower", "invited", *inside},
        "followers": {"host", "follower", "invited", *inside},
        "closed": {"host", "invited", *inside},
    }[visibility]
    assert set_based == expected
