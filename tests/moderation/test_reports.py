"""Reports: evidence captured at the moment, merging, rate limit, bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from rest_framework.test import APIClient

from audiosocial.errors import InvalidInput, NotFound
from moderation import services
from moderation.models import REPORT_TEXT_MAX_LENGTH, AuditLog, Report
from rooms import services as room_services
from tests.factories import UserFactory
from tests.moderation.conftest import join, live_room, on_stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene():
    """A live room: the host, a speaker with an open microphone, a muted speaker, a listener
    with a raised hand, and the reporter in the audience."""
    host = UserFactory(username="host")
    loud = UserFactory(username="loud")
    quiet = UserFactory(username="quiet")
    hand = UserFactory(username="hand")
    reporter = UserFactory(username="reporter")
    room = live_room(host, title="Open mic night")
    join(room, loud, quiet, hand, reporter)
    on_stage(room, host, loud)
    on_stage(room, host, quiet)
    room_services.mic_unmute(room=room, user=loud)
    room_services.hand_raise(room=room, user=hand)
    room.refresh_from_db()
    return room, host, loud, quiet, hand, reporter


def test_report_from_a_room_captures_title_stage_speakers_and_hands(scene):
    room, host, loud, quiet, hand, reporter = scene

    report, merged = services.report_create(
        reporter=reporter,
        category="harassment",
        text="Shouting slurs at a listener",
        target_user=loud,
        target_room=room,
    )

    assert not merged
    assert report.target_type == Report.TargetType.MEMBER_IN_ROOM
    assert report.severity == Report.Severity.HIGH
    [evidence] = report.evidence
    assert evidence["room"]["title"] == "Open mic night"
    assert evidence["room"]["host"] == "host"
    assert evidence["room"]["state"] == "live"
    assert evidence["room"]["listeners_count"] == room.listeners_count == 2
    assert {p["username"]: p["role"] for p in evidence["stage"]} == {
        "host": "host",
        "loud": "speaker",
        "quiet": "speaker",
    }
    assert evidence["speaking"] == ["loud"]
    assert evidence["hands_raised"] == ["hand"]
    assert evidence["target"] == {
        "username": "loud",
        "in_room": True,
        "role": "speaker",
        "mic_open": True,
        "joined_at": evidence["target"]["joined_at"],
        "left_at": None,
        "removed": False,
    }
    # The listeners' list is not evidence: the reporter is not named in it.
    assert "reporter" not in str(evidence["stage"]) + str(evidence["hands_raised"])


def test_evidence_is_a_snapshot_not_a_live_view(scene):
    room, host, loud, quiet, hand, reporter = scene
    report, _ = services.report_create(
        reporter=reporter, category="hate", target_user=loud, target_room=room
    )
    room_services.participant_remove(room=room, by=host, user=loud)
    room_services.room_end(room=room, by=host)

    report.refresh_from_db()
    assert report.evidence[0]["speaking"] == ["loud"]
    assert report.evidence[0]["room"]["state"] == "live"


def test_report_of_a_member_alone_has_no_room_evidence():
    reporter, target = UserFactory(), UserFactory()
    report, _ = services.report_create(
        reporter=reporter, category="impersonation", text="Pretends to be me", target_user=target
    )
    assert report.target_type == Report.TargetType.MEMBER
    assert report.evidence == []
    assert report.severity == Report.Severity.MEDIUM
    assert AuditLog.objects.get(action="report.create").target_report == report


def test_severity_follows_the_category():
    reporter, target = UserFactory(), UserFactory()
    expected = {
        "self_harm": 4,
        "hate": 3,
        "harassment": 3,
        "impersonation": 2,
        "spam": 1,
        "other": 1,
    }
    for category, severity in expected.items():
        other_target = UserFactory()
        report, _ = services.report_create(
            reporter=reporter, category=category, target_user=other_target
        )
        assert report.severity == severity, category
    assert target


def test_duplicate_reports_within_the_window_are_merged(scene):
    room, host, loud, quiet, hand, reporter = scene
    first, _ = services.report_create(
        reporter=reporter,
        category="spam",
        text="Keeps advertising",
        target_user=loud,
        target_room=room,
    )
    with freeze_time(first.created_at + timedelta(minutes=5)):
        second, merged = services.report_create(
            reporter=reporter,
            category="hate",
            text="Now it is slurs",
            target_user=loud,
            target_room=room,
        )

    assert merged and second.pk == first.pk
    assert Report.objects.count() == 1
    second.refresh_from_db()
    assert second.submissions == 2
    assert "Keeps advertising" in second.text and "Now it is slurs" in second.text
    # The more serious category wins, so the queue does not under-rate it.
    assert second.category == "hate" and second.severity == Report.Severity.HIGH
    assert len(second.evidence) == 2
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "report.create",
        "report.merge",
    ]


def test_reports_after_the_window_or_by_someone_else_are_not_merged():
    reporter, other, target = UserFactory(), UserFactory(), UserFactory()
    first, _ = services.report_create(reporter=reporter, category="spam", target_user=target)
    _, merged_other = services.report_create(reporter=other, category="spam", target_user=target)
    with freeze_time(first.created_at + timedelta(minutes=16)):
        _, merged_late = services.report_create(
            reporter=reporter, category="spam", target_user=target
        )
    assert not merged_other and not merged_late
    assert Report.objects.count() == 3


def test_a_closed_report_is_not_merged_into(moderator):
    reporter, target = UserFactory(), UserFactory()
    first, _ = services.report_create(reporter=reporter, category="spam", target_user=target)
    services.report_dismiss(report=first, by=moderator)
    second, merged = services.report_create(reporter=reporter, category="spam", target_user=target)
    assert not merged and second.pk != first.pk


def test_report_without_category_or_with_oversized_text_is_refused():
    reporter, target = UserFactory(), UserFactory()
    with pytest.raises(InvalidInput) as no_category:
        services.report_create(reporter=reporter, category=None, target_user=target)
    assert no_category.value.code == "invalid_category"
    with pytest.raises(InvalidInput) as too_long:
        services.report_create(
            reporter=reporter,
            category="spam",
            text="x" * (REPORT_TEXT_MAX_LENGTH + 1),
            target_user=target,
        )
    assert too_long.value.code == "text_too_long"
    with pytest.raises(InvalidInput) as itself:
        services.report_create(reporter=reporter, category="spam", target_user=reporter)
    assert itself.value.code == "cannot_report_self"
    with pytest.raises(InvalidInput) as nothing:
        services.report_create(reporter=reporter, category="spam")
    assert nothing.value.code == "missing_target"
    assert not Report.objects.exists() and not AuditLog.objects.exists()


def test_a_room_you_cannot_see_cannot_be_reported():
    host, stranger = UserFactory(), UserFactory()
    room = room_services.room_create(host=host, title="Friends only", visibility="closed")
    with pytest.raises(NotFound):
        services.report_create(reporter=stranger, category="spam", target_room=room)
    assert not Report.objects.exists()


def test_a_member_removed_from_a_room_can_still_report_it(scene):
    room, host, loud, quiet, hand, reporter = scene
    room_services.participant_remove(room=room, by=host, user=reporter)
    report, _ = services.report_create(reporter=reporter, category="harassment", target_room=room)
    assert report.target_type == Report.TargetType.ROOM


def test_evidence_capture_query_count_is_constant(scene, django_assert_num_queries):
    from moderation.selectors import room_evidence

    room, host, *_ = scene
    for extra in (0, 8):
        listeners = [UserFactory() for _ in range(extra)]
        join(room, *listeners)
        for listener in listeners:
            room_services.hand_raise(room=room, user=listener)
        with django_assert_num_queries(2):
            evidence = room_evidence(room=room, target_user=host)
        assert len(evidence["hands_raised"]) == 1 + extra


# --- REST --------------------------------------------------------------------------------------


@pytest.fixture
def reporter_client():
    reporter = UserFactory(username="reporter")
    api = APIClient()
    api.force_authenticate(reporter)
    return api


def test_report_over_rest_then_merged(reporter_client):
    UserFactory(username="target")
    body = {"category": "harassment", "text": "Rude", "username": "target"}
    first = reporter_client.post("/api/reports/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["merged"] is False and first.json()["username"] == "target"
    second = reporter_client.post("/api/reports/", body, format="json")
    assert second.status_code == 200
    assert second.json()["merged"] is True and second.json()["submissions"] == 2
    # The reporter never sees the moderators' side of it.
    assert "assigned_to" not in second.json() and "severity" not in second.json()


def test_report_of_a_room_over_rest_captures_evidence(reporter_client, scene):
    room = scene[0]
    response = reporter_client.post(
        "/api/reports/", {"category": "spam", "room": str(room.pk)}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert Report.objects.get().evidence[0]["room"]["title"] == "Open mic night"


def test_report_bad_input_over_rest_is_a_clear_400(reporter_client):
    UserFactory(username="target")
    missing = reporter_client.post("/api/reports/", {"username": "target"}, format="json")
    assert missing.status_code == 400
    assert missing.json()["code"] == "invalid" and "category" in missing.json()["details"]
    long_text = {"category": "spam", "username": "target", "text": "x" * 5000}
    too_long = reporter_client.post("/api/reports/", long_text, format="json")
    assert too_long.status_code == 400 and "text" in too_long.json()["details"]
    no_target = reporter_client.post("/api/reports/", {"category": "spam"}, format="json")
    assert no_target.status_code == 400
    unknown = reporter_client.post(
        "/api/reports/", {"category": "spam", "username": "ghost"}, format="json"
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "user_not_found"
    bad_room = reporter_client.post(
        "/api/reports/",
        {"category": "spam", "room": "00000000-0000-0000-0000-000000000000"},
        format="json",
    )
    assert bad_room.status_code == 404
    assert not Report.objects.exists()


def test_reporting_is_rate_limited(reporter_client):
    targets = [UserFactory(username=f"t{i}") for i in range(21)]
    statuses = [
        reporter_client.post(
            "/api/reports/", {"category": "spam", "username": t.username}, format="json"
        ).status_code
        for t in targets
    ]
    assert statuses[:20] == [201] * 20
    assert statuses[20] == 429
    assert Report.objects.count() == 20
