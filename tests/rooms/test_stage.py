"""Caps, hands, invitations to speak, mutes, removals and the host hand-over."""

from __future__ import annotations

import pytest
from django.conf import settings

from audiosocial.errors import ApplicationError, Conflict, Forbidden, NotFound
from rooms import selectors, services
from rooms.models import Participant, Room
from tests.factories import UserFactory
from tests.rooms.conftest import assert_counts_exact, live_room, participant, seat

pytestmark = pytest.mark.django_db


# --- Caps ----------------------------------------------------------------------------------------


def test_the_fourteenth_speaker_is_refused_clearly():
    assert settings.ROOM_MAX_SPEAKERS == 13
    room = live_room()
    for _ in range(12):
        seat(room, UserFactory(), "speaker")
    room.refresh_from_db()
    assert room.speakers_count == 13
    latecomer = UserFactory()
    seat(room, latecomer)
    with pytest.raises(Conflict) as exc:
        services.speaker_invite(room=room, by=room.host, user=latecomer)
    assert exc.value.code == "stage_full"
    assert "13" in exc.value.message
    with pytest.raises(Conflict) as exc:
        services.moderator_add(room=room, by=room.host, user=latecomer)
    assert exc.value.code == "stage_full"
    assert participant(room, latecomer).role == "listener"
    assert_counts_exact(room)


def test_accepting_is_refused_when_the_stage_filled_after_the_invitation(settings):
    settings.ROOM_MAX_SPEAKERS = 2
    room = live_room()
    first, second = UserFactory(), UserFactory()
    seat(room, first)
    seat(room, second)
    services.speaker_invite(room=room, by=room.host, user=first)
    services.speaker_invite(room=room, by=room.host, user=second)
    services.speaker_accept(room=room, user=first)
    with pytest.raises(Conflict) as exc:
        services.speaker_accept(room=room, user=second)
    assert exc.value.code == "stage_full"
    assert participant(room, second).role == "listener"
    assert_counts_exact(room)


def test_the_5001st_listener_is_told_the_room_is_full():
    assert settings.ROOM_MAX_LISTENERS == 5000
    room = live_room()
    seat(room, UserFactory())
    # 4,999 more listeners, as the counter the cap reads (joining them one by one adds nothing).
    Room.objects.filter(pk=room.pk).update(listeners_count=5000)
    with pytest.raises(Conflict) as exc:
        services.participant_join(room=room, user=UserFactory())
    assert exc.value.code == "room_full"
    assert exc.value.message == "This room is full."
    room.refresh_from_db()
    assert room.listeners_count == 5000
    assert Participant.objects.filter(room=room, role="listener").count() == 1


def test_a_seat_freed_by_leaving_can_be_taken(settings):
    settings.ROOM_MAX_LISTENERS = 2
    room = live_room()
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    seat(room, a)
    seat(room, b)
    with pytest.raises(Conflict):
        services.participant_join(room=room, user=c)
    services.participant_leave(room=room, user=a)
    services.participant_join(room=room, user=c)
    assert_counts_exact(room)


# --- Hands and invitations -----------------------------------------------------------------------


def test_hands_are_idempotent_and_only_moderators_hear_about_them(
    recorder, django_capture_on_commit_callbacks
):
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.hand_raise(room=room, user=listener)
        services.hand_raise(room=room, user=listener)
    assert len(recorder.events) == 1
    event = recorder.events[0]
    assert event["type"] == "participant.updated" and event["change"] == "hand"
    assert event["audience"] == "moderators" and event["user_id"] == listener.pk
    assert event["participant"]["hand_raised"] is True
    hands = selectors.room_detail(room=room, user=room.host)["hands"]
    assert [h["user"]["username"] for h in hands] == [listener.username]
    assert "hands" not in selectors.room_detail(room=room, user=listener)
    services.hand_lower(room=room, user=listener)
    assert participant(room, listener).hand_raised_at is None


