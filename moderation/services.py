"""Every moderation write: blocks, reports, sanctions and the moderators' actions.

Each service checks permission first, runs in one transaction and writes its ``AuditLog`` row in
that same transaction, so the log can never disagree with what happened. Effects outside the
database (socket cuts, session cleanup, notifications) run after commit. See docs/moderation.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audiosocial.errors import ApplicationError, Conflict, Forbidden, InvalidInput, NotFound
from audiosocial.oncommit import delay_on_commit, run_on_commit
from audiosocial.sessions import sessions_delete
from moderation.models import (
    REPORT_MAX_EVIDENCE_CAPTURES,
    REPORT_MERGE_WINDOW_MINUTES,
    REPORT_MERGED_TEXT_MAX_LENGTH,
    REPORT_TEXT_MAX_LENGTH,
    AuditLog,
    Block,
    Report,
    Sanction,
)
from moderation.permissions import (
    PERM_APPLY_SANCTION,
    PERM_END_ROOM,
    PERM_LIFT_SANCTION,
    PERM_WORK_REPORTS,
)
from moderation.selectors import room_evidence

User = get_user_model()

# Application close code sent to every socket of a suspended or banned member.
CLOSE_SESSION_TERMINATED = 4403
SUSPENSION_MAX_DAYS = 365
# The public reason codes of an eviction (rooms publish them to the room and to the member).
# A block's eviction looks like any removal: the blocked member is never told about a block.
# A sanction's says only that the system took the member out, not why: sanctions are not
# announced to a room.
EVICT_REASON_BLOCK = "removed"
EVICT_REASON_SANCTION = "evicted"

ACTION = AuditLog.Action


def audit_write(
    *,
    actor: Any,
    action: str,
    target_user: Any = None,
    target_room: Any = None,
    target_report: Report | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """One audit row; only called from inside the services below (same transaction)."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        action=action,
        target_user=target_user,
        target_room=target_room,
        target_report=target_report,
        reason=reason,
        data=data or {},
    )


def _require_moderator(user: Any, perm: str) -> None:
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not user.is_active
        or not user.is_staff
        or not user.has_perm(perm)
    ):
        raise Forbidden("Only a moderator with this permission may do that.", code="not_permitted")


# --- Blocks ------------------------------------------------------------------------------------


@transaction.atomic
def block_create(*, blocker: Any, blocked: Any) -> tuple[Block, bool]:
    """``blocker`` blocks ``blocked``; blocking again changes nothing.

    Cuts follows both ways, and takes ``blocked`` out of every live room ``blocker`` hosts or
    moderates (the audio goes with the participation). Nobody is told: blocks are private.
    Returns the block and whether it is new.
    """
    if blocked is None or not blocked.is_active:
        raise NotFound("That member does not exist.", code="user_not_found")
    if blocker.pk == blocked.pk:
        raise InvalidInput("You cannot block yourself.", code="cannot_block_self")
    block, created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    if not created:
        return block, False

    from follows.services import follows_cut_both_ways

    follows_cut = follows_cut_both_ways(a=blocker, b=blocked)
    evicted = _evict_from_rooms_moderated_by(moderator=blocker, user=blocked)
    audit_write(
        actor=blocker,
        action=ACTION.BLOCK_CREATE,
        target_user=blocked,
        data={"follows_removed": follows_cut, "evicted_from_rooms": evicted},
    )
    return block, True


@transaction.atomic
def block_delete(*, blocker: Any, blocked: Any) -> bool:
    """Lift ``blocker``'s block of ``blocked``; returns whether there was one (idempotent).

    Follows cut by the block are not restored: either member may follow again.
    """
    if blocked is None:
        raise NotFound("That member does not exist.", code="user_not_found")
    if blocker.pk == blocked.pk:
        raise InvalidInput("You cannot block or unblock yourself.", code="cannot_block_self")
    deleted, _ = Block.objects.filter(blocker_id=blocker.pk, blocked_id=blocked.pk).delete()
    if deleted:
        audit_write(actor=blocker, action=ACTION.BLOCK_DELETE, target_user=blocked)
    return bool(deleted)


