"""Web actions on a profile page (follow, unfollow, block, report) and the follower lists.

The profile page itself is the accounts app's; these views only call the owning services
(``follows.services``, ``moderation.services``) and go back to it.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.selectors import member_by_username
from audiosocial.errors import ApplicationError, NotFound
from follows import selectors, services
from moderation.models import Report

LIST_SIZE = 100
PEOPLE_RESULTS = 20


def _member(username: str):
    try:
        return member_by_username(username=username)
    except NotFound:
        raise Http404("No member has that username.") from None


@login_required
@require_POST
def follow_toggle(request: HttpRequest, username: str) -> HttpResponse:
    member = _member(username)
    try:
        if request.POST.get("action") == "unfollow":
            services.follow_delete(follower=request.user, followee=member)
            messages.success(request, f"You no longer follow {member.name}.")
        else:
            services.follow_create(follower=request.user, followee=member)
            messages.success(request, f"You follow {member.name}: their rooms come first now.")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return _back(request, fallback=member)


def _back(request: HttpRequest, *, fallback) -> HttpResponse:
    """To ``next`` when it is a page of this site (the people page), else to the profile."""
    target = request.POST.get("next", "")
    # A path on this site only: redirect() would read a bare word as a view name.
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect("profile", username=fallback.username)


@login_required
def people_page(request: HttpRequest) -> HttpResponse:
    """Find people: a search by name, and people you may know when there is no search."""
    query = selectors.member_search_query(request.GET.get("q"))
    if query:
        found = selectors.member_search(viewer=request.user, query=query, limit=PEOPLE_RESULTS)
        context = {"query": query, "results": found}
    else:
        context = {
            "query": "",
            "suggestions": selectors.suggestions_for(user=request.user, limit=PEOPLE_RESULTS),
        }
    return render(request, "follows/find_people.html", context)


@login_required
@require_POST
def block_toggle(request: HttpRequest, username: str) -> HttpResponse:
    from moderation import services as moderation_services

    member = _member(username)
    try:
        if request.POST.get("action") == "unblock":
            moderation_services.block_delete(blocker=request.user, blocked=member)
            messages.success(request, f"You unblocked {member.name}.")
        else:
            moderation_services.block_create(blocker=request.user, blocked=member)
            messages.success(
                request, f"You blocked {member.name}. They are not told; you won't meet in rooms."
            )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("profile", username=member.username)


class ReportForm(forms.Form):
    category = forms.ChoiceField(
        choices=Report.Category.choices, widget=forms.RadioSelect, label="What is wrong?"
    )
    text = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Anything our moderators should know",
        help_text="Optional. Only the moderators read it.",
    )


@login_required
def report_member(request: HttpRequest, username: str) -> HttpResponse:
    from moderation import services as moderation_services

    member = _member(username)
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation_services.report_create(
                reporter=request.user,
                category=form.cleaned_data["category"],
                text=form.cleaned_data["text"],
                target_user=member,
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Thank you. Our moderators will look at your report.")
            return redirect("profile", username=member.username)
    return render(
        request,
        "follows/report.html",
        {"member": member, "form": form},
        status=400 if form.errors else 200,
    )


def _people(request: HttpRequest, username: str, *, followers: bool) -> HttpResponse:
    member = _member(username)
    if followers:
        rows = selectors.followers_of(user=member, viewer=request.user).order_by("-created_at")
        people = [(row.follower, row.followed_by_you) for row in rows[:LIST_SIZE]]
    else:
        rows = selectors.following_of(user=member, viewer=request.user).order_by("-created_at")
        people = [(row.followee, row.followed_by_you) for row in rows[:LIST_SIZE]]
    return render(
        request,
        "follows/people.html",
        {"member": member, "people": people, "followers": followers, "limit": LIST_SIZE},
    )


@login_required
def followers_page(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, followers=True)


@login_required
def following_page(request: HttpRequest, username: str) -> HttpResponse:
    return _people(request, username, followers=False)
