"""The moderators' workflow in Django admin, driven through the test client as a moderator
(a staff member in the "Moderators" group), and refused to staff without the permission."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from moderation import services
from moderation.models import AuditLog, Report, Sanction
from moderation.permissions import MODERATORS_GROUP
from notifications.models import Notification
from rooms.models import Participant, Room
from tests.factories import UserFactory
from tests.moderation.conftest import join, live_room, on_stage

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def report_about(target, *, reporter=None, category="harassment", room=None, text="Abuse"):
    report, _ = services.report_create(
        reporter=reporter or UserFactory(),
        category=category,
        text=text,
        target_user=target,
        target_room=room,
    )
    return report


def url(name: str, *args) -> str:
    return reverse(f"admin:moderation_report_{name}", args=args)


def test_moderators_group_has_exactly_the_permissions_the_workflow_needs():
    group = Group.objects.get(name=MODERATORS_GROUP)
    granted = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }
    assert granted == {
        "moderation.view_report",
        "moderation.change_report",
        "moderation.end_room",
        "moderation.view_sanction",
        "moderation.add_sanction",
        "moderation.change_sanction",
        "moderation.view_auditlog",
        "accounts.view_user",
    }


def test_queue_is_ordered_by_severity_then_age_and_shows_open_work(moderator):
    target = UserFactory()
    with freeze_time(timezone.now() - timedelta(hours=3)):
        old_spam = report_about(target, category="spam")
    with freeze_time(timezone.now() - timedelta(hours=2)):
        old_hate = report_about(target, category="hate")
    new_hate = report_about(target, category="hate")
    self_harm = report_about(UserFactory(), category="self_harm")
    closed = report_about(UserFactory(), category="self_harm")
    services.report_dismiss(report=closed, by=moderator)

    response = admin_client(moderator).get(reverse("admin:moderation_report_changelist"))

    assert response.status_code == 200
    shown = [obj.pk for obj in response.context["cl"].result_list]
    assert shown == [self_harm.pk, old_hate.pk, new_hate.pk, old_spam.pk]


def test_queue_filters_by_status_category_and_target_type(moderator):
    room = live_room(UserFactory())
    member_report = report_about(UserFactory(), category="spam")
    room_report, _ = services.report_create(
        reporter=UserFactory(), category="hate", target_room=room
    )
    dismissed = report_about(UserFactory(), category="spam")
    services.report_dismiss(report=dismissed, by=moderator)
    client = admin_client(moderator)
    changelist = reverse("admin:moderation_report_changelist")

    def shown(**params):
        response = client.get(changelist, params)
        assert response.status_code == 200
        return {obj.pk for obj in response.context["cl"].result_list}

    assert shown(status="dismissed") == {dismissed.pk}
    assert shown(status="all") == {member_report.pk, room_report.pk, dismissed.pk}
    assert shown(category="hate") == {room_report.pk}
    assert shown(target_type="room") == {room_report.pk}
    assert shown(target_type="member", status="all") == {member_report.pk, dismissed.pk}


def test_report_page_shows_evidence_and_the_targets_history(moderator):
    nominator = UserFactory(username="nominator")
    target = UserFactory(username="loudmouth", nominated_by=nominator)
    host = UserFactory(username="thehost")
    room = live_room(host, title="Friday debate")
    join(room, target)
    on_stage(room, host, target)
    earlier = report_about(target, category="spam", text="Earlier spam")
    services.sanction_apply(user=target, kind="warning", reason="First warning", by=moderator)
    report = report_about(target, room=room, text="Slurs on stage")

    response = admin_client(moderator).get(url("change", report.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Friday debate" in page  # evidence: the room's title
    assert "@loudmouth" in page and "@thehost" in page  # the stage
    assert "Slurs on stage" in page
    assert f"#{earlier.pk} Spam" in page  # previous report
    assert "First warning" in page  # previous sanction
    assert "nominated by @nominator" in page  # invitation chain
    assert "Assign to me" in page and "End the live room" in page


def test_target_history_query_count_is_constant(django_assert_num_queries, moderator):
    from moderation.selectors import target_history

    chain_top = UserFactory()
    for size in (1, 6):
        target = chain_top
        for _ in range(size):
            target = UserFactory(nominated_by=target)
        for _ in range(size):
            report_about(target)
            services.sanction_apply(user=target, kind="warning", reason="w", by=moderator)
        report = Report.objects.select_related("target_user").filter(target_user=target).first()
        with django_assert_num_queries(5):
            history = target_history(report=report)
        assert len(history["reports"]) == size - 1 and len(history["sanctions"]) == size


def test_moderator_works_a_report_from_queue_to_suspension(
    moderator, django_capture_on_commit_callbacks
):
    """The story in the issue: assign, resolve with a 7-day suspension, the member is out of
    the room, the reporter hears back, and the audit log tells it all."""
    reporter, target = UserFactory(username="reporter"), UserFactory(username="target")
    room = live_room(UserFactory())
    join(room, target, reporter)
    report = report_about(target, reporter=reporter, room=room)
    client = admin_client(moderator)

    assigned = client.post(url("assign", report.pk))
    assert assigned.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.IN_REVIEW and report.assigned_to == moderator

    form = client.get(url("resolve", report.pk))
    assert form.status_code == 200 and "Suspension" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            url("resolve", report.pk),
            {"sanction": "suspension", "days": "7", "note": "Repeated slurs on stage"},
        )
    assert done.status_code == 302

    report.refresh_from_db()
    assert report.status == Report.Status.RESOLVED and report.resolved_by == moderator
    sanction = report.sanction
    assert sanction.kind == "suspension" and sanction.user == target
    assert timedelta(days=6, hours=23) < sanction.ends_at - timezone.now() <= timedelta(days=7)
    assert not Participant.objects.filter(room=room, user=target, left_at__isnull=True).exists()
    notice = Notification.objects.get(recipient=reporter, kind="report_resolved")
    assert "suspension" not in str(notice.__dict__).lower()

    story = list(
        AuditLog.objects.filter(target_user=target)
        .order_by("id")
        .values_list("action", "actor__username")
    )
    assert story == [
        ("report.create", "reporter"),
        ("report.assign", "moderator"),
        ("sanction.apply", "moderator"),
        ("report.resolve", "moderator"),
    ]
    audit_page = client.get(reverse("admin:moderation_auditlog_changelist"))
    assert audit_page.status_code == 200 and "Sanction applied" in audit_page.content.decode()


def test_resolve_form_refuses_a_suspension_without_days_and_changes_nothing(moderator):
    report = report_about(UserFactory())
    response = admin_client(moderator).post(
        url("resolve", report.pk), {"sanction": "suspension", "days": "", "note": "x"}
    )
    assert response.status_code == 200
    assert "how many days" in response.content.decode()
    report.refresh_from_db()
    assert report.status == Report.Status.OPEN and not Sanction.objects.exists()


def test_dismiss_and_ban_and_end_room_buttons(moderator, django_capture_on_commit_callbacks):
    client = admin_client(moderator)
    dismissed = report_about(UserFactory())
    assert client.post(url("dismiss", dismissed.pk), {"note": "Not abuse"}).status_code == 302
    dismissed.refresh_from_db()
    assert dismissed.status == Report.Status.DISMISSED and dismissed.resolution_note == "Not abuse"

    spammer = UserFactory()
    banned = report_about(spammer, category="spam")
    client.post(url("resolve", banned.pk), {"sanction": "ban", "note": "Spam ring"})
    assert Sanction.objects.get(user=spammer).kind == "ban"

    host = UserFactory()
    room = live_room(host, title="Raid")
    room_report, _ = services.report_create(
        reporter=UserFactory(), category="hate", target_room=room
    )
    with django_capture_on_commit_callbacks(execute=True):
        ended = client.post(url("end_room", room_report.pk), {"reason": "Coordinated hate"})
    assert ended.status_code == 302
    room.refresh_from_db()
    assert room.state == Room.State.ENDED and room.end_reason == "moderation"
    end = AuditLog.objects.get(action="room.end")
    assert end.actor == moderator and end.target_room == room and end.target_report == room_report
    assert end.reason == "Coordinated hate"


def test_list_actions_assign_and_dismiss_many(moderator):
    reports = [report_about(UserFactory()) for _ in range(3)]
    client = admin_client(moderator)
    changelist = reverse("admin:moderation_report_changelist")
    client.post(changelist, {"action": "assign_to_me", "_selected_action": [reports[0].pk]})
    client.post(
        changelist,
        {"action": "dismiss_selected", "_selected_action": [r.pk for r in reports[1:]]},
    )
    statuses = dict(Report.objects.values_list("pk", "status"))
    assert statuses == {
        reports[0].pk: "in_review",
        reports[1].pk: "dismissed",
        reports[2].pk: "dismissed",
    }
    assert AuditLog.objects.filter(action="report.dismiss").count() == 2


def test_acting_on_a_closed_report_is_refused_and_changes_nothing(moderator):
    report = report_about(UserFactory())
    services.report_dismiss(report=report, by=moderator, note="Fine")
    audit_rows = AuditLog.objects.count()
    client = admin_client(moderator)

    response = client.post(url("assign", report.pk), follow=True)
    assert "already dismissed" in response.content.decode()
    client.post(url("resolve", report.pk), {"sanction": "ban", "note": "Late"})
    client.post(url("dismiss", report.pk))

    report.refresh_from_db()
    assert report.status == Report.Status.DISMISSED and report.assigned_to is None
    assert not Sanction.objects.exists()
    assert AuditLog.objects.count() == audit_rows


def test_staff_without_the_permission_is_refused_everywhere(staff_member, moderator):
    target = UserFactory()
    room = live_room(UserFactory())
    report = report_about(target, room=room)
    client = admin_client(staff_member)

    assert client.get(reverse("admin:moderation_report_changelist")).status_code == 403
    assert client.get(url("change", report.pk)).status_code == 403
    for name, data in [
        ("assign", {}),
        ("dismiss", {"note": "x"}),
        ("resolve", {"sanction": "ban", "note": "x"}),
        ("end_room", {"reason": "x"}),
    ]:
        assert client.post(url(name, report.pk), data).status_code == 403, name
    assert client.get(reverse("admin:moderation_sanction_add")).status_code == 403
    assert client.get(reverse("admin:moderation_auditlog_changelist")).status_code == 403

    report.refresh_from_db()
    room.refresh_from_db()
    assert report.status == Report.Status.OPEN and report.assigned_to is None
    assert room.state == Room.State.LIVE
    assert not Sanction.objects.exists()
    assert set(AuditLog.objects.values_list("action", flat=True)) == {"report.create"}


def test_view_only_staff_sees_the_queue_but_cannot_act(staff_member):
    from django.contrib.auth.models import Permission

    staff_member.user_permissions.add(Permission.objects.get(codename="view_report"))
    report = report_about(UserFactory())
    client = admin_client(staff_member)
    page = client.get(url("change", report.pk))
    assert page.status_code == 200 and "Assign to me" not in page.content.decode()
    assert client.post(url("assign", report.pk)).status_code == 403
    changelist = reverse("admin:moderation_report_changelist")
    client.post(changelist, {"action": "dismiss_selected", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert report.status == Report.Status.OPEN


def test_sanction_admin_applies_and_lifts_through_the_services(moderator):
    member = UserFactory(username="member")
    client = admin_client(moderator)
    applied = client.post(
        reverse("admin:moderation_sanction_add"),
        {"username": "member", "kind": "suspension", "days": "3", "reason": "Spam"},
    )
    assert applied.status_code == 302
    sanction = Sanction.objects.get(user=member)
    assert sanction.kind == "suspension" and sanction.created_by == moderator

    page = client.get(reverse("admin:moderation_sanction_change", args=[sanction.pk]))
    assert "Lift now" in page.content.decode()
    lifted = client.post(
        reverse("admin:moderation_sanction_lift", args=[sanction.pk]), {"reason": "Appeal"}
    )
    assert lifted.status_code == 302
    sanction.refresh_from_db()
    assert sanction.lifted_at is not None
    assert list(AuditLog.objects.order_by("id").values_list("action", flat=True)) == [
        "sanction.apply",
        "sanction.lift",
    ]


def test_sanction_admin_reports_bad_input_on_the_form(moderator):
    client = admin_client(moderator)
    response = client.post(
        reverse("admin:moderation_sanction_add"),
        {"username": "ghost", "kind": "ban", "reason": "x"},
    )
    assert response.status_code == 200 and "No member has the username" in response.content.decode()
    assert not Sanction.objects.exists()


@pytest.mark.parametrize(
    "object_id", ["abc", "<script>", "9" * 25, "00000000-0000-0000-0000-000000000000"]
)
def test_lifting_a_sanction_that_is_not_an_id_is_a_404(moderator, object_id):
    # Found by tests/fuzz/test_pages_fuzz.py: "abc" raised ValueError, a 500.
    response = admin_client(moderator).post(
        f"/admin/moderation/sanction/{object_id}/lift/", {"reason": "x"}
    )
    assert response.status_code == 404
    assert not AuditLog.objects.exists()


def test_audit_log_is_read_only_even_for_moderators(moderator):
    services.block_create(blocker=UserFactory(), blocked=UserFactory())
    entry = AuditLog.objects.get()
    client = admin_client(moderator)
    assert client.get(reverse("admin:moderation_auditlog_add")).status_code == 403
    view = client.get(reverse("admin:moderation_auditlog_change", args=[entry.pk]))
    assert view.status_code == 200
    client.post(reverse("admin:moderation_auditlog_change", args=[entry.pk]), {"reason": "edited"})
    assert (
        client.post(reverse("admin:moderation_auditlog_delete", args=[entry.pk])).status_code == 403
    )
    entry.refresh_from_db()
    assert entry.reason == ""


def test_queue_page_query_count_does_not_grow_with_the_queue(moderator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = admin_client(moderator)
    changelist = reverse("admin:moderation_report_changelist")
    room = live_room(UserFactory())
    counts = []
    for size in (2, 12):
        for _ in range(size):
            services.report_create(
                reporter=UserFactory(), category="hate", target_user=UserFactory(), target_room=room
            )
        with CaptureQueriesContext(connection) as queries:
            assert client.get(changelist).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
