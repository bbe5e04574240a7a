"""Reads that other apps ask of moderation: blocks and restrictions, each in one query."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from moderation.models import Block, Sanction


def is_blocked_either_way(*, a_id: int, b_id: int) -> bool:
    """True when ``a`` blocked ``b`` or ``b`` blocked ``a``."""
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


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


def is_restricted(*, user_id: int) -> bool:
    """True when the member is suspended or banned right now."""
    return restricted_sanctions().filter(user_id=user_id).exists()
