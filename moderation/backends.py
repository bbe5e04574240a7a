"""Authentication backends that refuse suspended and banned members.

They replace Django's ``ModelBackend`` and allauth's ``AuthenticationBackend`` in
``settings.AUTHENTICATION_BACKENDS``, so every password sign-in (web form, headless API, admin)
passes through the restriction check. Raising ``PermissionDenied`` stops Django from trying the
next backend with the same credentials.

Existing sessions are not checked per request (that would cost every request a query): the
sanction deletes them and closes the member's sockets when it is applied.
"""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from moderation.selectors import restriction_message, restriction_of

# Django's ``authenticate()`` swallows ``PermissionDenied`` (it only means "stop trying other
# backends"), so the reason is left on the request, where the sign-in forms' adapter
# (``accounts.adapter.AccountAdapter.authenticate``) turns it into the error the member sees.
# Only set once the password matched: the reason is never told to someone who did not prove it.
RESTRICTION_ATTR = "account_restriction"


class RefuseRestrictedMixin:
    def authenticate(self, request: Any, *args: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, *args, **credentials)  # type: ignore[misc]
        if user is None:
            return None
        sanction = restriction_of(user_id=user.pk)
        if sanction is not None:
            code, message = restriction_message(sanction)
            if request is not None:
                setattr(request, RESTRICTION_ATTR, (code, message))
            raise PermissionDenied(message)
        return user

    def get_user(self, user_id: Any) -> Any:
        # Every signed-in request's member: Django's query, compiled once (accounts.selectors).
        from accounts.selectors import member_by_id

        user = member_by_id(user_id=user_id)
        return user if user is not None and self.user_can_authenticate(user) else None


class RestrictedAwareModelBackend(RefuseRestrictedMixin, ModelBackend):
    pass


class RestrictedAwareAllauthBackend(RefuseRestrictedMixin, AuthenticationBackend):
    pass