def _evict_from_rooms_moderated_by(*, moderator: Any, user: Any) -> list[str]:
    """Remove ``user`` from the live rooms ``moderator`` hosts or moderates (never its host)."""
    from rooms.models import Participant, Room

    moderating = Participant.objects.filter(
        user_id=moderator.pk, left_at__isnull=True, role__in=Participant.MODERATOR_ROLES
    ).values("room_id")
    present = Participant.objects.filter(user_id=user.pk, left_at__isnull=True).values("room_id")
    rooms = (
        Room.objects.filter(state=Room.State.LIVE, pk__in=present)
        .filter(Q(host_id=moderator.pk) | Q(pk__in=moderating))
        .exclude(host_id=user.pk)
    )
    return [
        str(room.pk) for room in rooms if _evict(room=room, user=user, reason=EVICT_REASON_BLOCK)
    ]


def _evict(*, room: Any, user: Any, reason: str) -> bool:
    """Evict through the rooms service (which also removes the member from the audio).

    Returns whether the member was in the room. The rooms service runs in a savepoint, so a
    refusal leaves this transaction intact and is simply not counted.
    """
    from rooms import services as room_services

    try:
        closed = room_services.participant_evict(room=room, user=user, reason=reason)
    except ApplicationError:
        return False
    return closed is not None


# --- Reports -----------------------------------------------------------------------------------


@transaction.atomic
def report_create(
    *,
    reporter: Any,
    category: str | None,
    text: str | None = "",
    target_user: Any = None,
    target_room: Any = None,
) -> tuple[Report, bool]:
    """File a report about a member, a room, or a member in a room.

    A report made about a room captures evidence at this moment (its title, stage, raised
    hands, who had their microphone open, recent events). A second report of the same target by
    the same reporter within ``REPORT_MERGE_WINDOW_MINUTES`` of the last one is merged into it.
    Returns the report and whether it was merged.
    """
    if category not in Report.Category.values:
        raise InvalidInput(
            "Choose a category: " + ", ".join(Report.Category.values) + ".",
            code="invalid_category",
            details={"category": Report.Category.values},
        )
    text = (text or "").strip()
    if len(text) > REPORT_TEXT_MAX_LENGTH:
        raise InvalidInput(
            f"A report's text is limited to {REPORT_TEXT_MAX_LENGTH} characters.",
            code="text_too_long",
            details={"max_length": REPORT_TEXT_MAX_LENGTH},
        )
    if target_user is None and target_room is None:
        raise InvalidInput("Say which member or room you are reporting.", code="missing_target")
    if target_user is not None and target_user.pk == reporter.pk:
        raise InvalidInput("You cannot report yourself.", code="cannot_report_self")
    if target_room is not None and not _may_report_room(reporter=reporter, room=target_room):
        raise NotFound("This room does not exist or you cannot see it.", code="room_not_found")

    now = timezone.now()
    evidence = (
        room_evidence(room=target_room, target_user=target_user)
        if target_room is not None
        else None
    )
    existing = (
        Report.objects.select_for_update()
        .filter(
            reporter_id=reporter.pk,
            target_user=target_user,
            target_room=target_room,
            status__in=Report.ACTIVE_STATUSES,
            last_submitted_at__gte=now - timedelta(minutes=REPORT_MERGE_WINDOW_MINUTES),
        )
        .order_by("-last_submitted_at")
        .first()
    )
    if existing is not None:
        _merge(existing, category=category, text=text, evidence=evidence, now=now)
        audit_write(
            actor=reporter,
            action=ACTION.REPORT_MERGE,
            target_user=target_user,
            target_room=target_room,
            target_report=existing,
            data={"category": category, "submissions": existing.submissions},
        )
        return existing, True

    if target_user is not None and target_room is not None:
        target_type = Report.TargetType.MEMBER_IN_ROOM
    elif target_room is not None:
        target_type = Report.TargetType.ROOM
    else:
        target_type = Report.TargetType.MEMBER
    report = Report.objects.create(
        reporter=reporter,
        target_type=target_type,
        target_user=target_user,
        target_room=target_room,
        category=category,
        severity=Report.SEVERITY_BY_CATEGORY[category],
        text=text,
        last_submitted_at=now,
        evidence=[evidence] if evidence else [],
    )
    audit_write(
        actor=reporter,
        action=ACTION.REPORT_CREATE,
        target_user=target_user,
        target_room=target_room,
        target_report=report,
        data={"category": category, "severity": report.severity},
    )
    return report, False


