"""The allauth account adapter: signup is open only to holders of a valid invitation."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import throttling
from accounts.forms import SESSION_KEY
from accounts.selectors import INVITATION_ERRORS, invitation_get_usable
from accounts.services import invitation_redeem
from audiosocial.errors import ApplicationError, InvalidInput

# The closed page reads the refusal from here to say exactly what is wrong with a link's code.
REQUEST_ERROR_ATTR = "accounts_invitation_error"


def is_headless(request: HttpRequest) -> bool:
    return getattr(getattr(request, "allauth", None), "headless", None) is not None


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Open for a valid invitation: from the signup link, the session, or the typed field.

        Headless clients and form posts always reach the form: its required ``invitation`` field
        refuses a missing or bad code with a specific message, which a bare "closed" could not.
        """
        if is_headless(request) or request.method == "POST":
            return True
        raw = request.GET.get("invite")
        if raw is not None:
            return self._accept_link_code(request, raw)
        code = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if not code:
            return False
        try:
            invitation_get_usable(code=code)
        except InvalidInput as exc:
            # The code remembered from an earlier visit was used, revoked or expired since.
            request.session.pop(SESSION_KEY, None)
            setattr(request, REQUEST_ERROR_ATTR, exc)
            return False
        return True

    def _accept_link_code(self, request: HttpRequest, raw: str) -> bool:
        if throttling.invitation_failures_exceeded(request):
            setattr(
                request,
                REQUEST_ERROR_ATTR,
                InvalidInput(
                    INVITATION_ERRORS["too_many_invitation_attempts"],
                    code="too_many_invitation_attempts",
                ),
            )
            return False
        try:
            invitation = invitation_get_usable(code=raw)
        except InvalidInput as exc:
            if exc.code != "invitation_required":
                throttling.invitation_failure_record(request)
            setattr(request, REQUEST_ERROR_ATTR, exc)
            return False
        request.session[SESSION_KEY] = invitation.code
        return True

    def authenticate(self, request: HttpRequest, **credentials):
        """As allauth's, but a suspended or banned member who typed the right password is told
        why (``Your account is suspended until …`` / ``This account has been banned.``) instead
        of "incorrect credentials". Both the web form and the headless login call this inside
        their ``clean()``, so the sentence becomes the form's error: beside the form on the
        page, ``400`` with ``code`` ``account_suspended`` / ``account_banned`` in the API."""
        from moderation.backends import RESTRICTION_ATTR

        if request is not None and hasattr(request, RESTRICTION_ATTR):
            delattr(request, RESTRICTION_ATTR)
        user = super().authenticate(request, **credentials)
        restriction = getattr(request, RESTRICTION_ATTR, None) if request is not None else None
        if user is None and restriction is not None:
            code, message = restriction
            raise ValidationError(message, code=code)
        return user

    def save_user(self, request: HttpRequest, user, form, commit: bool = True):
        """Create the account and consume its invitation in one transaction.

        A code that was valid when the form was checked may have been taken by a concurrent
        signup by now; ``invitation_redeem`` locks it and refuses, and the person sees the form
        again with the reason, instead of an error page.
        """
        user = super().save_user(request, user, form, commit=False)
        try:
            invitation_redeem(code=form.cleaned_data.get("invitation", ""), user=user)
        except ApplicationError as exc:
            form.add_error("invitation", ValidationError(exc.message, code=exc.code))
            raise ImmediateHttpResponse(self._refuse(request, form)) from None
        except IntegrityError:
            # The username (case-insensitively) or email was taken between check and insert.
            user.pk = None
            form.add_error(
                "username", ValidationError("That username is taken.", code="username_taken")
            )
            raise ImmediateHttpResponse(self._refuse(request, form)) from None
        if hasattr(request, "session"):
            request.session.pop(SESSION_KEY, None)
        return user

    def _refuse(self, request: HttpRequest, form) -> HttpResponse:
        if is_headless(request):
            from allauth.headless.internal.restkit.response import ErrorResponse

            return ErrorResponse(request, input=form)
        return render(request, "account/signup.html", {"form": form})
