"""Invitations to speak lapse after ROOM_SPEAKER_INVITE_TTL_SECONDS if nobody answers them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from freezegun import freeze_time

from audiosocial.errors import Conflict
from rooms import selectors, services, tasks
from rooms.models import Participant
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, participant, seat

pytestmark = pytest.mark.django_db

TTL = timedelta(seconds=120)


@pytest.fixture(autouse=True)
def _ttl(settings):
    settings.ROOM_SPEAKER_INVITE_TTL_SECONDS = int(TTL.total_seconds())


def invited_room():
    host, member = UserFactory(username="host"), UserFactory(username="member")
    room = live_room(host=host)
    seat(room, member)
    services.speaker_invite(room=room, by=host, user=member)
    return room, host, member


def later(delta=TTL + timedelta(seconds=1)):
    return freeze_time(timezone.now() + delta)


def test_the_default_lifetime_is_two_minutes():
    from audiosocial import settings as project_settings

    assert project_settings.ROOM_SPEAKER_INVITE_TTL_SECONDS == 120
    assert "rooms.expire_speaker_invites" in {
        entry["task"] for entry in project_settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_the_invitation_event_says_when_it_lapses(recorder, django_capture_on_commit_callbacks):
    room, host, member = invited_room()
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.speaker_invite(room=room, by=host, user=member)
    invited = next(e for e in recorder.events if e["type"] == "speaker.invited")
    expected = participant(room, member).speaker_invited_at + TTL
    assert invited["expires_at"] == expected.isoformat()


def test_accepting_in_time_brings_the_member_on_stage():
    room, _, member = invited_room()
    with later(TTL - timedelta(seconds=5)):
        p = services.speaker_accept(room=room, user=member)
    assert p.role == Participant.Role.SPEAKER


def test_accepting_a_lapsed_invitation_is_refused_with_a_clear_error_and_changes_nothing():
    room, _, member = invited_room()
    with later(), pytest.raises(Conflict) as exc:
        services.speaker_accept(room=room, user=member)
    assert exc.value.code == "speaker_invite_expired"
    assert "expired" in exc.value.message
    assert participant(room, member).role == Participant.Role.LISTENER
    assert_counts_exact(room)


def test_a_lapsed_invitation_is_no_longer_shown_as_pending():
    room, host, member = invited_room()
    fresh = selectors.room_detail(room=room, user=member)
    assert fresh["me"]["invited_to_speak"] is True
    assert "accept_speaker_invite" in fresh["me"]["permissions"]
    with later():
        mine = selectors.room_detail(room=room, user=member)
        theirs = selectors.room_detail(room=room, user=host)
    assert mine["me"]["invited_to_speak"] is False
    assert "accept_speaker_invite" not in mine["me"]["permissions"]
    listener = next(p for p in theirs["participants"]["listeners"] if p["user"]["id"] == member.pk)
    assert listener["invited_to_speak"] is False


def test_the_sweep_lapses_old_invitations_and_tells_invitee_and_moderators(
    recorder, django_capture_on_commit_callbacks
):
    room, host, member = invited_room()
    newer = UserFactory()
    seat(room, newer)
    recorder.clear()
    with later(TTL - timedelta(seconds=30)):
        services.speaker_invite(room=room, by=host, user=newer)
    recorder.clear()

    with later(), django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_speaker_invites() == 1

    assert participant(room, member).speaker_invited_at is None
    assert participant(room, newer).speaker_invited_at is not None
    expired = [e for e in recorder.events if e["type"] == "speaker.expired"]
    assert expired == [
        {"type": "speaker.expired", "room": str(room.pk), "audience": "moderators",
         "user_id": member.pk}
    ]  # fmt: skip
    hand = next(e for e in recorder.events if e["type"] == "participant.updated")
    assert (hand["change"], hand["audience"], hand["user_id"]) == ("hand", "moderators", member.pk)
    assert hand["participant"]["invited_to_speak"] is False


def test_the_sweep_is_idempotent_and_leaves_answered_invitations_alone(recorder):
    room, host, member = invited_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    with later():
        assert tasks.expire_speaker_invites() == 1
        recorder.clear()
        assert tasks.expire_speaker_invites() == 0
    assert recorder.events == []
    assert participant(room, speaker).role == Participant.Role.SPEAKER


def test_a_fresh_invitation_that_lands_before_the_sweep_wins():
    room, host, member = invited_room()
    with later():
        services.speaker_invite(room=room, by=host, user=member)
        assert services.speaker_invite_expire(room=room, user_id=member.pk) is False
        services.speaker_accept(room=room, user=member)
    assert participant(room, member).role == Participant.Role.SPEAKER


def test_declining_a_lapsed_invitation_just_clears_it(recorder, django_capture_on_commit_callbacks):
    room, _, member = invited_room()
    recorder.clear()
    with later(), django_capture_on_commit_callbacks(execute=True):
        services.speaker_decline(room=room, user=member)
    assert participant(room, member).speaker_invited_at is None
    assert "speaker.declined" not in recorder.types()
    assert "speaker.expired" in recorder.types()


def test_rest_accept_of_a_lapsed_invitation_answers_409(client):
    room, _, member = invited_room()
    client.force_login(member)
    with later():
        response = client.post(f"/api/rooms/{room.pk}/speakers/accept/")
    assert response.status_code == 409
    assert response.json()["code"] == "speaker_invite_expired"


def test_the_lifetime_follows_the_setting(settings):
    room, _, member = invited_room()
    settings.ROOM_SPEAKER_INVITE_TTL_SECONDS = 600
    with later():
        assert participant(room, member).speaker_invite_pending
        services.speaker_accept(room=room, user=member)