def _merge(
    report: Report, *, category: str, text: str, evidence: dict | None, now: datetime
) -> None:
    report.submissions += 1
    report.last_submitted_at = now
    # The most serious category reported wins: the queue must not under-rate a report.
    if Report.SEVERITY_BY_CATEGORY[category] > report.severity:
        report.category = category
        report.severity = Report.SEVERITY_BY_CATEGORY[category]
    if text:
        addition = (
            text if not report.text else f"{report.text}\n\n— {now:%Y-%m-%d %H:%M} UTC:\n{text}"
        )
        report.text = addition[:REPORT_MERGED_TEXT_MAX_LENGTH]
    if evidence and len(report.evidence) < REPORT_MAX_EVIDENCE_CAPTURES:
        report.evidence = [*report.evidence, evidence]
    report.save(
        update_fields=[
            "submissions",
            "last_submitted_at",
            "category",
            "severity",
            "text",
            "evidence",
            "updated_at",
        ]
    )


def _may_report_room(*, reporter: Any, room: Any) -> bool:
    """Anyone who may see the room, or who was ever in it (even if removed since)."""
    from rooms.models import Participant
    from rooms.selectors import can_see_room

    if Participant.objects.filter(room_id=room.pk, user_id=reporter.pk).exists():
        return True
    return can_see_room(user=reporter, room=room)


def _report_for_update(report: Report) -> Report:
    locked = (
        # of=("self",): PostgreSQL cannot lock the nullable side of the outer joins.
        Report.objects.select_for_update(of=("self",))
        .select_related("target_user", "target_room", "reporter")
        .get(pk=report.pk)
    )
    if not locked.is_active:
        raise Conflict(
            f"This report is already {locked.get_status_display().lower()}.",
            code="report_closed",
        )
    return locked


def _report_transition(report: Report, to: str) -> None:
    if to not in Report.TRANSITIONS[report.status]:
        raise Conflict(
            f"A report cannot go from {report.status} to {to}.", code="invalid_transition"
        )
    report.status = to


@transaction.atomic
def report_assign(*, report: Report, by: Any, assignee: Any = None) -> Report:
    """Assign the report (to ``by`` unless another moderator is named); it is now in review."""
    _require_moderator(by, PERM_WORK_REPORTS)
    assignee = assignee or by
    if assignee.pk != by.pk:
        try:
            _require_moderator(assignee, PERM_WORK_REPORTS)
        except Forbidden:
            raise InvalidInput(
                "Reports can only be assigned to moderators.", code="assignee_not_moderator"
            ) from None
    report = _report_for_update(report)
    if report.status == Report.Status.OPEN:
        _report_transition(report, Report.Status.IN_REVIEW)
    previous = report.assigned_to_id
    report.assigned_to = assignee
    report.save(update_fields=["status", "assigned_to", "updated_at"])
    audit_write(
        actor=by,
        action=ACTION.REPORT_ASSIGN,
        target_user=report.target_user,
        target_room=report.target_room,
        target_report=report,
        data={"assignee": assignee.username, "previous_assignee_id": previous},
    )
    return report


@transaction.atomic
def report_resolve(
    *,
    report: Report,
    by: Any,
    note: str,
    sanction_kind: str | None = None,
    suspension_days: int | None = None,
) -> Report:
    """Close the report as acted upon, optionally sanctioning its target member.

    The reporter is notified (without the sanction's details) after commit.
    """
    _require_moderator(by, PERM_WORK_REPORTS)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            "Write a resolution note: it is the record of why.", code="note_required"
        )
    report = _report_for_update(report)
    sanction = None
    if sanction_kind:
        if report.target_user is None:
            raise InvalidInput(
                "This report names no member to sanction; resolve it without a sanction or "
                "end the room.",
                code="no_member_to_sanction",
            )
        until = None
        if sanction_kind == Sanction.Kind.SUSPENSION:
            until = timezone.now() + timedelta(days=_suspension_days(suspension_days))
        sanction = sanction_apply(
            user=report.target_user,
            kind=sanction_kind,
            reason=note,
            by=by,
            until=until,
            report=report,
        )
    _report_transition(report, Report.Status.RESOLVED)
    report.resolved_by = by
    report.resolved_at = timezone.now()
    report.resolution_note = note
    report.sanction = sanction
    report.save(
        update_fields=[
            "status",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "sanction",
            "updated_at",
        ]
    )
    audit_write(
        actor=by,
        action=ACTION.REPORT_RESOLVE,
        target_user=report.target_user,
        target_room=report.target_room,
        target_report=report,
        reason=note,
        data={"sanction_id": sanction.pk if sanction else None, "sanction_kind": sanction_kind},
    )
    _notify_reporter(report)
    return report


