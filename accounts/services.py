"""Writes for accounts: invitations (create, revoke, redeem) and profile edits."""

from __future__ import annotations

import io
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.models import Invitation, User
from accounts.selectors import (
    invitation_check_usable,
    invitation_code_is_wellformed,
    invitation_code_normalize,
    invitation_error,
    invitation_quota,
)
from audiosocial.errors import Conflict, Forbidden, InvalidInput
from audiosocial.oncommit import run_on_commit
from moderation.selectors import is_restricted

# --- Invitations ----------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, by: User, email: str = "") -> Invitation:
    """A new invitation from ``by``'s quota, optionally only for ``email``."""
    if not by.is_active:
        raise Forbidden("Your account is not active.", code="inactive")
    if is_restricted(user_id=by.pk):
        raise Forbidden(
            "Suspended or banned members cannot invite anyone.", code="invitations_restricted"
        )
    # Lock the inviter's row so two simultaneous requests cannot both take the last slot.
    User.objects.select_for_update().filter(pk=by.pk).first()
    quota = invitation_quota(user=by)
    if quota.exhausted:
        raise Forbidden(
            "You have no invitations left. Revoked and expired invitations give their slot back; "
            "staff can grant more.",
            code="no_invitations_left",
            details={"quota": quota.total, "used": quota.used},
        )
    return Invitation.objects.create(
        created_by=by,
        email=(email or "").strip().lower(),
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    """Withdraw an unused invitation (its creator or staff). Revoking twice is harmless."""
    if invitation.created_by_id != by.pk and not by.is_staff:
        raise Forbidden("Only the member who created an invitation can revoke it.")
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None:
        raise Conflict(
            "This invitation has already been used, so it cannot be revoked.",
            code="invitation_used",
        )
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
    return invitation


@transaction.atomic
def invitation_redeem(*, code: str, user: User) -> Invitation:
    """Create the not-yet-saved ``user`` with invitation ``code``, atomically.

    The invitation row is locked until the new account is committed, so of two signups racing
    for one code exactly one gets an account; the other sees the invitation used. If saving the
    user fails (a username taken a moment ago), everything rolls back and the code stays usable.
    """
    if user.pk is not None:
        raise Conflict("This account already exists.", code="already_member")
    code = invitation_code_normalize(code)
    if not invitation_code_is_wellformed(code):
        raise invitation_error("invitation_malformed")
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("created_by")
        .filter(code=code)
        .first()
    )
    if invitation is None:
        raise invitation_error("invitation_unknown")
    invitation_check_usable(invitation=invitation, email=user.email or "")
    user.nominated_by = invitation.created_by
    user.save()
    invitation.used_by = user
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_by", "used_at", "updated_at"])

    from notifications import services as notifications

    run_on_commit(
        notifications.notify_invitation_accepted,
        inviter_id=invitation.created_by_id,
        new_member_id=user.pk,
    )
    return invitation


# --- Profiles -------------------------------------------------------------------------------

AVATAR_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
AVATAR_MAX_PIXELS = 40_000_000  # bigger images are refused before decoding (decompression bombs)
AVATAR_SIZE = 512


def avatar_process(*, upload: UploadedFile) -> ContentFile:
    """A validated, re-encoded square-bounded avatar with all metadata (EXIF, GPS) stripped."""
    if upload.size is not None and upload.size > settings.AVATAR_MAX_BYTES:
        raise InvalidInput(
            f"The avatar is too large: the limit is {settings.AVATAR_MAX_BYTES // 1024} KB.",
            code="avatar_too_large",
            details={"avatar": ["too_large"]},
        )
    try:
        upload.seek(0)
        with Image.open(upload) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in AVATAR_FORMATS:
                raise UnidentifiedImageError(image_format)
            if width * height > AVATAR_MAX_PIXELS:
                raise InvalidInput(
                    "The avatar's dimensions are too large.",
                    code="avatar_too_large",
                    details={"avatar": ["too_large"]},
                )
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image = ImageOps.exif_transpose(image)
            has_alpha = image.mode in ("RGBA", "LA", "P") and (
                image.mode != "P" or "transparency" in image.info
            )
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((AVATAR_SIZE, AVATAR_SIZE))
            out = io.BytesIO()
            if has_alpha:
                image.save(out, format="PNG", optimize=True)
                ext = "png"
            else:
                image.save(out, format="JPEG", quality=88, optimize=True)
                ext = "jpg"
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise InvalidInput(
            "The avatar must be a JPEG, PNG, GIF or WebP image.",
            code="avatar_not_image",
            details={"avatar": ["not_image"]},
        ) from None
    # A random name: the file URL says nothing about who uploaded it.
    return ContentFile(out.getvalue(), name=f"{secrets.token_urlsafe(12)}.{ext}")


_UNSET = object()


@transaction.atomic
def profile_update(
    *,
    user: User,
    by: User,
    display_name: str | None = None,
    bio: str | None = None,
    avatar: UploadedFile | None | object = _UNSET,
) -> User:
    """Edit a profile. ``avatar=None`` removes the avatar; leaving it out keeps it."""
    if by.pk != user.pk:
        raise Forbidden("You can only edit your own profile.")
    fields: list[str] = []
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > User._meta.get_field("display_name").max_length:
            raise InvalidInput("The display name is too long.", code="display_name_too_long")
        user.display_name = display_name
        fields.append("display_name")
    if bio is not None:
        bio = bio.strip()
        if len(bio) > User._meta.get_field("bio").max_length:
            raise InvalidInput("The bio is too long (500 characters at most).", code="bio_too_long")
        user.bio = bio
        fields.append("bio")
    old_avatar = user.avatar.name if user.avatar else ""
    new_avatar = ""
    if avatar is not _UNSET:
        if avatar is None:
            user.avatar = ""
        else:
            processed = avatar_process(upload=avatar)  # type: ignore[arg-type]
            user.avatar.save(processed.name, processed, save=False)
            new_avatar = user.avatar.name
        fields.append("avatar")
    if fields:
        try:
            user.save(update_fields=fields)
        except Exception:
            # The file is written before the row; a row that is not written leaves no file.
            if new_avatar:
                user.avatar.storage.delete(new_avatar)
            raise
    if "avatar" in fields and old_avatar and old_avatar != (user.avatar.name or ""):
        storage = user.avatar.storage
        run_on_commit(storage.delete, old_avatar)
    return user
