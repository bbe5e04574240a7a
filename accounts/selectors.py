"""Reads for accounts: invitation checks, quotas, profiles. Query counts do not grow with data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import connections, router
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import INVITATION_CODE_ALPHABET, INVITATION_CODE_LENGTH, Invitation, User
from audiosocial.errors import InvalidInput, NotFound
from audiosocial.statements import Converters, compiled_once, converted_rows, statement_cache
from follows.models import Follow
from moderation.models import Block
from moderation.selectors import is_restricted
from notifications.models import MutedActor

# One stable code and one sentence per way an invitation can be refused: the signup form, the
# headless API and the signup link all show the same words.
INVITATION_ERRORS: dict[str, str] = {
    "invitation_required": (
        "Signing up needs an invitation. Enter the code from the invitation link a member sent you."
    ),
    "invitation_malformed": (
        "That is not an invitation code: codes are 32 letters, digits, '-' or '_'. "
        "Copy the whole link or code you were sent."
    ),
    "invitation_unknown": (
        "No invitation has that code. Check that you copied it completely, "
        "or ask the member who invited you to send it again."
    ),
    "invitation_expired": (
        "This invitation expired on {date}. Ask the member who invited you for a new one."
    ),
    "invitation_used": (
        "This invitation has already been used: each one creates a single account. "
        "Ask the member who invited you for a new one."
    ),
    "invitation_revoked": (
        "This invitation was withdrawn by the member who sent it. Ask them for a new one."
    ),
    "invitation_email_mismatch": (
        "This invitation is for a different email address. Sign up with the address it was "
        "sent to, or ask for an invitation for this one."
    ),
    "too_many_invitation_attempts": (
        "Too many wrong invitation codes were tried from your network. Wait an hour and try "
        "again with the link you were sent."
    ),
}


def invitation_error(code: str, **params: str) -> InvalidInput:
    return InvalidInput(INVITATION_ERRORS[code].format(**params), code=code)


def invitation_code_normalize(raw: str | None) -> str:
    """The code from what a person typed or pasted: the bare code or the whole signup link."""
    value = (raw or "").strip()
    if "invite=" in value:
        found = parse_qs(urlsplit(value).query).get("invite")
        if found:
            value = found[0].strip()
    return value


def invitation_code_is_wellformed(code: str) -> bool:
    return len(code) == INVITATION_CODE_LENGTH and set(code) <= INVITATION_CODE_ALPHABET


def invitation_check_usable(*, invitation: Invitation, email: str | None = None) -> None:
    """Raise ``InvalidInput`` with the specific reason when ``invitation`` cannot be redeemed."""
    if (
        invitation.revoked_at is not None
        or not invitation.created_by.is_active
        or is_restricted(user_id=invitation.created_by_id)
    ):
        # An inviter deactivated, suspended or banned by moderators takes their pending
        # invitations with them (spam rings recruit through their own invitations).
        raise invitation_error("invitation_revoked")
    if invitation.used_at is not None:
        raise invitation_error("invitation_used")
    if invitation.expires_at <= timezone.now():
        raise invitation_error(
            "invitation_expired", date=date_format(invitation.expires_at, "DATE_FORMAT")
        )
    if invitation.email and email is not None and invitation.email.lower() != email.lower():
        raise invitation_error("invitation_email_mismatch")


def invitation_get_usable(*, code: str, email: str | None = None) -> Invitation:
    """The invitation with ``code`` if it can be redeemed now (by ``email``, when given)."""
    code = invitation_code_normalize(code)
    if not code:
        raise invitation_error("invitation_required")
    if not invitation_code_is_wellformed(code):
        raise invitation_error("invitation_malformed")
    invitation = Invitation.objects.select_related("created_by").filter(code=code).first()
    if invitation is None:
        raise invitation_error("invitation_unknown")
    invitation_check_usable(invitation=invitation, email=email)
    return invitation


# --- Quota ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationQuota:
    total: int | None  # None: unlimited (staff)
    used: int

    @property
    def unlimited(self) -> bool:
        return self.total is None

    @property
    def remaining(self) -> int | None:
        return None if self.total is None else max(self.total - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.total is not None and self.used >= self.total


def invitations_counting_against_quota(*, user: User) -> QuerySet[Invitation]:
    # Revoked and expired-unused invitations give their slot back: only accepted ones and
    # those still pending use the quota.
    return Invitation.objects.filter(created_by=user, revoked_at__isnull=True).filter(
        Q(used_at__isnull=False) | Q(expires_at__gt=timezone.now())
    )


def invitation_quota(*, user: User) -> InvitationQuota:
    used = invitations_counting_against_quota(user=user).count()
    if user.is_staff:
        return InvitationQuota(total=None, used=used)
    return InvitationQuota(
        total=settings.INVITATIONS_PER_MEMBER + user.extra_invitations, used=used
    )


def invitations_of(*, user: User, limit: int = 100) -> list[Invitation]:
    """The member's own invitations, newest first, with who used each (one query)."""
    return list(
        Invitation.objects.filter(created_by=user)
        .select_related("used_by")
        .order_by("-created_at")[:limit]
    )


