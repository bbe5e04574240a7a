"""Reads about blocks, restrictions and reports.

Other apps ask the block and restriction questions here (each one query, or a subquery that
composes into theirs); the admin asks for the report queue and a target's history.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from moderation.models import Block, Report, Sanction


def is_blocked_either_way(*, a_id: int, b_id: int) -> bool:
    """True when ``a`` blocked ``b`` or ``b`` blocked ``a``."""
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def blocked_either_way_among(*, user_id: int, other_ids: list[int]) -> set[int]:
    """Which of ``other_ids`` block ``user_id`` or are blocked by them: one query."""
    rows = Block.objects.filter(
        Q(blocker_id=user_id, blocked_id__in=other_ids)
        | Q(blocker_id__in=other_ids, blocked_id=user_id)
    ).values_list("blocker_id", "blocked_id")
    return {b if a == user_id else a for a, b in rows}


def blocked_user_ids_q(*, user_id: int) -> tuple[QuerySet, QuerySet]:
    """Subqueries of the ids this user blocked and of those who blocked this user."""
    return (
        Block.objects.filter(blocker_id=user_id).values("blocked_id"),
        Block.objects.filter(blocked_id=user_id).values("blocker_id"),
    )


def restricted_sanctions() -> QuerySet[Sanction]:
    """Sanctions in force that keep a member out (suspensions not yet over, bans)."""
    now = timezone.now()
    return Sanction.objects.filter(
        kind__in=[Sanction.Kind.SUSPENSION, Sanction.Kind.BAN],
        lifted_at__isnull=True,
        starts_at__lte=now,
    ).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


def restriction_of(*, user_id: int) -> Sanction | None:
    """The sanction keeping this member out now (a ban first, else the suspension that ends
    last), or None: one query."""
    return (
        restricted_sanctions()
        .filter(user_id=user_id)
        .order_by(F("ends_at").desc(nulls_first=True), "-pk")
        .first()
    )


def restriction_message(sanction: Sanction) -> tuple[str, str]:
    """(code, sentence) telling a member why they cannot sign in, for sign-in forms and APIs."""
    if sanction.ends_at is None:
        return "account_banned", "This account has been banned."
    until = sanction.ends_at.astimezone(UTC).strftime("%-d %B %Y, %H:%M UTC")
    return "account_suspended", f"Your account is suspended until {until}."


def is_restricted(*, user_id: int) -> bool:
    """True when the member is suspended or banned right now."""
    return restricted_sanctions().filter(user_id=user_id).exists()


def restricted_user_ids() -> QuerySet:
    """Subquery of the ids of members suspended or banned right now (for hallways, rosters)."""
    return restricted_sanctions().values("user_id")


def blocked_ids_for(*, user: Any) -> set[int]:
    """The ids of the members ``user`` blocked: one query.

    The hallway and the room snapshot use it for the block warning: when someone in this set is
    on a stage, ``user`` sees a warning on the room card and beside that speaker, instead of
    being silently kept out. Never sent to anyone but ``user`` (blocks are private).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    return set(Block.objects.filter(blocker_id=user.pk).values_list("blocked_id", flat=True))


def room_moderator_ids(*, room: Any) -> QuerySet:
    """Subquery of the ids of ``room``'s host and its current moderators."""
    from rooms.models import Participant

    return Participant.objects.filter(
        room_id=room.pk, left_at__isnull=True, role__in=Participant.MODERATOR_ROLES
    ).values("user_id")


def blocked_by_room_moderators(*, room: Any, user: Any) -> bool:
    """True when ``room``'s host or one of its moderators blocked ``user``: one query.

    Such a member may not join the room (``rooms.services.participant_join`` asks this) and is
    evicted when the block happens. A block by an ordinary speaker does not count here.
    """
    return (
        Block.objects.filter(blocked_id=user.pk)
        .filter(Q(blocker_id=room.host_id) | Q(blocker_id__in=room_moderator_ids(room=room)))
        .exists()
    )


def room_ids_closed_to(*, user_id: int) -> QuerySet:
    """Subquery of the ids of live rooms whose host or a current moderator blocked ``user_id``.

    For the hallway: ``Room.objects.exclude(pk__in=room_ids_closed_to(user_id=...))``. The host
    case is also covered by ``blocked_user_ids_q``; this adds the co-moderators.
    """
    from rooms.models import Participant

    blockers = Block.objects.filter(blocked_id=user_id).values("blocker_id")
    return Participant.objects.filter(
        left_at__isnull=True, role__in=Participant.MODERATOR_ROLES, user_id__in=blockers
    ).values("room_id")


def user_ids_closed_out_of(*, room: Any) -> QuerySet:
    """Subquery of the ids of members whom ``room``'s host or a current moderator blocked: the
    transpose of ``room_ids_closed_to``, for a room's whole audience at once (notification
    fan-out)."""
    return Block.objects.filter(
        Q(blocker_id=room.host_id) | Q(blocker_id__in=room_moderator_ids(room=room))
    ).values("blocked_id")


def blocks_made_by(*, user: Any) -> QuerySet[Block]:
    """``user``'s own blocks (the blocked member loaded), for ``GET /api/blocks/`` and the
    settings page. Deactivated members are left out, as everywhere a member acts on someone by
    name (``accounts.selectors.member_by_username``: unblocking them would be a 404); the block
    stays, and shows again if the account comes back."""
    return Block.objects.filter(blocker_id=user.pk, blocked__is_active=True).select_related(
        "blocked"
    )