def test_a_moderator_lowers_someone_elses_hand():
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    services.hand_raise(room=room, user=listener)
    services.hand_lower(room=room, user=listener, by=room.host)
    assert participant(room, listener).hand_raised_at is None


def test_invitation_goes_to_the_invitee_and_accepting_brings_them_on_stage(
    recorder, django_capture_on_commit_callbacks
):
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    services.hand_raise(room=room, user=listener)
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.speaker_invite(room=room, by=room.host, user=listener)
    invited = [e for e in recorder.events if e["type"] == "speaker.invited"]
    assert invited and invited[0]["audience"] == "user" and invited[0]["user_id"] == listener.pk
    assert recorder.notifications == [
        (
            "notify_speaker_invited",
            {"room_id": str(room.pk), "user_id": listener.pk, "by_id": room.host.pk},
        )
    ]
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.speaker_accept(room=room, user=listener)
    me = participant(room, listener)
    assert me.role == "speaker" and me.hand_raised_at is None and me.speaker_invited_at is None
    assert me.self_muted  # arrives muted; unmutes themselves
    assert ("participant_changed", {"room_id": str(room.pk), "user_id": listener.pk}) in (
        recorder.audio
    )
    role_events = [e for e in recorder.events if e.get("change") == "role"]
    assert role_events[0]["audience"] == "room"
    assert role_events[0]["counts"] == {"speakers": 2, "listeners": 0}
    assert_counts_exact(room)


def test_declining_clears_the_invitation():
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    services.speaker_invite(room=room, by=room.host, user=listener)
    services.speaker_decline(room=room, user=listener)
    with pytest.raises(Conflict) as exc:
        services.speaker_accept(room=room, user=listener)
    assert exc.value.code == "not_invited"
    assert participant(room, listener).role == "listener"


def test_inviting_someone_already_on_stage_or_absent():
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    with pytest.raises(Conflict) as exc:
        services.speaker_invite(room=room, by=room.host, user=speaker)
    assert exc.value.code == "already_on_stage"
    with pytest.raises(NotFound) as exc:
        services.speaker_invite(room=room, by=room.host, user=UserFactory())
    assert exc.value.code == "not_in_room"


# --- Mutes ---------------------------------------------------------------------------------------


def test_speaker_cannot_unmute_after_moderator_mute():
    room = live_room()
    speaker, mod = UserFactory(), UserFactory()
    seat(room, speaker, "speaker")
    seat(room, mod, "moderator")
    services.mic_unmute(room=room, user=speaker)
    services.participant_mute(room=room, by=mod, user=speaker)
    me = participant(room, speaker)
    assert me.moderator_muted and me.muted
    with pytest.raises(Forbidden) as exc:
        services.mic_unmute(room=room, user=speaker)
    assert exc.value.code == "muted_by_moderator"
    assert participant(room, speaker).muted
    # Muting themselves and unmuting again does not get around it either.
    services.mic_mute(room=room, user=speaker)
    with pytest.raises(Forbidden):
        services.mic_unmute(room=room, user=speaker)
    assert participant(room, speaker).moderator_muted


def test_a_moderator_unmute_lifts_the_mute_but_leaves_the_speakers_own_mic():
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    services.mic_unmute(room=room, user=speaker)
    services.participant_mute(room=room, by=room.host, user=speaker)
    services.participant_unmute(room=room, by=room.host, user=speaker)
    me = participant(room, speaker)
    assert not me.moderator_muted and not me.self_muted and not me.muted


def test_moderator_mute_survives_a_trip_to_the_audience_until_invited_again():
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    services.participant_mute(room=room, by=room.host, user=speaker)
    services.speaker_move_to_audience(room=room, by=speaker, user=speaker)
    assert participant(room, speaker).moderator_muted
    # Back on stage only through a new invitation; accepting it is the fresh start.
    services.speaker_invite(room=room, by=room.host, user=speaker)
    assert participant(room, speaker).moderator_muted
    services.speaker_accept(room=room, user=speaker)
    services.mic_unmute(room=room, user=speaker)
    assert not participant(room, speaker).muted


