"""`manage.py invite --inviter USERNAME [--email E]`: print a signup link (bootstraps members)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandError
from django.urls import reverse

from accounts.services import invitation_create
from audiosocial.errors import ApplicationError


class Command(BaseCommand):
    help = "Create an invitation from a member's quota and print its signup link."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--inviter", required=True, help="Username of the inviting member.")
        parser.add_argument("--email", default="", help="Only this address may use the link.")
        parser.add_argument(
            "--base-url",
            default=settings.SITE_URL,
            help="Site address the link starts with (default: SITE_URL, %(default)s).",
        )

    def handle(self, *args, inviter: str, email: str, base_url: str, **options) -> None:
        user = get_user_model().objects.filter(username__iexact=inviter).first()
        if user is None:
            raise CommandError(f"No member is called {inviter!r}.")
        try:
            invitation = invitation_create(by=user, email=email)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        link = f"{base_url.rstrip('/')}{reverse('account_signup')}?invite={invitation.code}"
        expires = invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        restriction = f" for {invitation.email}" if invitation.email else ""
        self.stdout.write(f"Invitation from {user.username}{restriction} (expires {expires}):")
        self.stdout.write(link)
