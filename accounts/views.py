"""Web pages: profiles, editing your own, your invitations, whom you blocked. Members only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import selectors, services
from accounts.api import signup_url
from accounts.forms import InvitationCreateForm, ProfileForm
from accounts.throttling import InvitationThrottle, ProfileLookupThrottle, page_throttled
from audiosocial.errors import ApplicationError, NotFound
from moderation import selectors as moderation_selectors
from moderation import services as moderation_services
from notifications.views import older_than, username_from

# Blocked members per settings page ("Older" pages on).
BLOCKED_PAGE_SIZE = 50


def _too_many(request: HttpRequest, wait: float) -> HttpResponse:
    response = render(
        request, "accounts/throttled.html", {"retry_after": int(wait) + 1}, status=429
    )
    response["Retry-After"] = str(int(wait) + 1)
    return response


@login_required
def profile_detail(request: HttpRequest, username: str) -> HttpResponse:
    wait = page_throttled(request, ProfileLookupThrottle)
    if wait is not None:
        return _too_many(request, wait)
    try:
        profile = selectors.profile_get(viewer=request.user, username=username)
    except NotFound:
        raise Http404("No member has that username.") from None
    if profile.username != username:
        # One address per member: /@Alice and /@alice both land on the canonical spelling.
        return redirect("profile", username=profile.username, permanent=False)
    return render(
        request,
        "accounts/profile_detail.html",
        {"profile": profile, "is_you": profile.pk == request.user.pk},
    )


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            changes: dict = {"display_name": data["display_name"], "bio": data["bio"]}
            if data["remove_avatar"]:
                changes["avatar"] = None
            elif data["avatar"]:
                changes["avatar"] = data["avatar"]
            try:
                services.profile_update(user=user, by=user, **changes)
            except ApplicationError as exc:
                form.add_error("avatar" if exc.code.startswith("avatar") else None, exc.message)
            else:
                messages.success(request, "Your profile was saved.")
                return redirect("profile", username=user.username)
    else:
        form = ProfileForm(initial={"display_name": user.display_name, "bio": user.bio})
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def invitations_page(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = InvitationCreateForm()
    if request.method == "POST":
        wait = page_throttled(request, InvitationThrottle)
        if wait is not None:
            return _too_many(request, wait)
        form = InvitationCreateForm(request.POST)
        if form.is_valid():
            try:
                invitation = services.invitation_create(by=user, email=form.cleaned_data["email"])
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request, "Invitation created: copy its link below and send it to your friend."
                )
                return redirect(f"{reverse('invitations')}#inv-{invitation.code}")
    invitations = selectors.invitations_of(user=user)
    return render(
        request,
        "accounts/invitations.html",
        {
            "form": form,
            "quota": selectors.invitation_quota(user=user),
            "invitations": [(inv, signup_url(request, inv.code)) for inv in invitations],
            "joined": selectors.nominees_of(user=user),
        },
    )


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, code: str) -> HttpResponse:
    wait = page_throttled(request, InvitationThrottle)
    if wait is not None:
        return _too_many(request, wait)
    try:
        invitation = selectors.invitation_get_own(user=request.user, code=code)
    except NotFound:
        raise Http404("You have no invitation with that code.") from None
    try:
        services.invitation_revoke(invitation=invitation, by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Invitation revoked: its link no longer works.")
    return redirect("invitations")


@login_required
@require_safe
def settings_blocked(request: HttpRequest) -> HttpResponse:
    """The members you blocked, newest first, each with "Unblock"."""
    before = request.GET.get("before", "")
    if not (before.isascii() and before.isdecimal()):
        before = ""
    blocks = moderation_selectors.blocks_made_by(user=request.user).order_by("-created_at", "-pk")
    rows = list(older_than(blocks, before)[: BLOCKED_PAGE_SIZE + 1])
    return render(
        request,
        "settings/blocked.html",
        {
            "blocks": rows[:BLOCKED_PAGE_SIZE],
            "older": rows[BLOCKED_PAGE_SIZE - 1].pk if len(rows) > BLOCKED_PAGE_SIZE else None,
            "before": before,
        },
    )


@login_required
@require_POST
def settings_unblock(request: HttpRequest) -> HttpResponse:
    """ "Unblock" beside a member in the list: back to the same page of it."""
    try:
        username = username_from(request.POST.get("username", ""))
        member = selectors.member_by_username(username=username)
        if moderation_services.block_delete(blocker=request.user, blocked=member):
            messages.success(request, f"You unblocked {member.name}.")
        else:
            messages.info(request, f"{member.name} was not blocked.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    target = reverse("settings-blocked")
    before = request.POST.get("before", "")
    if before.isascii() and before.isdecimal():
        target += f"?before={before}"
    return redirect(target)
