"""What the database and the ORM guarantee about notification rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from notifications import services
from notifications.models import Notification
from tests.factories import UserFactory
from tests.notifications.conftest import follow, make_room

pytestmark = pytest.mark.django_db


def test_one_row_per_recipient_and_dedupe_key_is_a_database_constraint():
    member = UserFactory()
    Notification.objects.create(recipient=member, kind="followed", dedupe_key="followed:1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(recipient=member, kind="followed", dedupe_key="followed:1")
    Notification.objects.create(recipient=UserFactory(), kind="followed", dedupe_key="followed:1")


def test_deleting_the_room_or_the_actor_keeps_no_dangling_reference():
    # actor and room carry no database constraint (fan-out speed): the ORM must clean up.
    host, fan = UserFactory(), UserFactory()
    follow(fan, host)
    room = make_room(host)
    services.room_live_fan_out(room_id=str(room.pk))
    other_room = make_room(UserFactory())
    services.deliver(
        spec=services.NotificationSpec(
            kind="pinged", dedupe_key="pinged:x", actor=host, room=other_room
        ),
        recipient_ids=[fan.pk],
    )
    assert Notification.objects.filter(recipient=fan).count() == 2

    room.delete()
    assert list(Notification.objects.values_list("room_id", flat=True)) == [other_room.pk]

    host.delete()
    assert Notification.objects.get().actor_id is None

    fan.delete()
    assert not Notification.objects.exists()
