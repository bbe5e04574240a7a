"""Writes to the follow graph. Every rule about who may follow whom lives in ``follow_check``."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from audiosocial.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited
from follows.models import Follow
from moderation.selectors import is_blocked_either_way
from notifications import services as notification_services

User = get_user_model()


def follow_check(*, follower: User, followee: User | None) -> None:
    """The one place that decides whether ``follower`` may start following ``followee``.

    Blocks are checked here (both directions), so a block made by either member is honoured by
    every caller: the REST API, the web pages and anything added later.
    """
    if followee is None or not followee.is_active:
        raise NotFound("That member does not exist.", code="user_not_found")
    if follower.pk == followee.pk:
        raise InvalidInput("You cannot follow yourself.", code="cannot_follow_self")
    if is_blocked_either_way(a_id=follower.pk, b_id=followee.pk):
        raise Forbidden(
            "You cannot follow this member: one of you has blocked the other.", code="blocked"
        )


@transaction.atomic
def follow_create(*, follower: User, followee: User | None) -> tuple[Follow, bool]:
    """Follow ``followee``; following someone you already follow changes nothing.

    Returns the follow and whether it is new. Only a new follow notifies the followee (the
    notification hook schedules its own work after commit).
    """
    follow_check(follower=follower, followee=followee)
    existing = Follow.objects.filter(follower=follower, followee=followee).first()
    if existing is not None:
        return existing, False
    _count_new_follow(follower_id=follower.pk)
    # get_or_create retries the read when a concurrent request wins the unique constraint.
    follow, created = Follow.objects.get_or_create(follower=follower, followee=followee)
    if created:
        notification_services.notify_followed(follower_id=follower.pk, followee_id=followee.pk)
    return follow, created


def _count_new_follow(*, follower_id: int) -> None:
    """Mass-following is how spam accounts get noticed: cap new follows per member per hour.

    Web and API share the limit because it lives here, in the one service both call.
    """
    limit = settings.FOLLOWS_PER_HOUR
    window = int(time.time() // 3600)
    key = f"follows:new:{follower_id}:{window}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    if count > limit:
        raise RateLimited(
            f"You have followed {limit} people in the last hour; try again later.",
            code="follow_rate_limited",
            details={"limit_per_hour": limit},
        )


@transaction.atomic
def follow_delete(*, follower: User, followee: User | None) -> None:
    """Stop following ``followee``; refused with ``not_following`` if you did not follow them."""
    if followee is None:
        raise NotFound("That member does not exist.", code="user_not_found")
    if follower.pk == followee.pk:
        raise InvalidInput("You cannot unfollow yourself.", code="cannot_follow_self")
    deleted, _ = Follow.objects.filter(follower_id=follower.pk, followee_id=followee.pk).delete()
    if not deleted:
        raise Conflict("You are not following this member.", code="not_following")


@transaction.atomic
def follows_cut_both_ways(*, a: User, b: User) -> int:
    """Remove the follows between ``a`` and ``b`` in both directions (a block was made).

    Called by the moderation block service inside its transaction; returns how many follows were
    removed. Nobody is notified: a block is silent.
    """
    deleted, _ = Follow.objects.filter(
        Q(follower_id=a.pk, followee_id=b.pk) | Q(follower_id=b.pk, followee_id=a.pk)
    ).delete()
    return deleted


def follow_counts_recount() -> int:
    """Set every member's ``follower_count`` / ``following_count`` to what the follows say;
    returns how many members were wrong.

    The database keeps the counts (a trigger on every follow written or deleted); they can only
    drift if follows were loaded with the trigger disabled or the columns updated by hand.
    ``manage.py follow_counts_recount`` runs this.
    """

    def counted(column: str) -> Coalesce:
        return Coalesce(
            Subquery(
                Follow.objects.filter(**{column: OuterRef("pk")})
                .order_by()
                .values(column)
                .annotate(n=Count("*"))
                .values("n")
            ),
            0,
        )

    followers, following = counted("followee_id"), counted("follower_id")
    wrong = (
        User.objects.annotate(real_followers=followers, real_following=following)
        .exclude(follower_count=F("real_followers"), following_count=F("real_following"))
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        return User.objects.filter(pk__in=list(wrong)).update(
            follower_count=followers, following_count=following
        )