def invitation_get_own(*, user: User, code: str) -> Invitation:
    """An invitation its creator (or staff) may manage; anyone else learns nothing about it."""
    code = invitation_code_normalize(code)
    qs = Invitation.objects.select_related("created_by", "used_by").filter(code=code)
    if not user.is_staff:
        qs = qs.filter(created_by=user)
    invitation = qs.first() if invitation_code_is_wellformed(code) else None
    if invitation is None:
        raise NotFound("You have no invitation with that code.", code="invitation_not_found")
    return invitation


def nominees_of(*, user: User, limit: int = 100) -> list[User]:
    """Members who joined through ``user``'s invitations, newest first."""
    return list(User.objects.filter(nominated_by=user).order_by("-date_joined")[:limit])


def nomination_chain(*, user: User, limit: int = 50) -> list[User]:
    """``user``'s inviter, their inviter, ... up to the root (or ``limit`` steps)."""
    chain: list[User] = []
    seen = {user.pk}
    current_id = user.nominated_by_id
    # One query per step: chains are short (a root is a bootstrap member) and this is admin-only.
    while current_id is not None and current_id not in seen and len(chain) < limit:
        current = User.objects.filter(pk=current_id).only("id", "username", "nominated_by").first()
        if current is None:
            break
        chain.append(current)
        seen.add(current.pk)
        current_id = current.nominated_by_id
    return chain


# --- Profiles -------------------------------------------------------------------------------


def profiles_for(*, viewer: User) -> QuerySet[User]:
    """Members annotated with what a profile shows, as ``viewer`` sees them (one query each).

    The follower and following counts are the member's own columns, kept by the database
    (``User.follower_count``)."""
    return (
        User.objects.filter(is_active=True)
        .select_related("nominated_by")
        .annotate(
            follows_you=Exists(Follow.objects.filter(follower=OuterRef("pk"), followee=viewer)),
            followed_by_you=Exists(Follow.objects.filter(follower=viewer, followee=OuterRef("pk"))),
            # Either way, a block hides the follow button on both profiles (docs/moderation.md).
            blocked_by_you=Exists(Block.objects.filter(blocker=viewer, blocked=OuterRef("pk"))),
            blocks_you=Exists(Block.objects.filter(blocker=OuterRef("pk"), blocked=viewer)),
            # The profile's "Mute notifications" toggle (notifications.services.actor_mute).
            muted_by_you=Exists(MutedActor.objects.filter(user=viewer, muted=OuterRef("pk"))),
        )
    )


def member_by_username(*, username: str) -> User:
    """The active member with this username, compared case-insensitively, or a clear 404.

    The one lookup every "act on a member by username" path uses (follow, block, report, invite,
    mute notifications); ``profile_get`` is the annotated variant for showing a profile.
    """
    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No member has the username “{username[:40]}”.", code="user_not_found")
    return user


def profile_get(*, viewer: User, username: str) -> User:
    """The profile of ``username`` (case-insensitive) as ``viewer`` sees it."""
    profile = profiles_for(viewer=viewer).filter(username__iexact=username).first()
    if profile is None:
        raise NotFound("No member has that username.", code="user_not_found")
    return profile


# --- The member a session names ------------------------------------------------------------------
#
# Every signed-in request and socket handshake loads its member by primary key (the
# authentication backend's ``get_user``). Building and compiling that one-line query through
# the ORM cost ~0.35 ms of Python a request, more than the query itself. The statement is
# compiled once per process and database; each call binds the id and builds the instance from
# the row as the ORM would (``Model.from_db`` after the field converters).

_MEMBER_BY_ID_STAND_IN = -7_316_044_299
_member_by_id_statements = statement_cache("accounts.member_by_id")


def _member_by_id_statement(connection: Any) -> tuple[str, list[str], Converters]:
    query = User._default_manager.filter(pk=_MEMBER_BY_ID_STAND_IN).query
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if list(params) != [_MEMBER_BY_ID_STAND_IN]:
        raise AssertionError(f"unexpected parameters for a member by id: {params!r}")
    columns = [column for column, _, _ in compiler.select]
    names = [column.target.attname for column in columns]
    return sql, names, tuple(compiler.get_converters(columns).items())


def member_by_id(*, user_id: int) -> User | None:
    """``User.objects.get(pk=user_id)`` (any account, active or not), or None: one query."""
    connection = connections[router.db_for_read(User)]
    statement = compiled_once(_member_by_id_statements, connection, _member_by_id_statement)
    sql, names, converters = statement
    pk = User._meta.pk.get_db_prep_value(user_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    (row,) = converted_rows([row], converters, connection)
    return User.from_db(connection.alias, names, row)
