"""Forms: the invitation field allauth adds to its signup form and headless signup input, and
the profile and invitation forms of the web pages.

This module is imported while allauth builds its form classes (ACCOUNT_SIGNUP_FORM_CLASS), so
it must not import ``allauth.account.forms``.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from accounts import throttling
from accounts.models import Invitation, User
from accounts.selectors import INVITATION_ERRORS, invitation_get_usable
from audiosocial.errors import InvalidInput

SESSION_KEY = "accounts_invitation_code"

# Refusals that say nothing about guessing: a real code typed with the wrong email address.
_NOT_A_GUESS = {"invitation_required", "invitation_email_mismatch"}


def current_request():
    from allauth.core import context

    return context.request


class InvitationSignupForm(forms.Form):
    """The base allauth builds its signup form and headless ``SignupInput`` on.

    Its ``invitation`` field is therefore part of the web form and of the JSON body of
    ``POST /_allauth/app/v1/auth/signup``; the adapter redeems it in ``save_user``.
    """

    field_order = ["invitation", "email", "username", "password1", "password2"]

    invitation = forms.CharField(
        label="Invitation code",
        required=False,  # emptiness is refused in clean_invitation with its own code and words
        max_length=500,
        help_text="From the invitation link a member sent you. Pasting the whole link works too.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "required": True}
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.invitation: Invitation | None = None
        request = current_request()
        if not self.is_bound and request is not None and hasattr(request, "session"):
            code = request.session.get(SESSION_KEY) or request.GET.get("invite", "")
            self.fields["invitation"].initial = code

    def clean_invitation(self) -> str:
        request = current_request()
        if request is not None and throttling.invitation_failures_exceeded(request):
            raise ValidationError(
                INVITATION_ERRORS["too_many_invitation_attempts"],
                code="too_many_invitation_attempts",
            )
        try:
            self.invitation = invitation_get_usable(code=self.cleaned_data.get("invitation", ""))
        except InvalidInput as exc:
            if request is not None and exc.code not in _NOT_A_GUESS:
                throttling.invitation_failure_record(request)
            raise ValidationError(exc.message, code=exc.code) from None
        return self.invitation.code

    def clean(self):
        cleaned_data = super().clean()
        email = cleaned_data.get("email")
        if self.invitation is not None and self.invitation.email and email:
            if self.invitation.email.lower() != email.lower():
                self.add_error(
                    "invitation",
                    ValidationError(
                        INVITATION_ERRORS["invitation_email_mismatch"],
                        code="invitation_email_mismatch",
                    ),
                )
        return cleaned_data

    def signup(self, request, user) -> None:
        """Nothing left to do: the adapter's ``save_user`` redeemed the invitation atomically."""


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label="Display name",
        required=False,
        max_length=User._meta.get_field("display_name").max_length,
    )
    bio = forms.CharField(
        label="Bio",
        required=False,
        max_length=User._meta.get_field("bio").max_length,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    avatar = forms.FileField(
        label="Avatar",
        required=False,
        help_text=f"JPEG, PNG, GIF or WebP, up to {settings.AVATAR_MAX_BYTES // 1024} KB.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label="Remove my avatar", required=False)


class InvitationCreateForm(forms.Form):
    email = forms.EmailField(
        label="Only for this email address (optional)",
        required=False,
        help_text="Leave empty to create a link anyone you give it to can use once.",
    )
