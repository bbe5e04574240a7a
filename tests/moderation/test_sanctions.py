"""Sanctions: a suspension or ban cuts sign-in, sessions, sockets, rooms and audio at once;
suspensions expire by themselves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import authenticate
from django.contrib.sessions.models import Session
from django.db.models import F
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from audiosocial.errors import Conflict, Forbidden, InvalidInput
from moderation import selectors, services, tasks
from moderation.models import AuditLog, Sanction
from rooms import services as room_services
from rooms.models import Participant, Room
from tests.factories import PASSWORD, UserFactory
from tests.moderation.conftest import join, live_room, make_moderator

pytestmark = pytest.mark.django_db


def suspend(user, by, days=3):
    return services.sanction_apply(
        user=user,
        kind="suspension",
        reason="Harassment in rooms",
        by=by,
        until=timezone.now() + timedelta(days=days),
    )


def sessions_of(user) -> int:
    return sum(
        1
        for s in Session.objects.all()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    )


def signs_in(username: str) -> bool:
    client = Client()
    client.post("/accounts/login/", {"login": username, "password": PASSWORD})
    return "_auth_user_id" in client.session


def test_suspended_member_cannot_sign_in_until_it_is_lifted(moderator):
    member = UserFactory(username="member")
    assert signs_in("member")

    sanction = suspend(member, moderator)

    assert not signs_in("member")
    assert authenticate(username="member", password=PASSWORD) is None
    services.sanction_lift(sanction=sanction, by=moderator, reason="Appeal upheld")
    assert signs_in("member")


def test_banned_member_cannot_sign_in_by_username_or_email(moderator):
    member = UserFactory(username="banned")
    services.sanction_apply(user=member, kind="ban", reason="Spam ring", by=moderator)
    assert not signs_in("banned")
    assert not signs_in("banned@example.test")


def test_warning_restricts_nothing(moderator):
    member = UserFactory(username="warned")
    services.sanction_apply(user=member, kind="warning", reason="Mind your language", by=moderator)
    assert not selectors.is_restricted(user_id=member.pk)
    assert signs_in("warned")


def test_suspension_deletes_the_members_existing_sessions(
    moderator, django_capture_on_commit_callbacks
):
    member, other = UserFactory(), UserFactory()
    browser, phone, bystander = Client(), Client(), Client()
    browser.force_login(member)
    phone.force_login(member)
    bystander.force_login(other)
    assert sessions_of(member) == 2

    with django_capture_on_commit_callbacks(execute=True):
        suspend(member, moderator)

    assert sessions_of(member) == 0
    assert sessions_of(other) == 1
    assert browser.get("/api/notifications/").status_code in (401, 403)


def test_suspension_takes_the_member_out_of_every_live_room_and_its_audio(
    moderator, django_capture_on_commit_callbacks, audio_calls
):
    member = UserFactory()
    first, second = live_room(UserFactory()), live_room(UserFactory())
    join(first, member)
    # One room at a time is the rule for joins; two tabs joining at the same instant can still
    # leave two participations, and a sanction must close every one of them.
    Participant.objects.create(room=second, user=member, audio_token="second-token")
    Room.objects.filter(pk=second.pk).update(listeners_count=F("listeners_count") + 1)
    parts = list(Participant.objects.filter(user=member, left_at__isnull=True))
    assert len(parts) == 2

    with django_capture_on_commit_callbacks(execute=True):
        suspend(member, moderator)

    for part in parts:
        part.refresh_from_db()
        assert part.left_at is not None and part.removed
    kicked = {
        (kw["room_id"], kw["audio_token"]) for name, kw in audio_calls if name == "participant_left"
    }
    assert kicked == {(str(p.room_id), p.audio_token) for p in parts}
    audit = AuditLog.objects.get(action="sanction.apply")
    assert sorted(audit.data["evicted_from_rooms"]) == sorted(str(p.room_id) for p in parts)


def test_suspending_a_host_hands_the_room_to_a_comoderator(moderator):
    host, comod = UserFactory(), UserFactory()
    room = live_room(host)
    join(room, comod)
    make_moderator(room, host, comod)

    suspend(host, moderator)

    room.refresh_from_db()
    assert room.state == Room.State.LIVE and room.host_id == comod.pk
    assert not Participant.objects.filter(room=room, user=host, left_at__isnull=True).exists()


def test_suspending_a_lone_host_ends_their_room(
    moderator, audio_calls, django_capture_on_commit_callbacks
):
    host = UserFactory()
    room = live_room(host)
    with django_capture_on_commit_callbacks(execute=True):
        suspend(host, moderator)
    room.refresh_from_db()
    assert room.state == Room.State.ENDED
    assert ("room_ended", {"room_id": str(room.pk)}) in audio_calls


def test_suspended_member_cannot_join_or_create_rooms(moderator):
    member = UserFactory()
    room = live_room(UserFactory())
    suspend(member, moderator)
    with pytest.raises(Forbidden):
        room_services.participant_join(room=room, user=member)
    with pytest.raises(Forbidden):
        room_services.room_create(host=member, title="Back again")


def test_suspension_expires_automatically(moderator, django_capture_on_commit_callbacks):
    member = UserFactory(username="member")
    sanction = suspend(member, moderator, days=2)
    assert not signs_in("member")

    with freeze_time(timezone.now() + timedelta(days=1)):
        assert tasks.expire_sanctions.delay().get() == 0
        assert selectors.is_restricted(user_id=member.pk)

    with freeze_time(timezone.now() + timedelta(days=2, minutes=1)):
        assert tasks.expire_sanctions.delay().get() == 1
        assert tasks.expire_sanctions.delay().get() == 0  # each suspension expires once
        assert not selectors.is_restricted(user_id=member.pk)
        assert signs_in("member")
        room_services.room_create(host=member, title="I am back")

    sanction.refresh_from_db()
    assert sanction.expired_at is not None
    expired = AuditLog.objects.get(action="sanction.expire")
    assert expired.actor is None and expired.target_user == member
    assert expired.data["sanction_id"] == sanction.pk


def test_expiry_task_is_the_scheduled_one(settings):
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert tasks.expire_sanctions.name == "moderation.expire_sanctions" in scheduled


def test_sanction_bad_input_is_refused_and_changes_nothing(moderator):
    member = UserFactory()
    now = timezone.now()
    cases = [
        ({"kind": "suspension"}, "suspension_end_required"),
        ({"kind": "suspension", "until": now - timedelta(hours=1)}, "suspension_end_past"),
        ({"kind": "ban", "until": now + timedelta(days=1)}, "until_not_allowed"),
        ({"kind": "exile"}, "invalid_sanction_kind"),
        ({"kind": "warning", "reason": "  "}, "reason_required"),
    ]
    for kwargs, code in cases:
        kwargs = {"reason": "Because", **kwargs}
        with pytest.raises(InvalidInput) as refused:
            services.sanction_apply(user=member, by=moderator, **kwargs)
        assert refused.value.code == code
    with pytest.raises(Forbidden):
        services.sanction_apply(user=moderator, kind="warning", reason="Me", by=moderator)
    assert not Sanction.objects.exists() and not AuditLog.objects.exists()


def test_only_moderators_may_sanction_and_never_other_staff(moderator, staff_member):
    member = UserFactory()
    with pytest.raises(Forbidden):
        services.sanction_apply(user=member, kind="ban", reason="x", by=staff_member)
    with pytest.raises(Forbidden):
        services.sanction_apply(user=member, kind="ban", reason="x", by=member)
    with pytest.raises(Forbidden) as staff:
        services.sanction_apply(user=staff_member, kind="ban", reason="x", by=moderator)
    assert staff.value.code == "cannot_sanction_staff"
    assert not Sanction.objects.exists()


def test_a_banned_member_cannot_be_banned_twice_and_a_lifted_sanction_not_lifted_again(moderator):
    member = UserFactory()
    ban = services.sanction_apply(user=member, kind="ban", reason="Spam", by=moderator)
    with pytest.raises(Conflict):
        services.sanction_apply(user=member, kind="ban", reason="Again", by=moderator)
    services.sanction_lift(sanction=ban, by=moderator, reason="Mistake")
    with pytest.raises(Conflict):
        services.sanction_lift(sanction=ban, by=moderator, reason="Mistake")
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "sanction.apply",
        "sanction.lift",
    ]


def test_suspended_member_cannot_sign_in_through_the_headless_api(moderator):
    member = UserFactory(username="appuser")

    def login():
        return Client().post(
            "/_allauth/app/v1/auth/login",
            {"username": "appuser", "password": PASSWORD},
            content_type="application/json",
        )

    assert login().status_code == 200
    suspend(member, moderator)
    refused = login()
    assert refused.status_code == 400
    assert "session_token" not in refused.content.decode()