def test_listeners_cannot_be_muted_and_cannot_unmute():
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    with pytest.raises(Conflict) as exc:
        services.participant_mute(room=room, by=room.host, user=listener)
    assert exc.value.code == "not_on_stage"
    with pytest.raises(Conflict) as exc:
        services.mic_unmute(room=room, user=listener)
    assert exc.value.code == "not_on_stage"


# --- Removal -------------------------------------------------------------------------------------


def test_removed_member_cannot_rejoin(recorder, django_capture_on_commit_callbacks):
    room = live_room()
    listener = UserFactory()
    token = seat(room, listener).audio_token
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.participant_remove(room=room, by=room.host, user=listener)
    assert recorder.types() == ["participant.left", "removed"]
    removed = recorder.events[1]
    assert removed["audience"] == "user" and removed["user_id"] == listener.pk
    assert recorder.audio == [
        (
            "participant_left",
            {"room_id": str(room.pk), "user_id": listener.pk, "audio_token": token},
        )
    ]
    with pytest.raises(Forbidden) as exc:
        services.participant_join(room=room, user=listener)
    assert exc.value.code == "removed_from_room"
    with pytest.raises(NotFound) as exc:
        selectors.room_for_user(user=listener, room_id=room.pk)
    assert exc.value.code == "removed_from_room"
    # Not even an invitation or a ping brings them back.
    with pytest.raises(Conflict) as exc:
        services.room_invite(room=room, by=room.host, user=listener)
    assert exc.value.code == "removed_from_room"
    with pytest.raises(Forbidden) as exc:
        services.room_ping(room=room, by=room.host, user=listener)
    assert exc.value.code == "cannot_ping"
    assert_counts_exact(room)


def test_eviction_by_the_system_has_the_effects_of_a_removal():
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    closed = services.participant_evict(room=room, user=speaker, reason="banned")
    assert closed is not None and closed.removed
    assert services.participant_evict(room=room, user=speaker, reason="banned") is None
    with pytest.raises(ApplicationError) as exc:
        services.participant_join(room=room, user=speaker)
    assert exc.value.code == "removed_from_room"
    assert_counts_exact(room)


def test_leaving_is_idempotent_and_rejoining_after_leaving_is_fine():
    room = live_room()
    listener = UserFactory()
    seat(room, listener)
    services.participant_leave(room=room, user=listener)
    services.participant_leave(room=room, user=listener)
    again = services.participant_join(room=room, user=listener)
    assert again.is_active and again.role == "listener"
    assert Participant.objects.filter(room=room, user=listener).count() == 2
    assert_counts_exact(room)


def test_joining_twice_returns_the_same_participation():
    room = live_room()
    listener = UserFactory()
    first = services.participant_join(room=room, user=listener)
    second = services.participant_join(room=room, user=listener)
    assert first.pk == second.pk
    assert_counts_exact(room)


# --- Host hand-over ------------------------------------------------------------------------------


def test_host_leaving_hands_the_room_to_the_longest_serving_moderator(
    recorder, django_capture_on_commit_callbacks
):
    room = live_room()
    old_host = room.host
    first_mod, second_mod = UserFactory(), UserFactory()
    seat(room, first_mod, "moderator")
    seat(room, second_mod, "moderator")
    recorder.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.participant_leave(room=room, user=old_host)
    room.refresh_from_db()
    assert room.state == Room.State.LIVE
    assert room.host_id == first_mod.pk
    assert participant(room, first_mod).role == "host"
    assert participant(room, second_mod).role == "moderator"
    assert "room.updated" in recorder.types()
    assert recorder.events[-1]["change"] == "host"
    assert_counts_exact(room)
    # The former host comes back as a listener; the new host now runs the room.
    assert services.participant_join(room=room, user=old_host).role == "listener"
    services.room_end(room=room, by=first_mod)