@transaction.atomic
def report_dismiss(*, report: Report, by: Any, note: str = "") -> Report:
    """Close the report without action; the reporter is told it was reviewed."""
    _require_moderator(by, PERM_WORK_REPORTS)
    report = _report_for_update(report)
    _report_transition(report, Report.Status.DISMISSED)
    report.resolved_by = by
    report.resolved_at = timezone.now()
    report.resolution_note = (note or "").strip()
    report.save(
        update_fields=["status", "resolved_by", "resolved_at", "resolution_note", "updated_at"]
    )
    audit_write(
        actor=by,
        action=ACTION.REPORT_DISMISS,
        target_user=report.target_user,
        target_room=report.target_room,
        target_report=report,
        reason=report.resolution_note,
    )
    _notify_reporter(report)
    return report


def _notify_reporter(report: Report) -> None:
    if report.reporter_id is None:
        return
    from notifications import services as notification_services

    run_on_commit(notification_services.notify_report_resolved, report_id=report.pk)


def _suspension_days(days: Any) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        value = 0
    if not 1 <= value <= SUSPENSION_MAX_DAYS:
        raise InvalidInput(
            f"A suspension lasts from 1 to {SUSPENSION_MAX_DAYS} days.",
            code="invalid_suspension_days",
        )
    return value


# --- Sanctions ---------------------------------------------------------------------------------


@transaction.atomic
def sanction_apply(
    *,
    user: Any,
    kind: str,
    reason: str,
    by: Any,
    until: datetime | None = None,
    report: Report | None = None,
) -> Sanction:
    """Warn, suspend (until ``until``) or ban ``user``.

    A suspension or a ban takes effect at once: sign-in is refused, the member is taken out of
    every live room (audio included; a room they host passes to a co-moderator or ends), and
    after commit their sockets are closed (``session.terminate`` on their user group) and their
    sessions deleted.
    """
    _require_moderator(by, PERM_APPLY_SANCTION)
    if kind not in Sanction.Kind.values:
        raise InvalidInput(
            "A sanction is a warning, a suspension or a ban.", code="invalid_sanction_kind"
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for the sanction.", code="reason_required")
    if user is None:
        raise NotFound("That member does not exist.", code="user_not_found")
    if user.pk == by.pk:
        raise Forbidden("You cannot sanction yourself.", code="cannot_sanction_self")
    if (user.is_staff or user.is_superuser) and not by.is_superuser:
        raise Forbidden(
            "Only a superuser can sanction a staff member.", code="cannot_sanction_staff"
        )
    now = timezone.now()
    if kind == Sanction.Kind.SUSPENSION:
        if until is None:
            raise InvalidInput("A suspension needs an end.", code="suspension_end_required")
        if until <= now:
            raise InvalidInput("A suspension must end in the future.", code="suspension_end_past")
    elif until is not None:
        raise InvalidInput(
            "Only a suspension has an end; a warning or a ban does not.", code="until_not_allowed"
        )
    # Serialise sanctions of one member so two moderators cannot race past the ban check.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if kind != Sanction.Kind.WARNING:
        from moderation.selectors import restricted_sanctions

        if restricted_sanctions().filter(user_id=user.pk, kind=Sanction.Kind.BAN).exists():
            raise Conflict("This member is already banned.", code="already_banned")

    sanction = Sanction.objects.create(
        user=user, kind=kind, reason=reason, created_by=by, starts_at=now, ends_at=until
    )
    data: dict[str, Any] = {
        "sanction_id": sanction.pk,
        "kind": kind,
        "until": until.isoformat() if until else None,
    }
    if sanction.restricts:
        data.update(_cut_off(user=user, kind=kind))
    audit_write(
        actor=by,
        action=ACTION.SANCTION_APPLY,
        target_user=user,
        target_report=report,
        reason=reason,
        data=data,
    )
    return sanction


def _cut_off(*, user: Any, kind: str) -> dict[str, list[str]]:
    """Take a suspended or banned member out of every live room, then (after commit) out of
    every socket and session."""
    from rooms.models import Participant, Room

    present = Participant.objects.filter(user_id=user.pk, left_at__isnull=True).values("room_id")
    reason = EVICT_REASON_SANCTION
    # A host's eviction hands the room to a co-moderator, or ends it (rooms.services rules).
    evicted = [
        str(room.pk)
        for room in Room.objects.filter(state=Room.State.LIVE, pk__in=present)
        if _evict(room=room, user=user, reason=reason)
    ]
    run_on_commit(session_terminate_send, user_id=user.pk, reason=kind)
    from moderation import tasks

    delay_on_commit(tasks.end_user_sessions, user.pk)
    return {"evicted_from_rooms": evicted}


def session_terminate_send(*, user_id: int, reason: str) -> None:
    """Tell every socket of ``user_id`` (notifications, rooms) to close with code 4403."""
    from notifications.consumers import user_group

    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        user_group(user_id),
        {"type": "session.terminate", "reason": reason, "code": CLOSE_SESSION_TERMINATED},
    )


