"""Reads of the follow graph: members by username, lists, counts, relationship flags, suggestions.

Every function here runs a fixed number of queries whatever the size of the graph: lists are
querysets the API paginates, flags are ``EXISTS`` annotations, counts are scalar subqueries.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.selectors import profiles_for
from follows.models import Follow
from moderation.selectors import blocked_user_ids_q, restricted_sanctions

User = get_user_model()

SUGGESTIONS_MAX = 50


def _count(queryset: QuerySet, group_field: str) -> Coalesce:
    """A scalar ``COUNT`` subquery: a JOIN + GROUP BY would multiply followers by following."""
    counted = queryset.order_by().values(group_field).annotate(c=Count("*")).values("c")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def followee_ids(*, user_id: int) -> QuerySet:
    """Subquery of the ids ``user_id`` follows (served by the unique (follower, followee) index)."""
    return Follow.objects.filter(follower_id=user_id).values("followee_id")


def _followed_by_you(viewer_id: int, user_ref: str) -> Exists:
    return Exists(Follow.objects.filter(follower_id=viewer_id, followee_id=OuterRef(user_ref)))


def _follows_you(viewer_id: int, user_ref: str) -> Exists:
    return Exists(Follow.objects.filter(follower_id=OuterRef(user_ref), followee_id=viewer_id))


def followers_of(*, user: User, viewer: User) -> QuerySet[Follow]:
    """Follows whose followee is ``user``; the API orders them newest first with a cursor.

    Each row carries ``followed_by_you`` / ``follows_you`` relative to ``viewer`` so a list can show
    the right button without a query per row.
    """
    return (
        Follow.objects.filter(followee_id=user.pk, follower__is_active=True)
        .select_related("follower")
        .annotate(
            followed_by_you=_followed_by_you(viewer.pk, "follower_id"),
            follows_you=_follows_you(viewer.pk, "follower_id"),
        )
    )


def following_of(*, user: User, viewer: User) -> QuerySet[Follow]:
    """Follows whose follower is ``user`` (see ``followers_of``)."""
    return (
        Follow.objects.filter(follower_id=user.pk, followee__is_active=True)
        .select_related("followee")
        .annotate(
            followed_by_you=_followed_by_you(viewer.pk, "followee_id"),
            follows_you=_follows_you(viewer.pk, "followee_id"),
        )
    )


@dataclass(frozen=True)
class Relationship:
    """What a profile shows about the follow graph, as seen by ``viewer``."""

    follower_count: int
    following_count: int
    followed_by_you: bool
    follows_you: bool


def relationship_for(*, viewer: User, user: User) -> Relationship:
    """Counts and "follows you" for a profile, in one query (the profile's own annotations, so
    a profile and a follow response never disagree)."""
    row = (
        profiles_for(viewer=viewer)
        .filter(pk=user.pk)
        .values("follower_count", "following_count", "followed_by_you", "follows_you")
        .get()
    )
    return Relationship(**row)


def follows_you(*, viewer: User, user: User) -> bool:
    """True when ``user`` follows ``viewer``."""
    return Follow.objects.filter(follower_id=user.pk, followee_id=viewer.pk).exists()


def is_following(*, follower: User, followee: User) -> bool:
    return Follow.objects.filter(follower_id=follower.pk, followee_id=followee.pk).exists()


@dataclass(frozen=True)
class Suggestion:
    user: User
    # "nominated_you", "you_nominated" or "followed_by_people_you_follow"
    reason: str
    # How many of the people you follow follow this person.
    followed_by_count: int


REASON_NOMINATED_YOU = "nominated_you"
REASON_YOU_NOMINATED = "you_nominated"
REASON_FOLLOWED_BY = "followed_by_people_you_follow"


def suggestions_for(*, user: User, limit: int = 20) -> list[Suggestion]:
    """People to follow, in two queries.

    First the members linked to you by an invitation (who nominated you, whom you nominated):
    few, and the strongest signal a new member has. Then people followed by the people you
    follow, ranked by how many of them follow that person. Never yourself, people you already
    follow, people blocked either way, deactivated or suspended/banned members.
    """
    limit = max(1, min(limit, SUGGESTIONS_MAX))
    following = followee_ids(user_id=user.pk)
    blocked_by_me, blocked_me = blocked_user_ids_q(user_id=user.pk)
    restricted = restricted_sanctions().values("user_id")

    # The exclusions are anti-joins (NOT EXISTS), not NOT IN: a hashed NOT IN subquery in the
    # filter kept PostgreSQL from reading the followees' follows through the (follower,
    # followee) index, and it scanned the whole follows table instead (500 followees: 120 ms
    # against 22; docs/benchmarks.md). ``Count("*")``, not of the primary key: the index alone
    # then answers it.
    candidate = OuterRef("followee_id")
    second_degree = list(
        Follow.objects.filter(follower_id__in=following, followee__is_active=True)
        .exclude(followee_id=user.pk)
        .filter(~Exists(Follow.objects.filter(follower_id=user.pk, followee_id=candidate)))
        .filter(~Exists(blocked_by_me.filter(blocked_id=candidate)))
        .filter(~Exists(blocked_me.filter(blocker_id=candidate)))
        .filter(~Exists(restricted_sanctions().filter(user_id=candidate)))
        .values("followee_id")
        .annotate(n=Count("*"))
        .order_by("-n", "followee_id")
        .values_list("followee_id", "n")[:limit]
    )
    mutuals = dict(second_degree)

    linked = Q(pk__in=list(mutuals)) | Q(nominated_by_id=user.pk)
    if user.nominated_by_id is not None:
        linked |= Q(pk=user.nominated_by_id)
    candidates = (
        User.objects.filter(linked, is_active=True)
        .exclude(pk=user.pk)
        .exclude(pk__in=following)
        .exclude(pk__in=blocked_by_me)
        .exclude(pk__in=blocked_me)
        .exclude(pk__in=restricted)
        .annotate(
            # Counted by the first query for the people it found; counted here only for the
            # few linked by an invitation (a CASE runs its subquery only for the rows that
            # reach it: for all 20 candidates it read ~1,000 followers each).
            followed_by_count=Case(
                When(pk__in=list(mutuals), then=Value(None)),
                default=_count(
                    Follow.objects.filter(followee_id=OuterRef("pk"), follower_id__in=following),
                    "followee_id",
                ),
                output_field=IntegerField(),
            )
        )
    )
    by_id = {candidate.pk: candidate for candidate in candidates}
    for candidate in by_id.values():
        if candidate.pk in mutuals:
            candidate.followed_by_count = mutuals[candidate.pk]

    result: list[Suggestion] = []
    nominator = by_id.pop(user.nominated_by_id, None) if user.nominated_by_id else None
    if nominator is not None:
        result.append(Suggestion(nominator, REASON_NOMINATED_YOU, nominator.followed_by_count))
    nominees = sorted(
        (c for c in by_id.values() if c.nominated_by_id == user.pk),
        key=lambda c: (-c.followed_by_count, -c.date_joined.timestamp(), c.pk),
    )
    for nominee in nominees:
        by_id.pop(nominee.pk)
        result.append(Suggestion(nominee, REASON_YOU_NOMINATED, nominee.followed_by_count))
    for followee_id, n in second_degree:
        candidate = by_id.get(followee_id)
        if candidate is not None:
            result.append(Suggestion(candidate, REASON_FOLLOWED_BY, n))
    return result[:limit]


# --- Finding people ----------------------------------------------------------------------------

SEARCH_MAX = 30
SEARCH_QUERY_MAX_LENGTH = 50


def member_search_query(raw: str | None) -> str:
    """A search as typed, made usable: trimmed, a leading ``@`` dropped, at most 50 characters."""
    return (raw or "").strip().lstrip("@").strip()[:SEARCH_QUERY_MAX_LENGTH]


def member_search(*, viewer: User, query: str, limit: int = 20) -> list[User]:
    """Members whose username or display name contains ``query`` (case-insensitive), as
    ``viewer`` sees them (``profiles_for``'s flags and counts), in one query.

    Best matches first: the exact username, then usernames and display names that start with
    it, then the rest; among equals, the most followed. Never ``viewer`` themselves, members
    blocked either way, deactivated, suspended or banned members (as suggestions). An empty
    query finds nobody.
    """
    query = member_search_query(query)
    if not query:
        return []
    limit = max(1, min(limit, SEARCH_MAX))
    blocked_by_me, blocked_me = blocked_user_ids_q(user_id=viewer.pk)
    rank = Case(
        When(username__iexact=query, then=Value(0)),
        When(username__istartswith=query, then=Value(1)),
        When(display_name__istartswith=query, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    return list(
        profiles_for(viewer=viewer)
        .filter(Q(username__icontains=query) | Q(display_name__icontains=query))
        .exclude(pk=viewer.pk)
        .exclude(pk__in=blocked_by_me)
        .exclude(pk__in=blocked_me)
        .exclude(pk__in=restricted_sanctions().values("user_id"))
        .annotate(rank=rank)
        .order_by("rank", "-follower_count", "username")[:limit]
    )