def test_room_ends_when_the_host_leaves_and_no_moderator_can_take_over():
    room = live_room()
    speaker = UserFactory()
    seat(room, speaker, "speaker")
    seat(room, UserFactory())
    services.participant_leave(room=room, user=room.host)
    room.refresh_from_db()
    assert room.state == Room.State.ENDED and room.end_reason == "host_left"
    assert_counts_exact(room)


def test_a_moderator_hosting_another_live_room_is_skipped():
    room = live_room()
    busy, free = UserFactory(), UserFactory()
    seat(room, busy, "moderator")
    seat(room, free, "moderator")
    live_room(host=busy)
    services.participant_leave(room=room, user=room.host)
    room.refresh_from_db()
    assert room.host_id == free.pk


def test_evicting_the_host_hands_over_too():
    room = live_room()
    mod = UserFactory()
    seat(room, mod, "moderator")
    services.participant_evict(room=room, user=room.host, reason="banned")
    room.refresh_from_db()
    assert room.host_id == mod.pk and room.state == Room.State.LIVE


def test_host_transfer_hands_over_explicitly_and_the_old_host_moderates():
    room = live_room()
    old_host = room.host
    listener = UserFactory()
    seat(room, listener)
    services.host_transfer(room=room, by=old_host, user=listener)
    room.refresh_from_db()
    assert room.host_id == listener.pk
    assert participant(room, listener).role == "host"
    assert participant(room, old_host).role == "moderator"
    assert_counts_exact(room)
    with pytest.raises(Forbidden) as exc:
        services.room_end(room=room, by=old_host)
    assert exc.value.code == "not_host"
    services.room_end(room=room, by=listener)


def test_moderators_revoked_stay_on_stage_as_speakers():
    room = live_room()
    mod = UserFactory()
    seat(room, mod, "moderator")
    services.moderator_revoke(room=room, by=room.host, user=mod)
    assert participant(room, mod).role == "speaker"
    with pytest.raises(Conflict) as exc:
        services.moderator_revoke(room=room, by=room.host, user=mod)
    assert exc.value.code == "not_moderator"
    assert_counts_exact(room)


# --- Invitations and pings -----------------------------------------------------------------------


def test_closed_room_invitation_lets_the_member_in():
    room = live_room(visibility="closed")
    guest = UserFactory()
    with pytest.raises(NotFound):
        services.participant_join(room=room, user=guest)
    invite = services.room_invite(room=room, by=room.host, user=guest)
    assert services.room_invite(room=room, by=room.host, user=guest).pk == invite.pk
    assert services.participant_join(room=room, user=guest).is_active


def test_pinging_someone_who_may_not_join_is_refused_without_saying_why():
    from follows.models import Follow
    from moderation.models import Block

    room = live_room(visibility="followers")
    listener = UserFactory()
    Follow.objects.create(follower=listener, followee=room.host)
    seat(room, listener)
    stranger = UserFactory()
    with pytest.raises(Forbidden) as exc:
        services.room_ping(room=room, by=listener, user=stranger)
    assert exc.value.code == "cannot_ping"
    fan = UserFactory()
    Follow.objects.create(follower=fan, followee=room.host)
    Block.objects.create(blocker=fan, blocked=listener)
    with pytest.raises(Forbidden) as exc:
        services.room_ping(room=room, by=listener, user=fan)
    assert exc.value.code == "cannot_ping"


def test_a_ping_notifies_once_per_window(recorder, django_capture_on_commit_callbacks):
    room = live_room()
    friend = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        services.room_ping(room=room, by=room.host, user=friend)
    assert recorder.notifications[-1] == (
        "notify_pinged",
        {"room_id": str(room.pk), "user_id": friend.pk, "by_id": room.host.pk},
    )
    with pytest.raises(ApplicationError) as exc:
        services.room_ping(room=room, by=room.host, user=friend)
    assert exc.value.code == "ping_rate_limited" and exc.value.status_code == 429
    seat(room, friend)
    with pytest.raises(Conflict) as exc:
        services.room_ping(room=room, by=room.host, user=friend)
    assert exc.value.code == "already_in_room"