def report_queue() -> QuerySet[Report]:
    """Reports as the moderators' queue orders them: most severe first, then the oldest."""
    return Report.objects.select_related(
        "reporter", "target_user", "target_room", "assigned_to"
    ).order_by("-severity", "created_at", "pk")


# How far up the invitation chain and how much history a report page shows.
HISTORY_LIMIT = 20
NOMINATION_CHAIN_DEPTH = 5


def target_history(*, report: Report) -> dict[str, Any]:
    """What a moderator needs beside a report: the target's earlier reports and sanctions, and
    who nominated them (up the invitation chain), plus the reporter's own record.

    A fixed number of queries (at most five) whatever the length of the history.
    """
    history: dict[str, Any] = {"reports": [], "sanctions": [], "chain": [], "nominees": 0}
    target = report.target_user
    if target is not None:
        history["reports"] = list(
            Report.objects.filter(target_user_id=target.pk)
            .exclude(pk=report.pk)
            .select_related("reporter")
            .order_by("-created_at")[:HISTORY_LIMIT]
        )
        history["sanctions"] = list(
            Sanction.objects.filter(user_id=target.pk)
            .select_related("created_by")
            .order_by("-created_at")[:HISTORY_LIMIT]
        )
        history["chain"] = nomination_chain(user=target)
        history["nominees"] = get_user_model().objects.filter(nominated_by_id=target.pk).count()
    elif report.target_room_id is not None:
        history["reports"] = list(
            Report.objects.filter(target_room_id=report.target_room_id)
            .exclude(pk=report.pk)
            .select_related("reporter")
            .order_by("-created_at")[:HISTORY_LIMIT]
        )
    if report.reporter_id is not None:
        history["reporter_dismissed"] = Report.objects.filter(
            reporter_id=report.reporter_id, status=Report.Status.DISMISSED
        ).count()
    return history


def nomination_chain(*, user: Any, depth: int = NOMINATION_CHAIN_DEPTH) -> list[Any]:
    """``user``'s nominator, that member's nominator, ... up to ``depth`` levels, in one query
    (a chain of self-joins)."""
    path = "__".join(["nominated_by"] * depth)
    member = get_user_model().objects.select_related(path).filter(pk=user.pk).first()
    chain: list[Any] = []
    current = member
    # Only follow links that select_related loaded: the last level's own link would cost a query.
    while current is not None and current.nominated_by_id is not None and len(chain) < depth:
        current = current.nominated_by
        chain.append(current)
    return chain


# What a report made from a room keeps of it: the stage and the hand queue (never the whole
# audience) and the room's last events if the live layer keeps them.
EVIDENCE_PARTICIPANTS = 50
EVIDENCE_EVENTS = 50


def room_evidence(*, room: Any, target_user: Any = None) -> dict[str, Any]:
    """A snapshot of ``room`` as the database knows it now, for a report's evidence.

    Two queries (stage and hands; the target's latest participation; a third for the host only
    when they are not on stage) plus the live layer's recent events when it exposes
    ``rooms.realtime.recent_events(room_id, limit)``.
    """
    from rooms import realtime
    from rooms.models import Participant

    now = timezone.now()
    people = list(
        Participant.objects.filter(room_id=room.pk, left_at__isnull=True)
        .filter(Q(role__in=Participant.STAGE_ROLES) | Q(hand_raised_at__isnull=False))
        .select_related("user")
        .order_by("joined_at", "pk")[:EVIDENCE_PARTICIPANTS]
    )
    stage = [p for p in people if p.role in Participant.STAGE_ROLES]
    hands = sorted(
        (p for p in people if p.role not in Participant.STAGE_ROLES), key=lambda p: p.hand_raised_at
    )
    evidence: dict[str, Any] = {
        "captured_at": now.isoformat(),
        "room": {
            "id": str(room.pk),
            "title": room.title,
            "topic": room.topic,
            "state": room.state,
            "visibility": room.visibility,
            "host": next((p.user.username for p in stage if p.user_id == room.host_id), None)
            or room.host.username,
            "started_at": room.started_at.isoformat() if room.started_at else None,
            "speakers_count": room.speakers_count,
            "listeners_count": room.listeners_count,
        },
        "stage": [
            {
                "username": p.user.username,
                "role": p.role,
                "mic_open": not p.muted,
                "moderator_muted": p.moderator_muted,
                "joined_at": p.joined_at.isoformat() if p.joined_at else None,
            }
            for p in stage
        ],
        # Only the server decides who is audible: an unmuted member of the stage could be heard.
        "speaking": [p.user.username for p in stage if not p.muted],
        "hands_raised": [p.user.username for p in hands],
    }
    if target_user is not None:
        latest = (
            Participant.objects.filter(room_id=room.pk, user_id=target_user.pk)
            .order_by("-joined_at", "-pk")
            .first()
        )
        evidence["target"] = {
            "username": target_user.username,
            "in_room": latest is not None and latest.left_at is None,
            "role": latest.role if latest else None,
            "mic_open": (not latest.muted) if latest and latest.left_at is None else False,
            "joined_at": latest.joined_at.isoformat() if latest and latest.joined_at else None,
            "left_at": latest.left_at.isoformat() if latest and latest.left_at else None,
            "removed": bool(latest and latest.removed),
        }
    recent = getattr(realtime, "recent_events", None)
    if recent is not None:
        try:
            evidence["recent_events"] = list(recent(str(room.pk), limit=EVIDENCE_EVENTS))
        except Exception:  # noqa: BLE001 - evidence is best effort; the report must still file
            evidence["recent_events_unavailable"] = True
    return evidence
