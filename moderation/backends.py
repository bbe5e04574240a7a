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

from moderation.selectors import is_restricted


class RefuseRestrictedMixin:
    def authenticate(self, request: Any, *args: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, *args, **credentials)  # type: ignore[misc]
        if user is not None and is_restricted(user_id=user.pk):
            raise PermissionDenied("This account is suspended.")
        return user


class RestrictedAwareModelBackend(RefuseRestrictedMixin, ModelBackend):
    pass


class RestrictedAwareAllauthBackend(RefuseRestrictedMixin, AuthenticationBackend):
    pass