def user_sessions_end(*, user_id: int) -> int:
    """Delete every stored session of ``user_id`` (browser cookies and headless tokens alike).

    Sessions keep the user id inside their signed payload, so this reads each unexpired session;
    it runs in a background task, never in a request.
    """
    now = timezone.now()
    wanted = str(user_id)
    keys = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=now).iterator(chunk_size=2000)
        if str(session.get_decoded().get("_auth_user_id")) == wanted
    ]
    # Their cached copies too (the session engine caches them): rows alone would not end them.
    return sessions_delete(session_keys=keys)


@transaction.atomic
def sanction_lift(*, sanction: Sanction, by: Any, reason: str) -> Sanction:
    """End a suspension or ban early (a successful appeal, a mistake)."""
    _require_moderator(by, PERM_LIFT_SANCTION)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for lifting the sanction.", code="reason_required")
    sanction = (
        Sanction.objects.select_for_update(of=("self",)).select_related("user").get(pk=sanction.pk)
    )
    if not sanction.in_force_at(timezone.now()):
        raise Conflict("This sanction is not in force.", code="sanction_not_in_force")
    sanction.lifted_at = timezone.now()
    sanction.save(update_fields=["lifted_at", "updated_at"])
    audit_write(
        actor=by,
        action=ACTION.SANCTION_LIFT,
        target_user=sanction.user,
        reason=reason,
        data={"sanction_id": sanction.pk, "kind": sanction.kind},
    )
    return sanction


@transaction.atomic
def sanctions_expire(*, now: datetime | None = None) -> int:
    """Record the suspensions that ran out (the periodic task); returns how many.

    Reads already ignore a suspension past its end, so a member is free at the minute it ends;
    this marks it and writes the audit row. Idempotent: each suspension expires once.
    """
    now = now or timezone.now()
    due = list(
        Sanction.objects.select_for_update(skip_locked=True)
        .filter(
            kind=Sanction.Kind.SUSPENSION,
            ends_at__lte=now,
            expired_at__isnull=True,
            lifted_at__isnull=True,
        )
        .order_by("ends_at")[:500]
    )
    if not due:
        return 0
    Sanction.objects.filter(pk__in=[s.pk for s in due]).update(expired_at=now, updated_at=now)
    AuditLog.objects.bulk_create(
        AuditLog(
            actor=None,
            action=ACTION.SANCTION_EXPIRE,
            target_user_id=s.user_id,
            reason="The suspension ended.",
            data={"sanction_id": s.pk, "ended_at": s.ends_at.isoformat()},
        )
        for s in due
    )
    return len(due)


# --- Rooms -------------------------------------------------------------------------------------


@transaction.atomic
def live_room_end(*, room: Any, by: Any, reason: str, report: Report | None = None) -> Any:
    """A moderator ends a live room: everyone is out, audio included."""
    _require_moderator(by, PERM_END_ROOM)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Give the reason for ending the room.", code="reason_required")
    from rooms import services as room_services
    from rooms.models import Room

    room = Room.objects.select_for_update().get(pk=room.pk)
    if room.state != Room.State.LIVE:
        raise Conflict("This room is not live.", code="room_not_live")
    room_services.room_end(room=room, by=None, reason="moderation")
    audit_write(
        actor=by,
        action=ACTION.ROOM_END,
        target_user=room.host,
        target_room=room,
        target_report=report,
        reason=reason,
        data={"title": room.title},
    )
    return room
